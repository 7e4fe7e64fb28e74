package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/messages/outbox"
	"github.com/crossclear/crossclear/messages/signing"
)

// env is one running server over a fresh seeded store, with a key for
// every kind of caller the tests need.
type env struct {
	t    *testing.T
	st   *store.Store
	w    storetest.World
	base string
	http *http.Client

	op                  string // operator
	bankDE, bankSG      string // DEUTDEFF, DBSSSGSG
	bankUS              string // CHASUS33
	merDE, merSG, merUS string // Berlin Books, Lion City Gadgets, Hudson Crafts
	regSG, regDE        string // regulators of SG and DE
	fxp                 string // the FX provider KSTLGB2L (only in FX environments)
	sealer              *outbox.Sealer
}

// Fixture ids: see storetest.Seed.
const (
	deBank = "DEUTDEFF"
	sgBank = "DBSSSGSG"
	usBank = "CHASUS33"
)

// eachEngine runs fn against a fresh server on every store engine.
func eachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { fn(t, newEnv(t, engine, api.Config{})) })
	}
}

func newEnv(t *testing.T, engine string, cfg api.Config) *env {
	t.Helper()
	return newEnvWith(t, engine, cfg, store.Options{})
}

// newEnvWith is newEnv on a store with these options; with an FX rate book
// it also seeds the FX provider and gives it a key.
func newEnvWith(t *testing.T, engine string, cfg api.Config, opt store.Options) *env {
	t.Helper()
	st := storetest.Open(t, engine, opt)
	e := &env{t: t, st: st, w: storetest.Seed(t, st)}
	if opt.FX.Book != nil {
		storetest.SeedFX(t, st)
	}
	e.start(cfg)
	key := func(role clearing.Role, subject string) string {
		_, secret, err := st.CreateAPIKey(context.Background(), role, subject, string(role)+" "+subject, storetest.Operator)
		if err != nil {
			t.Fatalf("key %s %s: %v", role, subject, err)
		}
		return secret
	}
	e.op = key(clearing.RoleOperator, "")
	e.bankDE, e.bankSG, e.bankUS = key(clearing.RoleBank, deBank), key(clearing.RoleBank, sgBank), key(clearing.RoleBank, usBank)
	e.merDE, e.merSG, e.merUS = key(clearing.RoleMerchant, e.w.Merchants[0].ID), key(clearing.RoleMerchant, e.w.Merchants[1].ID), key(clearing.RoleMerchant, e.w.Merchants[2].ID)
	e.regSG, e.regDE = key(clearing.RoleRegulator, "SG"), key(clearing.RoleRegulator, "DE")
	if opt.FX.Book != nil {
		e.fxp = key(clearing.RoleFXProvider, storetest.FXProviderBIC)
	}
	return e
}

// start serves the app on a real listener, as production does. Unless
// cfg brings its own, files are signed by a development key.
func (e *env) start(cfg api.Config) {
	if cfg.Sealer == nil {
		dev, err := signing.OpenDevSigner(filepath.Join(e.t.TempDir(), "dev.key"), "test")
		if err != nil {
			e.t.Fatal(err)
		}
		cfg.Sealer = &outbox.Sealer{Store: e.st, Signer: dev}
		cfg.SigningKeys = map[string]signing.Signer{"files": dev}
	}
	e.sealer = cfg.Sealer
	app := api.New(e.st, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	go app.Listener(ln)
	e.t.Cleanup(func() { app.ShutdownWithTimeout(5 * time.Second) })
	e.base = "http://" + ln.Addr().String()
	// Every exchange is checked against openapi.json (openapi_test.go).
	e.http = &http.Client{Timeout: 30 * time.Second, Transport: contract.Transport(e.t, nil)}
}

// resp is an answer, kept whole so tests can compare bodies byte for byte.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// obj decodes the body as a JSON object.
func (r resp) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// into decodes the body into v. Keys lose their underscores first, so
// that test structs match snake_case fields by Go name without tags
// (encoding/json matches names case-insensitively): net_debit_cap fills
// NetDebitCap.
func (r resp) into(t *testing.T, v any) {
	t.Helper()
	var raw any
	if err := json.Unmarshal(r.Body, &raw); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, r.Body)
	}
	plain, _ := json.Marshal(unsnake(raw))
	if err := json.Unmarshal(plain, v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, r.Body)
	}
}

func unsnake(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[strings.ReplaceAll(k, "_", "")] = unsnake(val)
		}
		return out
	case []any:
		for i := range x {
			x[i] = unsnake(x[i])
		}
	}
	return v
}

// header is an extra request header.
type header struct{ k, v string }

// call sends method path with body (a string is sent raw, anything else as
// JSON, nil as nothing) using key ("" sends no Authorization).
func (e *env) call(key, method, path string, body any, hs ...header) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for _, h := range hs {
		req.Header.Set(h.k, h.v)
	}
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp{Status: res.StatusCode, Header: res.Header, Body: raw}
}

// must calls and fails the test unless the status is want.
func (e *env) must(want int, key, method, path string, body any, hs ...header) resp {
	e.t.Helper()
	r := e.call(key, method, path, body, hs...)
	if r.Status != want {
		e.t.Fatalf("%s %s: want %d, got %s", method, path, want, r)
	}
	return r
}

// wantError checks r is the JSON error shape with this status, code and field.
func wantError(t *testing.T, r resp, status int, code, field string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("want %d %s, got %s", status, code, r)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q: %s", ct, r)
	}
	var body struct {
		Error struct {
			Code, Message, Field string
		} `json:"error"`
	}
	r.into(t, &body)
	if body.Error.Code != code || body.Error.Field != field || body.Error.Message == "" {
		t.Fatalf("want code %q field %q, got %s", code, field, r.Body)
	}
}

// payment is the wire form the tests read.
type payment struct {
	ID, UETR, EndToEndID, Reference                   string
	BuyerBankID, MerchantID, MerchantBankID, Currency string
	Amount, Released, Refunded, Held, State           string
	ReleaseAt                                         *string
	HoldCycleID, Version                              int64
	CreatedAt, UpdatedAt                              string
	Events                                            []struct {
		Seq                               int
		Type, From, To, Amount, Actor, At string
		Reason                            string
	}
}

// hold holds a payment as key and returns it.
func (e *env) hold(key string, body map[string]any) payment {
	e.t.Helper()
	var p payment
	e.must(http.StatusCreated, key, "POST", "/v1/payments", body).into(e.t, &p)
	return p
}

// holdSGtoDE holds amount EUR from the SG bank's buyer to the DE merchant:
// a cross-border payment both SG and DE regulators see.
func (e *env) holdSGtoDE(amount string) payment {
	e.t.Helper()
	return e.hold(e.bankSG, map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": amount, "currency": "EUR"})
}

// getPayment reads a payment as the operator.
func (e *env) getPayment(id string) payment {
	e.t.Helper()
	var p payment
	e.must(http.StatusOK, e.op, "GET", "/v1/payments/"+id, nil).into(e.t, &p)
	return p
}

// snapshot is everything a refused request must leave untouched: every
// payment (state, amounts, version), the live positions and the ledger.
func (e *env) snapshot() string {
	e.t.Helper()
	ctx := context.Background()
	page, err := e.st.Payments(ctx, store.PaymentFilter{Limit: store.MaxPage})
	if err != nil {
		e.t.Fatal(err)
	}
	pos, err := e.st.OpenPositions(ctx, "")
	if err != nil {
		e.t.Fatal(err)
	}
	led, err := e.st.CheckLedger(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if !led.OK {
		e.t.Fatalf("ledger check failed: %v", led.Problems)
	}
	ms, err := e.st.Merchants(ctx, store.MerchantFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	ps, err := e.st.Participants(ctx, store.ParticipantFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	keys, err := e.st.APIKeys(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	cy, err := e.st.CurrentCycle(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return fmt.Sprintf("payments=%d %+v\npositions=%+v\nledger=%+v\nmerchants=%+v\nparticipants=%+v\nkeys=%+v\ncycle=%d",
		len(page.Payments), page.Payments, pos, led, ms, ps, keys, cy.ID)
}

// unchanged runs fn and fails if it changed the database.
func (e *env) unchanged(fn func()) {
	e.t.Helper()
	before := e.snapshot()
	fn()
	if after := e.snapshot(); after != before {
		e.t.Fatalf("the database changed:\nbefore %s\nafter  %s", before, after)
	}
}

// storeOperator is the actor fixtures made directly in the store act as.
var storeOperator = storetest.Operator

func urlQuery(s string) string { return url.QueryEscape(s) }

// act runs action on payment id as key and returns the payment after it.
func (e *env) act(key, id, action string, body any) payment {
	e.t.Helper()
	var p payment
	e.must(http.StatusOK, key, "POST", "/v1/payments/"+id+"/"+action, body).into(e.t, &p)
	return p
}

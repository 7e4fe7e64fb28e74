package console_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/console"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/compliance/compliancetest"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/inbound"
	"github.com/crossclear/crossclear/messages/iso/isotest"
	"github.com/crossclear/crossclear/messages/outbox"
	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/regulator/cosignature"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/push"
	"github.com/crossclear/crossclear/regulator/witnessing"
)

var ctx = context.Background()

// env is a real server (the API with the console mounted, as serve runs
// it) on loopback over a seeded store, with a key for every role and a
// few objects owned by some callers and not others.
type env struct {
	t    testing.TB
	st   *store.Store
	base string
	keys map[string]string // by caller name: operator, officer, bankDE, bankSG, bankUS, merDE, merSG, regSG

	// Objects: a payment SG's bank sent to Berlin Books (DE), one the US
	// bank sent to Hudson Crafts (US), the pacs.002 in SG's mailbox, and
	// the closed cycle that netted the first.
	paySGtoDE, payUS string
	fileSG           string
	closedCycle      int64
	review           string // pending: DEUTDEFF paying a merchant named like an SDN entry

	routes    []string // "METHOD /console/…" of every console route
	merchants []clearing.Merchant
}

func newEnv(t testing.TB, engine string) *env {
	t.Helper()
	return newEnvReading(t, engine, nil)
}

// newEnvReading is newEnv with the console's read-only pages on reads (a
// stand-in for a replica); nil reads the primary.
func newEnvReading(t testing.TB, engine string, reads *store.Store) *env {
	t.Helper()
	st := storetest.Open(t, engine, store.Options{Screener: screener(t)})
	w := storetest.Seed(t, st)
	e := &env{t: t, st: st, keys: map[string]string{}, merchants: w.Merchants}
	key := func(name string, role clearing.Role, subject string) {
		_, secret, err := st.CreateAPIKey(ctx, role, subject, name, storetest.Operator)
		if err != nil {
			t.Fatalf("key %s: %v", name, err)
		}
		e.keys[name] = secret
	}
	key("operator", clearing.RoleOperator, "")
	key("officer", clearing.RoleCompliance, "")
	key("bankDE", clearing.RoleBank, "DEUTDEFF")
	key("bankSG", clearing.RoleBank, "DBSSSGSG")
	key("bankUS", clearing.RoleBank, "CHASUS33")
	key("merDE", clearing.RoleMerchant, w.Merchants[0].ID)
	key("merSG", clearing.RoleMerchant, w.Merchants[1].ID)
	key("regSG", clearing.RoleRegulator, "SG")

	// SG's bank uploads a pacs.008 paying Berlin Books: a payment, and a
	// pacs.002 in its mailbox.
	file := isotest.Pacs008{MsgID: "MSG-" + uuid.NewString()[:8], Txs: []isotest.Tx{{UETR: uuid.NewString(), Amount: "125.50", Ccy: "EUR"}}}.Bytes()
	res, err := inbound.Receive(ctx, st, "DBSSSGSG", file, inbound.Config{}, clearing.Actor{Role: clearing.RoleBank, Subject: "DBSSSGSG"})
	if err != nil || len(res.Transactions) != 1 || res.Transactions[0].Status != "ACSP" {
		t.Fatalf("seed upload: %+v %v", res, err)
	}
	e.paySGtoDE, e.fileSG = res.Transactions[0].PaymentID, res.Reply.ID
	us, err := st.Hold(ctx, clearing.HoldRequest{UETR: uuid.NewString(), BuyerBankID: "CHASUS33", MerchantID: w.Merchants[2].ID,
		Amount: mustAmount(t, "75.00", "USD"), Reference: "ORDER-US-1"}, storetest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	e.payUS = us.ID
	if _, err := st.Act(ctx, e.paySGtoDE, clearing.Action{Kind: clearing.ActionRelease}, clearing.Actor{Role: clearing.RoleBank, Subject: "DBSSSGSG"}); err != nil {
		t.Fatal(err)
	}
	cy, err := st.CloseCycle(ctx, storetest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	e.closedCycle = cy.ID

	// A payment to a merchant named like OFAC entry 28603 waits for review.
	listed, err := st.CreateMerchant(ctx, clearing.Merchant{Name: "TNK Trading International Ltd", Country: "CH", Currency: "EUR",
		Account: "DE02100100109307118603", BankID: "DEUTDEFF"}, storetest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Hold(ctx, clearing.HoldRequest{UETR: uuid.NewString(), BuyerBankID: "DEUTDEFF", MerchantID: listed.ID,
		Amount: mustAmount(t, "900.00", "EUR"), Reference: "ORDER-TNK-1"}, clearing.Actor{Role: clearing.RoleBank, Subject: "DEUTDEFF"})
	var held *store.ScreeningError
	if !errors.As(err, &held) || !held.Pending {
		t.Fatalf("the listed merchant's payment was not held for review: %v", err)
	}
	e.review = held.ScreeningID

	dev, err := signing.OpenDevSigner(filepath.Join(t.TempDir(), "dev.key"), "test")
	if err != nil {
		t.Fatal(err)
	}
	sealer := &outbox.Sealer{Store: st, Signer: dev}
	if _, err := sealer.SealPending(ctx); err != nil {
		t.Fatal(err)
	}
	sealCtx, stopSealing := context.WithCancel(ctx)
	go sealer.Run(sealCtx, time.Second) // signs what pages write, as serve does
	t.Cleanup(stopSealing)
	// A regulator endpoint and a witness, for the overview's readiness.
	pushes := push.NewOutbox(st.DB(), merklelog.New(st.DB()))
	if _, err := pushes.AddEndpoint(ctx, "SG", "https://mas.example/reports", storetest.Operator, time.Now()); err != nil {
		t.Fatal(err)
	}
	witnesses := &witnessing.Registry{DB: st.DB()}
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := cosignature.NewVerifierFromKey("witness.example/w1", pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := witnesses.Add(ctx, vkey.String(), "https://witness.example/", storetest.Operator); err != nil {
		t.Fatal(err)
	}
	app := api.New(st, api.Config{Sealer: sealer})
	console.Mount(app, st, console.Config{Sealer: sealer, Reads: reads, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Push: pushes, Witnesses: witnesses})
	for _, r := range app.GetRoutes(true) {
		if strings.HasPrefix(r.Path, console.Prefix) && r.Method != http.MethodHead {
			e.routes = append(e.routes, r.Method+" "+r.Path)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.ShutdownWithTimeout(5 * time.Second) })
	e.base = "http://" + ln.Addr().String()
	return e
}

// screener screens against the sample lists, loaded once for all tests.
var screener = func() func(t testing.TB) *compliance.Screener {
	var (
		once sync.Once
		sc   *compliance.Screener
	)
	return func(t testing.TB) *compliance.Screener {
		once.Do(func() { sc = compliancetest.Screener(t, compliance.Config{}) })
		return sc
	}
}()

func mustAmount(t testing.TB, v, ccy string) fx.Amount {
	t.Helper()
	a, err := fx.ParseAmount(v, ccy)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// browser is one user agent: its own cookies, no redirects followed (the
// tests look at them).
type browser struct {
	e    *env
	http *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	Status int
	Header http.Header
	Body   string
}

func (b *browser) do(method, path string, body io.Reader, header map[string]string) page {
	b.e.t.Helper()
	req, err := http.NewRequest(method, b.e.base+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := b.http.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return page{Status: res.StatusCode, Header: res.Header, Body: string(raw)}
}

func (b *browser) get(path string) page { return b.do(http.MethodGet, path, nil, nil) }

// post sends a form as a browser would: from the console's own origin.
func (b *browser) post(path string, form url.Values) page {
	return b.do(http.MethodPost, path, strings.NewReader(form.Encode()), map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Origin": b.e.base})
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token in a page's forms.
func (b *browser) csrf(path string) string {
	b.e.t.Helper()
	p := b.get(path)
	m := csrfField.FindStringSubmatch(p.Body)
	if m == nil {
		b.e.t.Fatalf("no CSRF token on %s: %d %s", path, p.Status, p.Body)
	}
	return m[1]
}

// signIn signs in with the named caller's key and fails the test if that
// does not land on the role's home page.
func (b *browser) signIn(name string) {
	b.e.t.Helper()
	p := b.post("/console/signin", url.Values{"csrf": {b.csrf("/console/signin")}, "key": {b.e.keys[name]}})
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/console/") {
		b.e.t.Fatalf("sign in as %s: %d %s %s", name, p.Status, p.Header.Get("Location"), p.Body)
	}
}

// testWriter sends the server's log to the test's.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

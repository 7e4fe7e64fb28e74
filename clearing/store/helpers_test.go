package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

var ctx = context.Background()

// clock is a movable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)} }

// env is one engine's store with a seeded world and a movable clock.
type env struct {
	engine string
	s      *store.Store
	w      storetest.World
	clock  *clock
}

func eachEngine(t *testing.T, fn func(t *testing.T, e env)) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			c := newClock()
			s := storetest.Open(t, engine, store.Options{Now: c.now, ReleaseAfter: 15 * 24 * time.Hour})
			fn(t, env{engine: engine, s: s, w: storetest.Seed(t, s), clock: c})
		})
	}
}

func amount(t testing.TB, value, ccy string) fx.Amount {
	t.Helper()
	a, err := fx.ParseAmount(value, ccy)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// hold holds a payment from bank to merchant and fails the test on error.
func (e env) hold(t testing.TB, bank, merchant int, value string) clearing.Payment {
	t.Helper()
	m := e.w.Merchants[merchant]
	p, err := e.s.Hold(ctx, clearing.HoldRequest{UETR: uuid.NewString(), BuyerBankID: e.w.Banks[bank].ID, MerchantID: m.ID, Amount: amount(t, value, m.Currency)}, storetest.Operator)
	if err != nil {
		t.Fatalf("hold %s: %v", value, err)
	}
	return p
}

func (e env) act(t testing.TB, id string, a clearing.Action) clearing.Payment {
	t.Helper()
	p, err := e.s.Act(ctx, id, a, storetest.Operator)
	if err != nil {
		t.Fatalf("%s %s: %v", a.Kind, id, err)
	}
	return p
}

// wantCode asserts err is a *clearing.Error with code and field.
func wantCode(t testing.TB, err error, code, field string) {
	t.Helper()
	ce, ok := clearing.AsError(err)
	if !ok {
		t.Fatalf("want error %s on %q, got %v", code, field, err)
	}
	if ce.Code != code || ce.Field != field {
		t.Fatalf("want error %s on %q, got %s on %q: %s", code, field, ce.Code, ce.Field, ce.Msg)
	}
}

// snapshot is what must not change when a request is refused.
type snapshot struct {
	payments  int
	events    int
	postings  int
	positions []store.Position
	versions  map[string]int64
}

func (e env) snapshot(t testing.TB) snapshot {
	t.Helper()
	db := e.s.DB()
	var s snapshot
	for table, n := range map[string]*int{"payments": &s.payments, "payment_events": &s.events, "postings": &s.postings} {
		if err := db.NewRaw("SELECT COUNT(*) FROM "+table).Scan(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if s.positions, err = e.s.OpenPositions(ctx, ""); err != nil {
		t.Fatal(err)
	}
	page, err := e.s.Payments(ctx, store.PaymentFilter{Limit: store.MaxPage})
	if err != nil {
		t.Fatal(err)
	}
	s.versions = map[string]int64{}
	for _, p := range page.Payments {
		s.versions[p.ID] = p.Version
	}
	return s
}

func (e env) unchanged(t testing.TB, before snapshot) {
	t.Helper()
	after := e.snapshot(t)
	if after.payments != before.payments || after.events != before.events || after.postings != before.postings {
		t.Fatalf("database changed: payments %d→%d events %d→%d postings %d→%d", before.payments, after.payments, before.events, after.events, before.postings, after.postings)
	}
	if len(after.positions) != len(before.positions) {
		t.Fatalf("positions changed: %v → %v", before.positions, after.positions)
	}
	for i := range after.positions {
		if after.positions[i] != before.positions[i] {
			t.Fatalf("position changed: %+v → %+v", before.positions[i], after.positions[i])
		}
	}
	for id, v := range before.versions {
		if after.versions[id] != v {
			t.Fatalf("payment %s version %d → %d", id, v, after.versions[id])
		}
	}
}

func (e env) ledgerOK(t testing.TB) clearing.LedgerCheck {
	t.Helper()
	chk, err := e.s.CheckLedger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !chk.OK {
		t.Fatalf("ledger does not balance: %v", chk.Problems)
	}
	return chk
}

func isKind(err error, k clearing.Kind) bool {
	var ce *clearing.Error
	return errors.As(err, &ce) && ce.Kind == k
}

// Package regtest builds the regulator packages' test world: a migrated
// store on one engine with the storetest banks, a movable clock,
// development signers and a report producer, plus helpers to run cycles
// and fetch bundles.
package regtest

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/regulator"
	"github.com/crossclear/crossclear/regulator/bundle"
	"github.com/crossclear/crossclear/regulator/reports"
)

// Origin is the test log's origin.
const Origin = "crossclear.test/regulator-log"

// Clock is a movable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock on.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// World is a store with banks, signers and a producer.
type World struct {
	Engine      string
	Store       *store.Store
	Banks       storetest.World
	Clock       *Clock
	Files       signing.Signer
	Checkpoints signing.Signer
	Producer    *regulator.Producer
	Bundles     *bundle.Builder
}

// New opens a world on engine (sqlite or postgres).
func New(t testing.TB, engine string) *World { return NewWith(t, engine, store.Options{}) }

// NewWith opens a world whose store has opt (a screener, say); the clock
// is the world's.
func NewWith(t testing.TB, engine string, opt store.Options) *World {
	t.Helper()
	clock := &Clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	opt.Now = clock.Now
	s := storetest.Open(t, engine, opt)
	dir := t.TempDir()
	files, err := signing.OpenDevSigner(filepath.Join(dir, "files.key"), "crossclear")
	if err != nil {
		t.Fatal(err)
	}
	cps, err := signing.OpenDevSigner(filepath.Join(dir, "checkpoints.key"), "crossclear-checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	w := &World{Engine: engine, Store: s, Banks: storetest.Seed(t, s), Clock: clock, Files: files, Checkpoints: cps}
	w.Producer = regulator.NewProducer(s, files, cps, Origin)
	w.Bundles = &bundle.Builder{Archive: w.Producer.Archive, Log: w.Producer.Log}
	return w
}

// Keys is the world's published keys document.
func (w *World) Keys(t testing.TB) bundle.Keys {
	t.Helper()
	k, err := bundle.PublishedKeys(context.Background(), Origin, w.Checkpoints, w.Files)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Hold holds a payment from bank to merchant (indexes into Banks).
func (w *World) Hold(t testing.TB, bank, merchant int, value string) clearing.Payment {
	t.Helper()
	m := w.Banks.Merchants[merchant]
	amount, err := fx.ParseAmount(value, m.Currency)
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.Store.Hold(context.Background(), clearing.HoldRequest{UETR: uuid.NewString(), BuyerBankID: w.Banks.Banks[bank].ID,
		MerchantID: m.ID, Amount: amount}, storetest.Operator)
	if err != nil {
		t.Fatalf("hold %s: %v", value, err)
	}
	return p
}

// Act applies an action to a payment.
func (w *World) Act(t testing.TB, id string, a clearing.Action) {
	t.Helper()
	if _, err := w.Store.Act(context.Background(), id, a, storetest.Operator); err != nil {
		t.Fatalf("%s %s: %v", a.Kind, id, err)
	}
}

// Close closes the open cycle an hour from now.
func (w *World) Close(t testing.TB) clearing.Cycle {
	t.Helper()
	w.Clock.Advance(time.Hour)
	c, err := w.Store.CloseCycle(context.Background(), storetest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Produce runs one producer pass and fails the test on error.
func (w *World) Produce(t testing.TB) regulator.Pass {
	t.Helper()
	pass, err := w.Producer.Tick(context.Background())
	if err != nil {
		t.Fatalf("producer pass: %v", err)
	}
	return pass
}

// Bundle bundles report id against the latest checkpoint, with a
// consistency proof from since when since > 0.
func (w *World) Bundle(t testing.TB, id string, since uint64) bundle.Bundle {
	t.Helper()
	ctx := context.Background()
	r, err := w.Producer.Archive.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := w.Producer.Log.LatestCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.Bundles.Build(ctx, r, cp, since)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Report is the stored report id.
func (w *World) Report(t testing.TB, id string) reports.Stored {
	t.Helper()
	r, err := w.Producer.Archive.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

package worker

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

// openFX opens another handle on dsn with a rate book of its own, as
// another serve process would.
func openFX(t *testing.T, dsn string, c *clock) (*store.Store, *fx.Book) {
	t.Helper()
	book := &fx.Book{}
	s, err := store.Open(context.Background(), dsn, store.Options{Now: c.Now, FX: store.FXOptions{Book: book, Provider: storetest.FXProviderBIC}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, book
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// A rate posted through one process reaches the book of another through
// its reloader; the ECB refresh of a third loads the reference rates at
// once, and they reach the other books too.
func TestRateReloaderAndECBRefresh(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			c := newClock(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
			dsn := storetest.DSN(t, engine)
			poster, _ := openFX(t, dsn, c)
			reader, book := openFX(t, dsn, c)
			refresher, _ := openFX(t, dsn, c)
			if _, err := reader.LoadRates(context.Background()); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 2)
			go func() {
				done <- (&RateReloader{Store: reader, Interval: 20 * time.Millisecond, Logger: quiet}).Run(ctx)
			}()

			r := fx.Rate{Pair: fx.Pair{Base: "SGD", Quote: "EUR"}, Bid: decimal.RequireFromString("0.6845"), Ask: decimal.RequireFromString("0.6855"),
				Source: storetest.FXProviderBIC, AsOf: c.Now(), ValidUntil: c.Now().Add(time.Hour)}
			if err := poster.PostRates(context.Background(), []fx.Rate{r}, storetest.Operator); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the posted rate in the other book", func() bool {
				_, err := book.Lookup(r.Pair, storetest.FXProviderBIC, c.Now(), 0)
				return err == nil
			})

			go func() {
				done <- (&ECBRefresh{Store: refresher, Source: "../../testdata/ecb/eurofxref-daily.xml", Interval: time.Hour, Logger: quiet}).Run(ctx)
			}()
			waitFor(t, "the ECB rates in the other book", func() bool {
				_, err := book.Lookup(fx.Pair{Base: "EUR", Quote: "JPY"}, fx.SourceECB, c.Now(), 0)
				return err == nil
			})
			cancel()
			for range 2 {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
			if err := (&ECBRefresh{Store: refresher}).Run(context.Background()); err == nil {
				t.Fatal("an ECB refresh without a source ran")
			}
		})
	}
}

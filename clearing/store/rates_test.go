package store_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

const ecbSample = "../../testdata/ecb/eurofxref-daily.xml"

// Two processes on one database, each with its own rate book: rates posted
// through one are quoted by the other after it reloads, including a rate
// whose posting time is a little before the other's last load (a
// transaction that committed late, or a clock a little behind).
func TestRatesPostedByOneProcessReachAnotherOnReload(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			c := newClock()
			dsn := storetest.DSN(t, engine)
			open := func() (*store.Store, *fx.Book) {
				book := &fx.Book{}
				s, err := store.Open(ctx, dsn, store.Options{Now: c.now, FX: store.FXOptions{Book: book, Provider: storetest.FXProviderBIC, FeeBps: fxFeeBps, SpreadBps: fxSpreadBps}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				if _, err := s.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				return s, book
			}
			s1, _ := open()
			s2, book2 := open()
			e := fxEnv{env: env{engine: engine, s: s1, w: storetest.Seed(t, s1), clock: c}}
			storetest.SeedFX(t, s1)
			if n, err := s2.LoadRates(ctx); err != nil || n != 0 {
				t.Fatalf("first load: %d %v", n, err)
			}
			quote := func() (int64, error) {
				q, err := s2.CreateQuote(ctx, store.QuoteRequest{BankID: "DBSSSGSG", Sell: amount(t, "1000.00", "SGD"), Buy: "EUR"})
				return q.BuyMinor, err
			}

			e.postRate(t, "SGD/EUR", "0.6845", "0.6855") // through s1
			_, err := quote()
			wantCode(t, err, "no_rate", "buy_currency")
			if n, err := s2.ReloadRates(ctx); err != nil || n != 1 {
				t.Fatalf("reload: %d %v", n, err)
			}
			if m, err := quote(); err != nil || m != 67_902 {
				t.Fatalf("quote after reload: %d %v", m, err)
			}

			// Ten minutes later s1 moves the rate; s2 follows at its next reload.
			c.advance(10 * time.Minute)
			e.postRate(t, "SGD/EUR", "0.6900", "0.6910")
			if m, _ := quote(); m != 67_902 {
				t.Fatalf("quoted %d before the reload", m)
			}
			if _, err := s2.ReloadRates(ctx); err != nil {
				t.Fatal(err)
			}
			if m, err := quote(); err != nil || m != 68_448 { // RoundDown(992.00 × 0.69)
				t.Fatalf("quote after the second reload: %d %v", m, err)
			}

			// A rate posted "a minute ago" (before s2's last load) still arrives.
			c.advance(-time.Minute)
			e.postRate(t, "SGD/USD", "0.7400", "0.7450")
			c.advance(time.Minute)
			if _, err := s2.ReloadRates(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := book2.Lookup(fx.Pair{Base: "SGD", Quote: "USD"}, storetest.FXProviderBIC, c.now(), 0); err != nil {
				t.Fatalf("late rate not reloaded: %v", err)
			}
			// Expired rates are not reloaded; the stale one in the book stays stale.
			c.advance(25 * time.Hour)
			if n, err := s2.ReloadRates(ctx); err != nil || n != 0 {
				t.Fatalf("reload of expired rates: %d %v", n, err)
			}
		})
	}
}

// The ECB refresh loads the reference rates from a file or a URL and posts
// the ones newer than the book's: once per ECB day, whatever the schedule,
// and other processes get them on reload.
func TestECBRefresh(t *testing.T) {
	raw, err := os.ReadFile(ecbSample)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Write(raw)
	}))
	defer srv.Close()
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			c := &clock{t: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)} // the morning after the sample's day
			dsn := storetest.DSN(t, engine)
			var stores []*store.Store
			for range 2 {
				s, err := store.Open(ctx, dsn, store.Options{Now: c.now, FX: store.FXOptions{Book: &fx.Book{}, Provider: storetest.FXProviderBIC}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				if _, err := s.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				stores = append(stores, s)
			}
			s1, s2 := stores[0], stores[1]
			n, err := s1.RefreshECB(ctx, ecbSample, nil)
			if err != nil || n != 29 {
				t.Fatalf("refresh from the file: %d %v", n, err)
			}
			for _, source := range []string{ecbSample, srv.URL} {
				if n, err := s1.RefreshECB(ctx, source, srv.Client()); err != nil || n != 0 {
					t.Fatalf("refresh again from %s: %d %v", source, n, err)
				}
			}
			if n, err := s2.RefreshECB(ctx, srv.URL, srv.Client()); err != nil || n != 29 {
				t.Fatalf("s2's book was empty: %d %v", n, err) // a second process may post them once too; harmless
			}
			var rows int
			if err := s1.DB().NewRaw("SELECT COUNT(*) FROM rates WHERE source = 'ecb'").Scan(ctx, &rows); err != nil || rows != 58 {
				t.Fatalf("%d rows %v", rows, err)
			}
			if _, err := s1.ReloadRates(ctx); err != nil {
				t.Fatal(err)
			}
			c2, err := s1.FX().Book.Lookup(fx.Pair{Base: "EUR", Quote: "USD"}, fx.SourceECB, c.now(), 0)
			if err != nil || !c2.Bid.Equal(ecbUSD(t, raw)) {
				t.Fatalf("EUR/USD after the refresh: %+v %v", c2, err)
			}
			if _, err := s1.RefreshECB(ctx, srv.URL+"/missing.xml", nil); err == nil || !strings.Contains(err.Error(), "404") {
				t.Fatalf("a missing URL: %v", err)
			}
			// Four days later the sample has expired: the refresh says so.
			c.t = c.t.Add(5 * 24 * time.Hour)
			if _, err := s1.RefreshECB(ctx, ecbSample, nil); err == nil || !strings.Contains(err.Error(), "have expired") {
				t.Fatalf("refresh of an expired file: %v", err)
			}
		})
	}
}

// ecbUSD is the sample's EUR/USD rate, read the way the ECB writes it.
func ecbUSD(t *testing.T, raw []byte) decimal.Decimal {
	t.Helper()
	s := string(raw)
	i := strings.Index(s, "currency='USD' rate='")
	if i < 0 {
		t.Fatal("no USD in the sample")
	}
	s = s[i+len("currency='USD' rate='"):]
	return decimal.RequireFromString(s[:strings.IndexByte(s, '\'')])
}

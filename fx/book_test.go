package fx

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// ecbBook is a book holding the ECB sample.
func ecbBook(t testing.TB, bases ...string) *Book {
	t.Helper()
	rates, err := LoadECB(t.Context(), ecbSample, nil, dayTV)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBook(bases...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(rates...); err != nil {
		t.Fatal(err)
	}
	return b
}

func checkConv(t *testing.T, c Conversion, pair Pair, bid, ask string, path ...string) {
	t.Helper()
	if c.Pair != pair || !c.Bid.Equal(d(bid)) || !c.Ask.Equal(d(ask)) || !slices.Equal(c.Path, path) {
		t.Errorf("conversion %s: bid %s ask %s path %q\nwant %s: bid %s ask %s path %q", c.Pair, c.Bid, c.Ask, c.Path, pair, bid, ask, path)
	}
}

func TestBookLookup(t *testing.T) {
	b := ecbBook(t)
	now := t0.Add(time.Hour)
	look := func(base, quote string) Conversion {
		t.Helper()
		c, err := b.Lookup(Pair{base, quote}, SourceECB, now, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !c.AsOf.Equal(t0) || !c.ValidUntil.Equal(t0.Add(dayTV)) {
			t.Errorf("%s: AsOf %s ValidUntil %s", c.Pair, c.AsOf, c.ValidUntil)
		}
		return c
	}
	// Direct.
	c := look("EUR", "USD")
	checkConv(t, c, Pair{"EUR", "USD"}, "1.0835", "1.0835", "EUR/USD ecb 2026-11-20")
	if !c.Mid().Equal(d("1.0835")) {
		t.Errorf("mid %s", c.Mid())
	}
	// Inverse: 1/1.0835 = 0.92293493308721735...; bid rounded down, ask up, at 16 places.
	checkConv(t, look("USD", "EUR"), Pair{"USD", "EUR"}, "0.9229349330872173", "0.9229349330872174",
		"USD/EUR ecb 2026-11-20 (inverted)")
	// Cross through EUR, the first leg inverted: 0.9229349330872173 × 162.45 and 0.9229349330872174 × 162.45.
	c = look("USD", "JPY")
	checkConv(t, c, Pair{"USD", "JPY"}, "149.930779880018450385", "149.930779880018466630",
		"USD/EUR ecb 2026-11-20 (inverted)", "EUR/JPY ecb 2026-11-20")
	if !c.Mid().Equal(d("149.9307798800184585075")) {
		t.Errorf("USD/JPY mid %s", c.Mid())
	}
	checkConv(t, look("GBP", "CHF"), Pair{"GBP", "CHF"}, "1.10574125749569545376", "1.10574125749569554688",
		"GBP/EUR ecb 2026-11-20 (inverted)", "EUR/CHF ecb 2026-11-20")
	// Every ordered pair of the sample's 30 currencies has a conversion.
	codes := []string{"EUR"}
	for _, r := range b.Rates() {
		codes = append(codes, r.Quote)
	}
	for _, x := range codes {
		for _, y := range codes {
			if x == y {
				continue
			}
			c := look(x, y)
			if c.Bid.Sign() <= 0 || c.Bid.GreaterThan(c.Ask) || len(c.Path) == 0 || len(c.Path) > 2 {
				t.Errorf("%s/%s: %+v", x, y, c)
			}
		}
	}
}

// acme is a provider quoting USD-based pairs with a spread.
func acmeRates(asOf time.Time) []Rate {
	mk := func(quote, bid, ask string) Rate {
		return Rate{Pair: Pair{"USD", quote}, Bid: d(bid), Ask: d(ask), Source: "acme", AsOf: asOf, ValidUntil: asOf.Add(time.Minute)}
	}
	return []Rate{mk("JPY", "149.80", "149.90"), mk("BRL", "5.5100", "5.5160"), mk("EUR", "0.9225", "0.9232")}
}

func TestBookCrossPreferences(t *testing.T) {
	b := ecbBook(t)
	if err := b.Put(acmeRates(t0)...); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(30 * time.Second)
	// No EUR/JPY or EUR/BRL at acme: EUR/USD... is not there either, but USD/EUR is:
	// JPY→EUR fails (no JPY leg with EUR), so the cross goes through USD.
	c, err := b.Lookup(Pair{"JPY", "BRL"}, "acme", now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// bid = floor16(1/149.90) × 5.5100, ask = ceil16(1/149.80) × 5.5160.
	checkConv(t, c, Pair{"JPY", "BRL"}, "0.03675783855903935700", "0.03682242990654219600",
		"JPY/USD acme 2026-11-20T15:00:00Z (inverted)", "USD/BRL acme 2026-11-20T15:00:00Z")
	// The inverse is preferred to a cross, the direct rate to the inverse.
	c, err = b.Lookup(Pair{"EUR", "USD"}, "acme", now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	checkConv(t, c, Pair{"EUR", "USD"}, "1.0831889081455805", "1.0840108401084011", "EUR/USD acme 2026-11-20T15:00:00Z (inverted)")
	// Crossing through EUR comes before USD; with bases USD only, JPY/GBP at the ECB has no route.
	c, err = b.Lookup(Pair{"JPY", "GBP"}, SourceECB, now, 0)
	if err != nil || c.Path[0] != "JPY/EUR ecb 2026-11-20 (inverted)" {
		t.Errorf("JPY/GBP: %v %v", c.Path, err)
	}
	usdOnly := ecbBook(t, "USD")
	if got := usdOnly.Bases(); !slices.Equal(got, []string{"USD"}) {
		t.Errorf("bases %v", got)
	}
	_, err = usdOnly.Lookup(Pair{"JPY", "GBP"}, SourceECB, now, 0)
	if !errors.Is(err, ErrNoRate) {
		t.Fatalf("JPY/GBP through USD only: err = %v, want ErrNoRate", err)
	}
	mention(t, err, "JPY/GBP", `"ecb"`, "GBP/JPY", "crosses through USD")
	if _, err := NewBook("EUR", "XYZ"); !errors.Is(err, ErrUnknownCurrency) {
		t.Errorf("NewBook(XYZ) err = %v", err)
	}
	if _, err := NewBook("EUR", "EUR"); err == nil {
		t.Error("NewBook(EUR, EUR): no error")
	}
}

func TestBookNoRate(t *testing.T) {
	b := ecbBook(t)
	now := t0.Add(time.Hour)
	for _, tt := range []struct {
		pair   Pair
		source string
		err    error
		words  []string
	}{
		{Pair{"EUR", "USD"}, "acme", ErrNoRate, []string{"EUR/USD", `"acme"`, "USD/EUR"}},
		{Pair{"EUR", "KWD"}, SourceECB, ErrNoRate, []string{"EUR/KWD", "KWD/EUR", "crosses through USD"}},
		{Pair{"KWD", "BHD"}, SourceECB, ErrNoRate, []string{"KWD/BHD", "crosses through EUR, USD"}},
		{Pair{"EUR", "XYZ"}, SourceECB, ErrUnknownPair, []string{"XYZ"}},
		{Pair{"EUR", "EUR"}, SourceECB, ErrUnknownPair, []string{"EUR/EUR"}},
	} {
		_, err := b.Lookup(tt.pair, tt.source, now, 0)
		if !errors.Is(err, tt.err) {
			t.Errorf("%s from %s: err = %v, want %v", tt.pair, tt.source, err, tt.err)
			continue
		}
		mention(t, err, tt.words...)
	}
	var empty Book
	if _, err := empty.Lookup(Pair{"EUR", "USD"}, SourceECB, now, 0); !errors.Is(err, ErrNoRate) {
		t.Errorf("zero Book: err = %v", err)
	}
}

func TestBookStale(t *testing.T) {
	b := ecbBook(t)
	// Too old for maxAge.
	_, err := b.Lookup(Pair{"EUR", "USD"}, SourceECB, t0.Add(25*time.Hour), 24*time.Hour)
	if !errors.Is(err, ErrStaleRate) {
		t.Fatalf("err = %v, want ErrStaleRate", err)
	}
	mention(t, err, "EUR/USD", "25h0m0s old", "max age 24h0m0s")
	// A cross names the request and the stale leg.
	_, err = b.Lookup(Pair{"USD", "JPY"}, SourceECB, t0.Add(25*time.Hour), 24*time.Hour)
	if !errors.Is(err, ErrStaleRate) {
		t.Fatalf("err = %v, want ErrStaleRate", err)
	}
	mention(t, err, "USD/JPY", "EUR/USD from ecb", "25h0m0s old")
	// Past ValidUntil, whatever maxAge.
	_, err = b.Lookup(Pair{"USD", "EUR"}, SourceECB, t0.Add(dayTV+time.Second), 0)
	if !errors.Is(err, ErrStaleRate) {
		t.Fatalf("err = %v, want ErrStaleRate", err)
	}
	mention(t, err, "USD/EUR", "48h0m1s old", "expired at 2026-11-22T16:00:00+01:00")
	// At ValidUntil exactly, and within maxAge, it is still good.
	if _, err := b.Lookup(Pair{"USD", "EUR"}, SourceECB, t0.Add(dayTV), dayTV); err != nil {
		t.Errorf("at ValidUntil: %v", err)
	}
	// A stale direct rate falls back on a fresh inverse.
	if err := b.Put(Rate{Pair: Pair{"USD", "EUR"}, Bid: d("0.92"), Ask: d("0.93"), Source: SourceECB,
		AsOf: t0.Add(24 * time.Hour), ValidUntil: t0.Add(72 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	c, err := b.Lookup(Pair{"EUR", "USD"}, SourceECB, t0.Add(50*time.Hour), 0)
	if err != nil || !strings.HasSuffix(c.Path[0], "(inverted)") {
		t.Errorf("fallback: %v, %v", c.Path, err)
	}
}

func TestBookPut(t *testing.T) {
	var b Book
	r := goodRate()
	if err := b.Put(r); err != nil {
		t.Fatal(err)
	}
	older := r
	older.AsOf, older.Bid = r.AsOf.Add(-time.Hour), d("1.0000")
	newer := r
	newer.AsOf, newer.Bid, newer.Ask = r.AsOf.Add(time.Minute), d("1.0900"), d("1.0910")
	if err := b.Put(older); err != nil {
		t.Fatal(err)
	}
	if got := b.Rates(); len(got) != 1 || !got[0].Bid.Equal(r.Bid) {
		t.Errorf("an older rate replaced a newer one: %v", got)
	}
	if err := b.Put(newer); err != nil {
		t.Fatal(err)
	}
	if got := b.Rates(); len(got) != 1 || !got[0].Bid.Equal(newer.Bid) {
		t.Errorf("newer rate not stored: %v", got)
	}
	// Another source is another rate.
	other := r
	other.Source = "acme"
	if err := b.Put(other); err != nil || len(b.Rates()) != 2 {
		t.Errorf("other source: %v, %d rates", err, len(b.Rates()))
	}
	// All or nothing.
	bad := r
	bad.Pair = Pair{"EUR", "GBP"}
	bad.Bid = d("-1")
	fresh := r
	fresh.Pair = Pair{"EUR", "CHF"}
	err := b.Put(fresh, bad)
	if !errors.Is(err, ErrBadRate) {
		t.Fatalf("err = %v", err)
	}
	mention(t, err, "rate 2 of 2", "EUR/GBP")
	if len(b.Rates()) != 2 {
		t.Errorf("a failed Put stored rates: %v", b.Rates())
	}
}

// TestBookConcurrent runs lookups while rates are put (meaningful under -race).
func TestBookConcurrent(t *testing.T) {
	b := ecbBook(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range 200 {
				asOf := t0.Add(time.Duration(i) * time.Second)
				if err := b.Put(acmeRates(asOf)...); err != nil {
					t.Error(err)
					return
				}
			}
		})
		wg.Go(func() {
			for range 200 {
				if _, err := b.Lookup(Pair{"USD", "JPY"}, SourceECB, t0, 0); err != nil {
					t.Error(err)
					return
				}
				_, err := b.Lookup(Pair{"JPY", "BRL"}, "acme", t0.Add(time.Second), 0)
				if err != nil && !errors.Is(err, ErrNoRate) && !errors.Is(err, ErrStaleRate) {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(b.Rates()); n != 29+3 {
		t.Errorf("%d rates, want %d", n, 29+3)
	}
}

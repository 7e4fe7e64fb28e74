package fx

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func amt(t *testing.T, value, code string) Amount {
	t.Helper()
	a, err := ParseAmount(value, code)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func lookup(t *testing.T, b *Book, base, quote string) Conversion {
	t.Helper()
	c, err := b.Lookup(Pair{base, quote}, SourceECB, t0.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type wantQuote struct {
	sell, buy, spread string // amounts with currency: "100.00 EUR"
	mid, rate         string
}

func checkQuote(t *testing.T, q Quote, w wantQuote) {
	t.Helper()
	if q.SellAmount().String() != w.sell || q.BuyAmount().String() != w.buy || q.SpreadAmount().String() != w.spread ||
		!q.Mid.Equal(d(w.mid)) || !q.Rate.Equal(d(w.rate)) {
		t.Errorf("quote: sell %s buy %s spread %s mid %s rate %s\nwant:  sell %s buy %s spread %s mid %s rate %s",
			q.SellAmount(), q.BuyAmount(), q.SpreadAmount(), q.Mid, q.Rate, w.sell, w.buy, w.spread, w.mid, w.rate)
	}
}

// TestQuoteWorkedExamples: the numbers, by hand.
func TestQuoteWorkedExamples(t *testing.T) {
	b := ecbBook(t)
	now := t0.Add(time.Hour)
	ttl := 30 * time.Second

	// 100.00 EUR → USD at bid 1.0835, 25 bps: rate = 1.0835 × 0.9975 = 1.08079125;
	// 100 × 1.08079125 = 108.079125 → 108.07 USD paid out (down);
	// spread = RoundDown(100 × 1.0835 = 108.35) − 108.07 = 0.28 USD.
	eurusd := lookup(t, b, "EUR", "USD")
	q, err := QuoteSell(eurusd, amt(t, "100.00", "EUR"), 25, "acme", "bank-a", now, ttl)
	if err != nil {
		t.Fatal(err)
	}
	checkQuote(t, q, wantQuote{"100.00 EUR", "108.07 USD", "0.28 USD", "1.0835", "1.08079125"})
	if q.Provider != "acme" || q.Bank != "bank-a" || q.SpreadBps != 25 || !q.IssuedAt.Equal(now) || !q.ExpiresAt.Equal(now.Add(ttl)) ||
		!strings.HasPrefix(q.ID, "fxq_") || len(q.ID) != 30 || !slices.Equal(q.Path, []string{"EUR/USD ecb 2026-11-20"}) {
		t.Errorf("quote fields: %+v", q)
	}

	// The merchant gets exactly 100.00 USD: 100 ÷ 1.08079125 = 92.5248053... → 92.53 EUR charged (up);
	// 92.53 × 1.08079125 = 100.0056143625 ≥ 100 and 92.52 × 1.08079125 = 99.99480645 < 100;
	// spread = RoundDown(92.53 × 1.0835 = 100.256255) − 100.00 = 0.25 USD.
	q, err = QuoteBuy(eurusd, amt(t, "100.00", "USD"), 25, "acme", "bank-a", now, ttl)
	if err != nil {
		t.Fatal(err)
	}
	checkQuote(t, q, wantQuote{"92.53 EUR", "100.00 USD", "0.25 USD", "1.0835", "1.08079125"})

	// 1234.56 USD → JPY through EUR, 30 bps: bid = 0.9229349330872173 × 162.45 = 149.930779880018450385;
	// rate = bid × 0.9970 = 149.4809875403783950338450;
	// 1234.56 × rate = 184543.2479778495... → 184543 JPY;
	// spread = RoundDown(1234.56 × bid = 185098.5436...) − 184543 = 555 JPY.
	q, err = QuoteSell(lookup(t, b, "USD", "JPY"), amt(t, "1234.56", "USD"), 30, "acme", "bank-a", now, ttl)
	if err != nil {
		t.Fatal(err)
	}
	checkQuote(t, q, wantQuote{"1234.56 USD", "184543 JPY", "555 JPY", "149.9307798800184585075", "149.4809875403783950338450"})
	if len(q.Path) != 2 || q.Path[1] != "EUR/JPY ecb 2026-11-20" {
		t.Errorf("path %q", q.Path)
	}

	// The merchant gets exactly 500.00 USD for JPY, 50 bps: bid = 0.0061557402277623 × 1.0835
	// = 0.00666974453678045205 (ask: 0.0061557402277624 × 1.0835, mid 0.006669744536780506225);
	// rate = bid × 0.9950 = 0.006636395814096549789750;
	// 500 ÷ rate = 75342.100442... → 75343 JPY charged;
	// spread = RoundDown(75343 × bid = 502.5185...) − 500.00 = 2.51 USD.
	q, err = QuoteBuy(lookup(t, b, "JPY", "USD"), amt(t, "500.00", "USD"), 50, "acme", "bank-a", now, ttl)
	if err != nil {
		t.Fatal(err)
	}
	checkQuote(t, q, wantQuote{"75343 JPY", "500.00 USD", "2.51 USD", "0.006669744536780506225", "0.006636395814096549789750"})

	// No spread: the client gets the bid and the spread is worth nothing.
	q, err = QuoteSell(eurusd, amt(t, "0.01", "EUR"), 0, "acme", "bank-a", now, ttl)
	if err != nil {
		t.Fatal(err)
	}
	checkQuote(t, q, wantQuote{"0.01 EUR", "0.01 USD", "0.00 USD", "1.0835", "1.0835"})
}

func TestQuoteRefuses(t *testing.T) {
	b := ecbBook(t)
	now := t0.Add(time.Hour)
	eurusd := lookup(t, b, "EUR", "USD")
	eur, usd := amt(t, "100.00", "EUR"), amt(t, "100.00", "USD")
	tests := []struct {
		name  string
		make  func() (Quote, error)
		err   error
		words []string
	}{
		{"zero sell", func() (Quote, error) { return QuoteSell(eurusd, amt(t, "0", "EUR"), 25, "p", "b", now, time.Minute) },
			ErrNotPositive, []string{"EUR/USD", "0.00 EUR"}},
		{"negative buy", func() (Quote, error) { return QuoteBuy(eurusd, amt(t, "-1", "USD"), 25, "p", "b", now, time.Minute) },
			ErrNotPositive, []string{"-1.00 USD"}},
		{"sell in the buy currency", func() (Quote, error) { return QuoteSell(eurusd, usd, 25, "p", "b", now, time.Minute) },
			ErrCurrencyMix, []string{"EUR/USD", "100.00 USD"}},
		{"buy in the sell currency", func() (Quote, error) { return QuoteBuy(eurusd, eur, 25, "p", "b", now, time.Minute) },
			ErrCurrencyMix, []string{"EUR/USD", "100.00 EUR"}},
		{"negative spread", func() (Quote, error) { return QuoteSell(eurusd, eur, -1, "p", "b", now, time.Minute) },
			ErrBadQuote, []string{"-1 bps", "[0, 10000)"}},
		{"100 % spread", func() (Quote, error) { return QuoteBuy(eurusd, usd, 10000, "p", "b", now, time.Minute) },
			ErrBadQuote, []string{"10000 bps"}},
		{"no bank", func() (Quote, error) { return QuoteSell(eurusd, eur, 25, "p", "", now, time.Minute) },
			ErrBadQuote, []string{"bank"}},
		{"no ttl", func() (Quote, error) { return QuoteSell(eurusd, eur, 25, "p", "b", now, 0) },
			ErrBadQuote, []string{"time to live"}},
		{"same currency", func() (Quote, error) {
			c := eurusd
			c.Quote = "EUR"
			return QuoteSell(c, eur, 25, "p", "b", now, time.Minute)
		}, ErrSameCurrency, []string{"EUR/EUR"}},
		{"bad conversion", func() (Quote, error) {
			c := eurusd
			c.Bid = d("0")
			return QuoteSell(c, eur, 25, "p", "b", now, time.Minute)
		}, ErrBadRate, []string{"EUR/USD", "bid 0"}},
		{"expired conversion", func() (Quote, error) {
			return QuoteSell(eurusd, eur, 25, "p", "b", eurusd.ValidUntil, time.Minute)
		}, ErrStaleRate, []string{"EUR/USD", "expired"}},
		{"less than a unit", func() (Quote, error) {
			return QuoteSell(lookup(t, b, "JPY", "USD"), amt(t, "1", "JPY"), 25, "p", "b", now, time.Minute)
		}, ErrNotPositive, []string{"1 JPY", "less than one minor unit of USD"}},
		{"too large", func() (Quote, error) {
			return QuoteSell(lookup(t, b, "EUR", "IDR"), amt(t, "1000000000000", "EUR"), 25, "p", "b", now, time.Minute)
		}, ErrTooLarge, []string{"EUR/IDR"}},
	}
	for _, tt := range tests {
		q, err := tt.make()
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: got %+v, %v; want %v", tt.name, q, err, tt.err)
			continue
		}
		mention(t, err, tt.words...)
	}
	// A quote never outlives its rates.
	q, err := QuoteSell(eurusd, eur, 25, "p", "b", eurusd.ValidUntil.Add(-time.Second), time.Minute)
	if err != nil || !q.ExpiresAt.Equal(eurusd.ValidUntil) {
		t.Errorf("expires %s, %v; want %s", q.ExpiresAt, err, eurusd.ValidUntil)
	}
}

func TestQuoteCheck(t *testing.T) {
	b := ecbBook(t)
	now := t0.Add(time.Hour)
	eur := amt(t, "100.00", "EUR")
	q, err := QuoteSell(lookup(t, b, "EUR", "USD"), eur, 25, "acme", "bank-a", now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Check(now.Add(59*time.Second), "bank-a", eur, "USD"); err != nil {
		t.Errorf("good use: %v", err)
	}
	for _, tt := range []struct {
		name  string
		now   time.Time
		bank  string
		sell  Amount
		buy   string
		err   error
		words []string
	}{
		{"expired", now.Add(time.Minute), "bank-a", eur, "USD", ErrQuoteExpired, []string{q.ID, "expired at 2026-11-20T16:01:00Z"}},
		{"other bank", now, "bank-b", eur, "USD", ErrQuoteOtherBank, []string{q.ID, `"bank-b"`}},
		{"other bank, expired too", now.Add(time.Hour), "bank-b", eur, "USD", ErrQuoteOtherBank, nil},
		{"other amount", now, "bank-a", amt(t, "100.01", "EUR"), "USD", ErrQuoteMismatch, []string{"sells 100.00 EUR", "is 100.01 EUR"}},
		{"other currency", now, "bank-a", amt(t, "100", "CHF"), "USD", ErrQuoteMismatch, []string{"100.00 EUR", "100.00 CHF"}},
		{"other buy currency", now, "bank-a", eur, "GBP", ErrQuoteMismatch, []string{"buys USD", "wants GBP"}},
	} {
		err := q.Check(tt.now, tt.bank, tt.sell, tt.buy)
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
			continue
		}
		mention(t, err, tt.words...)
		if strings.Contains(err.Error(), "bank-a") {
			t.Errorf("%s: error %q names the bank the quote belongs to", tt.name, err)
		}
	}
}

func TestConvertAt(t *testing.T) {
	usd, jpy := MustCurrency("USD"), MustCurrency("JPY")
	a := amt(t, "108.07", "USD")
	rate := d("0.9229349330872173") // USD/EUR
	// 108.07 × 0.9229349330872173 = 99.741578218735573611.
	down, err := ConvertAt(a, MustCurrency("EUR"), rate, true)
	if err != nil || down.String() != "99.74 EUR" {
		t.Errorf("pay out: %v, %v; want 99.74 EUR", down, err)
	}
	up, err := ConvertAt(a, MustCurrency("EUR"), rate, false)
	if err != nil || up.String() != "99.75 EUR" {
		t.Errorf("charge: %v, %v; want 99.75 EUR", up, err)
	}
	// Exact results are not rounded either way.
	for _, payOut := range []bool{true, false} {
		got, err := ConvertAt(amt(t, "2", "USD"), jpy, d("149.5"), payOut)
		if err != nil || got.String() != "299 JPY" {
			t.Errorf("exact, payOut=%v: %v, %v", payOut, got, err)
		}
	}
	// KWD has 3 decimals: 1000 JPY × 0.00201234 = 2.01234 KWD.
	got, err := ConvertAt(amt(t, "1000", "JPY"), MustCurrency("KWD"), d("0.00201234"), false)
	if err != nil || got.String() != "2.013 KWD" {
		t.Errorf("KWD: %v, %v", got, err)
	}
	for _, tt := range []struct {
		a    Amount
		to   Currency
		rate string
		err  error
	}{
		{usd.FromMinor(0), jpy, "150", ErrNotPositive},
		{usd.FromMinor(-5), jpy, "150", ErrNotPositive},
		{usd.FromMinor(5), usd, "1", ErrSameCurrency},
		{usd.FromMinor(5), jpy, "0", ErrBadRate},
		{usd.FromMinor(5), jpy, "-150", ErrBadRate},
		{usd.FromMinor(5), Currency{Code: "XYZ"}, "150", ErrUnknownCurrency},
		{usd.FromMinor(MaxMinor), jpy, "150", ErrTooLarge},
	} {
		if _, err := ConvertAt(tt.a, tt.to, d(tt.rate), true); !errors.Is(err, tt.err) {
			t.Errorf("ConvertAt(%s, %s, %s) err = %v, want %v", tt.a, tt.to.Code, tt.rate, err, tt.err)
		}
	}
}

func TestRoundQuotient(t *testing.T) {
	for _, tt := range []struct {
		code, num, den string
		down, up       int64
	}{
		{"EUR", "100", "1.08079125", 9252, 9253},
		{"EUR", "1", "3", 33, 34},
		{"EUR", "-1", "3", -33, -34},
		{"EUR", "1", "-3", -33, -34},
		{"EUR", "1", "4", 25, 25},
		{"JPY", "500", "0.006636395814096549789750", 75342, 75343},
		{"BHD", "2", "3", 666, 667},
		{"EUR", "0.00000001", "1", 0, 1},
	} {
		c := MustCurrency(tt.code)
		down, err1 := c.RoundDownQuotient(d(tt.num), d(tt.den))
		up, err2 := c.RoundUpQuotient(d(tt.num), d(tt.den))
		if err1 != nil || err2 != nil || down.Minor != tt.down || up.Minor != tt.up {
			t.Errorf("%s %s÷%s: down %v %v, up %v %v; want %d, %d", tt.code, tt.num, tt.den, down, err1, up, err2, tt.down, tt.up)
		}
	}
	if _, err := MustCurrency("EUR").RoundUpQuotient(d("1"), d("0")); !errors.Is(err, ErrMalformed) {
		t.Errorf("÷0: %v", err)
	}
	if _, err := MustCurrency("EUR").RoundUpQuotient(d("1"), d("0.000000000000001")); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge: %v", err)
	}
}

package fx

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// d is decimal.RequireFromString for test tables.
func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var (
	t0    = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC) // ECB publication of the sample, in UTC
	dayTV = 48 * time.Hour                                 // validity of ECB rates in the tests
)

func mention(t *testing.T, err error, words ...string) {
	t.Helper()
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestPair(t *testing.T) {
	p, err := ParsePair("EUR/USD")
	if err != nil || p != (Pair{"EUR", "USD"}) {
		t.Fatalf("ParsePair(EUR/USD) = %v, %v", p, err)
	}
	if p.String() != "EUR/USD" || p.Inverse() != (Pair{"USD", "EUR"}) {
		t.Errorf("String %q, Inverse %v", p, p.Inverse())
	}
	for _, tt := range []struct {
		s     string
		extra error
		words []string
	}{
		{"EURUSD", nil, []string{"EURUSD", "BASE/QUOTE"}},
		{"EUR/XYZ", ErrUnknownCurrency, []string{"EUR/XYZ", "XYZ"}},
		{"eur/USD", ErrUnknownCurrency, []string{"upper case"}},
		{"EUR/EUR", ErrSameCurrency, []string{"EUR/EUR", "two different"}},
		{"/USD", ErrUnknownCurrency, nil},
		{"BGN/EUR", ErrUnknownCurrency, []string{"BGN"}}, // withdrawn 2026
	} {
		_, err := ParsePair(tt.s)
		if !errors.Is(err, ErrUnknownPair) || (tt.extra != nil && !errors.Is(err, tt.extra)) {
			t.Errorf("ParsePair(%q) err = %v, want ErrUnknownPair and %v", tt.s, err, tt.extra)
			continue
		}
		mention(t, err, tt.words...)
	}
}

func goodRate() Rate {
	return Rate{Pair: Pair{"EUR", "USD"}, Bid: d("1.0834"), Ask: d("1.0836"), Source: "ecb", AsOf: t0, ValidUntil: t0.Add(dayTV)}
}

func TestRateMid(t *testing.T) {
	r := goodRate()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if !r.Mid().Equal(d("1.0835")) {
		t.Errorf("Mid = %s, want 1.0835", r.Mid())
	}
	r.Bid, r.Ask = d("0.000000000001"), d("0.000000000002") // the mid needs a 13th place: exact all the same
	if !r.Mid().Equal(d("0.0000000000015")) {
		t.Errorf("Mid = %s, want 0.0000000000015", r.Mid())
	}
}

func TestRateValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Rate)
		extra error
		words []string
	}{
		{"unknown quote", func(r *Rate) { r.Quote = "XYZ" }, ErrUnknownPair, []string{"EUR/XYZ"}},
		{"same currency", func(r *Rate) { r.Quote = "EUR" }, ErrSameCurrency, []string{"EUR/EUR"}},
		{"zero bid", func(r *Rate) { r.Bid = decimal.Zero }, nil, []string{"EUR/USD", "bid 0 is not positive"}},
		{"zero value bid", func(r *Rate) { r.Bid = decimal.Decimal{} }, nil, []string{"bid"}},
		{"negative ask", func(r *Rate) { r.Ask = d("-1.0836") }, nil, []string{"EUR/USD", "ask", "not positive"}},
		{"crossed", func(r *Rate) { r.Bid, r.Ask = d("1.09"), d("1.08") }, nil, []string{"EUR/USD", "bid 1.09 is above ask 1.08"}},
		{"absurd precision", func(r *Rate) { r.Bid, r.Ask = d("1.08350000000000000001"), d("1.0836") }, nil,
			[]string{"EUR/USD", "absurd precision", "12 decimal places"}},
		{"13 places", func(r *Rate) { r.Ask = d("1.0836000000001") }, nil, []string{"ask", "absurd precision"}},
		{"absurdly large", func(r *Rate) { r.Ask = d("1e12") }, nil, []string{"absurdly large"}},
		{"no source", func(r *Rate) { r.Source = "" }, nil, []string{"EUR/USD", "no source"}},
		{"spaced source", func(r *Rate) { r.Source = "acme fx" }, nil, []string{"acme fx"}},
		{"no as-of", func(r *Rate) { r.AsOf = time.Time{} }, nil, []string{"EUR/USD", "as-of"}},
		{"valid until before as-of", func(r *Rate) { r.ValidUntil = r.AsOf }, nil, []string{"EUR/USD", "not after"}},
	}
	for _, tt := range tests {
		r := goodRate()
		tt.edit(&r)
		err := r.Validate()
		if !errors.Is(err, ErrBadRate) || (tt.extra != nil && !errors.Is(err, tt.extra)) {
			t.Errorf("%s: err = %v, want ErrBadRate and %v", tt.name, err, tt.extra)
			continue
		}
		mention(t, err, tt.words...)
	}
	// Exactly 12 places, and trailing zeros beyond them, are fine.
	r := goodRate()
	r.Bid, r.Ask = d("1.083500000001"), d("1.08360000000000000000")
	if err := r.Validate(); err != nil {
		t.Errorf("12 places: %v", err)
	}
}

package main

import (
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/shopspring/decimal"
)

// A rate shows as posted when it is short, and to rateDigits significant
// digits with "…" when a division made it long.
func TestRateText(t *testing.T) {
	for in, want := range map[string]string{
		"1":                           "1",
		"0.7425":                      "0.7425",
		"1.094334995":                 "1.094334995",
		"1.286593691350232175749208":  "1.286593691…",
		"0.0067230262130237766346485": "0.006723026213…",
		"162.53073765":                "162.5307377…",
		"0":                           "0",
	} {
		if got := rateText(decimal.RequireFromString(in)); got != want {
			t.Errorf("rateText(%s) = %s, want %s", in, got, want)
		}
	}
}

// A currency only the conversions of cross-currency payments touched says
// so, rather than "0 holds · 0 releases · 0 refunds".
func TestPostingCounts(t *testing.T) {
	for _, c := range []struct {
		t    clearing.CurrencyTotals
		want string
	}{
		{clearing.CurrencyTotals{FXLegs: 3}, "3 FX legs"},
		{clearing.CurrencyTotals{Holds: 2, Releases: 1, Refunds: 1}, "2 holds · 1 release · 1 refund"},
		{clearing.CurrencyTotals{Holds: 822, Releases: 749, Refunds: 138, FXLegs: 1}, "822 holds · 749 releases · 138 refunds · 1 FX leg"},
		{clearing.CurrencyTotals{}, "no postings"},
	} {
		if got := postingCounts(c.t); got != c.want {
			t.Errorf("postingCounts(%+v) = %q, want %q", c.t, got, c.want)
		}
	}
}

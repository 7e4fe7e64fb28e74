package clearing

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/fx"
)

// mids is a fixed rate book for exposure tests: mid rates into USD.
func mids(missing ...string) MidRates {
	book := map[string]string{"SGD": "0.74225", "EUR": "1.08355", "JPY": "0.0067"}
	return func(from, to string) (MidRate, error) {
		for _, m := range missing {
			if m == from {
				return MidRate{}, errors.New("no rate for " + from + "/" + to)
			}
		}
		if to != "USD" || book[from] == "" {
			return MidRate{}, errors.New("no rate for " + from + "/" + to)
		}
		return MidRate{Mid: decimal.RequireFromString(book[from]), Path: []string{from + "/USD test"}}, nil
	}
}

func TestConvertPositionRoundsOnceAgainstTheParticipant(t *testing.T) {
	for _, tt := range []struct {
		net       int64
		from, to  string
		rate      string
		want      int64
		exactNote string
	}{
		{-100_001, "SGD", "USD", "0.74225", -74_226, "-742.2574225: a debit rounds away from zero"},
		{100_001, "SGD", "USD", "0.74225", 74_225, "742.2574225: a credit rounds toward zero"},
		{-100_000, "SGD", "USD", "0.74225", -74_225, "exact"},
		{-12_345, "JPY", "USD", "0.0067", -8_272, "-82.7115"},
		{-1, "USD", "JPY", "149.99", -2, "-1.4999 JPY → -2"},
		{1, "USD", "JPY", "149.99", 1, "1.4999 JPY → 1"},
		{-1_000, "KWD", "USD", "3.2512345", -326, "-1.000 KWD → -3.2512345 → -3.26"},
		{0, "SGD", "USD", "0.74225", 0, "zero"},
	} {
		got, err := ConvertPosition(tt.net, tt.from, tt.to, decimal.RequireFromString(tt.rate))
		if err != nil || got != tt.want {
			t.Errorf("ConvertPosition(%d %s → %s at %s) = %d, %v; want %d (%s)", tt.net, tt.from, tt.to, tt.rate, got, err, tt.want, tt.exactNote)
		}
	}
	if _, err := ConvertPosition(-1, "SGD", "USD", decimal.Zero); !errors.Is(err, fx.ErrBadRate) {
		t.Fatalf("zero rate: %v", err)
	}
}

func TestExposureConvertsEachPositionOnce(t *testing.T) {
	nets := map[string]int64{"SGD": -100_001, "EUR": 30_000, "JPY": -12_345, "USD": -5_000, "GBP": 0}
	e := NewExposure("p_buyer", "USD", nets, mids())
	var lines []string
	for _, l := range e.Lines {
		lines = append(lines, l.Currency+" "+fx.MustCurrency(l.Currency).FromMinor(l.NetMinor).Value()+" × "+l.Rate.String()+" = "+fx.MustCurrency("USD").FromMinor(l.ConvertedMinor).Value())
	}
	want := []string{
		"EUR 300.00 × 1.08355 = 325.06",    // 325.065, a credit: toward zero
		"GBP 0.00 × 0 = 0.00",              // no rate needed
		"JPY -12345 × 0.0067 = -82.72",     // -82.7115, a debit: away from zero
		"SGD -1000.01 × 0.74225 = -742.26", // -742.2574225
		"USD -50.00 × 1 = -50.00",
	}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("lines\n got  %q\n want %q", lines, want)
	}
	if !e.DebitKnown || e.DebitMinor != 87_498 || !e.NetKnown || e.NetMinor != -54_992 {
		t.Fatalf("totals: debit %d (%v), net %d (%v)", e.DebitMinor, e.DebitKnown, e.NetMinor, e.NetKnown)
	}
	if l, _ := e.Line("SGD"); !reflect.DeepEqual(l.Path, []string{"SGD/USD test"}) {
		t.Fatalf("path %v", l.Path)
	}
	// A credit without a rate leaves the total debit known, not the net.
	e = NewExposure("p_buyer", "USD", nets, mids("EUR"))
	if l, _ := e.Line("EUR"); l.Converted || !strings.Contains(l.Missing, "no rate for EUR/USD") || !e.DebitKnown || e.DebitMinor != 87_498 || e.NetKnown {
		t.Fatalf("EUR missing: %+v", e)
	}
	// A debit without a rate leaves neither known: nothing is guessed.
	e = NewExposure("p_buyer", "USD", nets, mids("JPY"))
	if e.DebitKnown || e.NetKnown || e.DebitMinor != 0 {
		t.Fatalf("JPY missing: %+v", e)
	}
	if _, ok := e.Headroom(); ok {
		t.Fatal("headroom without a cap")
	}
}

func TestNetDebitCapTotal(t *testing.T) {
	bank := buyerBank()
	bank.NetDebitCapTotal = TotalCap{Currency: "USD", Minor: 1_000_00}
	nets := map[string]int64{"SGD": -100_001, "EUR": 30_000, "JPY": -12_345, "USD": -5_000}
	before := NewExposure(bank.ID, "USD", nets, mids())
	if h, ok := before.Headroom(); ok {
		t.Fatalf("headroom without the cap on the exposure: %d", h)
	}
	before.Cap = bank.NetDebitCapTotal
	if h, ok := before.Headroom(); !ok || h != 1_000_00-87_498 {
		t.Fatalf("headroom %d %v", h, ok)
	}
	hold := func(minor int64) (Exposure, fx.Amount) {
		after := map[string]int64{}
		for k, v := range nets {
			after[k] = v
		}
		after["SGD"] -= minor
		return NewExposure(bank.ID, "USD", after, mids()), sgd(minor)
	}
	// 160.00 SGD: SGD -1,160.01 × 0.74225 = -861.0174225 → 861.02; total 993.74.
	after, amt := hold(16_000)
	if err := CheckNetDebitCapTotal(bank, amt, before, after); err != nil || after.DebitMinor != 99_374 {
		t.Fatalf("160.00 SGD: %v, total %d", err, after.DebitMinor)
	}
	// 170.00 SGD: -1,170.01 × 0.74225 = -868.4399225 → 868.44; total 1,001.16.
	after, amt = hold(17_000)
	e := wantError(t, CheckNetDebitCapTotal(bank, amt, before, after), Refused, "net_debit_cap_total_exceeded", "amount")
	const msg = "holding 170.00 SGD (126.19 USD at the mid rate 0.74225) would take bank p_buyer to a total debit of 1001.16 USD across currencies, past its multi-currency net debit cap of 1000.00 USD (current converted exposure 874.98 USD)"
	if e.Msg != msg {
		t.Fatalf("message\n got  %s\n want %s", e.Msg, msg)
	}
	// Without a rate for a debit the hold is refused, naming the currency.
	noJPY := NewExposure(bank.ID, "USD", nets, mids("JPY"))
	e = wantError(t, CheckNetDebitCapTotal(bank, sgd(1), noJPY, noJPY), Refused, "exposure_rate_unavailable", "currency")
	if !strings.Contains(e.Msg, "debit in JPY cannot be converted into USD") || !strings.Contains(e.Msg, "no rate for JPY/USD") {
		t.Fatalf("message %s", e.Msg)
	}
	// A bank without a cap is not checked, even without rates.
	if err := CheckNetDebitCapTotal(buyerBank(), sgd(1), noJPY, noJPY); err != nil {
		t.Fatal(err)
	}
	// A hold that does not raise the total debit passes, even above the cap.
	over := NewExposure(bank.ID, "USD", map[string]int64{"USD": -2_000_00, "SGD": 50_000}, mids())
	if err := CheckNetDebitCapTotal(bank, sgd(10_000), over, NewExposure(bank.ID, "USD", map[string]int64{"USD": -2_000_00, "SGD": 40_000}, mids())); err != nil {
		t.Fatalf("a credit-side hold: %v", err)
	}
}

func TestParticipantTotalCapIsValidated(t *testing.T) {
	p := buyerBank()
	p.ID = ""
	for _, tt := range []struct {
		cap  TotalCap
		code string
	}{
		{TotalCap{Currency: "XXX1", Minor: 1}, "unknown_currency"},
		{TotalCap{Currency: "USD", Minor: -1}, "invalid_net_debit_cap"},
		{TotalCap{Currency: "USD", Minor: fx.MaxMinor + 1}, "invalid_net_debit_cap"},
		{TotalCap{Minor: 5}, "invalid_net_debit_cap"},
	} {
		p.NetDebitCapTotal = tt.cap
		wantError(t, p.Validate(), Invalid, tt.code, "net_debit_cap_total")
	}
	p.NetDebitCapTotal = TotalCap{Currency: "USD", Minor: 0}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}

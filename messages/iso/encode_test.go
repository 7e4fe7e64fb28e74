package iso_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/iso"
)

// TestEncoderShapes: the hand-written checks of date-times, dates, BICs
// and codes accept what ISO's schema accepts and refuse what it refuses
// (time.Parse alone takes a one-digit hour and a comma before the
// fraction).
func TestEncoderShapes(t *testing.T) {
	encode := func(mutate func(*iso.FICreditTransfer)) error {
		m := samplePacs009()
		mutate(m)
		_, err := m.Encode()
		return err
	}
	for v, ok := range map[string]bool{
		"2025-03-10T09:15:00Z": true, "2025-03-10T09:15:00+08:00": true, "2025-03-10T09:15:00.5-04:00": true, "2025-03-10T09:15:00.123456789+00:00": true,
		"2025-03-10T9:15:00Z": false, "2025-03-10T09:15:00,5+08:00": false, "2025-03-10T09:15:00.+08:00": false, "2025-03-10T09:15:00+0800": false,
		"2025-03-10T09:15:00z": false, "2025-02-30T09:15:00Z": false, "2025-03-10T09:15:00": false, "2025-03-10T24:00:00Z": false, "2025-03-10": false,
	} {
		if err := encode(func(m *iso.FICreditTransfer) { m.CreDtTm = v }); (err == nil) != ok {
			t.Errorf("date-time %q: %v", v, err)
		}
	}
	for v, ok := range map[string]bool{"2025-03-10": true, "2024-02-29": true, "2025-02-29": false, "2025-3-10": false, "20250310": false, "2025-03-10Z": false} {
		if err := encode(func(m *iso.FICreditTransfer) { m.Transfers[0].SettlementDate = v }); (err == nil) != ok {
			t.Errorf("date %q: %v", v, err)
		}
	}
	for v, ok := range map[string]bool{"DEUTDEFF": true, "DEUTDEFF500": true, "1234DEFF": true, "DEUT1EFF": false, "deutdeff": false, "DEUTDEF": false, "DEUTDEFF5": false, "DEUTDEFF50-": false} {
		if err := encode(func(m *iso.FICreditTransfer) { m.Transfers[0].Creditor = v }); (err == nil) != ok {
			t.Errorf("BIC %q: %v", v, err)
		}
	}
	for v, ok := range map[string]bool{"CLRG": true, "INDA": true, "CLR": false, "clrg": false, "": false} {
		if err := encode(func(m *iso.FICreditTransfer) { m.SettlementMethod = v }); (err == nil) != ok {
			t.Errorf("settlement method %q: %v", v, err)
		}
	}
	r := sampleStatement()
	for v, ok := range map[string]bool{"BOOK": true, "PDNG": true, "B00K": true, "BOOKED": false, "book": false, "": false} {
		r.Accounts[0].Entries[0].Status = v
		if _, err := r.Encode(); (err == nil) != ok {
			t.Errorf("code %q: %v", v, err)
		}
	}
	// The failing field is named with its place in the lists.
	r = sampleStatement()
	r.Accounts[0].Entries[1].Details[0].UETR = "nope"
	_, err := r.Encode()
	var e *iso.EncodeError
	if !errors.As(err, &e) || e.Field != "Accounts[0].Entries[1].Details[0].UETR" || e.Error() != `camt.053.001.08: Accounts[0].Entries[1].Details[0].UETR: "nope" is not a lower-case UUID v4` {
		t.Fatalf("%v", err)
	}
}

// TestAmountOf writes every amount exactly as fx does (without a
// decimal), in every currency.
func TestAmountOf(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	minors := []int64{0, 1, -1, 5, 9, 10, 99, 100, 101, -105, 1000, 123456, fx.MaxMinor, -fx.MaxMinor, math.MaxInt64, math.MinInt64}
	for range 200 {
		minors = append(minors, r.Int64N(2*fx.MaxMinor)-fx.MaxMinor, r.Int64N(1000)-500)
	}
	for _, c := range fx.Currencies() {
		for _, m := range minors {
			a := c.FromMinor(m)
			if got := iso.AmountOf(a); got.Value != a.Value() || got.Currency != c.Code {
				t.Fatalf("%d %s: %q, fx writes %q", m, c.Code, got.Value, a.Value())
			}
		}
	}
}

package clearing

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// handPostings is a small cycle worked out by hand: three banks, the
// escrow account, two currencies, interleaved.
//
//	USD: A→escrow 100, B→escrow 50, escrow→C 100, escrow→B 20, C→escrow 30
//	     gross 300; nets A −100, B −30, C +70, escrow +60; settlement 130
//	     efficiency 1 − 130/300 = 0.566667
//	EUR: B→escrow 1000, escrow→A 400, escrow→C 600
//	     gross 2000; nets A +400, B −1000, C +600, escrow 0; settlement 1000
//	     efficiency 0.5
func handPostings() []Posting {
	return []Posting{
		{PaymentID: "u1", Kind: PostHold, Currency: "USD", Debit: "p_a", Credit: EscrowAccount, AmountMinor: 100},
		{PaymentID: "e1", Kind: PostHold, Currency: "EUR", Debit: "p_b", Credit: EscrowAccount, AmountMinor: 1000},
		{PaymentID: "u2", Kind: PostHold, Currency: "USD", Debit: "p_b", Credit: EscrowAccount, AmountMinor: 50},
		{PaymentID: "u1", Kind: PostRelease, Currency: "USD", Debit: EscrowAccount, Credit: "p_c", AmountMinor: 100},
		{PaymentID: "e1", Kind: PostRelease, Currency: "EUR", Debit: EscrowAccount, Credit: "p_a", AmountMinor: 400},
		{PaymentID: "u2", Kind: PostRefund, Currency: "USD", Debit: EscrowAccount, Credit: "p_b", AmountMinor: 20},
		{PaymentID: "e1", Kind: PostRelease, Currency: "EUR", Debit: EscrowAccount, Credit: "p_c", AmountMinor: 600},
		{PaymentID: "u3", Kind: PostHold, Currency: "USD", Debit: "p_c", Credit: EscrowAccount, AmountMinor: 30},
	}
}

func handResult() NettingResult {
	return NettingResult{
		Currencies: []CurrencyTotals{
			{Currency: "EUR", GrossMinor: 2000, SettlementMinor: 1000, Holds: 1, Releases: 2, NettingEfficiency: decimal.RequireFromString("0.5")},
			{Currency: "USD", GrossMinor: 300, SettlementMinor: 130, Holds: 3, Releases: 1, Refunds: 1, NettingEfficiency: decimal.RequireFromString("0.566667")},
		},
		Positions: []NetPosition{
			{Participant: EscrowAccount, Currency: "EUR", PaidMinor: 1000, ReceivedMinor: 1000, NetMinor: 0},
			{Participant: "p_a", Currency: "EUR", PaidMinor: 0, ReceivedMinor: 400, NetMinor: 400},
			{Participant: "p_b", Currency: "EUR", PaidMinor: 1000, ReceivedMinor: 0, NetMinor: -1000},
			{Participant: "p_c", Currency: "EUR", PaidMinor: 0, ReceivedMinor: 600, NetMinor: 600},
			{Participant: EscrowAccount, Currency: "USD", PaidMinor: 120, ReceivedMinor: 180, NetMinor: 60},
			{Participant: "p_a", Currency: "USD", PaidMinor: 100, ReceivedMinor: 0, NetMinor: -100},
			{Participant: "p_b", Currency: "USD", PaidMinor: 50, ReceivedMinor: 20, NetMinor: -30},
			{Participant: "p_c", Currency: "USD", PaidMinor: 30, ReceivedMinor: 100, NetMinor: 70},
		},
	}
}

// equalResults compares results field by field, decimals by value.
func equalResults(t *testing.T, got, want NettingResult) {
	t.Helper()
	if len(got.Currencies) != len(want.Currencies) {
		t.Fatalf("currencies\n got  %+v\n want %+v", got.Currencies, want.Currencies)
	}
	for i := range want.Currencies {
		g, w := got.Currencies[i], want.Currencies[i]
		if !g.NettingEfficiency.Equal(w.NettingEfficiency) {
			t.Errorf("%s efficiency %s, want %s", w.Currency, g.NettingEfficiency, w.NettingEfficiency)
		}
		g.NettingEfficiency, w.NettingEfficiency = decimal.Zero, decimal.Zero
		if g != w {
			t.Errorf("totals\n got  %+v\n want %+v", g, w)
		}
	}
	if !reflect.DeepEqual(got.Positions, want.Positions) {
		t.Errorf("positions\n got  %+v\n want %+v", got.Positions, want.Positions)
	}
	if !reflect.DeepEqual(got.FXResults, want.FXResults) {
		t.Errorf("FX results\n got  %+v\n want %+v", got.FXResults, want.FXResults)
	}
}

func TestNetByHand(t *testing.T) {
	res, err := Net(handPostings())
	if err != nil {
		t.Fatal(err)
	}
	equalResults(t, res, handResult())
	for _, c := range res.Currencies {
		var sum, abs int64
		for _, p := range res.Positions {
			if p.Currency == c.Currency {
				sum += p.NetMinor
				abs += max(p.NetMinor, -p.NetMinor)
			}
		}
		if sum != 0 || abs/2 != c.SettlementMinor {
			t.Errorf("%s: Σ nets %d, Σ|nets|/2 %d, settlement %d", c.Currency, sum, abs/2, c.SettlementMinor)
		}
	}
	if got := res.Currencies[1].NettingEfficiency.StringFixed(6); got != "0.566667" {
		t.Errorf("USD efficiency prints %s", got)
	}
}

// The order of postings does not matter.
func TestNetOrderIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for range 20 {
		ps := handPostings()
		r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		res, err := Net(ps)
		if err != nil {
			t.Fatal(err)
		}
		equalResults(t, res, handResult())
	}
}

// Result neither changes the netting nor counts twice; Add after Result
// carries on from where it was.
func TestNettingResultIdempotent(t *testing.T) {
	ps := handPostings()
	n := NewNetting()
	for _, p := range ps[:5] {
		if err := n.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	first, err := n.Result()
	if err != nil {
		t.Fatal(err)
	}
	partial, err := Net(ps[:5])
	if err != nil {
		t.Fatal(err)
	}
	equalResults(t, first, partial)
	for range 3 {
		again, err := n.Result()
		if err != nil {
			t.Fatal(err)
		}
		equalResults(t, again, first)
	}
	for _, p := range ps[5:] {
		if err := n.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		res, err := n.Result()
		if err != nil {
			t.Fatal(err)
		}
		equalResults(t, res, handResult())
	}
	// Results are independent values: changing one does not touch the next.
	res, _ := n.Result()
	res.Positions[0].NetMinor = 999
	res.Currencies[0].SettlementMinor = 999
	again, _ := n.Result()
	equalResults(t, again, handResult())
}

func TestNetEmpty(t *testing.T) {
	for _, ps := range [][]Posting{nil, {}} {
		res, err := Net(ps)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Currencies) != 0 || len(res.Positions) != 0 {
			t.Errorf("empty netting gave %+v", res)
		}
		if !res.AllSettled() {
			t.Error("an empty cycle is not settled")
		}
	}
}

func TestNetRejectsNonPositivePostings(t *testing.T) {
	for _, amount := range []int64{0, -1, math.MinInt64} {
		bad := Posting{PaymentID: "u9", Kind: PostHold, Currency: "USD", Debit: "p_a", Credit: EscrowAccount, AmountMinor: amount}
		_, err := Net(append(handPostings(), bad))
		wantInvariant(t, err)
		n := NewNetting()
		wantInvariant(t, n.Add(bad))
		// A refused posting leaves no trace.
		res, err := n.Result()
		if err != nil || len(res.Currencies) != 0 || len(res.Positions) != 0 {
			t.Errorf("after a refused posting: %+v, %v", res, err)
		}
	}
}

func TestNetGrossOverflow(t *testing.T) {
	big := Posting{Kind: PostHold, Currency: "USD", Debit: "p_a", Credit: EscrowAccount, AmountMinor: math.MaxInt64/2 + 1}
	n := NewNetting()
	if err := n.Add(big); err != nil {
		t.Fatal(err)
	}
	if err := n.Add(big); err == nil {
		t.Fatal("gross overflow accepted")
	}
	// The refused posting is not booked: the netting still balances.
	res, err := n.Result()
	if err != nil {
		t.Fatal(err)
	}
	if res.Currencies[0].GrossMinor != big.AmountMinor || res.Currencies[0].Holds != 1 || res.Positions[1].PaidMinor != big.AmountMinor {
		t.Errorf("after a refused posting: %+v", res)
	}
}

// Σ nets = 0 is checked, not assumed: break the books and Result says so.
func TestNetDetectsUnbalancedBooks(t *testing.T) {
	n := NewNetting()
	for _, p := range handPostings() {
		if err := n.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	n.escrow[0].paid++
	_, err := n.Result()
	wantInvariant(t, err)
}

// A bank paying itself nets to zero but still counts as gross.
func TestNetSelfTransfer(t *testing.T) {
	res, err := Net([]Posting{{Kind: PostRelease, Currency: "JPY", Debit: "p_a", Credit: "p_a", AmountMinor: 5}})
	if err != nil {
		t.Fatal(err)
	}
	want := NettingResult{
		Currencies: []CurrencyTotals{{Currency: "JPY", GrossMinor: 5, Releases: 1, NettingEfficiency: decimal.NewFromInt(1)}},
		Positions:  []NetPosition{{Participant: "p_a", Currency: "JPY", PaidMinor: 5, ReceivedMinor: 5}},
	}
	equalResults(t, res, want)
}

func TestEfficiency(t *testing.T) {
	tests := []struct {
		settlement, gross int64
		want              string
	}{
		{0, 0, "0"},
		{5, 0, "0"},
		{0, 100, "1"},
		{100, 100, "0"},
		{50, 100, "0.5"},
		{130, 300, "0.566667"},
		{1, 3, "0.666667"},
		{2, 3, "0.333333"},
		{1, 1_000_000, "0.999999"},
		{1, 2_000_000, "1"},        // 0.9999995 rounds half away from zero
		{1, 2_000_001, "1"},        // 0.99999950000025: just above half
		{1, 1_999_999, "0.999999"}, // 0.99999949999975: just below half
		{123456500, 1_000_000_000, "0.876544"},
		// Rounded once: 0.876543496 is 0.876543. Rounding settlement/gross
		// to 8 places first (0.12345650) used to give 0.876544.
		{123456504, 1_000_000_000, "0.876543"},
		{math.MaxInt64 / 2, math.MaxInt64, "0.5"},
	}
	for _, tt := range tests {
		got := Efficiency(tt.settlement, tt.gross)
		if !got.Equal(decimal.RequireFromString(tt.want)) {
			t.Errorf("Efficiency(%d, %d) = %s, want %s", tt.settlement, tt.gross, got, tt.want)
		}
	}
}

func TestAllSettled(t *testing.T) {
	res := handResult()
	if res.AllSettled() {
		t.Fatal("nothing is settled yet")
	}
	for i := range res.Positions {
		if res.Positions[i].NetMinor != 0 {
			res.Positions[i].SettledAt = t0.Add(time.Hour)
			res.Positions[i].SettledBy = "operator:k_ops"
		}
	}
	if !res.AllSettled() {
		t.Fatal("zero nets need no settlement")
	}
	res.Positions[1].SettledAt = time.Time{}
	if res.AllSettled() {
		t.Fatal("one unsettled position left")
	}
}

// The netting agrees with the obvious one — a map per (owner, currency),
// sorted at the end — on worlds from a handful of participants to
// thousands, with currencies that only some participants use (so the
// per-currency arrays are ragged), participants that only pay or only
// receive, and ids that sort awkwardly once packed: prefixes of each
// other, zero and high bytes, 15 bytes (the longest packed) and longer. It
// agrees too when the buffered sides are booked every few postings and
// Result is asked in between.
func TestNetMatchesReference(t *testing.T) {
	odd := []string{"", "\x00", "a", "a\x00", "a\x00\x01", "a\x01", "\xff", "\xff\xff", "escrov", "escrow0", "p_000001\x00",
		strings.Repeat("z", 15), strings.Repeat("z", 16), strings.Repeat("z", 16) + "\x00", strings.Repeat("z", 14) + "\xff",
		"merchant-account-0001", "merchant-account-0001x", "p_000001-a-long-account-id", "zz"}
	for _, world := range []struct{ n, banks, ccys int }{{50, 3, 2}, {5_000, 200, 7}, {50_000, 20_000, 20}} {
		postings := benchPostings(world.n, world.banks, world.ccys)
		r := rand.New(rand.NewPCG(uint64(world.banks), 3))
		for i := range postings {
			p := &postings[i]
			switch r.IntN(20) {
			case 0: // bank to bank: neither side is escrow
				p.Debit, p.Credit = fmt.Sprintf("p_%06d", r.IntN(world.banks)), fmt.Sprintf("q_%03d", r.IntN(50))
			case 1: // a currency only late participants use
				p.Currency = "XAU"
				p.Debit = fmt.Sprintf("z_%05d", r.IntN(world.banks))
			case 2:
				p.Credit = odd[r.IntN(len(odd))]
			}
		}
		want := referenceNet(postings)
		got, err := Net(postings)
		if err != nil {
			t.Fatal(err)
		}
		equalResults(t, got, want)

		n := NewNetting()
		n.minFlush, n.flushAt = 3, 3
		for i, p := range postings {
			if err := n.Add(p); err != nil {
				t.Fatal(err)
			}
			if i == len(postings)/2 {
				if _, err := n.Result(); err != nil {
					t.Fatal(err)
				}
			}
		}
		got, err = n.Result()
		if err != nil {
			t.Fatal(err)
		}
		equalResults(t, got, want)
	}
}

// referenceNet nets the slow, obvious way (no FX result legs).
func referenceNet(postings []Posting) NettingResult {
	type key struct{ ccy, owner string }
	cells := map[key]*NetPosition{}
	totals := map[string]*CurrencyTotals{}
	for _, p := range postings {
		t := totals[p.Currency]
		if t == nil {
			t = &CurrencyTotals{Currency: p.Currency}
			totals[p.Currency] = t
		}
		t.GrossMinor += p.AmountMinor
		switch p.Kind {
		case PostHold:
			t.Holds++
		case PostRelease:
			t.Releases++
		case PostRefund:
			t.Refunds++
		}
		for _, side := range []struct {
			owner string
			paid  bool
		}{{p.Debit, true}, {p.Credit, false}} {
			k := key{p.Currency, side.owner}
			c := cells[k]
			if c == nil {
				c = &NetPosition{Participant: side.owner, Currency: p.Currency}
				cells[k] = c
			}
			if side.paid {
				c.PaidMinor += p.AmountMinor
			} else {
				c.ReceivedMinor += p.AmountMinor
			}
			c.NetMinor = c.ReceivedMinor - c.PaidMinor
		}
	}
	var res NettingResult
	for _, c := range cells {
		res.Positions = append(res.Positions, *c)
		if c.NetMinor > 0 {
			totals[c.Currency].SettlementMinor += c.NetMinor
		}
	}
	slices.SortFunc(res.Positions, func(a, b NetPosition) int {
		return cmp.Or(strings.Compare(a.Currency, b.Currency), strings.Compare(a.Participant, b.Participant))
	})
	for _, t := range totals {
		t.NettingEfficiency = Efficiency(t.SettlementMinor, t.GrossMinor)
		res.Currencies = append(res.Currencies, *t)
	}
	slices.SortFunc(res.Currencies, func(a, b CurrencyTotals) int { return strings.Compare(a.Currency, b.Currency) })
	return res
}

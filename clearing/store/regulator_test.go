package store_test

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// TestCycleActivity: the regulator read model of a closed cycle counts its
// holds by corridor, its postings by kind, its disputes, and what escrow
// held at the close by age — and says the same after later cycles moved
// those payments on.
func TestCycleActivity(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		sg, us := 1, 2                        // DBSSSGSG, CHASUS33
		berlin, lion := 0, 1                  // EUR at DEUTDEFF, SGD at DBSSSGSG
		e.hold(t, sg, lion, "50.00")          // three days old at the close
		e.clock.advance(72 * time.Hour)       //
		p1 := e.hold(t, sg, berlin, "100.00") // released in full
		p2 := e.hold(t, sg, berlin, "40.00")  // 10.00 released, the rest refunded in cycle 2
		p3 := e.hold(t, us, berlin, "60.00")  // disputed, refunded in cycle 2
		e.act(t, p1.ID, clearing.Action{Kind: clearing.ActionRelease})
		e.act(t, p2.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 1000})
		e.act(t, p3.ID, clearing.Action{Kind: clearing.ActionDispute, Reason: "not delivered"})
		e.clock.advance(time.Hour)
		if _, err := e.s.CloseCycle(ctx, storetest.Operator); err != nil {
			t.Fatal(err)
		}
		ageing := []time.Duration{24 * time.Hour, 7 * 24 * time.Hour}
		check := func(a store.CycleActivity) {
			t.Helper()
			got := fmt.Sprint(a.Corridors)
			want := "[{{US-NY DE} CHASUS33 DEUTDEFF EUR 1 6000} {{SG SG} DBSSSGSG DBSSSGSG SGD 1 5000} {{SG DE} DBSSSGSG DEUTDEFF EUR 2 14000}]"
			if got != want {
				t.Errorf("corridors\n got %s\nwant %s", got, want)
			}
			if got, want := sumFlows(a.Flows, "DE"), "hold EUR 3 20000; release EUR 2 11000"; got != want {
				t.Errorf("DE flows = %s, want %s", got, want)
			}
			if got, want := sumFlows(a.Flows, "SG"), "hold EUR 2 14000; hold SGD 1 5000; release EUR 2 11000"; got != want {
				t.Errorf("SG flows = %s, want %s", got, want)
			}
			if got, want := fmt.Sprint(a.Escrow), "[{{SG DE} EUR 0 1 3000} {{US-NY DE} EUR 0 1 6000} {{SG SG} SGD 1 1 5000}]"; got != want {
				t.Errorf("escrow at close\n got %s\nwant %s", got, want)
			}
			if got, want := fmt.Sprint(a.Disputes), "[{{US-NY DE} EUR disputed 1 6000}]"; got != want {
				t.Errorf("disputes = %s, want %s", got, want)
			}
			if len(a.FX) != 0 {
				t.Errorf("FX = %v, want none", a.FX)
			}
		}
		a1, err := e.s.CycleActivity(ctx, 1, ageing)
		if err != nil {
			t.Fatal(err)
		}
		check(a1)
		// Cycle 2 refunds p2's rest and resolves p3: cycle 1's figures stand.
		e.clock.advance(time.Hour)
		e.act(t, p2.ID, clearing.Action{Kind: clearing.ActionRefund})
		e.act(t, p3.ID, clearing.Action{Kind: clearing.ActionResolve, Decision: clearing.DecideRefund})
		e.clock.advance(time.Hour)
		if _, err := e.s.CloseCycle(ctx, storetest.Operator); err != nil {
			t.Fatal(err)
		}
		a1, err = e.s.CycleActivity(ctx, 1, ageing)
		if err != nil {
			t.Fatal(err)
		}
		check(a1)
		a2, err := e.s.CycleActivity(ctx, 2, ageing)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sumFlows(a2.Flows, "DE"), "refund EUR 2 9000"; got != want {
			t.Errorf("cycle 2 DE flows = %s, want %s", got, want)
		}
		if got, want := fmt.Sprint(a2.Escrow), "[{{SG SG} SGD 1 1 5000}]"; got != want {
			t.Errorf("cycle 2 escrow = %s, want %s", got, want)
		}
		if got, want := fmt.Sprint(a2.Disputes), "[{{US-NY DE} EUR dispute_resolved_refund 1 6000}]"; got != want {
			t.Errorf("cycle 2 disputes = %s, want %s", got, want)
		}
		if _, err := e.s.CycleActivity(ctx, 3, ageing); err == nil {
			t.Error("the open cycle's activity was read")
		}
	})
}

// sumFlows adds the flows touching jurisdiction j per kind and currency.
func sumFlows(fs []store.FlowVolume, j string) string {
	type key struct{ kind, ccy string }
	sums := map[key][2]int64{}
	var keys []key
	for _, f := range fs {
		if !f.Touches(j) {
			continue
		}
		k := key{string(f.Kind), f.Currency}
		if _, ok := sums[k]; !ok {
			keys = append(keys, k)
		}
		s := sums[k]
		sums[k] = [2]int64{s[0] + f.Payments, s[1] + f.AmountMinor}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.kind != b.kind {
			return cmp.Compare(a.kind, b.kind)
		}
		return cmp.Compare(a.ccy, b.ccy)
	})
	out := ""
	for i, k := range keys {
		if i > 0 {
			out += "; "
		}
		out += fmt.Sprintf("%s %s %d %d", k.kind, k.ccy, sums[k][0], sums[k][1])
	}
	return out
}

package store_test

import (
	"sync"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// race runs fn from n goroutines released together.
func race(n int, fn func(i int)) {
	var start, done sync.WaitGroup
	start.Add(1)
	for i := 0; i < n; i++ {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			fn(i)
		}()
	}
	start.Done()
	done.Wait()
}

func TestRacingTransitionsHappenExactlyOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		p := e.hold(t, 1, 0, "100.00")
		const n = 16
		errs := make([]error, n)
		race(n, func(i int) {
			kind := clearing.ActionRelease
			if i%2 == 1 {
				kind = clearing.ActionRefund
			}
			_, errs[i] = e.s.Act(ctx, p.ID, clearing.Action{Kind: kind}, storetest.Operator)
		})
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case isKind(err, clearing.Refused):
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d requests won the race, want exactly 1", wins)
		}
		got, events, err := e.s.Payment(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 3 || got.Version != 2 || !got.State.Final() {
			t.Fatalf("after the race: %+v with %d events", got, len(events))
		}
		e.ledgerOK(t)
	})
}

func TestRacingPartialReleasesNeverExceedWhatIsHeld(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		p := e.hold(t, 1, 0, "10.00")
		const n = 12 // 12 × 1.00 against 10.00 held: exactly 10 fit
		errs := make([]error, n)
		race(n, func(i int) {
			_, errs[i] = e.s.Act(ctx, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 100}, storetest.Operator)
		})
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			}
		}
		got, _, _ := e.s.Payment(ctx, p.ID)
		if ok != 10 || got.ReleasedMinor != 1000 || got.State != clearing.Released {
			t.Fatalf("%d releases succeeded, payment %+v", ok, got)
		}
		e.ledgerOK(t)
	})
}

func TestRacingHoldsRespectTheCap(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		// the cap is 1,000,000.00 EUR: ten holds of 150,000.00 → six fit
		const n = 10
		errs := make([]error, n)
		race(n, func(i int) {
			_, errs[i] = e.s.Hold(ctx, clearing.HoldRequest{BuyerBankID: e.w.Banks[1].ID, MerchantID: e.w.Merchants[0].ID, Amount: amount(t, "150000.00", "EUR")}, storetest.Operator)
		})
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case isKind(err, clearing.Refused):
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 6 {
			t.Fatalf("%d holds fit under the cap, want 6", ok)
		}
		ps, _ := e.s.OpenPositions(ctx, e.w.Banks[1].ID)
		if len(ps) != 1 || ps[0].NetMinor != -90000000 {
			t.Fatalf("positions %+v", ps)
		}
		e.ledgerOK(t)
	})
}

func TestRacingCycleClosesCloseOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		e.hold(t, 1, 0, "10.00")
		const n = 4
		errs := make([]error, n)
		closed := make([]clearing.Cycle, n)
		race(n, func(i int) { closed[i], errs[i] = e.s.CloseCycle(ctx, storetest.Operator) })
		withPostings := 0
		for i, err := range errs {
			if err != nil {
				if ce, ok := clearing.AsError(err); !ok || ce.Code != "cycle_already_closed" {
					t.Fatalf("close %d: %v", i, err)
				}
				continue
			}
			if len(closed[i].Result.Positions) > 0 {
				withPostings++
			}
		}
		if withPostings != 1 {
			t.Fatalf("%d closes netted the postings, want exactly 1", withPostings)
		}
		e.ledgerOK(t)
	})
}

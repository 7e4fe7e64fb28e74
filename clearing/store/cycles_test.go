package store_test

import (
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

func TestCycleCloseNetsAndSettles(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		// SG pays DE 100 and 40 (released), US pays DE 60 (held), DE pays SG... in EUR
		a := e.hold(t, 1, 0, "100.00")
		e.act(t, a.ID, clearing.Action{Kind: clearing.ActionRelease})
		b := e.hold(t, 1, 0, "40.00")
		e.act(t, b.ID, clearing.Action{Kind: clearing.ActionRelease})
		e.hold(t, 2, 0, "60.00")

		if _, err := e.s.SettlePosition(ctx, 1, e.w.Banks[1].ID, "EUR", storetest.Operator); err == nil {
			t.Fatal("settled a position of the open cycle")
		} else {
			wantCode(t, err, "cycle_not_closed", "cycle_id")
		}
		c, err := e.s.CloseCycle(ctx, storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID != 1 || c.State != clearing.CycleClosed || c.ClosedBy != storetest.Operator.String() {
			t.Fatalf("closed cycle %+v", c)
		}
		nets := map[string]int64{}
		var sum int64
		for _, p := range c.Result.Positions {
			nets[p.Participant] = p.NetMinor
			sum += p.NetMinor
		}
		want := map[string]int64{"DBSSSGSG": -14000, "CHASUS33": -6000, "DEUTDEFF": 14000, clearing.EscrowAccount: 6000}
		for k, v := range want {
			if nets[k] != v {
				t.Errorf("net of %s = %d, want %d", k, nets[k], v)
			}
		}
		if sum != 0 || len(nets) != len(want) {
			t.Fatalf("nets %v sum to %d", nets, sum)
		}
		eur := c.Result.Currencies[0]
		// gross: holds 200.00 + releases 140.00 = 340.00; settlement Σ positive nets = 200.00
		if eur.GrossMinor != 34000 || eur.SettlementMinor != 20000 || eur.Holds != 3 || eur.Releases != 2 || eur.NettingEfficiency.String() != "0.411765" {
			t.Fatalf("EUR totals %+v", eur)
		}
		// the next cycle is open and takes new movements
		cur, err := e.s.CurrentCycle(ctx)
		if err != nil || cur.ID != 2 || cur.State != clearing.CycleOpen {
			t.Fatalf("current %+v %v", cur, err)
		}
		p := e.hold(t, 2, 0, "1.00")
		if p.HoldCycleID != 2 {
			t.Fatalf("hold after close went to cycle %d", p.HoldCycleID)
		}
		// settle every position; the last one settles the cycle
		for i, np := range c.Result.Positions {
			got, err := e.s.SettlePosition(ctx, 1, np.Participant, np.Currency, storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			last := i == len(c.Result.Positions)-1
			if (got.State == clearing.CycleSettled) != last {
				t.Fatalf("after settling %d of %d positions the cycle is %s", i+1, len(c.Result.Positions), got.State)
			}
		}
		_, err = e.s.SettlePosition(ctx, 1, "DBSSSGSG", "EUR", storetest.Operator)
		wantCode(t, err, "already_settled", "participant")
		_, err = e.s.SettlePosition(ctx, 1, "DBSSSGSG", "JPY", storetest.Operator)
		wantCode(t, err, "position_not_found", "participant")
		_, err = e.s.SettlePosition(ctx, 99, "DBSSSGSG", "EUR", storetest.Operator)
		wantCode(t, err, "cycle_not_found", "cycle_id")

		cycles, err := e.s.Cycles(ctx, 10)
		if err != nil || len(cycles) != 2 || cycles[0].ID != 2 || cycles[1].State != clearing.CycleSettled {
			t.Fatalf("cycles %+v %v", cycles, err)
		}
		e.ledgerOK(t)
	})
}

func TestEmptyCycleClosesSettled(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		c, err := e.s.CloseCycle(ctx, storetest.Operator)
		if err != nil || c.State != clearing.CycleSettled || len(c.Result.Positions) != 0 {
			t.Fatalf("empty cycle: %+v %v", c, err)
		}
	})
}

func TestAutoReleaseAfterDeadlineAndRestart(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			dsn := storetest.DSN(t, engine)
			c := newClock()
			open := func() *store.Store {
				s, err := store.Open(ctx, dsn, store.Options{Now: c.now, ReleaseAfter: 15 * 24 * time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				return s
			}
			s := open()
			e := env{engine: engine, s: s, w: storetest.Seed(t, s), clock: c}
			due := e.hold(t, 1, 0, "10.00")
			partly := e.hold(t, 1, 0, "10.00")
			e.act(t, partly.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 250})
			disputed := e.hold(t, 1, 0, "10.00")
			e.act(t, disputed.ID, clearing.Action{Kind: clearing.ActionDispute})
			c.advance(10 * 24 * time.Hour)
			later := e.hold(t, 1, 0, "10.00") // due 10 days after the others

			c.advance(5*24*time.Hour - time.Second)
			if n, err := s.ReleaseDue(ctx, 100); err != nil || n != 0 {
				t.Fatalf("released %d before the deadline (%v)", n, err)
			}
			c.advance(time.Second)
			if n, err := s.ReleaseDue(ctx, 100); err != nil || n != 2 {
				t.Fatalf("released %d at the deadline, want 2 (%v)", n, err)
			}
			s.Close() // the process stops…
			c.advance(30 * 24 * time.Hour)
			s = open() // …and a new one picks up what became due meanwhile
			defer s.Close()
			if n, err := s.ReleaseDue(ctx, 100); err != nil || n != 1 {
				t.Fatalf("after restart released %d, want 1 (%v)", n, err)
			}
			for id, want := range map[string]clearing.State{due.ID: clearing.Released, partly.ID: clearing.Released, disputed.ID: clearing.Disputed, later.ID: clearing.Released} {
				p, events, err := s.Payment(ctx, id)
				if err != nil || p.State != want {
					t.Fatalf("payment %s is %s, want %s (%v)", id, p.State, want, err)
				}
				if want == clearing.Released && events[len(events)-1].Type != clearing.EventAutoReleased {
					t.Fatalf("last event %+v", events[len(events)-1])
				}
			}
			if p, _, _ := s.Payment(ctx, partly.ID); p.ReleasedMinor != 1000 {
				t.Fatalf("partly released payment released %d in all", p.ReleasedMinor)
			}
			e.s = s
			e.ledgerOK(t)
		})
	}
}

func TestLedgerCheckCatchesTampering(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		e.hold(t, 1, 0, "10.00")
		e.ledgerOK(t)
		if _, err := e.s.DB().ExecContext(ctx, "UPDATE positions SET paid_minor = paid_minor + 1 WHERE owner = 'DBSSSGSG'"); err != nil {
			t.Fatal(err)
		}
		chk, err := e.s.CheckLedger(ctx)
		if err != nil || chk.OK || len(chk.Problems) == 0 {
			t.Fatalf("tampered books pass the check: %+v %v", chk, err)
		}
		if _, err := e.s.CloseCycle(ctx, storetest.Operator); err == nil {
			t.Fatal("closed a cycle whose positions disagree with its postings")
		}
	})
}

func TestAFailureMidTransactionLeavesThePreviousState(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		p := e.hold(t, 1, 0, "10.00")
		// Make the last write of every transition fail, as a crash would.
		trigger := map[string][]string{
			"sqlite": {"CREATE TRIGGER boom BEFORE INSERT ON postings BEGIN SELECT RAISE(ABORT, 'boom'); END"},
			"postgres": {
				"CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$ LANGUAGE plpgsql",
				"CREATE TRIGGER boom BEFORE INSERT ON postings FOR EACH ROW EXECUTE FUNCTION boom()",
			},
		}
		for _, q := range trigger[e.engine] {
			if _, err := e.s.DB().ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		before := e.snapshot(t)
		if _, err := e.s.Hold(ctx, clearing.HoldRequest{BuyerBankID: e.w.Banks[1].ID, MerchantID: e.w.Merchants[0].ID, Amount: amount(t, "5.00", "EUR")}, storetest.Operator); err == nil {
			t.Fatal("hold succeeded despite the failing write")
		}
		if _, err := e.s.Act(ctx, p.ID, clearing.Action{Kind: clearing.ActionRelease}, storetest.Operator); err == nil {
			t.Fatal("release succeeded despite the failing write")
		}
		e.unchanged(t, before)
		e.ledgerOK(t)
	})
}

func TestCloseCycleIfOpenRefusesAStaleCycle(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		if _, err := e.s.CloseCycleIfOpen(ctx, 1, storetest.Operator); err != nil {
			t.Fatal(err)
		}
		// a second scheduler that also read "cycle 1 is due" must not close cycle 2
		_, err := e.s.CloseCycleIfOpen(ctx, 1, storetest.Operator)
		wantCode(t, err, "cycle_already_closed", "")
		_, err = e.s.CloseCycleIfOpen(ctx, 7, storetest.Operator)
		wantCode(t, err, "cycle_not_found", "id")
		if cur, _ := e.s.CurrentCycle(ctx); cur.ID != 2 {
			t.Fatalf("open cycle is %d, want 2", cur.ID)
		}
	})
}

package store_test

import (
	"context"
	"testing"

	"github.com/crossclear/crossclear/clearing"
)

// The ledger check reads its aggregates in one snapshot: a release that
// commits between two of its queries must not be half-seen (the escrow
// before it, the held payments after it), which made a busy server's
// check report an escrow above what payments hold.
func TestSnapshotReadsOneMoment(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		p := e.hold(t, 0, 0, "125.00")
		err := e.s.InSnapshot(ctx, func(sctx context.Context) error {
			before, err := e.s.CheckLedger(sctx)
			if err != nil {
				return err
			}
			// Another request commits while the snapshot is open.
			e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease})
			after, err := e.s.CheckLedger(sctx)
			if err != nil {
				return err
			}
			if held(before, p.Currency) != held(after, p.Currency) {
				t.Errorf("one snapshot saw %d held, then %d", held(before, p.Currency), held(after, p.Currency))
			}
			if !after.OK {
				t.Errorf("the ledger check inside the snapshot failed: %v", after.Problems)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		now, err := e.s.CheckLedger(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !now.OK || held(now, p.Currency) != 0 {
			t.Fatalf("after the snapshot the release is not seen: ok=%v held %d %v", now.OK, held(now, p.Currency), now.Problems)
		}
	})
}

func held(l clearing.LedgerCheck, ccy string) int64 {
	for _, c := range l.Currencies {
		if c.Currency == ccy {
			return c.HeldMinor
		}
	}
	return 0
}

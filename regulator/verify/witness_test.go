package verify_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/messages/delivery"
	"github.com/crossclear/crossclear/regulator/bundle"
	"github.com/crossclear/crossclear/regulator/internal/regtest"
	"github.com/crossclear/crossclear/regulator/verify"
	"github.com/crossclear/crossclear/regulator/witness"
	"github.com/crossclear/crossclear/regulator/witnessing"
)

// witnessed is a world whose log two crossclear witnesses (the regulators
// of SG and DE) cosign, on a clock of their own.
type witnessed struct {
	w      *regtest.World
	keys   bundle.Keys
	clock  *regtest.Clock // the witnesses' clock, and the regulators'
	sg, de *regtest.Witness
	worker *witnessing.Worker
	policy verify.Policy
}

func newWitnessed(t *testing.T) *witnessed {
	t.Helper()
	w := regtest.New(t, "sqlite")
	keys := w.Keys(t)
	x := &witnessed{w: w, keys: keys, clock: regtest.NewClock(time.Unix(1_800_000_000, 0))}
	x.sg = regtest.StartWitness(t, "witness.test/sg", keys.Origin, keys.CheckpointKeys[0], x.clock.Now)
	x.de = regtest.StartWitness(t, "witness.test/de", keys.Origin, keys.CheckpointKeys[0], x.clock.Now)
	reg := &witnessing.Registry{DB: w.Store.DB(), Now: w.Clock.Now}
	for _, wt := range []*regtest.Witness{x.sg, x.de} {
		if _, err := reg.Add(context.Background(), wt.VKey, wt.URL, storetest.Operator); err != nil {
			t.Fatal(err)
		}
	}
	x.worker = &witnessing.Worker{Worker: delivery.Worker{Now: w.Clock.Now}, Registry: reg, Log: w.Producer.Log, Refresh: 10 * time.Minute}
	x.policy = verify.Policy{Witnesses: []string{x.sg.VKey, x.de.VKey}, Quorum: 2, MaxAge: time.Hour, Now: x.clock.Now}
	return x
}

// cycle closes a cycle with a payment, publishes its reports and has the
// witnesses cosign the new checkpoint.
func (x *witnessed) cycle(t *testing.T) {
	t.Helper()
	p := x.w.Hold(t, 1, 0, "100.00")
	x.w.Act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease})
	x.w.Close(t)
	x.w.Produce(t)
	if err := x.worker.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSplitView: a dishonest operator rewrites the log after the
// regulators saw it and shows the rewritten history to DE. The witnesses
// refuse to cosign it; without a witness policy DE would accept it, with
// the 2-of-2 policy it fails; and SG, comparing DE's checkpoint with its
// own (gossip), gets the two signed, inconsistent checkpoints as evidence.
func TestSplitView(t *testing.T) {
	ctx := context.Background()
	x := newWitnessed(t)
	x.cycle(t)
	sg, _, err := verify.Verify(x.keys, emptyState(t), []bundle.Bundle{x.w.Bundle(t, "SG-cycle-1", 0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sg, err = x.policy.Check(x.keys, sg); err != nil || len(sg.Witnesses) != 2 {
		t.Fatalf("the honest checkpoint under the policy: %v (%+v)", err, sg.Witnesses)
	}
	honest := sg.Size

	// The fork: the same key signs a rewritten history of the same size.
	for _, q := range []string{
		"DELETE FROM regulator_outbox", "DELETE FROM regulator_report_files", "DELETE FROM regulator_reports", "DELETE FROM merkle_cosignatures",
		"DELETE FROM merkle_checkpoints", "DELETE FROM merkle_nodes", "DELETE FROM merkle_leaves", "DELETE FROM merkle_head",
		"UPDATE postings SET amount_minor = amount_minor + 1 WHERE kind = 'release'",
	} {
		if _, err := x.w.Store.DB().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	x.w.Produce(t)
	x.w.Clock.Advance(11 * time.Minute) // the operator asks again at the next interval
	if err := x.worker.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	forked, err := x.w.Producer.Log.LatestCheckpoint(ctx)
	if err != nil || forked.Size != honest {
		t.Fatalf("forked checkpoint: %+v %v", forked, err)
	}
	if len(forked.Cosignatures) != 0 {
		t.Fatalf("a witness cosigned the fork:\n%s", forked.Cosigned())
	}
	ws, _ := x.worker.Registry.List(ctx, forked.Size)
	for _, wt := range ws {
		if !strings.Contains(wt.LastError, "422") {
			t.Errorf("witness %s on the fork: %q, want a 422 refusal", wt.Name, wt.LastError)
		}
	}
	// Asked directly, from the size it cosigned: refused too.
	resp, err := http.Post(x.sg.URL+"/add-checkpoint", "text/plain", strings.NewReader(witness.Request(honest, nil, forked.Note)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the fork at the cosigned size: %d", resp.StatusCode)
	}

	fork := x.w.Bundle(t, "DE-cycle-1", 0)
	de, _, err := verify.Verify(x.keys, emptyState(t), []bundle.Bundle{fork}, nil)
	if err != nil {
		t.Fatalf("without witnesses DE accepts the fork (trust on first use): %v", err)
	}
	if _, err := x.policy.Check(x.keys, de); !errors.Is(err, verify.ErrUnwitnessed) {
		t.Fatalf("the fork under the 2-of-2 policy: %v", err)
	}
	err = verify.Compare(x.keys, sg, []byte(de.Checkpoint), nil)
	if !errors.Is(err, verify.ErrMisbehaving) || !strings.Contains(err.Error(), de.Checkpoint) || !strings.Contains(err.Error(), sg.Checkpoint) {
		t.Fatalf("SG comparing with DE's checkpoint: %v", err)
	}
	if err := verify.Compare(x.keys, sg, []byte(sg.Checkpoint), nil); err != nil {
		t.Fatalf("comparing with the same checkpoint: %v", err)
	}
}

// TestWithheldNewestReport: the operator keeps showing SG the checkpoint
// before its newest report. Without witnesses SG accepts it; under the
// policy it is stale (the witnesses moved on and cosign only the newer
// one), and the current checkpoint passes.
func TestWithheldNewestReport(t *testing.T) {
	x := newWitnessed(t)
	x.cycle(t)
	old := x.w.Bundle(t, "SG-cycle-1", 0) // with the cosignatures of then
	x.clock.Advance(2 * time.Hour)
	x.w.Clock.Advance(2 * time.Hour)
	x.cycle(t)
	st, _, err := verify.Verify(x.keys, emptyState(t), []bundle.Bundle{old}, nil)
	if err != nil {
		t.Fatalf("without witnesses the old checkpoint passes: %v", err)
	}
	if _, err := x.policy.Check(x.keys, st); !errors.Is(err, verify.ErrUnwitnessed) || !strings.Contains(err.Error(), "withheld") {
		t.Fatalf("the withheld report under the policy: %v", err)
	}
	cur, _, err := verify.Verify(x.keys, emptyState(t), []bundle.Bundle{x.w.Bundle(t, "SG-cycle-1", 0), x.w.Bundle(t, "SG-cycle-2", 0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cur, err = x.policy.Check(x.keys, cur); err != nil || len(cur.Witnesses) != 2 {
		t.Fatalf("the current checkpoint: %v", err)
	}
}

// TestFrozenLog: nothing is appended. If the operator stops publishing
// (no fresh cosignatures) the policy's freshness fails; while it
// publishes every interval the same checkpoint stays fresh.
func TestFrozenLog(t *testing.T) {
	x := newWitnessed(t)
	x.cycle(t)
	x.clock.Advance(2 * time.Hour)
	x.w.Clock.Advance(2 * time.Hour)
	st, _, err := verify.Verify(x.keys, emptyState(t), []bundle.Bundle{x.w.Bundle(t, "SG-cycle-1", 0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.policy.Check(x.keys, st); !errors.Is(err, verify.ErrUnwitnessed) || !strings.Contains(err.Error(), "frozen") {
		t.Fatalf("a frozen log: %v", err)
	}
	if err := x.worker.Pass(context.Background()); err != nil { // the interval passed: cosigned afresh
		t.Fatal(err)
	}
	st, _, err = verify.Verify(x.keys, st, []bundle.Bundle{x.w.Bundle(t, "SG-cycle-1", 0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, err = x.policy.Check(x.keys, st); err != nil || !st.Witnesses[0].SignedAt.Equal(x.clock.Now()) {
		t.Fatalf("published afresh: %v %+v", err, st.Witnesses)
	}
}

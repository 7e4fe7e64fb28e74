package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// TestGroupProperty drives random concurrent requests — holds against small
// net debit caps, releases (whole and partial), disputes, refunds and
// resolutions on random payments, many of them invalid — through commit
// groups, and checks what serial execution guarantees: the books balance,
// no cap is exceeded, every transition a request was told succeeded is in
// the payment's history exactly once and no refused one is, and no two
// successes on one payment were based on the same version of it (a lost
// update would be). Both ways a group runs its requests: one after
// another in savepoints (Atomically), and as batches of store calls
// (AtomicallyOp, the API's single-payment routes).
func TestGroupProperty(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		for _, batched := range []bool{false, true} {
			for _, seed := range []uint64{1, 7, 20261206} {
				t.Run(fmt.Sprintf("batched=%v/seed %d", batched, seed), func(t *testing.T) { groupProperty(t, e, seed, batched) })
			}
		}
	})
}

// outcome is what one request was answered.
type outcome struct {
	kind    clearing.ActionKind // "" for a hold
	payment string
	version int64 // the payment's version in a success's answer
	refused string
}

func groupProperty(t *testing.T, e env, seed uint64, batched bool) {
	m := e.w.Merchants[0] // EUR, which every seeded bank settles
	// Each bank may owe 400.00 more than it owes already (earlier seeds'
	// payments are still in the open cycle): a few holds each, then refusals.
	room := amount(t, "400.00", m.Currency).Minor
	caps := map[string]int64{}
	for bank, owed := range debits(t, e, m.Currency) {
		caps[bank] = owed + room
		change := store.LimitsChange{Set: []clearing.SettlementCurrency{{Currency: m.Currency, NetDebitCapMinor: caps[bank]}}, Reason: "property"}
		if _, err := e.s.UpdateParticipantLimits(ctx, bank, change, storetest.Operator); err != nil {
			t.Fatal(err)
		}
	}
	var largest atomic.Int64
	g := e.s.NewGroup(store.GroupConfig{Max: 16, Window: 200 * time.Microsecond}, func(n int) {
		if int64(n) > largest.Load() {
			largest.Store(int64(n))
		}
	})

	var (
		mu       sync.Mutex
		payments []string
		outcomes []outcome
		wg       sync.WaitGroup
	)
	const workers, perWorker = 8, 30
	for w := range workers {
		r := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWorker {
				mu.Lock()
				target := ""
				if len(payments) > 0 && r.IntN(3) > 0 {
					target = payments[r.IntN(len(payments))]
				}
				mu.Unlock()
				op := randomOp(t, e, r, target)
				var o outcome
				alone := func(ctx context.Context) error {
					res, err := e.s.Do(ctx, op)
					if err != nil {
						return err
					}
					if o = answer(op, res, t); o.refused != "" {
						return store.ErrRollback
					}
					return nil
				}
				var err error
				if batched {
					err = g.AtomicallyOp(ctx, store.OpRequest{Op: op, Answer: func(_ context.Context, res store.Result) (*store.StoredResponse, error) {
						o = answer(op, res, t)
						return nil, nil
					}}, alone)
				} else {
					err = g.Atomically(ctx, alone)
				}
				if err != nil {
					t.Errorf("request: %v", err)
					return
				}
				mu.Lock()
				outcomes = append(outcomes, o)
				if o.kind == "" && o.refused == "" {
					payments = append(payments, o.payment)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	chk, err := e.s.CheckLedger(ctx)
	if err != nil || !chk.OK {
		t.Fatalf("ledger check: %v %v", err, chk.Problems)
	}
	for bank, owed := range debits(t, e, m.Currency) {
		if owed > caps[bank] {
			t.Errorf("bank %s owes %d, above its cap of %d", bank, owed, caps[bank])
		}
	}
	versions := map[string][]int64{}
	refused := 0
	for _, o := range outcomes {
		if o.refused != "" {
			refused++
		} else if o.kind != "" {
			versions[o.payment] = append(versions[o.payment], o.version)
		}
	}
	for _, id := range payments {
		p, events, err := e.s.Payment(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got := versions[id]
		slices.Sort(got)
		// A hold's answer is version 1; each transition since is one
		// success, one event, one version more.
		want := make([]int64, 0, p.Version-1)
		for v := int64(2); v <= p.Version; v++ {
			want = append(want, v)
		}
		if !slices.Equal(got, want) {
			t.Errorf("payment %s is at version %d; successes answered versions %v", id, p.Version, got)
		}
		if transitions := len(events) - 2; transitions != len(got) { // received and held come with the hold
			t.Errorf("payment %s has %d transition events, %d successes answered", id, transitions, len(got))
		}
	}
	t.Logf("%d requests: %d payments held, %d refused; groups of up to %d", len(outcomes), len(payments), refused, largest.Load())
	if largest.Load() < 2 {
		t.Errorf("no two requests ever shared a group: the test did not test group commit")
	}
	if refused == 0 || len(payments) == 0 {
		t.Errorf("the workload refused %d and held %d: it must do both to test anything", refused, len(payments))
	}
}

// randomOp is one random request: a hold when target is empty, else a
// random action on target.
func randomOp(t *testing.T, e env, r *rand.Rand, target string) store.Op {
	if target == "" {
		m := e.w.Merchants[0]
		bank := e.w.Banks[r.IntN(len(e.w.Banks))]
		a := amount(t, fmt.Sprintf("%d.%02d", 10+r.IntN(110), r.IntN(100)), m.Currency)
		return store.Op{Hold: &clearing.HoldRequest{BuyerBankID: bank.ID, MerchantID: m.ID, Amount: a}, By: storetest.Operator}
	}
	kinds := []clearing.ActionKind{clearing.ActionRelease, clearing.ActionDispute, clearing.ActionRefund, clearing.ActionResolve}
	a := clearing.Action{Kind: kinds[r.IntN(len(kinds))], Reason: "property"}
	switch a.Kind {
	case clearing.ActionRelease:
		if r.IntN(2) == 0 {
			a.AmountMinor = int64(1 + r.IntN(3000))
		}
	case clearing.ActionResolve:
		a.Decision = []clearing.Decision{clearing.DecideRelease, clearing.DecideRefund}[r.IntN(2)]
	}
	return store.Op{Act: &store.ActRequest{PaymentID: target, Action: a, By: storetest.Operator}}
}

// answer is what op's result tells its client.
func answer(op store.Op, res store.Result, t *testing.T) outcome {
	var kind clearing.ActionKind
	if op.Act != nil {
		kind = op.Act.Action.Kind
		if res.Err == nil && res.Payment.ID != op.Act.PaymentID {
			t.Errorf("%s of payment %s answered payment %s", kind, op.Act.PaymentID, res.Payment.ID)
		}
	}
	if res.Err != nil {
		ce, ok := clearing.AsError(res.Err)
		if !ok {
			t.Errorf("%s: not a domain refusal: %v", cmpOr(string(kind), "hold"), res.Err)
			return outcome{kind: kind, refused: res.Err.Error()}
		}
		return outcome{kind: kind, refused: ce.Code}
	}
	return outcome{kind: kind, payment: res.Payment.ID, version: res.Payment.Version}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// debits is what each seeded bank owes in ccy in the open cycle (≥ 0).
func debits(t *testing.T, e env, ccy string) map[string]int64 {
	out := map[string]int64{}
	for _, b := range e.w.Banks {
		out[b.ID] = 0
		pos, err := e.s.OpenPositions(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pos {
			if p.Currency == ccy && p.NetMinor < 0 {
				out[b.ID] = -p.NetMinor
			}
		}
	}
	return out
}

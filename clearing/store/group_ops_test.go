package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// opJob is one request of TestGroupBatchesOps: its op, what it was
// answered, and whether it had to run alone.
type opJob struct {
	key      string
	op       store.Op
	result   store.Result
	alone    atomic.Int32
	fail     atomic.Int32 // Answer fails this many times more (ErrRetryAlone)
	rollback bool         // Answer asks to roll the request back (a 429 or 503)
	replayed *store.StoredResponse
	err      error // what AtomicallyOp returned
}

// runOpGroup runs jobs in one commit group (the window holds it open until
// all have arrived) and returns the sizes of the groups run.
func runOpGroup(t *testing.T, e env, jobs []*opJob) []int {
	t.Helper()
	var sizes []int
	g := e.s.NewGroup(store.GroupConfig{Max: len(jobs), Window: time.Minute}, func(n int) { sizes = append(sizes, n) })
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := store.OpRequest{Op: j.op,
				Replay: func(*store.StoredResponse) { t.Errorf("a replay of a request never answered") },
				Answer: func(_ context.Context, r store.Result) (*store.StoredResponse, error) {
					if j.fail.Add(-1) >= 0 {
						return nil, store.ErrRetryAlone
					}
					j.result = r
					if j.rollback {
						return nil, store.ErrRollback
					}
					if j.key == "" {
						return nil, nil
					}
					return &store.StoredResponse{StatusCode: 201, Body: []byte(r.Payment.ID)}, nil
				}}
			if j.key != "" {
				req.Claim = &store.IdempotencyClaim{Caller: "c", Key: j.key, Request: []byte(j.key)}
			}
			err := g.AtomicallyOp(ctx, req, func(ctx context.Context) error {
				j.alone.Add(1)
				if j.key != "" {
					// As the API's alone path: a copy finds the answer.
					stored, err := e.s.ClaimIdempotencyKey(ctx, "c", j.key, []byte(j.key))
					if err != nil || stored != nil {
						j.replayed = stored
						return err
					}
				}
				r, err := e.s.Do(ctx, j.op)
				j.result = r
				return err
			})
			j.err = err
		}()
	}
	wg.Wait()
	return sizes
}

// TestGroupBatchesOps: a group's holds (of two banks) and actions are made
// in batches, each answered with its own result; a second copy of a keyed
// request in the group runs alone, after it; when one request's answer
// fails, the batch rolls back and every request runs alone, once.
func TestGroupBatchesOps(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		m := e.w.Merchants[0]
		held := []clearing.Payment{e.hold(t, 0, 0, "10.00"), e.hold(t, 1, 0, "20.00")}
		released := e.act(t, e.hold(t, 1, 0, "30.00").ID, clearing.Action{Kind: clearing.ActionRelease})
		newJobs := func() []*opJob {
			var jobs []*opJob
			for i := range 4 {
				bank := e.w.Banks[i%2]
				by := clearing.Actor{Role: clearing.RoleBank, Subject: bank.ID}
				h := clearing.HoldRequest{BuyerBankID: bank.ID, MerchantID: m.ID, Amount: amount(t, fmt.Sprintf("%d.00", i+1), m.Currency)}
				jobs = append(jobs, &opJob{op: store.Op{Hold: &h, By: by}})
			}
			return jobs
		}

		t.Run("batched", func(t *testing.T) {
			jobs := newJobs()
			for _, p := range held {
				jobs = append(jobs, &opJob{op: store.Op{Act: &store.ActRequest{PaymentID: p.ID, Action: clearing.Action{Kind: clearing.ActionRelease}, By: storetest.Operator}}})
			}
			// An action the domain refuses: its own refusal, the batch goes on.
			jobs = append(jobs, &opJob{op: store.Op{Act: &store.ActRequest{PaymentID: released.ID, Action: clearing.Action{Kind: clearing.ActionDispute}, By: storetest.Operator}}})
			before := heldCount(t, e)
			if sizes := runOpGroup(t, e, jobs); len(sizes) != 1 || sizes[0] != len(jobs) {
				t.Fatalf("group sizes %v, want one group of %d", sizes, len(jobs))
			}
			noErrors(t, jobs)
			for i, j := range jobs {
				if j.alone.Load() != 0 {
					t.Errorf("job %d ran alone", i)
				}
			}
			for i, j := range jobs[:4] {
				p := j.result.Payment
				if j.result.Err != nil || p.State != clearing.Held || p.BuyerBankID != j.op.Hold.BuyerBankID || p.AmountMinor != j.op.Hold.Amount.Minor {
					t.Errorf("hold %d answered %+v, %v", i, p, j.result.Err)
					continue
				}
				// The holds of both banks were made in one batch, each
				// recorded as its own bank's.
				_, events, err := e.s.Payment(ctx, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range events {
					if ev.Actor != j.op.By.String() {
						t.Errorf("hold %d: event %s by %s, want %s", i, ev.Type, ev.Actor, j.op.By)
					}
				}
			}
			for i, j := range jobs[4:6] {
				if j.result.Err != nil || j.result.Payment.State != clearing.Released || j.result.Payment.ID != held[i].ID {
					t.Errorf("release %d answered %s, %v", i, j.result.Payment.State, j.result.Err)
				}
			}
			if _, ok := clearing.AsError(jobs[6].result.Err); !ok {
				t.Errorf("dispute of a released payment answered %v", jobs[6].result.Err)
			}
			if n := heldCount(t, e); n != before+4 {
				t.Errorf("%d payments, want %d", n, before+4)
			}
		})

		t.Run("same key twice", func(t *testing.T) {
			jobs := newJobs()
			jobs[1].key, jobs[3].key = "k", "k"
			runOpGroup(t, e, jobs)
			noErrors(t, jobs)
			// Whichever arrived second is the copy: it replays the first's
			// recorded answer.
			first, copy := jobs[1], jobs[3]
			if first.alone.Load() == 1 {
				first, copy = copy, first
			}
			if first.alone.Load() != 0 || copy.alone.Load() != 1 || jobs[0].alone.Load()+jobs[2].alone.Load() != 0 {
				t.Errorf("ran alone: %d %d %d %d, want only the copy of the keyed request", jobs[0].alone.Load(), jobs[1].alone.Load(), jobs[2].alone.Load(), jobs[3].alone.Load())
			}
			if copy.replayed == nil || string(copy.replayed.Body) != first.result.Payment.ID {
				t.Errorf("the copy replayed %+v, want the first's answer %s", copy.replayed, first.result.Payment.ID)
			}
		})

		t.Run("reused key", func(t *testing.T) {
			// The key was used before for another request: that request's
			// refusal is its own, after the group; its group-mates are
			// batched as if it were not there.
			err := e.s.Atomically(ctx, func(ctx context.Context) error {
				_, err := e.s.ClaimIdempotencyKey(ctx, "c", "reused", []byte("another request"))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			jobs := newJobs()
			jobs[2].key = "reused"
			runOpGroup(t, e, jobs)
			for i, j := range jobs {
				wantAlone := int32(0)
				if i == 2 {
					wantAlone = 1
				}
				if j.alone.Load() != wantAlone {
					t.Errorf("job %d ran alone %d times, want %d", i, j.alone.Load(), wantAlone)
				}
			}
			if ce, ok := clearing.AsError(jobs[2].err); !ok || ce.Code != "idempotency_key_reused" {
				t.Errorf("the reused key was answered %v", jobs[2].err)
			}
		})

		t.Run("keyed rollback", func(t *testing.T) {
			// A keyed request that rolls back must take its claim with it,
			// which only a transaction of its own can: the batch fails and
			// every request runs alone.
			jobs := newJobs()
			jobs[1].key, jobs[1].rollback = "rolled-back", true
			runOpGroup(t, e, jobs)
			for i, j := range jobs {
				if j.alone.Load() != 1 {
					t.Errorf("job %d ran alone %d times, want 1", i, j.alone.Load())
				}
			}
		})

		t.Run("failed answer", func(t *testing.T) {
			jobs := newJobs()
			jobs[2].fail.Store(1)
			before := heldCount(t, e)
			runOpGroup(t, e, jobs)
			noErrors(t, jobs)
			for i, j := range jobs {
				if j.alone.Load() != 1 || j.result.Err != nil {
					t.Errorf("job %d ran alone %d times (want 1): %v", i, j.alone.Load(), j.result.Err)
				}
			}
			if n := heldCount(t, e); n != before+4 {
				t.Errorf("%d payments, want %d: the failed batch left its holds", n, before+4)
			}
		})
	})
}

func noErrors(t *testing.T, jobs []*opJob) {
	t.Helper()
	for i, j := range jobs {
		if j.err != nil {
			t.Errorf("job %d: %v", i, j.err)
		}
	}
}

package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// heldCount is how many payments exist.
func heldCount(t *testing.T, e env) int64 {
	t.Helper()
	n, err := e.s.DB().NewSelect().Table("payments").Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// holdOnce is what the API does for a keyed hold: claim, hold, record the
// answer, all in one atomic request. It reports whether it ran the hold.
func holdOnce(t *testing.T, e env, caller, key string, fail error) (ran bool, replay *store.StoredResponse, err error) {
	t.Helper()
	body := []byte(`POST /v1/payments {"amount":"1.00"}`)
	err = e.s.Atomically(ctx, func(ctx context.Context) error {
		stored, err := e.s.ClaimIdempotencyKey(ctx, caller, key, body)
		if err != nil || stored != nil {
			replay = stored
			return err
		}
		m := e.w.Merchants[0]
		p, err := e.s.Hold(ctx, clearing.HoldRequest{BuyerBankID: e.w.Banks[0].ID, MerchantID: m.ID, Amount: amount(t, "1.00", m.Currency)}, storetest.Operator)
		if err != nil {
			return err
		}
		ran = true
		if fail != nil {
			return fail
		}
		return e.s.RecordIdempotentAnswer(ctx, caller, key, store.StoredResponse{StatusCode: 201, Body: []byte(`{"id":"` + p.ID + `"}`), Resource: "payment/" + p.ID})
	})
	return ran, replay, err
}

func TestIdempotencyKeys(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		body := []byte(`POST /v1/payments {"amount":"1.00"}`)
		if _, err := e.s.ClaimIdempotencyKey(ctx, "key_a", "k1", body); !errors.Is(err, clearing.ErrInvariant) {
			t.Fatalf("claim outside an atomic request: %v", err)
		}

		// A request that fails leaves no trace: neither its effect nor its
		// claim, so the retry runs.
		crash := errors.New("connection lost before commit")
		if ran, _, err := holdOnce(t, e, "key_a", "k1", crash); !ran || !errors.Is(err, crash) {
			t.Fatalf("failing request: ran %v, %v", ran, err)
		}
		if n := heldCount(t, e); n != 0 {
			t.Fatalf("a rolled-back request left %d payments", n)
		}
		ran, replay, err := holdOnce(t, e, "key_a", "k1", nil)
		if err != nil || !ran || replay != nil {
			t.Fatalf("retry after the failure: ran %v replay %v err %v", ran, replay, err)
		}
		// Committed: every retry replays, nothing runs twice.
		for range 3 {
			ran, replay, err := holdOnce(t, e, "key_a", "k1", nil)
			if err != nil || ran || replay == nil || replay.StatusCode != 201 || replay.Resource == "" {
				t.Fatalf("replay: ran %v replay %+v err %v", ran, replay, err)
			}
		}
		if n := heldCount(t, e); n != 1 {
			t.Fatalf("%d payments for one key, want 1", n)
		}
		err = e.s.Atomically(ctx, func(ctx context.Context) error {
			_, err := e.s.ClaimIdempotencyKey(ctx, "key_a", "k1", []byte("another body"))
			return err
		})
		wantCode(t, err, "idempotency_key_reused", "Idempotency-Key")
		// Another caller's key space.
		if ran, _, err := holdOnce(t, e, "key_b", "k1", nil); err != nil || !ran {
			t.Fatalf("another caller's key: ran %v %v", ran, err)
		}
	})
}

// TestIdempotentConcurrentClaims: copies of one keyed request at once run
// exactly once; the others wait for it to commit and replay its answer —
// none is told to come back later.
func TestIdempotentConcurrentClaims(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		const copies = 6
		var wg sync.WaitGroup
		var mu sync.Mutex
		runs, replays := 0, 0
		for range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ran, replay, err := holdOnce(t, e, "key_a", "burst", nil)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Errorf("copy: %v", err)
				case ran:
					runs++
				case replay != nil && replay.StatusCode == 201:
					replays++
				}
			}()
		}
		wg.Wait()
		if runs != 1 || replays != copies-1 {
			t.Fatalf("%d ran, %d replayed; want 1 and %d", runs, replays, copies-1)
		}
		if n := heldCount(t, e); n != 1 {
			t.Fatalf("%d payments, want 1", n)
		}
	})
}

// TestAfterCommit: what waits for the commit runs after it, and never for
// a request that rolled back; reads inside see the request's own writes.
func TestAfterCommit(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		var seen []string
		err := e.s.Atomically(ctx, func(ctx context.Context) error {
			p := e.holdIn(t, ctx)
			if got, _, err := e.s.Payment(ctx, p.ID); err != nil || got.ID != p.ID {
				t.Fatalf("read inside the request: %v", err)
			}
			store.AfterCommit(ctx, func() {
				// After the commit the context is a plain one again: the
				// payment is visible from the pool.
				if _, _, err := e.s.Payment(ctx, p.ID); err != nil {
					t.Errorf("after commit: %v", err)
				}
				seen = append(seen, "committed")
			})
			if len(seen) != 0 {
				t.Fatal("ran before the commit")
			}
			return nil
		})
		if err != nil || len(seen) != 1 {
			t.Fatalf("commit: %v, after-commit ran %d times", err, len(seen))
		}
		err = e.s.Atomically(ctx, func(ctx context.Context) error {
			e.holdIn(t, ctx)
			store.AfterCommit(ctx, func() { seen = append(seen, "rolled back") })
			return store.ErrRollback
		})
		if err != nil || len(seen) != 1 {
			t.Fatalf("rollback: %v, after-commit ran: %v", err, seen)
		}
		if n := heldCount(t, e); n != 1 {
			t.Fatalf("%d payments, want 1", n)
		}
		// Outside an atomic request it runs at once.
		store.AfterCommit(ctx, func() { seen = append(seen, "now") })
		if len(seen) != 2 {
			t.Fatalf("outside: %v", seen)
		}
	})
}

func (e env) holdIn(t *testing.T, ctx context.Context) clearing.Payment {
	t.Helper()
	m := e.w.Merchants[0]
	p, err := e.s.Hold(ctx, clearing.HoldRequest{BuyerBankID: e.w.Banks[0].ID, MerchantID: m.ID, Amount: amount(t, "2.00", m.Currency)}, storetest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

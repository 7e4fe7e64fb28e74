package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

// TestGroupCommit runs eight requests in one commit group and checks that
// each keeps its own outcome: committed ones commit together, a rolled
// back one leaves nothing, a failing one runs again alone (its first
// try's effect gone), a panicking one panics on its own goroutine and
// leaves nothing; AfterCommit functions run for committed work only.
func TestGroupCommit(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		var sizes []int
		// The window is long so that all eight wait for one group; Max
		// starts it as soon as the eighth arrives.
		g := e.s.NewGroup(store.GroupConfig{Max: 8, Window: time.Minute}, func(n int) { sizes = append(sizes, n) })
		var (
			mu        sync.Mutex
			after     []string
			failTries atomic.Int32
			wg        sync.WaitGroup
		)
		errs := make([]error, 8)
		panics := make([]any, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { panics[i] = recover() }()
				errs[i] = g.Atomically(ctx, func(ctx context.Context) error {
					try := ""
					if i == 5 {
						try = fmt.Sprint(failTries.Add(1))
					}
					if err := e.holdFor(ctx, i); err != nil {
						return err
					}
					store.AfterCommit(ctx, func() {
						mu.Lock()
						defer mu.Unlock()
						after = append(after, fmt.Sprint(i, try))
					})
					switch {
					case i == 3:
						return store.ErrRollback
					case i == 5 && try == "1":
						return errors.New("boom")
					case i == 6:
						panic("request 6")
					}
					return nil
				})
			}()
		}
		wg.Wait()
		if !slices.Equal(sizes, []int{8}) {
			t.Errorf("group sizes %v, want one group of 8", sizes)
		}
		for i, err := range errs {
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		}
		if panics[6] != "request 6" || slices.ContainsFunc(append(panics[:6:6], panics[7]), func(p any) bool { return p != nil }) {
			t.Errorf("panics %v, want request 6's only", panics)
		}
		slices.Sort(after)
		if want := []string{"0", "1", "2", "4", "52", "7"}; !slices.Equal(after, want) {
			t.Errorf("after-commit ran for %v, want %v (5 on its second try)", after, want)
		}
		if n := heldCount(t, e); n != 6 {
			t.Errorf("%d payments, want 6", n)
		}
	})
}

// TestGroupCapsAsSerial holds, through one group, more than a bank's net
// debit cap allows: exactly the holds that fit are accepted, as when each
// request has its own transaction.
func TestGroupCapsAsSerial(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		bank, m := e.w.Banks[0], e.w.Merchants[0]
		limit := amount(t, "5000.00", m.Currency)
		change := store.LimitsChange{Set: []clearing.SettlementCurrency{{Currency: m.Currency, NetDebitCapMinor: limit.Minor}}, Reason: "group test"}
		if _, err := e.s.UpdateParticipantLimits(ctx, bank.ID, change, storetest.Operator); err != nil {
			t.Fatal(err)
		}
		g := e.s.NewGroup(store.GroupConfig{Max: 16, Window: time.Minute}, nil)
		var held, refused atomic.Int32
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := g.Atomically(ctx, func(ctx context.Context) error {
					_, err := e.s.Hold(ctx, clearing.HoldRequest{BuyerBankID: bank.ID, MerchantID: m.ID, Amount: amount(t, "1000.00", m.Currency)}, storetest.Operator)
					if ce, ok := clearing.AsError(err); ok && ce.Code == "net_debit_cap_exceeded" {
						refused.Add(1)
						return store.ErrRollback
					}
					if err == nil {
						held.Add(1)
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if held.Load() != 5 || refused.Load() != 11 {
			t.Fatalf("held %d, refused %d; want 5 held within the cap of 5,000, 11 refused", held.Load(), refused.Load())
		}
	})
}

// holdFor holds a small payment for request i in ctx's transaction.
func (e env) holdFor(ctx context.Context, i int) error {
	m := e.w.Merchants[0]
	a, err := fx.ParseAmount("1.00", m.Currency)
	if err != nil {
		return err
	}
	_, err = e.s.Hold(ctx, clearing.HoldRequest{Reference: fmt.Sprint("group-", i), BuyerBankID: e.w.Banks[0].ID, MerchantID: m.ID, Amount: a}, storetest.Operator)
	return err
}

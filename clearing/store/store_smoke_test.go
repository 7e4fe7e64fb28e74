package store_test

import (
	"context"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

func TestSmokeLifecycle(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			s := storetest.Open(t, engine, store.Options{})
			w := storetest.Seed(t, s)
			amt, _ := fx.ParseAmount("100.00", "EUR")
			p, err := s.Hold(ctx, clearing.HoldRequest{BuyerBankID: w.Banks[1].ID, MerchantID: w.Merchants[0].ID, Amount: amt}, storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			p, err = s.Act(ctx, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 2500}, storetest.Operator)
			if err != nil || p.State != clearing.Held || p.ReleasedMinor != 2500 {
				t.Fatalf("partial release: %+v %v", p, err)
			}
			c, err := s.CloseCycle(ctx, storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", c.Result)
			chk, err := s.CheckLedger(ctx)
			if err != nil || !chk.OK {
				t.Fatalf("ledger: %+v %v", chk, err)
			}
			t.Logf("%+v", chk)
		})
	}
}

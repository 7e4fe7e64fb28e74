package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

func TestPaymentLifeOnEveryPath(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		// buyer confirms
		p := e.hold(t, 1, 0, "100.00")
		if p.State != clearing.Held || p.HoldCycleID != 1 || !p.ReleaseAt.Equal(e.clock.now().Add(15*24*time.Hour)) {
			t.Fatalf("held: %+v", p)
		}
		if got := e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease}); got.State != clearing.Released || got.ReleasedMinor != 10000 {
			t.Fatalf("released: %+v", got)
		}
		// partial releases then the rest
		p = e.hold(t, 2, 0, "90.00")
		e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 3000})
		p = e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 3000})
		if p.State != clearing.Held || p.HeldMinor() != 3000 {
			t.Fatalf("after two partial releases: %+v", p)
		}
		_, err := e.s.Act(ctx, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 3001}, storetest.Operator)
		wantCode(t, err, "release_exceeds_held", "amount")
		if p = e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 3000}); p.State != clearing.Released {
			t.Fatalf("last partial release: %+v", p)
		}
		// dispute → refund, dispute → release
		p = e.hold(t, 1, 1, "50.00")
		e.act(t, p.ID, clearing.Action{Kind: clearing.ActionDispute, Reason: "not delivered"})
		if p = e.act(t, p.ID, clearing.Action{Kind: clearing.ActionResolve, Decision: clearing.DecideRefund, Reason: "courier lost it"}); p.State != clearing.Refunded || p.RefundedMinor != 5000 {
			t.Fatalf("resolved refund: %+v", p)
		}
		p = e.hold(t, 2, 2, "70.00")
		e.act(t, p.ID, clearing.Action{Kind: clearing.ActionDispute})
		if p = e.act(t, p.ID, clearing.Action{Kind: clearing.ActionResolve, Decision: clearing.DecideRelease}); p.State != clearing.Released {
			t.Fatalf("resolved release: %+v", p)
		}
		// refund by the merchant, after a partial release
		p = e.hold(t, 0, 0, "10.00")
		e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 400})
		if p = e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRefund}); p.State != clearing.Refunded || p.RefundedMinor != 600 || p.ReleasedMinor != 400 {
			t.Fatalf("refund after partial release: %+v", p)
		}
		got, events, err := e.s.Payment(ctx, p.ID)
		if err != nil || got.Version != p.Version {
			t.Fatalf("reload: %+v %v", got, err)
		}
		var types []string
		for i, ev := range events {
			if ev.Seq != i+1 || ev.Actor != storetest.Operator.String() {
				t.Fatalf("event %d: %+v", i, ev)
			}
			types = append(types, string(ev.Type))
		}
		if want := "received held partially_released refunded"; strings.Join(types, " ") != want {
			t.Fatalf("events %v, want %s", types, want)
		}
		e.ledgerOK(t)
	})
}

func TestRefusedRequestsChangeNothing(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		released := e.hold(t, 1, 0, "20.00")
		e.act(t, released.ID, clearing.Action{Kind: clearing.ActionRelease})
		refunded := e.hold(t, 1, 0, "20.00")
		e.act(t, refunded.ID, clearing.Action{Kind: clearing.ActionRefund})
		held := e.hold(t, 1, 0, "20.00")
		disputed := e.hold(t, 1, 0, "20.00")
		e.act(t, disputed.ID, clearing.Action{Kind: clearing.ActionDispute})

		eur := e.w.Merchants[0]
		holds := []struct {
			name        string
			req         clearing.HoldRequest
			code, field string
		}{
			{"unknown bank", clearing.HoldRequest{BuyerBankID: "NOPEDEFF", MerchantID: eur.ID, Amount: amount(t, "1.00", "EUR")}, "unknown_participant", "buyer_bank_id"},
			{"unknown merchant", clearing.HoldRequest{BuyerBankID: e.w.Banks[1].ID, MerchantID: "mer_nope", Amount: amount(t, "1.00", "EUR")}, "unknown_merchant", "merchant_id"},
			{"currency the bank does not settle", clearing.HoldRequest{BuyerBankID: e.w.Banks[0].ID, MerchantID: e.w.Merchants[1].ID, Amount: amount(t, "1.00", "SGD")}, "currency_not_settled", "currency"},
			{"currency the merchant is not paid in", clearing.HoldRequest{BuyerBankID: e.w.Banks[2].ID, MerchantID: eur.ID, Amount: amount(t, "1.00", "USD")}, "currency_mismatch", "currency"},
			{"zero amount", clearing.HoldRequest{BuyerBankID: e.w.Banks[1].ID, MerchantID: eur.ID, Amount: amount(t, "0", "EUR")}, "amount_not_positive", "amount"},
			{"negative amount", clearing.HoldRequest{BuyerBankID: e.w.Banks[1].ID, MerchantID: eur.ID, Amount: amount(t, "-5.00", "EUR")}, "amount_not_positive", "amount"},
			{"duplicate UETR", clearing.HoldRequest{UETR: held.ID, BuyerBankID: e.w.Banks[1].ID, MerchantID: eur.ID, Amount: amount(t, "1.00", "EUR")}, "duplicate_uetr", "uetr"},
			{"malformed UETR", clearing.HoldRequest{UETR: "not-a-uuid", BuyerBankID: e.w.Banks[1].ID, MerchantID: eur.ID, Amount: amount(t, "1.00", "EUR")}, "invalid_uetr", "uetr"},
			{"past the net debit cap", clearing.HoldRequest{BuyerBankID: e.w.Banks[1].ID, MerchantID: eur.ID, Amount: amount(t, "999960.01", "EUR")}, "net_debit_cap_exceeded", "amount"},
		}
		for _, tc := range holds {
			before := e.snapshot(t)
			_, err := e.s.Hold(ctx, tc.req, storetest.Operator)
			wantCode(t, err, tc.code, tc.field)
			e.unchanged(t, before)
		}

		actions := []struct {
			name        string
			id          string
			action      clearing.Action
			code, field string
		}{
			{"release more than held", held.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 2001}, "release_exceeds_held", "amount"},
			{"release a released payment", released.ID, clearing.Action{Kind: clearing.ActionRelease}, "illegal_transition", "state"},
			{"refund a released payment", released.ID, clearing.Action{Kind: clearing.ActionRefund}, "illegal_transition", "state"},
			{"dispute after release", released.ID, clearing.Action{Kind: clearing.ActionDispute}, "illegal_transition", "state"},
			{"release a refunded payment", refunded.ID, clearing.Action{Kind: clearing.ActionRelease}, "illegal_transition", "state"},
			{"dispute a refunded payment", refunded.ID, clearing.Action{Kind: clearing.ActionDispute}, "illegal_transition", "state"},
			{"release a disputed payment", disputed.ID, clearing.Action{Kind: clearing.ActionRelease}, "illegal_transition", "state"},
			{"resolve a held payment", held.ID, clearing.Action{Kind: clearing.ActionResolve, Decision: clearing.DecideRefund}, "illegal_transition", "state"},
			{"resolve with no decision", disputed.ID, clearing.Action{Kind: clearing.ActionResolve}, "invalid_decision", "decision"},
			{"unknown payment", uuid.NewString(), clearing.Action{Kind: clearing.ActionRelease}, "payment_not_found", "id"},
		}
		for _, tc := range actions {
			before := e.snapshot(t)
			_, err := e.s.Act(ctx, tc.id, tc.action, storetest.Operator)
			wantCode(t, err, tc.code, tc.field)
			e.unchanged(t, before)
		}
		e.ledgerOK(t)
	})
}

func TestNetDebitCapNamesCapPositionAndAmount(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		e.hold(t, 1, 0, "999000.00")
		before := e.snapshot(t)
		_, err := e.s.Hold(ctx, clearing.HoldRequest{BuyerBankID: e.w.Banks[1].ID, MerchantID: e.w.Merchants[0].ID, Amount: amount(t, "1000.01", "EUR")}, storetest.Operator)
		wantCode(t, err, "net_debit_cap_exceeded", "amount")
		for _, want := range []string{"1000000.00 EUR", "-999000.00 EUR", "1000.01 EUR"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("cap error %q does not name %s", err, want)
			}
		}
		e.unchanged(t, before)
		// exactly at the cap is allowed, one cent more is not
		e.hold(t, 1, 0, "1000.00")
		if _, err := e.s.Hold(ctx, clearing.HoldRequest{BuyerBankID: e.w.Banks[1].ID, MerchantID: e.w.Merchants[0].ID, Amount: amount(t, "0.01", "EUR")}, storetest.Operator); !isKind(err, clearing.Refused) {
			t.Fatalf("one cent past the cap: %v", err)
		}
	})
}

package api_test

import (
	"bytes"
	"net/http"
	"testing"
)

// TestActionBatch: many escrow actions in one request, in order, each
// answered as its single route would answer it; a refused item changes
// nothing and stops nothing; the whole request replays under its key.
func TestActionBatch(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a, b, c := e.holdSGtoDE("10.00"), e.holdSGtoDE("20.00"), e.holdSGtoDE("30.00")
		other := e.hold(e.bankUS, map[string]any{"merchant_id": e.w.Merchants[2].ID, "amount": "5.00", "currency": "USD"})
		body := map[string]any{"actions": []map[string]any{
			{"payment_id": a.ID, "action": "release", "amount": "4.00", "reason": "first parcel"},
			{"payment_id": a.ID, "action": "dispute", "reason": "second parcel missing"}, // sees the partial release
			{"payment_id": b.ID, "action": "refund"},                                     // the merchant's bank refunds, not the buyer's
			{"payment_id": c.ID, "action": "resolve", "decision": "refund"},              // the operator resolves
			{"payment_id": other.ID, "action": "release"},                                // another bank's payment: 404
			{"payment_id": c.ID, "action": "release", "amount": "1.005"},                 // refused by the API
			{"payment_id": c.ID, "action": "settle"},
		}}
		key := header{"Idempotency-Key", "actions-1"}
		var res struct {
			Applied, Failed int
			Results         []struct {
				Index, Status int
				Payment       *payment
				Error         *struct{ Code, Field string }
			}
		}
		first := e.must(http.StatusOK, e.bankSG, "POST", "/v1/payments/actions", body, key)
		first.into(t, &res)
		if res.Applied != 2 || res.Failed != 5 || len(res.Results) != 7 {
			t.Fatalf("answer: %s", first)
		}
		want := []struct {
			status      int
			state, code string
			field       string
		}{
			{200, "held", "", ""},
			{200, "disputed", "", ""},
			{403, "", "action_not_permitted", ""},
			{403, "", "action_not_permitted", ""},
			{404, "", "payment_not_found", "id"},
			{422, "", "amount_too_precise", "actions[5].amount"},
			{422, "", "invalid_action", "actions[6].action"},
		}
		for i, w := range want {
			r := res.Results[i]
			switch {
			case r.Index != i || r.Status != w.status:
				t.Errorf("item %d: %+v, want status %d", i, r, w.status)
			case w.state != "" && (r.Payment == nil || r.Payment.State != w.state):
				t.Errorf("item %d: payment %+v, want %s", i, r.Payment, w.state)
			case w.code != "" && (r.Error == nil || r.Error.Code != w.code || r.Error.Field != w.field):
				t.Errorf("item %d: error %+v, want %s on %s", i, r.Error, w.code, w.field)
			}
		}
		if got := e.getPayment(a.ID); got.Released != "4.00" || got.Held != "6.00" || got.State != "disputed" {
			t.Fatalf("payment a: %+v", got)
		}
		for _, p := range []payment{b, c} {
			if got := e.getPayment(p.ID); got.State != "held" || got.Held != p.Held {
				t.Fatalf("refused items changed a payment: %+v", got)
			}
		}
		// The operator's batch: resolve needs a dispute first, in order.
		var op struct{ Applied, Failed int }
		e.must(http.StatusOK, e.op, "POST", "/v1/payments/actions", map[string]any{"actions": []map[string]any{
			{"payment_id": a.ID, "action": "resolve", "decision": "refund", "reason": "carrier lost it"},
			{"payment_id": b.ID, "action": "refund"},
			{"payment_id": b.ID, "action": "refund"}, // refunded by the item before: refused
		}}).into(t, &op)
		if op.Applied != 2 || op.Failed != 1 || e.getPayment(a.ID).Refunded != "6.00" || e.getPayment(b.ID).State != "refunded" {
			t.Fatalf("operator batch: %+v", op)
		}
		again := e.must(http.StatusOK, e.bankSG, "POST", "/v1/payments/actions", body, key)
		if !bytes.Equal(first.Body, again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay differs: %s", again)
		}
		if got := e.getPayment(a.ID); got.Released != "4.00" || got.Refunded != "6.00" {
			t.Fatalf("the replay acted again: %+v", got)
		}
		wantError(t, e.call(e.bankSG, "POST", "/v1/payments/actions", map[string]any{"actions": []any{}}), http.StatusUnprocessableEntity, "required", "actions")
		wantError(t, e.call(e.regSG, "POST", "/v1/payments/actions", body), http.StatusForbidden, "read_only", "")
	})
}

package store_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/crossclear/crossclear/clearing"
)

// TestPaymentDetail: the one-query read gives exactly what the payment,
// its events and its legs read one by one give (a reason with quotes,
// unicode and control characters through each engine's JSON included),
// on the pool and inside an atomic request.
func TestPaymentDetail(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		p := e.hold(t, 1, 0, "100.00")
		e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 2500, Reason: "first parcel"})
		e.clock.advance(1234567) // nanoseconds: stored at microsecond precision
		e.act(t, p.ID, clearing.Action{Kind: clearing.ActionDispute, Reason: "second parcel missing, \"quoted\" — Lieferung fehlt, 日本 😀\n\tback\\slash \u2028"})
		e.act(t, p.ID, clearing.Action{Kind: clearing.ActionResolve, Decision: clearing.DecideRefund})

		got, events, legs, err := e.s.PaymentDetail(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		want, wantEvents, err := e.s.Payment(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantLegs, err := e.s.PaymentLegs(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("payment:\n%+v\n%+v", got, want)
		}
		if !reflect.DeepEqual(events, wantEvents) || len(events) < 4 {
			t.Errorf("events:\n%+v\n%+v", events, wantEvents)
		}
		if !reflect.DeepEqual(legs, wantLegs) || len(legs) < 3 {
			t.Errorf("legs:\n%+v\n%+v", legs, wantLegs)
		}
		err = e.s.Atomically(ctx, func(ctx context.Context) error {
			inTx, inTxEvents, inTxLegs, err := e.s.PaymentDetail(ctx, p.ID)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(inTx, want) || !reflect.DeepEqual(inTxEvents, wantEvents) || !reflect.DeepEqual(inTxLegs, wantLegs) {
				t.Errorf("in an atomic request:\n%+v\n%+v\n%+v", inTx, inTxEvents, inTxLegs)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := e.s.PaymentDetail(ctx, "nope"); err == nil {
			t.Error("a missing payment was found")
		} else {
			wantCode(t, err, "payment_not_found", "id")
		}
	})
}

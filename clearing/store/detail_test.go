package store_test

import (
	"reflect"
	"testing"

	"github.com/crossclear/crossclear/clearing"
)

// TestPaymentDetail: the one-query read gives exactly what the payment,
// its events and its legs read one by one give.
func TestPaymentDetail(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		p := e.hold(t, 1, 0, "100.00")
		e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 2500, Reason: "first parcel"})
		e.clock.advance(1234567) // nanoseconds: stored at microsecond precision
		e.act(t, p.ID, clearing.Action{Kind: clearing.ActionDispute, Reason: "second parcel missing, \"quoted\""})
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
		if _, _, _, err := e.s.PaymentDetail(ctx, "nope"); err == nil {
			t.Error("a missing payment was found")
		} else {
			wantCode(t, err, "payment_not_found", "id")
		}
	})
}

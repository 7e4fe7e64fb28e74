package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestPaymentLifecycle walks payments through every path of the escrow
// state machine over HTTP, closes the cycle, settles every net position
// and checks the books.
func TestPaymentLifecycle(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		mer := e.w.Merchants[0].ID // Berlin Books at DEUTDEFF, EUR

		// hold → partial release → release the rest.
		p := e.hold(e.bankSG, map[string]any{
			"uetr": "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d", "end_to_end_id": "E2E-1", "reference": "order 1",
			"merchant_id": mer, "amount": "100.00", "currency": "EUR"})
		if p.ID != "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d" || p.UETR != p.ID || p.State != "held" || p.Amount != "100.00" ||
			p.Held != "100.00" || p.Released != "0.00" || p.BuyerBankID != sgBank || p.MerchantBankID != deBank ||
			p.EndToEndID != "E2E-1" || p.Reference != "order 1" || p.ReleaseAt == nil || p.Version != 1 || p.HoldCycleID != 1 {
			t.Fatalf("held payment: %+v", p)
		}
		if !strings.HasSuffix(p.CreatedAt, "Z") {
			t.Fatalf("created_at %q is not UTC RFC 3339", p.CreatedAt)
		}
		r := e.act(e.bankSG, p.ID, "release", map[string]any{"amount": "25.5", "reason": "first parcel"})
		if r.State != "held" || r.Released != "25.50" || r.Held != "74.50" || r.Version != 2 {
			t.Fatalf("after partial release: %+v", r)
		}
		r = e.act(e.bankSG, p.ID, "release", map[string]any{"reason": "delivered"})
		if r.State != "released" || r.Released != "100.00" || r.Held != "0.00" || r.ReleaseAt != nil {
			t.Fatalf("after release: %+v", r)
		}
		got := e.getPayment(p.ID)
		wantEvents := []string{"received", "held", "partially_released", "released"}
		if len(got.Events) != len(wantEvents) {
			t.Fatalf("events: %+v", got.Events)
		}
		for i, ev := range got.Events {
			if ev.Type != wantEvents[i] || ev.Seq != i+1 || ev.At == "" {
				t.Fatalf("event %d: %+v", i, ev)
			}
		}
		if ev := got.Events[2]; ev.From != "held" || ev.To != "held" || ev.Amount != "25.50" || ev.Actor != "bank:"+sgBank || ev.Reason != "first parcel" {
			t.Fatalf("partial release event: %+v", ev)
		}

		// dispute → resolve refund (operator).
		d1 := e.holdSGtoDE("40.00")
		r = e.act(e.bankSG, d1.ID, "dispute", map[string]any{"reason": "never arrived"})
		if r.State != "disputed" || r.ReleaseAt != nil {
			t.Fatalf("disputed: %+v", r)
		}
		r = e.act(e.op, d1.ID, "resolve", map[string]any{"decision": "refund", "reason": "carrier lost it"})
		if r.State != "refunded" || r.Refunded != "40.00" || r.Held != "0.00" {
			t.Fatalf("resolved refund: %+v", r)
		}

		// dispute → resolve release.
		d2 := e.holdSGtoDE("60.00")
		e.must(http.StatusOK, e.bankSG, "POST", "/v1/payments/"+d2.ID+"/dispute", map[string]any{"reason": "damaged"})
		r = e.act(e.op, d2.ID, "resolve", map[string]any{"decision": "release", "reason": "photos show it intact"})
		if r.State != "released" || r.Released != "60.00" {
			t.Fatalf("resolved release: %+v", r)
		}
		if evs := e.getPayment(d2.ID).Events; evs[len(evs)-1].Type != "dispute_resolved_release" {
			t.Fatalf("events: %+v", evs)
		}

		// refund by the merchant itself, and by the merchant's bank.
		f1 := e.holdSGtoDE("10.00")
		r = e.act(e.merDE, f1.ID, "refund", map[string]any{"reason": "out of stock"})
		if r.State != "refunded" || r.Refunded != "10.00" {
			t.Fatalf("merchant refund: %+v", r)
		}
		f2 := e.holdSGtoDE("5.00")
		r = e.act(e.bankDE, f2.ID, "refund", nil)
		if r.State != "refunded" {
			t.Fatalf("bank refund: %+v", r)
		}
		// One still held, so escrow carries into the next cycle.
		still := e.hold(e.bankUS, map[string]any{"merchant_id": mer, "amount": "7.00", "currency": "EUR"})

		// Listing, filters and paging.
		var list struct {
			Payments   []payment
			NextCursor string
		}
		e.must(http.StatusOK, e.op, "GET", "/v1/payments?state=refunded&currency=EUR", nil).into(t, &list)
		if len(list.Payments) != 3 {
			t.Fatalf("refunded: %+v", list.Payments)
		}
		e.must(http.StatusOK, e.op, "GET", "/v1/payments?limit=4", nil).into(t, &list)
		if len(list.Payments) != 4 || list.NextCursor == "" || list.Payments[0].ID != still.ID {
			t.Fatalf("page 1: %+v", list)
		}
		e.must(http.StatusOK, e.op, "GET", "/v1/payments?limit=4&cursor="+urlQuery(list.NextCursor), nil).into(t, &list)
		if len(list.Payments) != 2 || list.NextCursor != "" {
			t.Fatalf("page 2: %+v", list)
		}

		// Payouts: the merchant's releases.
		var payouts struct {
			Payouts []struct{ PaymentID, Amount, Currency string }
		}
		e.must(http.StatusOK, e.merDE, "GET", "/v1/merchants/"+mer+"/payouts", nil).into(t, &payouts)
		if len(payouts.Payouts) != 3 {
			t.Fatalf("payouts: %+v", payouts)
		}
		total := map[string]bool{}
		for _, po := range payouts.Payouts {
			total[po.Amount+" "+po.Currency] = true
		}
		if !total["25.50 EUR"] || !total["74.50 EUR"] || !total["60.00 EUR"] {
			t.Fatalf("payouts: %+v", payouts)
		}

		// Close the cycle and settle every net position.
		var cycle struct {
			ID         int64
			State      string
			Currencies []struct {
				Currency, Gross, Settlement string
				Holds, Releases, Refunds    int
				NettingEfficiency           string
			}
			Positions []struct{ Participant, Currency, Paid, Received, Net string }
		}
		e.must(http.StatusOK, e.op, "POST", "/v1/cycles/1/close", nil).into(t, &cycle)
		if cycle.ID != 1 || cycle.State != "closed" || len(cycle.Currencies) != 1 || len(cycle.Positions) == 0 {
			t.Fatalf("closed cycle: %+v", cycle)
		}
		tot := cycle.Currencies[0]
		// Holds 100+40+60+10+5+7, releases 25.50+74.50+60, refunds 40+10+5.
		if tot.Currency != "EUR" || tot.Gross != "437.00" || tot.Holds != 6 || tot.Releases != 3 || tot.Refunds != 3 || len(tot.NettingEfficiency) != 8 {
			t.Fatalf("totals: %+v", tot)
		}
		for i, np := range cycle.Positions {
			if np.Net == "0.00" {
				continue
			}
			var after struct{ State string }
			e.must(http.StatusOK, e.op, "POST", "/v1/cycles/1/settlements", map[string]any{"participant": np.Participant, "currency": np.Currency}).into(t, &after)
			last := true
			for _, rest := range cycle.Positions[i+1:] {
				last = last && rest.Net == "0.00"
			}
			if want := map[bool]string{true: "settled", false: "closed"}[last]; after.State != want {
				t.Fatalf("after settling %s: state %s, want %s", np.Participant, after.State, want)
			}
		}
		var settled struct {
			State     string
			SettledAt string
		}
		e.must(http.StatusOK, e.op, "GET", "/v1/cycles/1", nil).into(t, &settled)
		if settled.State != "settled" || settled.SettledAt == "" {
			t.Fatalf("cycle 1: %+v", settled)
		}
		// Settling twice is a conflict.
		wantError(t, e.call(e.op, "POST", "/v1/cycles/1/settlements", map[string]any{"participant": cycle.Positions[0].Participant, "currency": "EUR"}), http.StatusConflict, "already_settled", "participant")

		var cycles struct{ Cycles []struct{ ID int64 } }
		e.must(http.StatusOK, e.op, "GET", "/v1/cycles", nil).into(t, &cycles)
		if len(cycles.Cycles) != 2 || cycles.Cycles[0].ID != 2 {
			t.Fatalf("cycles: %+v", cycles)
		}
		var cur struct {
			Cycle     struct{ ID int64 }
			Positions []any
		}
		e.must(http.StatusOK, e.op, "GET", "/v1/cycles/current", nil).into(t, &cur)
		if cur.Cycle.ID != 2 || len(cur.Positions) != 0 {
			t.Fatalf("current: %+v", cur)
		}

		// The held payment is still released in the new cycle.
		e.must(http.StatusOK, e.bankUS, "POST", "/v1/payments/"+still.ID+"/release", nil)
		var ledger struct {
			OK         bool
			Currencies []struct{ Currency, Held, EscrowBalance string }
			Problems   []string
		}
		e.must(http.StatusOK, e.op, "GET", "/v1/ledger/check", nil).into(t, &ledger)
		if !ledger.OK || len(ledger.Problems) != 0 || len(ledger.Currencies) != 1 || ledger.Currencies[0].Held != "0.00" {
			t.Fatalf("ledger: %+v", ledger)
		}
	})
}

// TestParticipantsAndMerchantsOverHTTP registers a bank in a zero-decimal
// currency and a merchant through the API, holds in JPY, and runs the
// suspend/reactivate cycle.
func TestParticipantsAndMerchantsOverHTTP(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		var bank struct {
			ID, Status string
			Currencies []struct {
				Currency    string
				NetDebitCap string
			}
		}
		e.must(http.StatusCreated, e.op, "POST", "/v1/participants", map[string]any{
			"kind": "bank", "bic": "BOTKJPJT", "name": "MUFG Test", "country": "JP", "jurisdiction": "JP",
			"currencies": []map[string]string{{"currency": "JPY", "net_debit_cap": "5000000"}, {"currency": "EUR", "net_debit_cap": "1000.50"}},
		}).into(t, &bank)
		if bank.ID != "BOTKJPJT" || bank.Status != "active" || len(bank.Currencies) != 2 ||
			bank.Currencies[0].Currency != "EUR" || bank.Currencies[0].NetDebitCap != "1000.50" || bank.Currencies[1].NetDebitCap != "5000000" {
			t.Fatalf("created: %+v", bank)
		}
		wantError(t, e.call(e.op, "POST", "/v1/participants", map[string]any{
			"kind": "bank", "bic": "BOTKJPJT", "name": "Again", "country": "JP", "jurisdiction": "JP",
			"currencies": []map[string]string{{"currency": "JPY", "net_debit_cap": "1"}}}), http.StatusConflict, "duplicate_participant", "bic")

		// The new bank onboards its own merchant; bank_id defaults to it.
		_, jpKey, err := e.st.CreateAPIKey(t.Context(), "bank", "BOTKJPJT", "jp", storeOperator)
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ ID, BankID, Currency string }
		e.must(http.StatusCreated, jpKey, "POST", "/v1/merchants", map[string]any{"name": "Kyoto Tea", "country": "JP", "currency": "JPY", "account": "1234567"}).into(t, &m)
		if m.BankID != "BOTKJPJT" || m.Currency != "JPY" {
			t.Fatalf("merchant: %+v", m)
		}
		p := e.hold(jpKey, map[string]any{"merchant_id": m.ID, "amount": "1500", "currency": "JPY"})
		if p.Amount != "1500" || p.Held != "1500" {
			t.Fatalf("JPY payment: %+v", p)
		}
		e.unchanged(func() {
			wantError(t, e.call(jpKey, "POST", "/v1/payments", map[string]any{"merchant_id": m.ID, "amount": "1500.5", "currency": "JPY"}),
				http.StatusUnprocessableEntity, "amount_too_precise", "amount")
		})

		// Suspending the merchant refuses new holds; reactivating allows them.
		var st struct{ Status string }
		e.must(http.StatusOK, jpKey, "POST", "/v1/merchants/"+m.ID+"/suspend", map[string]any{"reason": "KYC review"}).into(t, &st)
		if st.Status != "suspended" {
			t.Fatalf("suspend: %+v", st)
		}
		e.unchanged(func() {
			wantError(t, e.call(jpKey, "POST", "/v1/payments", map[string]any{"merchant_id": m.ID, "amount": "1", "currency": "JPY"}),
				http.StatusUnprocessableEntity, "merchant_suspended", "merchant_id")
		})
		e.must(http.StatusOK, jpKey, "POST", "/v1/merchants/"+m.ID+"/reactivate", nil)
		e.hold(jpKey, map[string]any{"merchant_id": m.ID, "amount": "1", "currency": "JPY"})

		// Suspending the bank refuses its holds.
		e.must(http.StatusOK, e.op, "POST", "/v1/participants/BOTKJPJT/suspend", map[string]any{"reason": "missed settlement"}).into(t, &st)
		if st.Status != "suspended" {
			t.Fatalf("suspend bank: %+v", st)
		}
		e.unchanged(func() {
			wantError(t, e.call(jpKey, "POST", "/v1/payments", map[string]any{"merchant_id": m.ID, "amount": "1", "currency": "JPY"}),
				http.StatusUnprocessableEntity, "participant_suspended", "buyer_bank_id")
		})
		e.must(http.StatusOK, e.op, "POST", "/v1/participants/BOTKJPJT/reactivate", nil).into(t, &st)
		if st.Status != "active" {
			t.Fatalf("reactivate bank: %+v", st)
		}
		wantError(t, e.call(e.op, "POST", "/v1/participants/NOPENOPE/suspend", nil), http.StatusNotFound, "participant_not_found", "id")

		var lists struct {
			Participants []struct{ ID string }
			Merchants    []struct{ ID string }
		}
		e.must(http.StatusOK, e.op, "GET", "/v1/participants", nil).into(t, &lists)
		e.must(http.StatusOK, e.op, "GET", "/v1/merchants", nil).into(t, &lists)
		if len(lists.Participants) != 4 || len(lists.Merchants) != 4 {
			t.Fatalf("lists: %+v", lists)
		}
	})
}

// TestBatchHold holds a batch in which some items are bad: the good ones
// are held, the bad ones each say why, over HTTP with a 200.
func TestBatchHold(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		mer := e.w.Merchants[0].ID
		var res struct {
			Held, Failed int
			Results      []struct {
				Index, Status int
				Payment       *payment
				Error         *struct{ Code, Field, Message string }
			}
		}
		e.must(http.StatusOK, e.bankSG, "POST", "/v1/payments/batch", map[string]any{"payments": []map[string]any{
			{"merchant_id": mer, "amount": "1.00", "currency": "EUR"},
			{"merchant_id": mer, "amount": "1.001", "currency": "EUR"},                         // too precise: refused by the API
			{"merchant_id": "mer_nope", "amount": "1.00", "currency": "EUR"},                   // refused by the store
			{"merchant_id": mer, "amount": "2.00", "currency": "EUR", "buyer_bank_id": deBank}, // not this bank's
			{"merchant_id": mer, "amount": "3.00", "currency": "EUR"},
		}}).into(t, &res)
		if res.Held != 2 || res.Failed != 3 || len(res.Results) != 5 {
			t.Fatalf("batch: %+v", res)
		}
		want := []struct {
			status      int
			code, field string
		}{{201, "", ""}, {422, "amount_too_precise", "amount"}, {422, "unknown_merchant", "merchant_id"}, {403, "forbidden", "buyer_bank_id"}, {201, "", ""}}
		for i, w := range want {
			got := res.Results[i]
			if got.Index != i || got.Status != w.status {
				t.Fatalf("item %d: %+v", i, got)
			}
			if w.code == "" {
				if got.Payment == nil || got.Payment.State != "held" || got.Error != nil {
					t.Fatalf("item %d: %+v", i, got)
				}
			} else if got.Error == nil || got.Error.Code != w.code || got.Error.Field != w.field || got.Payment != nil {
				t.Fatalf("item %d: %+v", i, got)
			}
		}
		e.unchanged(func() {
			wantError(t, e.call(e.bankSG, "POST", "/v1/payments/batch", map[string]any{"payments": []any{}}), http.StatusUnprocessableEntity, "required", "payments")
		})
	})
}

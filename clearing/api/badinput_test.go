package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing/api"
)

// TestBadInputChangesNothing sends every kind of bad request and checks
// each gets its 4xx JSON error naming the field, and that the database
// (payments, positions, ledger, parties, keys, cycle) is exactly as before.
func TestBadInputChangesNothing(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		mer := e.w.Merchants[0].ID // EUR at DEUTDEFF
		usMer := e.w.Merchants[2].ID
		held := e.holdSGtoDE("100.00")
		released := e.holdSGtoDE("20.00")
		e.act(e.bankSG, released.ID, "release", nil)
		refunded := e.holdSGtoDE("30.00")
		e.act(e.bankDE, refunded.ID, "refund", nil)
		disputed := e.holdSGtoDE("40.00")
		e.act(e.bankSG, disputed.ID, "dispute", map[string]any{"reason": "late"})
		e.must(http.StatusCreated, e.op, "POST", "/v1/payments", map[string]any{"merchant_id": mer, "amount": "1.00", "currency": "EUR", "buyer_bank_id": sgBank},
			header{"Idempotency-Key", "used-once"})

		hold := func(fields map[string]any) map[string]any {
			body := map[string]any{"merchant_id": mer, "amount": "10.00", "currency": "EUR"}
			for k, v := range fields {
				if v == nil {
					delete(body, k)
				} else {
					body[k] = v
				}
			}
			return body
		}
		cases := []struct {
			name         string
			key          string
			method, path string
			body         any
			hs           []header
			status       int
			code, field  string
		}{
			{"unknown buyer bank", e.op, "POST", "/v1/payments", hold(map[string]any{"buyer_bank_id": "NOPEDEFF"}), nil, 422, "unknown_participant", "buyer_bank_id"},
			{"missing buyer bank for operator", e.op, "POST", "/v1/payments", hold(nil), nil, 422, "required", "buyer_bank_id"},
			{"unknown merchant", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"merchant_id": "mer_nope"}), nil, 422, "unknown_merchant", "merchant_id"},
			{"missing merchant", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"merchant_id": nil}), nil, 422, "required", "merchant_id"},
			{"unknown currency", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"currency": "XXY"}), nil, 422, "unknown_currency", "currency"},
			{"lower-case currency", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"currency": "eur"}), nil, 422, "unknown_currency", "currency"},
			{"missing currency", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"currency": nil}), nil, 422, "unknown_currency", "currency"},
			{"currency the bank does not settle", e.bankDE, "POST", "/v1/payments", hold(map[string]any{"merchant_id": usMer, "currency": "USD"}), nil, 422, "currency_not_settled", "currency"},
			{"currency the merchant is not paid in", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"merchant_id": usMer}), nil, 422, "currency_mismatch", "currency"},
			{"too many decimals", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"amount": "10.001"}), nil, 422, "amount_too_precise", "amount"},
			{"negative amount", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"amount": "-5.00"}), nil, 422, "amount_not_positive", "amount"},
			{"zero amount", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"amount": "0"}), nil, 422, "amount_not_positive", "amount"},
			{"exponent amount", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"amount": "1e3"}), nil, 422, "amount_malformed", "amount"},
			{"missing amount", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"amount": nil}), nil, 422, "amount_malformed", "amount"},
			{"huge amount", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"amount": "99999999999999999.00"}), nil, 422, "amount_too_large", "amount"},
			{"amount as a JSON number", e.bankSG, "POST", "/v1/payments", `{"merchant_id":"` + mer + `","amount":10.5,"currency":"EUR"}`, nil, 400, "malformed_json", "amount"},
			{"bad UETR", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"uetr": "not-a-uuid"}), nil, 422, "invalid_uetr", "uetr"},
			{"duplicate UETR", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"uetr": held.ID}), nil, 409, "duplicate_uetr", "uetr"},
			{"reference too long", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"reference": strings.Repeat("r", 141)}), nil, 422, "invalid_reference", "reference"},
			{"malformed JSON", e.bankSG, "POST", "/v1/payments", `{"merchant_id": "x",`, nil, 400, "malformed_json", ""},
			{"not an object", e.bankSG, "POST", "/v1/payments", `["x"]`, nil, 400, "malformed_json", ""},
			{"two objects", e.bankSG, "POST", "/v1/payments", `{} {}`, nil, 400, "malformed_json", ""},
			{"unknown field", e.bankSG, "POST", "/v1/payments", hold(map[string]any{"ammount": "10.00"}), nil, 400, "malformed_json", "ammount"},
			{"unknown field in a batch item", e.bankSG, "POST", "/v1/payments/batch", map[string]any{"payments": []any{hold(map[string]any{"colour": "red"})}}, nil, 400, "malformed_json", "colour"},
			{"release more than held", e.bankSG, "POST", "/v1/payments/" + held.ID + "/release", map[string]any{"amount": "100.01"}, nil, 422, "release_exceeds_held", "amount"},
			{"release too precise", e.bankSG, "POST", "/v1/payments/" + held.ID + "/release", map[string]any{"amount": "1.005"}, nil, 422, "amount_too_precise", "amount"},
			{"release zero", e.bankSG, "POST", "/v1/payments/" + held.ID + "/release", map[string]any{"amount": "0.00"}, nil, 422, "amount_not_positive", "amount"},
			{"release negative", e.bankSG, "POST", "/v1/payments/" + held.ID + "/release", map[string]any{"amount": "-1"}, nil, 422, "amount_not_positive", "amount"},
			{"release unknown payment", e.bankSG, "POST", "/v1/payments/0a1b2c3d-4e5f-4a6b-8c7d-000000000000/release", map[string]any{"amount": "1.00"}, nil, 404, "payment_not_found", "id"},
			{"release a released payment", e.bankSG, "POST", "/v1/payments/" + released.ID + "/release", nil, nil, 422, "illegal_transition", "state"},
			{"release a refunded payment", e.bankSG, "POST", "/v1/payments/" + refunded.ID + "/release", nil, nil, 422, "illegal_transition", "state"},
			{"refund a refunded payment", e.bankDE, "POST", "/v1/payments/" + refunded.ID + "/refund", nil, nil, 422, "illegal_transition", "state"},
			{"refund a released payment", e.bankDE, "POST", "/v1/payments/" + released.ID + "/refund", nil, nil, 422, "illegal_transition", "state"},
			{"dispute after release", e.bankSG, "POST", "/v1/payments/" + released.ID + "/dispute", map[string]any{"reason": "too late"}, nil, 422, "illegal_transition", "state"},
			{"dispute a refunded payment", e.bankSG, "POST", "/v1/payments/" + refunded.ID + "/dispute", nil, nil, 422, "illegal_transition", "state"},
			{"release a disputed payment", e.bankSG, "POST", "/v1/payments/" + disputed.ID + "/release", nil, nil, 422, "illegal_transition", "state"},
			{"resolve a held payment", e.op, "POST", "/v1/payments/" + held.ID + "/resolve", map[string]any{"decision": "refund"}, nil, 422, "illegal_transition", "state"},
			{"resolve with a bad decision", e.op, "POST", "/v1/payments/" + disputed.ID + "/resolve", map[string]any{"decision": "split"}, nil, 422, "invalid_decision", "decision"},
			{"reason too long", e.bankSG, "POST", "/v1/payments/" + held.ID + "/dispute", map[string]any{"reason": strings.Repeat("x", 501)}, nil, 422, "invalid_reason", "reason"},
			{"reused idempotency key, other body", e.op, "POST", "/v1/payments", hold(map[string]any{"buyer_bank_id": sgBank, "amount": "2.00"}), []header{{"Idempotency-Key", "used-once"}}, 422, "idempotency_key_reused", "Idempotency-Key"},
			{"reused idempotency key, other path", e.op, "POST", "/v1/payments/batch", hold(map[string]any{"buyer_bank_id": sgBank, "amount": "1.00"}), []header{{"Idempotency-Key", "used-once"}}, 422, "idempotency_key_reused", "Idempotency-Key"},
			{"idempotency key too long", e.op, "POST", "/v1/payments", hold(map[string]any{"buyer_bank_id": sgBank}), []header{{"Idempotency-Key", strings.Repeat("k", 256)}}, 422, "invalid_idempotency_key", "Idempotency-Key"},
			{"missing API key", "", "POST", "/v1/payments", hold(nil), nil, 401, "unauthenticated", "Authorization"},
			{"wrong API key", "cck_" + strings.Repeat("0", 64), "POST", "/v1/payments", hold(nil), nil, 401, "invalid_api_key", "Authorization"},
			{"wrong API key on a read", "cck_nope", "GET", "/v1/payments", nil, nil, 401, "invalid_api_key", "Authorization"},
			{"basic auth", "", "GET", "/v1/payments", nil, []header{{"Authorization", "Basic dXNlcjpwYXNz"}}, 401, "unauthenticated", "Authorization"},
			{"bad state filter", e.op, "GET", "/v1/payments?state=lost", nil, nil, 422, "invalid_state", "state"},
			{"bad currency filter", e.op, "GET", "/v1/payments?currency=EURO", nil, nil, 422, "unknown_currency", "currency"},
			{"bad limit", e.op, "GET", "/v1/payments?limit=5000", nil, nil, 422, "invalid_limit", "limit"},
			{"bad cursor", e.op, "GET", "/v1/payments?cursor=garbage", nil, nil, 422, "invalid_cursor", "cursor"},
			{"reference filter too long", e.op, "GET", "/v1/payments?reference=" + strings.Repeat("r", 141), nil, nil, 422, "invalid_reference", "reference"},
			{"unknown route", e.op, "GET", "/v1/nothing-here", nil, nil, 404, "not_found", ""},
			{"unknown route outside v1", "", "GET", "/nothing-here", nil, nil, 404, "not_found", ""},
			{"wrong method", e.op, "PUT", "/v1/payments", nil, nil, 405, "method_not_allowed", ""},
			{"participant with a bad BIC", e.op, "POST", "/v1/participants", map[string]any{"kind": "bank", "bic": "nope", "name": "X", "country": "DE", "jurisdiction": "DE", "currencies": []any{map[string]any{"currency": "EUR", "net_debit_cap": "1.00"}}}, nil, 422, "invalid_bic", "bic"},
			{"participant with a bad cap", e.op, "POST", "/v1/participants", map[string]any{"kind": "bank", "bic": "COBADEFF", "name": "X", "country": "DE", "jurisdiction": "DE", "currencies": []any{map[string]any{"currency": "EUR", "net_debit_cap": "1.001"}}}, nil, 422, "amount_too_precise", "currencies[0].net_debit_cap"},
			{"participant with a negative cap", e.op, "POST", "/v1/participants", map[string]any{"kind": "bank", "bic": "COBADEFF", "name": "X", "country": "DE", "jurisdiction": "DE", "currencies": []any{map[string]any{"currency": "EUR", "net_debit_cap": "-1"}}}, nil, 422, "invalid_net_debit_cap", "currencies[0].net_debit_cap"},
			{"participant with an unknown currency", e.op, "POST", "/v1/participants", map[string]any{"kind": "bank", "bic": "COBADEFF", "name": "X", "country": "DE", "jurisdiction": "DE", "currencies": []any{map[string]any{"currency": "ZZZ", "net_debit_cap": "1"}}}, nil, 422, "unknown_currency", "currencies[0].currency"},
			{"merchant at an unknown bank", e.op, "POST", "/v1/merchants", map[string]any{"name": "X", "country": "DE", "currency": "EUR", "account": "1", "bank_id": "NOPEDEFF"}, nil, 422, "unknown_participant", "bank_id"},
			{"merchant in a currency its bank does not settle", e.op, "POST", "/v1/merchants", map[string]any{"name": "X", "country": "DE", "currency": "USD", "account": "1", "bank_id": deBank}, nil, 422, "currency_not_settled", "currency"},
			{"merchant without a bank", e.op, "POST", "/v1/merchants", map[string]any{"name": "X", "country": "DE", "currency": "EUR", "account": "1"}, nil, 422, "required", "bank_id"},
			{"api key with a bad role", e.op, "POST", "/v1/api-keys", map[string]any{"role": "god", "subject": "x", "name": "x"}, nil, 422, "invalid_role", "role"},
			{"api key for an unknown bank", e.op, "POST", "/v1/api-keys", map[string]any{"role": "bank", "subject": "NOPEDEFF", "name": "x"}, nil, 422, "unknown_participant", "subject"},
			{"revoke an unknown key", e.op, "DELETE", "/v1/api-keys/key_nope", nil, nil, 404, "api_key_not_found", "id"},
			{"settle an open cycle", e.op, "POST", "/v1/cycles/1/settlements", map[string]any{"participant": sgBank, "currency": "EUR"}, nil, 422, "cycle_not_closed", "cycle_id"},
			{"settle without a participant", e.op, "POST", "/v1/cycles/1/settlements", map[string]any{"currency": "EUR"}, nil, 422, "required", "participant"},
			{"unknown cycle", e.op, "GET", "/v1/cycles/99", nil, nil, 404, "cycle_not_found", "id"},
			{"non-numeric cycle", e.op, "GET", "/v1/cycles/abc", nil, nil, 404, "cycle_not_found", "id"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				parent := e.t
				e.t = t
				defer func() { e.t = parent }()
				e.unchanged(func() {
					wantError(t, e.call(tc.key, tc.method, tc.path, tc.body, tc.hs...), tc.status, tc.code, tc.field)
				})
			})
		}
	})
}

// TestOversizeBody sends more than the body limit: 413 JSON, nothing held.
func TestOversizeBody(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine, api.Config{BodyLimit: 4 << 10})
			big := `{"merchant_id":"` + e.w.Merchants[0].ID + `","amount":"1.00","currency":"EUR","reference":"` + strings.Repeat("x", 8<<10) + `"}`
			e.unchanged(func() {
				wantError(t, e.call(e.bankSG, "POST", "/v1/payments", big), http.StatusRequestEntityTooLarge, "body_too_large", "body")
			})
			// Under the limit the same server works.
			e.holdSGtoDE("1.00")
		})
	}
}

// TestNetDebitCapOverHTTP fills a bank's cap and checks the refusal names
// the cap, the position and the amount, and holds nothing.
func TestNetDebitCapOverHTTP(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.holdSGtoDE("999000.00") // cap is 1000000.00 EUR
		e.unchanged(func() {
			r := e.call(e.bankSG, "POST", "/v1/payments", map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "1000.01", "currency": "EUR"})
			wantError(t, r, http.StatusUnprocessableEntity, "net_debit_cap_exceeded", "amount")
			msg := string(r.Body)
			for _, want := range []string{"1000000.00 EUR", "-999000.00 EUR", "1000.01 EUR", "-1000000.01 EUR"} {
				if !strings.Contains(msg, want) {
					t.Fatalf("refusal does not name %q: %s", want, msg)
				}
			}
		})
		// Exactly up to the cap is allowed.
		e.holdSGtoDE("1000.00")
		var pos struct {
			Positions []struct{ Participant, Currency, Net, NetDebitCap, Headroom string }
		}
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/positions", nil).into(t, &pos)
		if len(pos.Positions) != 1 || pos.Positions[0].Net != "-1000000.00" || pos.Positions[0].NetDebitCap != "1000000.00" || pos.Positions[0].Headroom != "0.00" {
			t.Fatalf("positions: %+v", pos)
		}
	})
}

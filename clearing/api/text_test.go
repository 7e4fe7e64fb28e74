package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestBadCharactersAreRefused: a NUL in any JSON string, query parameter,
// path parameter or header, and control, bidi-override and zero-width
// characters in free text, are 422 invalid_character naming the field —
// never a 500 from the database — and change nothing.
func TestBadCharactersAreRefused(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		mer := e.w.Merchants[0].ID
		held := e.holdSGtoDE("10.00")
		hold := func(ref string) map[string]any {
			return map[string]any{"merchant_id": mer, "amount": "1.00", "currency": "EUR", "reference": ref}
		}
		cases := []struct {
			name         string
			key          string
			method, path string
			body         any
			field        string
		}{
			{"NUL in a reference", e.bankSG, "POST", "/v1/payments", hold("order\x0042"), "reference"},
			{"NUL as a JSON escape", e.bankSG, "POST", "/v1/payments", `{"merchant_id":"` + mer + `","amount":"1.00","currency":"EUR","end_to_end_id":"E2E\u0000"}`, "end_to_end_id"},
			{"NUL in an id", e.bankSG, "POST", "/v1/payments", map[string]any{"merchant_id": mer + "\x00", "amount": "1.00", "currency": "EUR"}, "merchant_id"},
			{"NUL in an amount", e.bankSG, "POST", "/v1/payments", map[string]any{"merchant_id": mer, "amount": "1.00\x00", "currency": "EUR"}, "amount"},
			{"bidi override in a batch item", e.bankSG, "POST", "/v1/payments/batch",
				map[string]any{"payments": []any{hold("a"), hold("b"), hold("c"), hold("invoice \u202egpj.exe")}}, "payments[3].reference"},
			{"line break in a dispute reason", e.bankSG, "POST", "/v1/payments/" + held.ID + "/dispute", map[string]any{"reason": "late\r\nFORGED: refunded"}, "reason"},
			{"NUL in a release amount", e.bankSG, "POST", "/v1/payments/" + held.ID + "/release", map[string]any{"amount": "\x00"}, "amount"},
			{"zero-width space in a suspend reason", e.op, "POST", "/v1/participants/" + deBank + "/suspend", map[string]any{"reason": "fraud\u200b"}, "reason"},
			{"NUL in a merchant suspend reason", e.op, "POST", "/v1/merchants/" + mer + "/suspend", map[string]any{"reason": "\x00"}, "reason"},
			{"bidi override in a participant name", e.op, "POST", "/v1/participants",
				map[string]any{"kind": "bank", "bic": "NEWBDEFF", "name": "Bank\u202eknaB", "country": "DE", "jurisdiction": "DE", "currencies": []any{map[string]any{"currency": "EUR", "net_debit_cap": "1000.00"}}}, "name"},
			{"NUL in a currency of a participant", e.op, "POST", "/v1/participants",
				map[string]any{"kind": "bank", "bic": "NEWBDEFF", "name": "Bank", "country": "DE", "jurisdiction": "DE", "currencies": []any{map[string]any{"currency": "EUR\x00", "net_debit_cap": "1000.00"}}}, "currencies[0].currency"},
			{"control character in a merchant name", e.bankDE, "POST", "/v1/merchants", map[string]any{"name": "Shop\x1b[2J", "country": "DE", "currency": "EUR", "account": "DE89370400440532013000"}, "name"},
			{"line feed in an API key name", e.op, "POST", "/v1/api-keys", map[string]any{"role": "bank", "subject": deBank, "name": "ops\nroot"}, "name"},
			{"NUL in an API key subject", e.op, "POST", "/v1/api-keys", map[string]any{"role": "bank", "subject": deBank + "\x00"}, "subject"},
			{"NUL in a bank key id", e.bankSG, "POST", "/v1/participants/" + sgBank + "/keys", map[string]any{"key": "k\x00", "version": 1, "algorithm": "ed25519", "public_key_pem": "x"}, "key"},
			{"NUL in a PEM", e.bankSG, "POST", "/v1/participants/" + sgBank + "/keys", map[string]any{"key": "k", "version": 1, "algorithm": "ed25519", "public_key_pem": "-----BEGIN\x00"}, "public_key_pem"},
			{"bidi override in a review comment", e.op, "POST", "/v1/reviews/scr_x/approve", map[string]any{"comment": "ok\u202e"}, "comment"},
			{"NUL in a quote", e.bankSG, "POST", "/v1/quotes", map[string]any{"sell_amount": "1.00", "sell_currency": "SGD\x00", "buy_currency": "EUR"}, "sell_currency"},
			{"NUL in a files query parameter", e.op, "GET", "/v1/files?bank_id=" + urlQuery("DBSS\x00"), nil, "bank_id"},
			{"NUL in a list query parameter", e.op, "GET", "/v1/payments?state=" + urlQuery("held\x00"), nil, "state"},
			{"line feed in a list query parameter", e.op, "GET", "/v1/payments?merchant_id=" + urlQuery("a\nb"), nil, "merchant_id"},
			{"NUL in a query parameter's name", e.op, "GET", "/v1/payments?" + urlQuery("st\x00te") + "=held", nil, "st\x00te"},
			{"NUL in a cursor", e.op, "GET", "/v1/merchants?cursor=%00", nil, "cursor"},
			{"NUL in a payment id", e.op, "GET", "/v1/payments/%00", nil, "id"},
			{"NUL in a payment id of an action", e.bankSG, "POST", "/v1/payments/ab%00cd/release", nil, "id"},
			{"bidi override in an API key id", e.op, "DELETE", "/v1/api-keys/key_%E2%80%AE", nil, "id"},
			{"NUL in a bank key id to revoke", e.bankSG, "POST", "/v1/participants/" + sgBank + "/keys/k%00/1/revoke", nil, "key"},
			{"NUL in a participant id", e.op, "GET", "/v1/participants/DEUT%00", nil, "id"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e.unchanged(func() {
					wantError(t, e.call(tc.key, tc.method, tc.path, tc.body), http.StatusUnprocessableEntity, "invalid_character", tc.field)
				})
			})
		}

		t.Run("NUL in an Idempotency-Key", func(t *testing.T) {
			// Go's client will not send it; a raw request does.
			body := `{"merchant_id":"` + mer + `","amount":"1.00","currency":"EUR"}`
			status := rawRequest(t, e.base, "POST /v1/payments HTTP/1.1\r\nHost: crossclear\r\nAuthorization: Bearer "+e.bankSG+
				"\r\nIdempotency-Key: a\x00b\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
			if status != http.StatusUnprocessableEntity && status != http.StatusBadRequest {
				t.Fatalf("status %d, want 422 (or 400 from the HTTP layer)", status)
			}
		})

		t.Run("bounded lengths", func(t *testing.T) {
			e.unchanged(func() {
				wantError(t, e.call(e.bankSG, "POST", "/v1/participants/"+sgBank+"/keys",
					map[string]any{"key": strings.Repeat("k", 141), "version": 1, "algorithm": "ed25519", "public_key_pem": "x"}), http.StatusUnprocessableEntity, "invalid_key", "key")
				wantError(t, e.call(e.op, "POST", "/v1/participants/"+deBank+"/suspend", map[string]any{"reason": strings.Repeat("r", 501)}), http.StatusUnprocessableEntity, "invalid_reason", "reason")
				wantError(t, e.call(e.op, "POST", "/v1/api-keys", map[string]any{"role": "bank", "subject": deBank, "name": strings.Repeat("n", 141)}), http.StatusUnprocessableEntity, "invalid_name", "name")
				wantError(t, e.call(e.op, "DELETE", "/v1/api-keys/"+strings.Repeat("k", 300), nil), http.StatusUnprocessableEntity, "too_long", "id")
			})
		})

		// Ordinary text still passes: accents, CJK, and a PEM's line breaks.
		var p payment
		e.must(http.StatusCreated, e.bankSG, "POST", "/v1/payments", hold("Bestellung Nr. 42 – Müller, 東京")).into(t, &p)
		if p.Reference != "Bestellung Nr. 42 – Müller, 東京" {
			t.Fatalf("reference %q", p.Reference)
		}
		k := newBankKey(t, sgBank+"-files", 1)
		e.must(http.StatusCreated, e.bankSG, "POST", "/v1/participants/"+sgBank+"/keys",
			map[string]any{"key": k.pub.Key, "version": 1, "algorithm": "ed25519", "public_key_pem": k.pub.PEM})
	})
}

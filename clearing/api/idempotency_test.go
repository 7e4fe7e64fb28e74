package api_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestIdempotentReplay retries a hold with the same key and body: the
// answer is byte-identical, marked replayed, and nothing is held twice.
func TestIdempotentReplay(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		body := map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "10.00", "currency": "EUR", "reference": "order 7"}
		key := header{"Idempotency-Key", "order-7"}
		first := e.must(http.StatusCreated, e.bankSG, "POST", "/v1/payments", body, key)
		if first.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("first answer marked replayed")
		}
		var again resp
		e.unchanged(func() {
			again = e.must(http.StatusCreated, e.bankSG, "POST", "/v1/payments", body, key)
		})
		if !bytes.Equal(first.Body, again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay differs:\n%s\n%s (%v)", first.Body, again.Body, again.Header)
		}
		if got := listIDs(t, e, e.op, "/v1/payments"); len(got) != 1 {
			t.Fatalf("held %d payments, want 1", len(got))
		}

		// The same key from another caller is another request.
		e.must(http.StatusCreated, e.op, "POST", "/v1/payments", map[string]any{"buyer_bank_id": sgBank, "merchant_id": e.w.Merchants[0].ID, "amount": "10.00", "currency": "EUR"}, key)

		// Errors are replayed too: a refusal stays a refusal.
		var p payment
		first.into(t, &p)
		e.act(e.bankSG, p.ID, "release", nil)
		refuse := header{"Idempotency-Key", "dispute-7"}
		r1 := e.call(e.bankSG, "POST", "/v1/payments/"+p.ID+"/dispute", nil, refuse)
		wantError(t, r1, http.StatusUnprocessableEntity, "illegal_transition", "state")
		r2 := e.call(e.bankSG, "POST", "/v1/payments/"+p.ID+"/dispute", nil, refuse)
		if r2.Status != r1.Status || !bytes.Equal(r1.Body, r2.Body) || r2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("refusal replay: %s vs %s", r1, r2)
		}

		// An action replayed does not act twice: a partial release of 4.00
		// sent three times releases 4.00.
		q := e.holdSGtoDE("10.00")
		partial := header{"Idempotency-Key", "partial-1"}
		for range 3 {
			e.must(http.StatusOK, e.bankSG, "POST", "/v1/payments/"+q.ID+"/release", map[string]any{"amount": "4.00"}, partial)
		}
		if got := e.getPayment(q.ID); got.Released != "4.00" || got.Held != "6.00" {
			t.Fatalf("after three replays: %+v", got)
		}
	})
}

// TestIdempotentConcurrentCopies fires copies of one request at once: one
// runs, the others wait for it and replay its answer (never a "come back
// later"), and exactly one payment is held.
func TestIdempotentConcurrentCopies(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		body := `{"merchant_id":"` + e.w.Merchants[0].ID + `","amount":"3.00","currency":"EUR"}`
		const copies = 8
		type answer struct {
			status int
			body   string
			err    error
		}
		answers := make(chan answer, copies)
		for range copies {
			go func() {
				req, _ := http.NewRequest("POST", e.base+"/v1/payments", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+e.bankSG)
				req.Header.Set("Idempotency-Key", "burst")
				res, err := e.http.Do(req)
				if err != nil {
					answers <- answer{err: err}
					return
				}
				defer res.Body.Close()
				raw, _ := io.ReadAll(res.Body)
				answers <- answer{status: res.StatusCode, body: string(raw)}
			}()
		}
		var created []string
		for range copies {
			a := <-answers
			switch {
			case a.err != nil:
				t.Fatal(a.err)
			case a.status == http.StatusCreated:
				created = append(created, a.body)
			default:
				t.Fatalf("unexpected answer %d %s", a.status, a.body)
			}
		}
		if len(created) != copies {
			t.Fatalf("%d of %d copies answered 201", len(created), copies)
		}
		for _, b := range created[1:] {
			if b != created[0] {
				t.Fatalf("copies answered differently:\n%s\n%s", created[0], b)
			}
		}
		if got := listIDs(t, e, e.op, "/v1/payments"); len(got) != 1 {
			t.Fatalf("held %d payments, want 1", len(got))
		}
	})
}

// TestAPIKeyReplayOmitsSecret: secrets are stored only hashed, so the
// replay of a key creation names the key but does not carry its secret.
func TestAPIKeyReplayOmitsSecret(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		body := map[string]any{"role": "bank", "subject": usBank, "name": "batch job"}
		key := header{"Idempotency-Key", "new-key-1"}
		var first, again struct{ ID, Secret string }
		e.must(http.StatusCreated, e.op, "POST", "/v1/api-keys", body, key).into(t, &first)
		r := e.must(http.StatusCreated, e.op, "POST", "/v1/api-keys", body, key)
		r.into(t, &again)
		if first.Secret == "" || again.Secret != "" || again.ID != first.ID || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("first %+v, replay %s", first, r)
		}
		var stored string
		if err := e.st.DB().NewRaw("SELECT response FROM idempotency_keys WHERE key = ?", "new-key-1").Scan(t.Context(), &stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, first.Secret) || strings.Contains(stored, "cck_") {
			t.Fatalf("the secret was stored for replay: %s", stored)
		}
		e.must(http.StatusOK, first.Secret, "GET", "/v1/payments", nil)
	})
}

// TestAnswerLostAfterCommit is the state the old three-transaction design
// left after a crash: the effect committed, the key's record without its
// answer, long ago. The retry must answer with the first payment and hold
// nothing new (it used to take the claim over and hold a second payment).
func TestAnswerLostAfterCommit(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		body := map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "120.00", "currency": "EUR", "reference": "order 1001"}
		key := header{"Idempotency-Key", "order-1001"}
		var first payment
		e.must(http.StatusCreated, e.bankSG, "POST", "/v1/payments", body, key).into(t, &first)
		_, err := e.st.DB().NewRaw("UPDATE idempotency_keys SET status_code = 0, response = '', created_at = ? WHERE key = ?",
			time.Now().Add(-6*time.Minute).UTC(), "order-1001").Exec(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var again payment
		r := e.must(http.StatusCreated, e.bankSG, "POST", "/v1/payments", body, key)
		r.into(t, &again)
		if again.ID != first.ID || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry answered %s, first was %s", r, first.ID)
		}
		if got := listIDs(t, e, e.op, "/v1/payments"); len(got) != 1 {
			t.Fatalf("%d payments after the retry, want 1", len(got))
		}
		// Without a record of what it made, the key is never run again.
		if _, err := e.st.DB().NewRaw("UPDATE idempotency_keys SET resource = '' WHERE key = ?", "order-1001").Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
		wantError(t, e.call(e.bankSG, "POST", "/v1/payments", body, key), http.StatusConflict, "idempotency_outcome_unknown", "Idempotency-Key")
		if got := listIDs(t, e, e.op, "/v1/payments"); len(got) != 1 {
			t.Fatalf("%d payments, want 1", len(got))
		}
	})
}

// TestSameUETRIsTheSamePayment: a hold retried with the same UETR and the
// same content is answered with the payment it made, whatever the key.
func TestSameUETRIsTheSamePayment(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		uetr := "7a8c3a2e-9b1f-4c1d-8e2f-3a4b5c6d7e8f"
		body := map[string]any{"uetr": uetr, "merchant_id": e.w.Merchants[0].ID, "amount": "50.00", "currency": "EUR", "reference": "order 9"}
		var first payment
		e.must(http.StatusCreated, e.bankSG, "POST", "/v1/payments", body).into(t, &first)
		// The same instruction again (another key, or none): its payment.
		for _, hs := range [][]header{nil, {{"Idempotency-Key", "other-key"}}} {
			var again payment
			r := e.must(http.StatusOK, e.bankSG, "POST", "/v1/payments", body, hs...)
			r.into(t, &again)
			if again.ID != first.ID || again.Amount != "50.00" || r.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("same instruction answered %s", r)
			}
		}
		// The same UETR on anything else is a duplicate.
		other := map[string]any{"uetr": uetr, "merchant_id": e.w.Merchants[0].ID, "amount": "50.01", "currency": "EUR", "reference": "order 9"}
		wantError(t, e.call(e.bankSG, "POST", "/v1/payments", other), http.StatusConflict, "duplicate_uetr", "uetr")
		// In a batch: the item is answered 200 with its payment.
		var batch struct {
			Held    int
			Results []struct {
				Status  int
				Payment *payment
			}
		}
		e.must(http.StatusOK, e.bankSG, "POST", "/v1/payments/batch", map[string]any{"payments": []any{body, other}}).into(t, &batch)
		if batch.Held != 1 || batch.Results[0].Status != http.StatusOK || batch.Results[0].Payment.ID != first.ID || batch.Results[1].Status != http.StatusConflict {
			t.Fatalf("batch: %+v", batch)
		}
		if got := listIDs(t, e, e.op, "/v1/payments"); len(got) != 1 {
			t.Fatalf("%d payments, want 1", len(got))
		}
	})
}

// TestCloseCycleByID: closing by id is idempotent by nature; the older
// "close the open one" form needs a key, so no retry closes two cycles.
func TestCloseCycleByID(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.holdSGtoDE("10.00")
		first := e.must(http.StatusOK, e.op, "POST", "/v1/cycles/1/close", nil)
		again := e.must(http.StatusOK, e.op, "POST", "/v1/cycles/1/close", nil)
		if !bytes.Equal(first.Body, again.Body) {
			t.Fatalf("closing cycle 1 again:\n%s\n%s", first.Body, again.Body)
		}
		var open struct{ Cycle struct{ ID int64 } }
		e.must(http.StatusOK, e.op, "GET", "/v1/cycles/current", nil).into(t, &open)
		if open.Cycle.ID != 2 {
			t.Fatalf("open cycle %d after closing 1 twice, want 2", open.Cycle.ID)
		}
		wantError(t, e.call(e.op, "POST", "/v1/cycles/9/close", nil), http.StatusNotFound, "cycle_not_found", "id")
		wantError(t, e.call(e.op, "POST", "/v1/cycles/close", nil), http.StatusUnprocessableEntity, "idempotency_key_required", "Idempotency-Key")
		key := header{"Idempotency-Key", "close-now"}
		c1 := e.must(http.StatusOK, e.op, "POST", "/v1/cycles/close", nil, key)
		c2 := e.must(http.StatusOK, e.op, "POST", "/v1/cycles/close", nil, key)
		if !bytes.Equal(c1.Body, c2.Body) || c2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retried close: %s / %s", c1, c2)
		}
		e.must(http.StatusOK, e.op, "GET", "/v1/cycles/current", nil).into(t, &open)
		if open.Cycle.ID != 3 {
			t.Fatalf("open cycle %d, want 3", open.Cycle.ID)
		}
	})
}

// TestSinglePaymentRoutesReplay sends each single-payment request — the
// routes that run in commit groups — twice with one key: the second is the
// first answer replayed. A route left out of the group wrapper but skipped
// by the middleware (coalescable) would have no idempotency at all.
func TestSinglePaymentRoutesReplay(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		twice := func(key, path string, body any) {
			t.Helper()
			k := header{"Idempotency-Key", key}
			first := e.call(e.op, "POST", path, body, k)
			again := e.call(e.op, "POST", path, body, k)
			if first.Status >= 300 || again.Status != first.Status || !bytes.Equal(first.Body, again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("%s: %s then %s (%v)", path, first, again, again.Header)
			}
		}
		hold := func(key string) string {
			var p payment
			body := map[string]any{"buyer_bank_id": sgBank, "merchant_id": e.w.Merchants[0].ID, "amount": "10.00", "currency": "EUR", "reference": key}
			twice(key, "/v1/payments", body)
			e.must(http.StatusCreated, e.op, "POST", "/v1/payments", body, header{"Idempotency-Key", key}).into(t, &p)
			return p.ID
		}
		twice("r", "/v1/payments/"+hold("h1")+"/release", nil)
		twice("f", "/v1/payments/"+hold("h2")+"/refund", nil)
		d := hold("h3")
		twice("d", "/v1/payments/"+d+"/dispute", nil)
		twice("s", "/v1/payments/"+d+"/resolve", map[string]any{"decision": "release"})
	})
}

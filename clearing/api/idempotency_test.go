package api_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
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
// runs, the others get its answer or 409 request_in_progress, and exactly
// one payment is held.
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
			case a.status == http.StatusConflict && strings.Contains(a.body, "request_in_progress"):
			default:
				t.Fatalf("unexpected answer %d %s", a.status, a.body)
			}
		}
		if len(created) == 0 {
			t.Fatal("no copy succeeded")
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

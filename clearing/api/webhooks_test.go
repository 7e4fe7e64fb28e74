package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
)

// TestWebhooksAPI: subscribing (the secret once, replays without it),
// URL checks, who sees which subscription, and the events a merchant's
// subscription queues: its own payments only.
func TestWebhooksAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		// URLs: https, or http on loopback only.
		wantError(t, e.call(e.merDE, "POST", "/v1/webhooks", map[string]any{"url": "http://example.com/hook"}), http.StatusUnprocessableEntity, "invalid_url", "url")
		wantError(t, e.call(e.merDE, "POST", "/v1/webhooks", map[string]any{"url": "ftp://example.com/hook"}), http.StatusUnprocessableEntity, "invalid_url", "url")
		wantError(t, e.call(e.merDE, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/hook", "event_types": []string{"payment.exploded"}}),
			http.StatusUnprocessableEntity, "unknown_event_type", "event_types")
		if r := e.call(e.regSG, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/hook"}); r.Status != http.StatusForbidden {
			t.Fatalf("regulator subscribes: %s", r)
		}

		key := header{"Idempotency-Key", "hook-1"}
		first := e.must(http.StatusCreated, e.merDE, "POST", "/v1/webhooks", map[string]any{"url": "https://merchant.example/hooks"}, key)
		conformsTo(t, first, "Webhook")
		var sub struct{ ID, Secret, Owner, Status string }
		first.into(t, &sub)
		if !strings.HasPrefix(sub.Secret, "whsec_") || sub.Owner != "merchant:"+e.w.Merchants[0].ID || sub.Status != "active" {
			t.Fatalf("created %s", first)
		}
		again := e.must(http.StatusCreated, e.merDE, "POST", "/v1/webhooks", map[string]any{"url": "https://merchant.example/hooks"}, key)
		if strings.Contains(string(again.Body), sub.Secret) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replayed creation shows the secret or is not a replay: %s", again)
		}
		for _, path := range []string{"/v1/webhooks/" + sub.ID, "/v1/webhooks"} {
			if r := e.must(http.StatusOK, e.merDE, "GET", path, nil); strings.Contains(string(r.Body), sub.Secret) {
				t.Fatalf("GET %s shows the secret", path)
			}
		}
		conformsTo(t, e.must(http.StatusOK, e.merDE, "GET", "/v1/webhooks", nil), "WebhookList")
		conformsTo(t, e.must(http.StatusOK, e.op, "GET", "/v1/webhooks/"+sub.ID, nil), "Webhook")
		// Another merchant and a bank: not found.
		e.must(http.StatusNotFound, e.merSG, "GET", "/v1/webhooks/"+sub.ID, nil)
		e.must(http.StatusNotFound, e.bankDE, "POST", "/v1/webhooks/"+sub.ID+"/resume", nil)
		var list struct{ Webhooks []struct{ ID string } }
		e.must(http.StatusOK, e.merSG, "GET", "/v1/webhooks", nil).into(t, &list)
		if len(list.Webhooks) != 0 {
			t.Fatalf("another merchant lists %v", list.Webhooks)
		}
		other := e.must(http.StatusCreated, e.merSG, "POST", "/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/hooks"})
		var otherSub struct{ ID string }
		other.into(t, &otherSub)

		// The DE merchant's payment reaches its subscription, not the SG merchant's.
		e.holdSGtoDE("10.00")
		var counts []struct {
			SubscriptionID string `bun:"subscription_id"`
			N              int    `bun:"n"`
		}
		if err := e.st.DB().NewRaw("SELECT subscription_id, COUNT(*) AS n FROM webhook_outbox GROUP BY subscription_id").Scan(context.Background(), &counts); err != nil {
			t.Fatal(err)
		}
		if len(counts) != 1 || counts[0].SubscriptionID != sub.ID || counts[0].N != 1 {
			t.Fatalf("queued %+v; want one event for %s", counts, sub.ID)
		}
		var ev struct{ ID string }
		if err := e.st.DB().NewRaw("SELECT event_id AS id FROM webhook_outbox WHERE subscription_id = ?", sub.ID).Scan(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
		deliveries := e.must(http.StatusOK, e.merDE, "GET", "/v1/webhooks/"+sub.ID+"/deliveries", nil)
		conformsTo(t, deliveries, "WebhookDeliveryList")
		wantError(t, e.call(e.merDE, "POST", "/v1/webhooks/"+sub.ID+"/replay", map[string]any{"from_event_id": "evt_none"}), http.StatusNotFound, "event_not_found", "from_event_id")
		replay := e.must(http.StatusAccepted, e.merDE, "POST", "/v1/webhooks/"+sub.ID+"/replay", map[string]any{"from_event_id": ev.ID})
		conformsTo(t, replay, "WebhookReplay")
		conformsTo(t, e.must(http.StatusOK, e.merDE, "POST", "/v1/webhooks/"+sub.ID+"/resume", nil), "Webhook")
		deleted := e.must(http.StatusOK, e.merDE, "DELETE", "/v1/webhooks/"+sub.ID, nil)
		conformsTo(t, deleted, "Webhook")
		e.must(http.StatusNotFound, e.merDE, "DELETE", "/v1/webhooks/"+sub.ID, nil)
		e.holdSGtoDE("11.00") // a deleted subscription gets nothing more
		var n int
		if err := e.st.DB().NewRaw("SELECT COUNT(*) FROM webhook_outbox").Scan(context.Background(), &n); err != nil || n != 1 {
			t.Fatalf("outbox holds %d rows after the deletion, %v; want 1", n, err)
		}
	})
}

// TestWebhookHTTPHosts: a configured development host may be plain http.
func TestWebhookHTTPHosts(t *testing.T) {
	e := newEnv(t, "sqlite", api.Config{WebhookHTTPHosts: []string{"receiver.dev.internal"}})
	e.must(http.StatusCreated, e.bankDE, "POST", "/v1/webhooks", map[string]any{"url": "http://receiver.dev.internal:8000/hooks"})
	wantError(t, e.call(e.bankDE, "POST", "/v1/webhooks", map[string]any{"url": "http://other.dev.internal/hooks"}), http.StatusUnprocessableEntity, "invalid_url", "url")
}

// TestWebhookEventTypesDocumented keeps openapi.json's WebhookEventType
// the store's list.
func TestWebhookEventTypesDocumented(t *testing.T) {
	_, tree := loadDoc(t)
	enum, _ := resolve(tree, "#/components/schemas/WebhookEventType")["enum"].([]any)
	var got []string
	for _, v := range enum {
		got = append(got, v.(string))
	}
	if strings.Join(got, " ") != strings.Join(store.WebhookEventTypes, " ") {
		t.Fatalf("openapi.json documents %v; the store emits %v", got, store.WebhookEventTypes)
	}
}

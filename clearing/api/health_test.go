package api_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/messages/iso/isotest"
	"github.com/crossclear/crossclear/messages/outbox"
	"github.com/crossclear/crossclear/messages/signing"
)

func TestHealthReadyMetrics(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		var h struct{ Status string }
		e.must(http.StatusOK, "", "GET", "/healthz", nil).into(t, &h)
		if h.Status != "ok" {
			t.Fatalf("healthz: %+v", h)
		}
		e.must(http.StatusOK, "", "GET", "/readyz", nil).into(t, &h)
		if h.Status != "ready" {
			t.Fatalf("readyz: %+v", h)
		}

		// Make some traffic, then look for it by route pattern.
		p := e.holdSGtoDE("1.00")
		e.must(http.StatusOK, e.op, "GET", "/v1/payments/"+p.ID, nil)
		e.call("", "GET", "/v1/payments", nil)
		m := e.must(http.StatusOK, "", "GET", "/metrics", nil)
		text := string(m.Body)
		for _, want := range []string{
			`crossclear_http_requests_total{method="GET",route="/v1/payments/:id",status="200"}`,
			`crossclear_http_requests_total{method="POST",route="/v1/payments",status="201"}`,
			`crossclear_http_requests_total{method="GET",route="/v1",status="401"}`,
			`crossclear_http_request_duration_seconds_bucket{method="GET",route="/v1/payments/:id",le="0.005"}`,
		} {
			if !strings.Contains(text, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if strings.Contains(text, p.ID) {
			t.Fatalf("metrics label a raw payment id")
		}

		// With the database gone, the process is still healthy but not ready.
		e.st.Close()
		e.must(http.StatusOK, "", "GET", "/healthz", nil)
		wantError(t, e.call("", "GET", "/readyz", nil), http.StatusServiceUnavailable, "not_ready", "")
		// And a request that needs it is a 500 that leaks nothing.
		r := e.call(e.op, "GET", "/v1/payments", nil)
		wantError(t, r, http.StatusInternalServerError, "internal", "")
		if strings.Contains(strings.ToLower(string(r.Body)), "sql") {
			t.Fatalf("500 leaks detail: %s", r)
		}
	})
}

// TestReadyzDegradedStatus: while the signer is down /readyz says
// "degraded" in its body with 200 by default, or with 503 when configured
// for load balancers that read only the code; once the signer is back it
// is 200 "ready" either way.
func TestReadyzDegradedStatus(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		dev, err := signing.OpenDevSigner(filepath.Join(t.TempDir(), "k"), "test")
		if err != nil {
			t.Fatal(err)
		}
		sw := &switchable{Signer: dev}
		sw.down.Store(true)
		e.start(api.Config{Sealer: &outbox.Sealer{Store: e.st, Signer: sw}, SigningKeys: map[string]signing.Signer{"files": sw}})
		e.upload(e.bankSG, isotest.Pacs008{MsgID: "READYZ-1", Txs: []isotest.Tx{{Amount: "10.00"}}}.Bytes(), http.StatusCreated)

		for _, tc := range []struct{ configured, want int }{{0, http.StatusOK}, {http.StatusOK, http.StatusOK}, {http.StatusServiceUnavailable, http.StatusServiceUnavailable}} {
			sw.down.Store(true)
			sealer := &outbox.Sealer{Store: e.st, Signer: sw}
			if _, err := sealer.SealPending(context.Background()); err == nil {
				t.Fatal("sealing with the signer down succeeded")
			}
			e.start(api.Config{Sealer: sealer, SigningKeys: map[string]signing.Signer{"files": sw}, DegradedStatus: tc.configured})
			ready := e.must(tc.want, "", "GET", "/readyz", nil).obj(t)
			if ob, _ := ready["outbox"].(map[string]any); ready["status"] != "degraded" || ob["degraded"] != true || ob["unsigned_files"] != float64(1) {
				t.Fatalf("configured %d: %+v", tc.configured, ready)
			}

			sw.down.Store(false)
			if n, err := sealer.SealPending(context.Background()); err != nil || n != 1 {
				t.Fatalf("sealed %d: %v", n, err)
			}
			if ready := e.must(http.StatusOK, "", "GET", "/readyz", nil).obj(t); ready["status"] != "ready" {
				t.Fatalf("configured %d, signer back: %+v", tc.configured, ready)
			}
			// Another file to wait for the next round.
			sw.down.Store(true)
			e.upload(e.bankSG, isotest.Pacs008{MsgID: fmt.Sprint("READYZ-", tc.configured+2), Txs: []isotest.Tx{{Amount: "10.00"}}}.Bytes(), http.StatusCreated)
		}
	})
}

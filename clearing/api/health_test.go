package api_test

import (
	"net/http"
	"strings"
	"testing"
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

package api_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing/api"
)

// testClock is a clock the test moves; the server reads it concurrently.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// clientFrom is an HTTP client whose connections come from ip (any of
// 127.0.0.0/8 on Linux): another client address for the server.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// TestFailedAuthenticationsAreLimited: past AuthLimit.Failures unknown keys
// from one address, that address gets 429 with Retry-After, a good key
// included; the same start of a key guessed from another address is
// limited too; another address with its own key is not; successes take
// nothing; a window later all is forgotten.
func TestFailedAuthenticationsAreLimited(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		clock := &testClock{t: time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)}
		e.start(api.Config{AuthLimit: api.AuthLimit{Failures: 3, Window: time.Minute, Now: clock.now}})
		local := e.http
		other := clientFrom("127.0.0.2")
		guess := func(suffix string) string { return "cck_deadbeef" + strings.Repeat(suffix, 56) }

		// Successes take nothing from the allowance.
		for range 10 {
			e.must(http.StatusOK, e.bankSG, "GET", "/v1/payments", nil)
		}
		for _, s := range []string{"0", "1", "2"} {
			wantError(t, e.call(guess(s), "GET", "/v1/payments", nil), http.StatusUnauthorized, "invalid_api_key", "Authorization")
		}
		r := e.call(guess("3"), "GET", "/v1/payments", nil)
		wantError(t, r, http.StatusTooManyRequests, "rate_limited", "Authorization")
		if got := r.Header.Get("Retry-After"); got != "20" { // one failure more every 60 s / 3
			t.Fatalf("Retry-After %q, want 20", got)
		}
		// The address is limited whatever it sends, before the database is asked.
		wantError(t, e.call(e.bankSG, "GET", "/v1/payments", nil), http.StatusTooManyRequests, "rate_limited", "Authorization")

		e.http = other
		// Another address with its own key is served, and may fail on its own.
		e.must(http.StatusOK, e.bankDE, "GET", "/v1/payments", nil)
		wantError(t, e.call("cck_0123456789", "GET", "/v1/payments", nil), http.StatusUnauthorized, "invalid_api_key", "Authorization")
		// But guessing at the same key from there is limited too.
		wantError(t, e.call(guess("4"), "GET", "/v1/payments", nil), http.StatusTooManyRequests, "rate_limited", "Authorization")

		// A window later everything is forgotten.
		clock.add(time.Minute)
		e.http = local
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/payments", nil)
		wantError(t, e.call(guess("5"), "GET", "/v1/payments", nil), http.StatusUnauthorized, "invalid_api_key", "Authorization")
	})
}

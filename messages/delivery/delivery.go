// Package delivery holds what crossclear's outboxes share when they post
// to endpoints other people run (the regulator push, webhooks): which URLs
// may be used, how long to wait after a failed attempt, and one bounded
// HTTP POST whose answer is read (and kept, when it is an error) up to
// MaxResponseBytes. Each outbox keeps its own tables; the loop is the same:
// lease the destination (Lease.Hold, kept alive by a heartbeat), send its
// oldest due item, record the attempt, stop at the first failure so that
// what follows waits (order per destination).
package delivery

import (
	"bytes"
	"context"
	"fmt"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// MaxResponseBytes is how much of a receiver's answer is read.
const MaxResponseBytes = 4096

// CheckURL accepts an absolute https URL without credentials, or http on
// a loopback address or on one of httpHosts (host names or IPs allowed
// plain http, for development receivers).
func CheckURL(raw string, httpHosts []string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("endpoint URL %q: want an absolute https://host/path URL without credentials", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		if slices.ContainsFunc(httpHosts, func(h string) bool { return strings.EqualFold(strings.TrimSpace(h), host) }) {
			return nil
		}
		return fmt.Errorf("endpoint URL %q: https only (http is allowed on loopback, for testing)", raw)
	}
	return fmt.Errorf("endpoint URL %q: want https", raw)
}

// Exponential is the wait after the attempt-th consecutive failure: lo,
// doubling per failure, capped at hi.
func Exponential(attempt int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// FullJitter is Exponential with "full jitter": a uniform wait between lo
// and the exponential bound, so that receivers coming back are not met by
// every sender at the same instant.
func FullJitter(attempt int, lo, hi time.Duration) time.Duration {
	d := Exponential(attempt, lo, hi)
	if d <= lo {
		return lo
	}
	return lo + rand.N(d-lo+1)
}

// Outcome is one attempt's result.
type Outcome struct {
	StatusCode int // 0 when no answer came
	Took       time.Duration
	Err        error  // nil for a 2xx answer
	Body       []byte // the answer, up to MaxResponseBytes (a protocol's reply: a witness's cosignature or size)
}

// tracer names a span per delivery attempt, whose traceparent the
// receiver gets (a no-op unless serve traces: cmd/crossclear/tracing.go).
var tracer = otel.Tracer("github.com/crossclear/crossclear/messages/delivery")

// Post sends body to url with the headers; any 2xx is a delivery. The
// request carries a W3C traceparent, so the receiver can join its trace.
func Post(ctx context.Context, c *http.Client, url string, header http.Header, body []byte) (out Outcome) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Outcome{Err: err}
	}
	ctx, span := tracer.Start(ctx, "POST", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("server.address", req.URL.Host), attribute.String("url.path", req.URL.Path)))
	defer func() {
		span.SetAttributes(attribute.Int("http.response.status_code", out.StatusCode))
		if out.Err != nil {
			span.SetStatus(codes.Error, "not delivered")
		}
		span.End()
	}()
	req = req.WithContext(ctx)
	for k, vs := range header {
		req.Header[k] = vs
	}
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := c.Do(req)
	if err != nil {
		return Outcome{Took: time.Since(start), Err: err}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Outcome{StatusCode: resp.StatusCode, Took: time.Since(start), Err: fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(answer)), Body: answer}
	}
	return Outcome{StatusCode: resp.StatusCode, Took: time.Since(start), Body: answer}
}

// Worker is what every outbox worker is given: an HTTP client, a clock,
// a logger and a lease length, each optional. Embed it; its methods fill
// the defaults.
type Worker struct {
	Client *http.Client     // default: a client with a 30 s timeout
	Now    func() time.Time // default: time.Now
	Logger *slog.Logger     // default: slog.Default()
	Lease  time.Duration    // a destination's lease between heartbeats; default DefaultLease
}

// LeaseFor is how long the worker's leases last between heartbeats.
func (w Worker) LeaseFor() time.Duration {
	if w.Lease > 0 {
		return w.Lease
	}
	return DefaultLease
}

// HTTPClient is the worker's client.
func (w Worker) HTTPClient() *http.Client {
	if w.Client != nil {
		return w.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// Timeout bounds one delivery: the client's timeout, else 30 s.
func (w Worker) Timeout() time.Duration {
	if c := w.HTTPClient(); c.Timeout > 0 {
		return c.Timeout
	}
	return 30 * time.Second
}

// Clock is the worker's time now, in UTC.
func (w Worker) Clock() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

// Log is the worker's logger, naming the worker.
func (w Worker) Log(name string) *slog.Logger {
	if w.Logger == nil {
		return slog.Default().With("worker", name)
	}
	return w.Logger.With("worker", name)
}

// Package webhook delivers the webhook outbox (clearing/store webhooks.go)
// to the HTTPS endpoints banks, merchants and the operator subscribe, the
// Standard Webhooks way (https://www.standardwebhooks.com): every request
// carries webhook-id (the event id, the same on every retry and replay),
// webhook-timestamp (unix seconds of the attempt) and webhook-signature
// ("v1," + base64 HMAC-SHA256 over id.timestamp.body, keyed by the
// subscription's whsec_ secret). A subscription's events go out one at a
// time in order; one that fails holds back the ones after it and is retried
// with capped exponential backoff and full jitter; after MaxFailures
// failures in a row the subscription is paused until resumed. The
// machinery shared with the regulator push is in internal/delivery.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/delivery"
)

// Sign is the webhook-signature value for one request.
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Verify checks a request's headers and body against secret, as a
// receiver does: one of the space-separated v1 signatures must match and
// the timestamp be within tolerance of now (0: not checked).
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q: %w", ts, err)
	}
	if d := now.Sub(time.Unix(t, 0)); tolerance > 0 && (d > tolerance || d < -tolerance) {
		return fmt.Errorf("webhook-timestamp %s is too far from now", ts)
	}
	want, err := Sign(secret, id, t, body)
	if err != nil {
		return err
	}
	for _, s := range strings.Fields(sigs) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("no matching webhook-signature")
}

// Worker delivers the outbox. Several processes may run one on the same
// database: a subscription is leased to one worker at a time.
type Worker struct {
	Store    *store.Store
	Client   *http.Client  // its Timeout bounds one attempt; 30 s when nil
	Interval time.Duration // between passes; 5 s when 0
	// MinBackoff and MaxBackoff bound the wait after a failed attempt:
	// uniform between MinBackoff (default 5 s) and an exponential bound
	// doubling from it, capped at MaxBackoff (default 1 h).
	MinBackoff, MaxBackoff time.Duration
	// MaxFailures pauses a subscription after that many failed attempts
	// in a row (default 20; negative: never).
	MaxFailures int
	Now         func() time.Time
	Logger      *slog.Logger
	Lease       time.Duration // a subscription's lease between heartbeats; delivery.DefaultLease when 0
}

// DefaultMaxFailures is MaxFailures when unset.
const DefaultMaxFailures = 20

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	interval := w.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	log := w.logger()
	log.Info("webhook worker started", "interval", interval.String())
	defer log.Info("webhook worker stopped")
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		n, err := w.Tick(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
		case err != nil && !failing:
			log.Error("webhook pass failed; retrying every interval", "err", err)
			failing = true
		case err != nil:
			log.Debug("webhook pass failed again", "err", err)
		case failing:
			log.Info("webhook pass succeeded again")
			failing = false
		}
		if n > 0 {
			log.Debug("webhooks delivered", "events", n)
		}
		w.observe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick makes one pass: every active subscription with an event due gets
// its events in order until one fails or none is due. It returns how many
// were delivered.
func (w *Worker) Tick(ctx context.Context) (int, error) {
	ids, err := w.Store.WebhookDue(ctx, w.now())
	if err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, id := range ids {
		n, err := w.deliverTo(ctx, id)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// deliverTo leases subscription id (or leaves it to the worker that has
// it) and posts its due events in order.
func (w *Worker) deliverTo(ctx context.Context, id string) (int, error) {
	lease := &delivery.Lease{DB: w.Store.DB(), Table: "webhook_subscriptions", ID: id, For: w.defaults().LeaseFor()}
	delivered := 0
	_, err := lease.Hold(ctx, w.now, func(ctx context.Context) (err error) {
		delivered, err = w.deliverHeld(ctx, id)
		return err
	})
	return delivered, err
}

// deliverHeld posts subscription id's due events in order, under its lease.
func (w *Worker) deliverHeld(ctx context.Context, id string) (int, error) {
	delivered := 0
	for ctx.Err() == nil {
		send, ok, err := w.Store.NextWebhook(ctx, id)
		if err != nil || !ok {
			return delivered, err
		}
		if send.NextAttemptAt.After(w.now()) {
			return delivered, nil // backing off: the ones after it wait too
		}
		now := w.now()
		sig, err := Sign(send.Secret, send.EventID, now.Unix(), send.Payload)
		if err != nil {
			return delivered, fmt.Errorf("subscription %s: %w", id, err)
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("User-Agent", "crossclear-webhooks/1")
		h.Set("webhook-id", send.EventID)
		h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		h.Set("webhook-signature", sig)
		o := delivery.Post(ctx, w.client(), send.URL, h, send.Payload)
		if delivery.LeaseLost(ctx) {
			return delivered, context.Cause(ctx) // the new holder sends it again: nothing more here
		}
		done := w.now()
		retryAt := done.Add(delivery.FullJitter(send.Attempts+1, w.minBackoff(), w.maxBackoff()))
		paused, err := w.Store.RecordWebhookAttempt(context.WithoutCancel(ctx), send, done, o.StatusCode, o.Took, o.Err, retryAt, w.maxFailures())
		if err != nil {
			return delivered, err
		}
		if o.Err != nil {
			w.logger().Warn("webhook failed; backing off", "subscription", id, "event", send.EventID, "attempt", send.Attempts+1, "err", o.Err)
			if paused {
				w.logger().Warn("webhook subscription paused after repeated failures", "subscription", id, "failures", w.maxFailures())
			}
			return delivered, nil
		}
		delivered++
	}
	return delivered, context.Cause(ctx)
}

func (w *Worker) observe(ctx context.Context) {
	st, err := w.Store.WebhookStats(ctx)
	if err != nil {
		return
	}
	backlogGauge.Set(float64(st.Backlog))
	failingGauge.Set(float64(st.Failing))
	pausedGauge.Set(float64(st.Paused))
}

func (w *Worker) minBackoff() time.Duration {
	if w.MinBackoff > 0 {
		return w.MinBackoff
	}
	return 5 * time.Second
}

func (w *Worker) maxBackoff() time.Duration {
	if w.MaxBackoff > 0 {
		return max(w.MaxBackoff, w.minBackoff())
	}
	return time.Hour
}

func (w *Worker) maxFailures() int {
	switch {
	case w.MaxFailures < 0:
		return 0
	case w.MaxFailures == 0:
		return DefaultMaxFailures
	}
	return w.MaxFailures
}

// defaults gives the worker's optional client, clock and logger their
// defaults, as every outbox worker's.
func (w *Worker) defaults() delivery.Worker {
	return delivery.Worker{Client: w.Client, Now: w.Now, Logger: w.Logger, Lease: w.Lease}
}

func (w *Worker) client() *http.Client { return w.defaults().HTTPClient() }
func (w *Worker) now() time.Time       { return w.defaults().Clock() }
func (w *Worker) logger() *slog.Logger { return w.defaults().Log("webhooks") }

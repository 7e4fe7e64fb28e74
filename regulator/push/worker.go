package push

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/messages/delivery"
	"github.com/crossclear/crossclear/regulator/bundle"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/reports"
)

// Worker delivers the outbox. Several processes may run one on the same
// database: an endpoint is leased to one worker at a time, so its reports
// go out in order.
type Worker struct {
	Outbox   *Outbox
	Archive  *reports.Archive
	Log      *merklelog.Log
	Client   *http.Client  // its Timeout bounds one attempt; 30 s when nil
	Interval time.Duration // between passes; 5 s when 0
	// MinBackoff and MaxBackoff bound the wait after a failed attempt: it
	// doubles from MinBackoff (default 5 s) up to MaxBackoff (default 1 h).
	MinBackoff, MaxBackoff time.Duration
	Now                    func() time.Time
	Logger                 *slog.Logger
	Lease                  time.Duration // an endpoint's lease between heartbeats; delivery.DefaultLease when 0
}

// MaxResponseBytes is how much of a receiver's answer is read (and kept,
// when it is an error).
const MaxResponseBytes = delivery.MaxResponseBytes

// Run delivers until ctx ends; failures are logged and retried.
func (w *Worker) Run(ctx context.Context) {
	interval := w.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	log := w.logger()
	log.Info("push worker started", "interval", interval.String())
	defer log.Info("push worker stopped")
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false // errors are logged once when they start, then at debug level
	for {
		n, err := w.Tick(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
		case err != nil && !failing:
			log.Error("push pass failed; retrying every interval", "err", err)
			failing = true
		case err != nil:
			log.Debug("push pass failed again", "err", err)
		case failing:
			log.Info("push pass succeeded again")
			failing = false
		}
		if n > 0 {
			log.Info("reports pushed", "reports", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick makes one pass: every endpoint with a published report due gets its
// reports in log order until one fails or none is due. It returns how many
// were delivered.
func (w *Worker) Tick(ctx context.Context) (int, error) {
	cp, err := w.Log.LatestCheckpoint(ctx)
	if errors.Is(err, merklelog.ErrNoCheckpoint) {
		return 0, nil // nothing is published before the first checkpoint
	}
	if err != nil {
		return 0, err
	}
	var ids []string
	err = w.Outbox.db.NewRaw(`SELECT DISTINCT o.endpoint_id FROM regulator_outbox o
		JOIN regulator_endpoints e ON e.id = o.endpoint_id
		WHERE o.delivered_at IS NULL AND e.removed_at IS NULL AND o.next_attempt_at <= ? AND o.leaf_index < ?`,
		w.now(), int64(cp.Size)).Scan(ctx, &ids)
	if err != nil {
		return 0, fmt.Errorf("find endpoints with reports due: %w", err)
	}
	total := 0
	var errs []error
	for _, id := range ids {
		n, err := w.deliverTo(ctx, id, cp)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// deliverTo leases endpoint id (or leaves it to the worker that has it)
// and posts its due reports in order.
func (w *Worker) deliverTo(ctx context.Context, id string, cp merklelog.Checkpoint) (int, error) {
	lease := &delivery.Lease{DB: w.Outbox.db, Table: "regulator_endpoints", ID: id, For: w.defaults().LeaseFor()}
	delivered := 0
	_, err := lease.Hold(ctx, w.now, func(ctx context.Context) (err error) {
		delivered, err = w.deliverHeld(ctx, id, cp)
		return err
	})
	return delivered, err
}

// deliverHeld posts endpoint id's due reports in order, under its lease.
func (w *Worker) deliverHeld(ctx context.Context, id string, cp merklelog.Checkpoint) (int, error) {
	builder := &bundle.Builder{Archive: w.Archive, Log: w.Log}
	delivered := 0
	for ctx.Err() == nil {
		var ep endpointRow
		if err := w.Outbox.db.NewSelect().Model(&ep).Where("id = ?", id).Scan(ctx); err != nil {
			return delivered, fmt.Errorf("load endpoint %s: %w", id, err)
		}
		if !ep.RemovedAt.IsZero() {
			return delivered, nil
		}
		var next outboxRow
		err := w.Outbox.db.NewSelect().Model(&next).Where("endpoint_id = ? AND delivered_at IS NULL", id).OrderExpr("leaf_index").Limit(1).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return delivered, nil
		}
		if err != nil {
			return delivered, fmt.Errorf("next report for %s: %w", id, err)
		}
		if next.NextAttemptAt.After(w.now()) || uint64(next.LeafIndex) >= cp.Size {
			return delivered, nil // backing off, or not published yet: the ones after it wait too
		}
		r, err := w.Archive.Get(ctx, next.ReportID)
		if err != nil {
			return delivered, err
		}
		if r.SealedAt.IsZero() {
			return delivered, nil // not signed yet
		}
		b, err := builder.Build(ctx, r, cp, uint64(ep.DeliveredSize))
		if err != nil {
			return delivered, err
		}
		status, took, perr := w.post(ctx, ep.URL, r.ID, b.Marshal())
		if delivery.LeaseLost(ctx) {
			return delivered, context.Cause(ctx) // the new holder sends it again: nothing more here
		}
		if err := w.record(ctx, next, ep, cp, status, perr, took); err != nil {
			return delivered, err
		}
		if perr != nil {
			w.logger().Warn("push failed; backing off", "endpoint", id, "url", ep.URL, "report", r.ID, "attempt", next.Attempts+1, "err", perr)
			return delivered, nil
		}
		delivered++
	}
	return delivered, context.Cause(ctx)
}

// post sends one bundle; any 2xx is a delivery.
func (w *Worker) post(ctx context.Context, url, reportID string, body []byte) (int, time.Duration, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Idempotency-Key", reportID)
	h.Set("User-Agent", "crossclear-regulator-push/1")
	o := delivery.Post(ctx, w.client(), url, h, body)
	return o.StatusCode, o.Took, o.Err
}

// record writes the attempt and its outcome in one transaction: delivered
// (and the endpoint now holds checkpoint cp), or retried after a backoff.
func (w *Worker) record(ctx context.Context, o outboxRow, ep endpointRow, cp merklelog.Checkpoint, status int, perr error, took time.Duration) error {
	ctx = context.WithoutCancel(ctx) // an attempt that happened is recorded even during shutdown
	now := w.now()
	attempt := o.Attempts + 1
	msg := ""
	if perr != nil {
		msg = perr.Error()
		pushFailures.WithLabelValues(ep.Jurisdiction).Inc()
	}
	return w.Outbox.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		d := deliveryRow{OutboxID: o.ID, Attempt: attempt, At: now, StatusCode: status, Error: msg, DurationMS: took.Milliseconds()}
		if _, err := tx.NewInsert().Model(&d).Exec(ctx); err != nil {
			return fmt.Errorf("record delivery: %w", err)
		}
		q := tx.NewUpdate().Model((*outboxRow)(nil)).Set("attempts = ?", attempt).Set("last_error = ?", msg).Where("id = ?", o.ID)
		if perr != nil {
			q.Set("next_attempt_at = ?", now.Add(w.backoff(attempt)))
		} else {
			q.Set("delivered_at = ?", now)
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("update outbox: %w", err)
		}
		if perr == nil {
			_, err := tx.NewUpdate().Model((*endpointRow)(nil)).Set("delivered_size = ?", int64(cp.Size)).
				Where("id = ? AND delivered_size < ?", ep.ID, int64(cp.Size)).Exec(ctx)
			if err != nil {
				return fmt.Errorf("update endpoint: %w", err)
			}
		}
		return nil
	})
}

// backoff is the wait after the attempt-th failure.
func (w *Worker) backoff(attempt int) time.Duration {
	lo, hi := w.MinBackoff, w.MaxBackoff
	if lo <= 0 {
		lo = 5 * time.Second
	}
	if hi <= 0 {
		hi = time.Hour
	}
	return delivery.Exponential(attempt, lo, hi)
}

// defaults gives the worker's optional client, clock and logger their
// defaults, as every outbox worker's.
func (w *Worker) defaults() delivery.Worker {
	return delivery.Worker{Client: w.Client, Now: w.Now, Logger: w.Logger, Lease: w.Lease}
}

func (w *Worker) client() *http.Client { return w.defaults().HTTPClient() }
func (w *Worker) now() time.Time       { return w.defaults().Clock() }
func (w *Worker) logger() *slog.Logger { return w.defaults().Log("regulator-push") }

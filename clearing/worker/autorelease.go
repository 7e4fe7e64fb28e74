// Package worker runs crossclear's background duties inside `crossclear
// serve`: releasing payments whose auto-release deadline has passed, and
// closing settlement cycles on a schedule.
//
// Neither worker keeps state of its own. Deadlines and cycle opening times
// live in the database, so a restarted process picks up exactly where the
// last one stopped, and several processes against one database cooperate:
// the store lets each due payment be released once and each cycle be
// closed once.
package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/crossclear/crossclear/clearing/store"
)

// Metrics, on the default Prometheus registry.
var (
	autoReleased = promauto.NewCounter(prometheus.CounterOpts{
		Name: "crossclear_auto_released_total",
		Help: "Payments released to the merchant because their auto-release deadline passed without a dispute.",
	})
	autoReleaseErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "crossclear_auto_release_errors_total",
		Help: "Auto-release passes that failed (retried at the next interval).",
	})
)

// Defaults of AutoRelease.
const (
	DefaultReleaseInterval = 30 * time.Second
	DefaultReleaseBatch    = 500
)

// AutoRelease releases held payments whose deadline has passed: every
// Interval it calls store.ReleaseDue in batches until nothing is due.
type AutoRelease struct {
	Store    *store.Store
	Interval time.Duration // between passes; DefaultReleaseInterval when 0
	Batch    int           // payments per transaction; DefaultReleaseBatch when 0
	Logger   *slog.Logger  // slog.Default() when nil
}

// Run makes a pass at once, then one every Interval, until ctx is
// cancelled; it then returns nil. A failed pass is logged and retried at the
// next interval: what was not released stays due in the database.
func (a *AutoRelease) Run(ctx context.Context) error {
	interval := a.Interval
	if interval <= 0 {
		interval = DefaultReleaseInterval
	}
	log := a.logger()
	log.Info("auto-release worker started", "interval", interval.String(), "batch", a.batch())
	defer log.Info("auto-release worker stopped")
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := a.Pass(ctx); err != nil && ctx.Err() == nil {
			autoReleaseErrors.Inc()
			log.Error("auto-release pass failed; retrying at the next interval", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Pass releases everything due now, Batch payments per transaction, until
// a batch releases nothing, and returns how many it released.
func (a *AutoRelease) Pass(ctx context.Context) (int, error) {
	total := 0
	start := time.Now()
	for ctx.Err() == nil {
		n, err := a.Store.ReleaseDue(ctx, a.batch())
		total += n
		autoReleased.Add(float64(n))
		if err != nil {
			return total, err
		}
		if n == 0 {
			break
		}
		a.logger().Debug("auto-release batch", "released", n)
	}
	if total > 0 {
		a.logger().Info("auto-released payments", "released", total, "took", time.Since(start).Round(time.Millisecond).String())
	} else {
		a.logger().Debug("auto-release pass: nothing due")
	}
	return total, ctx.Err()
}

func (a *AutoRelease) batch() int {
	if a.Batch <= 0 {
		return DefaultReleaseBatch
	}
	return a.Batch
}

func (a *AutoRelease) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.Default().With("worker", "auto-release")
	}
	return a.Logger.With("worker", "auto-release")
}

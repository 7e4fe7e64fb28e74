package worker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
)

var (
	scheduledCloses = promauto.NewCounter(prometheus.CounterOpts{
		Name: "crossclear_scheduled_cycle_closes_total",
		Help: "Settlement cycles closed by the cycle scheduler of this process.",
	})
	schedulerErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "crossclear_cycle_scheduler_errors_total",
		Help: "Cycle scheduler checks that failed (retried at the next poll).",
	})
)

// MaxPoll bounds how long the scheduler sleeps between checks.
const MaxPoll = time.Minute

// CycleScheduler closes the open settlement cycle once it has been open for
// Period. It anchors on the cycle's opened_at in the database, not on a
// timer of its own, so a restart does not reset the clock and several
// processes may run it against one database: the first closes the cycle,
// the others then find a young cycle (or are told it was already closed)
// and wait.
type CycleScheduler struct {
	Store  *store.Store
	Period time.Duration    // must be > 0
	Poll   time.Duration    // between checks; min(Period/10, MaxPoll) when 0
	Now    func() time.Time // the clock, time.Now when nil; keep it the store's clock
	Logger *slog.Logger     // slog.Default() when nil

	afterRead func(open clearing.Cycle) // tests: runs between reading the open cycle and closing it
}

// Run checks at once, then every Poll, until ctx is cancelled; it then
// returns nil. Failed checks are logged and retried at the next poll.
func (c *CycleScheduler) Run(ctx context.Context) error {
	if c.Period <= 0 {
		return errors.New("cycle scheduler: period must be positive")
	}
	poll := c.poll()
	log := c.logger()
	log.Info("cycle scheduler started", "period", c.Period.String(), "poll", poll.String())
	defer log.Info("cycle scheduler stopped")
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, _, err := c.Tick(ctx); err != nil && ctx.Err() == nil {
			schedulerErrors.Inc()
			log.Error("cycle scheduler check failed; retrying at the next poll", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick closes the open cycle if it has been open for Period. It reports
// whether this call closed it, and the closed cycle when it did. Losing the
// race to another closer is not an error.
func (c *CycleScheduler) Tick(ctx context.Context) (closed bool, cycle clearing.Cycle, err error) {
	open, err := c.Store.CurrentCycle(ctx)
	if err != nil {
		return false, clearing.Cycle{}, err
	}
	if c.afterRead != nil {
		c.afterRead(open)
	}
	age := c.now().Sub(open.OpenedAt)
	if age < c.Period {
		c.logger().Debug("open cycle is not due", "cycle", open.ID, "age", age.Round(time.Second).String(), "due_in", (c.Period - age).Round(time.Second).String())
		return false, clearing.Cycle{}, nil
	}
	// Close this cycle only: if another process closed it since we read
	// it, the store refuses instead of closing its successor.
	cycle, err = c.Store.CloseCycleIfOpen(ctx, open.ID, clearing.CycleScheduler)
	if e, ok := clearing.AsError(err); ok && e.Code == "cycle_already_closed" {
		c.logger().Debug("cycle was closed by another process", "cycle", open.ID)
		return false, clearing.Cycle{}, nil
	}
	if err != nil {
		return false, clearing.Cycle{}, err
	}
	scheduledCloses.Inc()
	attrs := []any{"cycle", cycle.ID, "opened_at", cycle.OpenedAt.Format(time.RFC3339)}
	if cycle.Result != nil {
		attrs = append(attrs, "currencies", len(cycle.Result.Currencies), "positions", len(cycle.Result.Positions))
	}
	c.logger().Info("closed settlement cycle", attrs...)
	return true, cycle, nil
}

func (c *CycleScheduler) poll() time.Duration {
	if c.Poll > 0 {
		return c.Poll
	}
	return max(min(c.Period/10, MaxPoll), time.Second/10)
}

func (c *CycleScheduler) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *CycleScheduler) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default().With("worker", "cycle-scheduler")
	}
	return c.Logger.With("worker", "cycle-scheduler")
}

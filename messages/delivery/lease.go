package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// ErrLeaseLost says a worker's lease ran out and another worker took the
// destination (or may take it): the worker must stop sending to it.
var ErrLeaseLost = errors.New("the lease ran out and another worker took the destination")

// DefaultLease is how long a lease lasts between heartbeats when a worker
// sets none. It bounds how long a destination waits when its holder is
// killed (SIGKILL, a lost node): another node claims it once it expires,
// at its next pass. 15 s keeps that wait short next to the 5 s passes,
// while the heartbeat (every 5 s) survives one slow or failed Extend — a
// database hiccup — before the holder has to give the destination up.
const DefaultLease = 15 * time.Second

// Lease is one worker's claim on one destination's queue (a webhook
// subscription, a regulator endpoint): a row of Table with an id and a
// leased_until column. Several serve processes share the queues; the
// lease keeps each destination's items in order and sent by one worker at
// a time, and a worker that dies simply lets its lease expire.
//
// A lease is short (DefaultLease) and kept alive by its holder while it
// works (Hold): a holder that dies lets it expire within For, however long
// its deliveries take.
//
// The expiry a worker wrote is its token: extending and giving back match
// on it, so a worker that stalled past its lease (a failover, a paused
// process) learns that it lost the destination instead of sending beside
// the new holder or freeing the new holder's lease.
type Lease struct {
	DB    bun.IDB
	Table string        // webhook_subscriptions, regulator_endpoints
	ID    string        // the destination's id
	For   time.Duration // how long a claim or an extension lasts

	until time.Time // the expiry this worker wrote; zero when not held
}

// Claim takes the destination if nobody holds it (or a holder's lease
// expired); false means another worker has it.
func (l *Lease) Claim(ctx context.Context, now time.Time) (bool, error) {
	until := l.expiry(now)
	res, err := l.DB.NewUpdate().Table(l.Table).Set("leased_until = ?", until).
		Where("id = ?", l.ID).Where("(leased_until IS NULL OR leased_until < ?)", now).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("lease %s %s: %w", l.Table, l.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil
	}
	l.until = until
	return true, nil
}

// Extend keeps the destination for For from now; ErrLeaseLost when another
// worker took it meanwhile.
func (l *Lease) Extend(ctx context.Context, now time.Time) error {
	until := l.expiry(now)
	res, err := l.DB.NewUpdate().Table(l.Table).Set("leased_until = ?", until).
		Where("id = ? AND leased_until = ?", l.ID, l.until).Exec(ctx)
	if err != nil {
		return fmt.Errorf("extend the lease of %s %s: %w", l.Table, l.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		l.until = time.Time{}
		return fmt.Errorf("%s %s: %w", l.Table, l.ID, ErrLeaseLost)
	}
	l.until = until
	return nil
}

// Release gives the destination back, unless another worker holds it now.
func (l *Lease) Release(ctx context.Context) error {
	if l.until.IsZero() {
		return nil
	}
	_, err := l.DB.NewUpdate().Table(l.Table).Set("leased_until = NULL").
		Where("id = ? AND leased_until = ?", l.ID, l.until).Exec(ctx)
	l.until = time.Time{}
	if err != nil {
		return fmt.Errorf("release the lease of %s %s: %w", l.Table, l.ID, err)
	}
	return nil
}

// Hold claims the destination and, when it got it, runs work while a
// heartbeat extends the lease every For/3; then it releases the lease.
// held is false (and work not run) when another worker has it. now is the
// clock the expiries are written with.
//
// work's context is cancelled, with cause ErrLeaseLost, as soon as the
// lease is lost (an Extend finds another holder) or may be (no Extend has
// succeeded for For, measured on this process's monotonic clock from
// before the last successful Extend, which wrote an expiry at least that
// late). So a request work is sending is aborted before any other worker
// can claim the destination, and work must do nothing more for it once
// LeaseLost(ctx) — not even record the aborted attempt. This is safe
// against sending beside the new holder as far as the nodes' clocks agree
// (NTP: milliseconds against a 15 s lease). What it cannot undo is a
// request the receiver took whose answer the old holder never recorded:
// the new holder sends that item again, as after any crash. Delivery is at
// least once, and receivers deduplicate: webhooks by webhook-id, regulator
// endpoints by Idempotency-Key, and a witness cosigns the same checkpoint
// again (or answers 409 with its size) — c2sp.org/tlog-witness.
func (l *Lease) Hold(ctx context.Context, now func() time.Time, work func(ctx context.Context) error) (held bool, err error) {
	if l.For <= 0 {
		return false, fmt.Errorf("lease %s %s: a lease must last a positive time, not %s", l.Table, l.ID, l.For)
	}
	start := time.Now()
	if ok, err := l.Claim(ctx, now()); err != nil || !ok {
		return false, err
	}
	workCtx, cancel := context.WithCancelCause(ctx)
	expired := time.AfterFunc(time.Until(start.Add(l.For)), func() {
		cancel(fmt.Errorf("%s %s: not extended for %s: %w", l.Table, l.ID, l.For, ErrLeaseLost))
	})
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		l.heartbeat(workCtx, now, expired, cancel, stop)
	}()
	err = work(workCtx)
	close(stop)
	<-stopped // the heartbeat no longer touches the token: Release may
	expired.Stop()
	cancel(nil)
	if rerr := l.Release(context.WithoutCancel(ctx)); rerr != nil && err == nil {
		err = rerr
	}
	return true, err
}

// heartbeat extends the lease every For/3 until stop closes or ctx ends;
// each success pushes the local expiry (the expired timer) to For after
// the moment before it. A failed Extend is retried at the next beat: the
// timer gives the destination up if none succeeds in time.
func (l *Lease) heartbeat(ctx context.Context, now func() time.Time, expired *time.Timer, lost context.CancelCauseFunc, stop <-chan struct{}) {
	beat := time.NewTicker(l.For / 3)
	defer beat.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-beat.C:
		}
		start := time.Now()
		err := l.Extend(ctx, now())
		switch {
		case errors.Is(err, ErrLeaseLost):
			lost(err)
			return
		case err == nil:
			if !expired.Reset(time.Until(start.Add(l.For))) {
				return // the timer fired meanwhile: work is cancelled already
			}
		}
	}
}

// LeaseLost says whether ctx, a Hold's, was cancelled because its lease
// was (or may have been) lost: the holder must stop for the destination.
func LeaseLost(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), ErrLeaseLost)
}

// expiry is now + For at the precision both engines keep, so that the
// value read back equals the token.
func (l *Lease) expiry(now time.Time) time.Time {
	return now.Add(l.For).UTC().Truncate(time.Microsecond)
}

package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// ErrLeaseLost says a worker's lease ran out and another worker took the
// destination: the worker must stop sending to it.
var ErrLeaseLost = errors.New("the lease ran out and another worker took the destination")

// Lease is one worker's claim on one destination's queue (a webhook
// subscription, a regulator endpoint): a row of Table with an id and a
// leased_until column. Several serve processes share the queues; the
// lease keeps each destination's items in order and sent by one worker at
// a time, and a worker that dies simply lets its lease expire.
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

// Extend keeps the destination for For from now, before one more attempt;
// ErrLeaseLost when another worker took it meanwhile.
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

// expiry is now + For at the precision both engines keep, so that the
// value read back equals the token.
func (l *Lease) expiry(now time.Time) time.Time {
	return now.Add(l.For).UTC().Truncate(time.Microsecond)
}

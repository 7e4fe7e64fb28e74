package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNoPrimary says the database answers but cannot take writes: behind a
// Patroni cluster, the address reached a replica (or a primary being
// demoted) while no primary is up. Writes answer 503 until one is.
var ErrNoPrimary = errors.New("no primary: the database answering is a read-only replica")

// Primary checks that the database takes writes now, for /readyz: it
// answers, and on PostgreSQL it is not in recovery (a replica). SQLite is
// always its own primary.
func (s *Store) Primary(ctx context.Context) error {
	if !s.postgres {
		return s.Ping(ctx)
	}
	var inRecovery bool
	if err := s.db.NewRaw("SELECT pg_is_in_recovery()").Scan(ctx, &inRecovery); err != nil {
		return fmt.Errorf("no primary: %w", err)
	}
	if inRecovery {
		return ErrNoPrimary
	}
	return nil
}

// closeUnlessPrimary is the pgx hook that decides, on each error from the
// server, whether the connection may be reused. Besides the fatal errors
// (pgx's default), a connection that says "read-only transaction" (25006)
// reached a server that is no longer the primary — a replica behind a
// stale proxy route, or a demoted primary — and every later write on it
// would fail the same way: it is closed, so that the pool discards it and
// the next request connects afresh, to the new primary.
func closeUnlessPrimary(_ *pgconn.PgConn, err *pgconn.PgError) bool {
	return !strings.EqualFold(err.Severity, "FATAL") && err.Code != "25006"
}

package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
)

// A hot read runs with its arguments bound, not formatted into its text
// as bun does: SQLite parsed and planned a payment read's query on every
// call (a quarter of the read's CPU), and PostgreSQL would prepare a new
// statement for every id. pgx keeps a prepared statement per query text on
// each connection (and drops one a schema change invalidated), so on
// PostgreSQL binding is enough; modernc's SQLite driver keeps none, so
// there the query is prepared once per Store through database/sql, which
// prepares it again on each pooled connection it first runs on (and
// SQLite recompiles a prepared statement itself after a schema change).
type hotQuery struct {
	text string // in the engine's SQL, with its placeholders ($1 or ?)

	mu   sync.Mutex // serialises preparing
	stmt atomic.Pointer[sql.Stmt]
}

// query runs q with args on the atomic request's transaction when ctx
// carries one, on the pool otherwise (as conn does).
func (s *Store) query(ctx context.Context, q *hotQuery, args ...any) (*sql.Rows, error) {
	at, inTx := atomicFrom(ctx)
	if s.postgres {
		if inTx {
			return at.tx.Tx.QueryContext(ctx, q.text, args...)
		}
		return s.db.DB.QueryContext(ctx, q.text, args...)
	}
	stmt, err := q.prepared(ctx, s.db.DB)
	if err != nil {
		return nil, err
	}
	if inTx {
		return at.tx.Tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
	}
	return stmt.QueryContext(ctx, args...)
}

// prepared is q prepared on db, preparing it on first use; a failure is
// not kept, so the next call tries again.
func (q *hotQuery) prepared(ctx context.Context, db *sql.DB) (*sql.Stmt, error) {
	if stmt := q.stmt.Load(); stmt != nil {
		return stmt, nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if stmt := q.stmt.Load(); stmt != nil {
		return stmt, nil
	}
	stmt, err := db.PrepareContext(ctx, q.text)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", q.text, err)
	}
	q.stmt.Store(stmt)
	return stmt, nil
}

// close releases q's prepared statement, if it was prepared.
func (q *hotQuery) close() error {
	if stmt := q.stmt.Load(); stmt != nil {
		return stmt.Close()
	}
	return nil
}

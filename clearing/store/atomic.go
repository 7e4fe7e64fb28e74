package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun"
)

// An atomic request is one transaction around everything a request does:
// the API runs a request that carries an Idempotency-Key through Atomically,
// so that its effect and its idempotency record commit together or not at
// all (docs/idempotency.md). Every store call made with the request's
// context joins that transaction: writes in a savepoint of their own (a
// refused call undoes only itself), reads on the same connection (they see
// the request's own writes, and on SQLite they never wait for a second
// connection while the request holds the write lock).

type atomicKey struct{}

// atomicTx is the transaction of an atomic request and what waits for its
// commit.
type atomicTx struct {
	tx          bun.Tx
	ended       bool // committed or rolled back: the context works as a plain one again
	afterCommit []func()
}

// atomicFrom is the running atomic request ctx carries, if any.
func atomicFrom(ctx context.Context) (*atomicTx, bool) {
	at, ok := ctx.Value(atomicKey{}).(*atomicTx)
	return at, ok && !at.ended
}

// ErrRollback makes Atomically roll back without reporting a failure: the
// caller has already decided what to answer.
var ErrRollback = errors.New("roll back")

// Atomically runs fn in one transaction carried by the context it passes:
// store calls made with that context join it. The transaction commits when
// fn returns nil and rolls back otherwise (or on panic); functions given to
// AfterCommit run after a commit only. ErrRollback and ErrRetryAlone roll
// back and return nil.
func (s *Store) Atomically(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if _, nested := atomicFrom(ctx); nested {
		return fn(ctx)
	}
	ctx, span := s.startTx(ctx)
	defer func() { endTx(span, err) }()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin request transaction: %w", err)
	}
	at := &atomicTx{tx: tx}
	committed := false
	defer func() {
		at.ended = true
		if !committed {
			_ = tx.Rollback()
		}
	}()
	if err := fn(context.WithValue(ctx, atomicKey{}, at)); err != nil {
		if errors.Is(err, ErrRollback) || errors.Is(err, ErrRetryAlone) {
			return nil
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit request transaction: %w", err)
	}
	committed, at.ended = true, true
	for _, f := range at.afterCommit {
		f()
	}
	return nil
}

// AfterCommit runs f once the atomic request carried by ctx has committed,
// or at once outside one: for what must not happen for an effect that may
// still roll back (signing its files, waking a worker to look for them).
func AfterCommit(ctx context.Context, f func()) {
	if at, ok := atomicFrom(ctx); ok {
		at.afterCommit = append(at.afterCommit, f)
		return
	}
	f()
}

// conn is what a read runs on: the atomic request's transaction when ctx
// carries one, the pool otherwise.
func (s *Store) conn(ctx context.Context) bun.IDB {
	if at, ok := atomicFrom(ctx); ok {
		return at.tx
	}
	return s.db
}

// inSnapshot runs fn's reads in one read-only transaction, so that they all
// see the database at one moment: several aggregate queries read while
// payments move (a check of the books against the payments) would otherwise
// each see a different moment and disagree. On PostgreSQL the transaction
// is REPEATABLE READ (one snapshot for all its statements; READ COMMITTED
// takes one per statement); on SQLite a read-only transaction is a plain
// (deferred) BEGIN, which reads one snapshot without taking the write lock
// our IMMEDIATE writers take. Inside an atomic request fn simply joins it.
func (s *Store) inSnapshot(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, nested := atomicFrom(ctx); nested {
		return fn(ctx)
	}
	opts := &sql.TxOptions{ReadOnly: true}
	if s.postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin snapshot: %w", err)
	}
	at := &atomicTx{tx: tx}
	defer func() {
		at.ended = true
		_ = tx.Rollback() // read only: nothing to commit
	}()
	return fn(context.WithValue(ctx, atomicKey{}, at))
}

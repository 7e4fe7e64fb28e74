// Package dbx holds the few database helpers the regulator packages share:
// which engine a bun handle speaks to, transactions retried on
// serialization failures, and duplicate-key detection. The clearing store
// has the same rules unexported; the regulator's tables are its own, so
// they carry their own copy of these twenty lines rather than widen the
// store's API.
package dbx

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// IsPostgres reports whether db talks to PostgreSQL (else SQLite).
func IsPostgres(db bun.IDB) bool { return db.Dialect().Name() == dialect.PG }

// InTx runs fn in one transaction, redoing it from scratch a few times
// when PostgreSQL reports a serialization failure or deadlock, or SQLite
// is busy.
func InTx(ctx context.Context, db *bun.DB, fn func(ctx context.Context, tx bun.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = db.RunInTx(ctx, nil, fn)
		if !retryable(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return err
}

func retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40001" || pg.Code == "40P01"
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		return lite.Code()&0xff == sqlite3.SQLITE_BUSY
	}
	return false
}

// IsUniqueViolation reports whether err is a duplicate key.
func IsUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		return lite.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || lite.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// ForUpdate locks the selected rows on PostgreSQL; SQLite's immediate
// transactions already hold the one write lock.
func ForUpdate(db bun.IDB, q *bun.SelectQuery) *bun.SelectQuery {
	if IsPostgres(db) {
		return q.For("UPDATE")
	}
	return q
}

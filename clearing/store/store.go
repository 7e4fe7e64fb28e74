// Package store persists the clearing domain with uptrace/bun on one schema
// and two engines: SQLite (embedded default, pure-Go driver) and PostgreSQL.
// Every state change is one transaction; domain rules come from package
// clearing, this package only loads, locks and writes.
package store

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"go.opentelemetry.io/otel/trace"
	"io"
	"net"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/compliance"
)

// Options tune a Store.
type Options struct {
	// ReleaseAfter is the default auto-release deadline of a held payment.
	ReleaseAfter time.Duration
	// Now is the clock; tests move it. Defaults to time.Now.
	Now func() time.Time
	// FX prices cross-currency payments; without a Book they are refused.
	FX FXOptions
	// Screener screens every payment before it is held (screening.go);
	// nil holds payments unscreened.
	Screener *compliance.Screener
	// Refunds builds the file telling a buyer's bank that its payment was
	// refunded (a pacs.004: messages/inbound.RefundFile), written with the
	// refund (refunds.go). Without it a refund fails: it is never booked
	// without telling the bank.
	Refunds RefundFile
	// Pool sizes the connection pool; zero values take the defaults.
	Pool Pool
}

// Pool sizes a store's connection pool.
type Pool struct {
	MaxConns    int           // PostgreSQL: 0 is DefaultMaxConns(); SQLite: 0 is 4
	MaxIdle     int           // 0 keeps every connection open while idle
	MaxLifetime time.Duration // 0 reuses a connection for ever
}

// DefaultMaxConns is the PostgreSQL pool's default size: 4 connections per
// CPU, at least 16. A request with an Idempotency-Key holds its connection
// from claim to commit, and the CPU, not the database, is what limits how
// many such requests this process can move along at once.
func DefaultMaxConns() int { return max(16, 4*runtime.GOMAXPROCS(0)) }

// apply sizes db's pool; def is the engine's default size.
func (p Pool) apply(db *sql.DB, def int) {
	n := cmp.Or(p.MaxConns, def)
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(cmp.Or(p.MaxIdle, n))
	db.SetConnMaxLifetime(p.MaxLifetime)
}

// DefaultReleaseAfter is how long a held payment waits for the buyer before
// it is released to the merchant.
const DefaultReleaseAfter = 15 * 24 * time.Hour

// Store is the clearing database.
type Store struct {
	db           *bun.DB
	dsn          string
	postgres     bool
	keys         *keyCache // nil: Authenticate asks the database every time
	releaseAfter time.Duration
	clock        func() time.Time
	fx           FXOptions
	screener     *compliance.Screener
	refundFile   RefundFile

	ratesMu     sync.Mutex // serialises rate loads, so that ratesLoaded only moves forward
	ratesLoaded time.Time  // when the rates were last loaded into the book

	capObserver atomic.Pointer[CapObserver] // told of cap usage after holds (limits.go)

	detail hotQuery      // PaymentDetail's query (detail.go)
	unnest unnestInserts // a batch's inserts on PostgreSQL (bulk.go)
}

// Open connects to dsn: a postgres:// or postgresql:// URL, or else a SQLite
// file path (optionally prefixed with sqlite:). It does not migrate.
func Open(ctx context.Context, dsn string, opt Options) (*Store, error) {
	s := &Store{dsn: dsn, releaseAfter: opt.ReleaseAfter, clock: opt.Now, fx: opt.FX.withDefaults(), screener: opt.Screener, refundFile: opt.Refunds}
	if s.releaseAfter <= 0 {
		s.releaseAfter = DefaultReleaseAfter
	}
	if err := s.fx.validate(); err != nil {
		return nil, err
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if IsPostgres(dsn) {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres %s: %w", Redact(dsn), err)
		}
		cfg.OnPgError = closeUnlessPrimary
		sqldb := stdlib.OpenDB(*cfg)
		opt.Pool.apply(sqldb, DefaultMaxConns())
		s.db, s.postgres = bun.NewDB(sqldb, pgdialect.New()), true
	} else {
		sqldb, err := sql.Open("sqlite", sqliteDSN(dsn))
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
		}
		// One writer at a time is SQLite's model; a small pool still lets
		// readers run beside it under WAL.
		opt.Pool.apply(sqldb, 4)
		s.db = bun.NewDB(sqldb, sqlitedialect.New())
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("connect to %s: %w", Redact(dsn), err)
	}
	s.detail.text = paymentDetailQuery(s.postgres)
	return s, nil
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Redact hides the password of a database URL, for logs.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return dsn
}

// sqliteDSN turns a path into a modernc DSN: WAL for concurrent readers,
// IMMEDIATE transactions so two writers queue on busy_timeout instead of
// failing on a read-to-write upgrade, foreign keys on.
func sqliteDSN(path string) string {
	path = strings.TrimPrefix(path, "sqlite:")
	path = strings.TrimPrefix(path, "//")
	if !strings.HasPrefix(path, "file:") {
		path = "file:" + path
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
}

// Engine names the database engine: "postgres" or "sqlite".
func (s *Store) Engine() string {
	if s.postgres {
		return "postgres"
	}
	return "sqlite"
}

// DB exposes the bun handle for benchmarks and tools.
func (s *Store) DB() *bun.DB { return s.db }

// Close releases the connection pool.
func (s *Store) Close() error { return errors.Join(s.detail.close(), s.db.Close()) }

// Ping checks the database answers: /readyz.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.db.NewRaw("SELECT 1").Scan(ctx, &one)
}

// Now is the store's clock, as now.
func (s *Store) Now() time.Time { return s.now() }

// now is the store's clock at microsecond precision (what PostgreSQL keeps),
// in UTC, so that what is written reads back equal.
func (s *Store) now() time.Time { return s.clock().UTC().Truncate(time.Microsecond) }

// inTx runs fn in one transaction, retrying a few times when PostgreSQL
// reports a serialization failure or deadlock (the work is then redone from
// scratch, so nothing is applied twice). Inside an atomic request (ctx from
// Atomically) the transaction is a savepoint of the request's: a refusal
// or a retry undoes only fn's own work.
func (s *Store) inTx(ctx context.Context, fn func(tx bun.Tx) error) (err error) {
	var db bun.IDB = s.db
	if at, ok := atomicFrom(ctx); ok {
		db = at.tx
	} else {
		var span trace.Span
		ctx, span = s.startTx(ctx)
		defer func() { endTx(span, err) }()
	}
	for attempt := 0; attempt < 5; attempt++ {
		err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return fn(tx) })
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
		return lite.Code() == sqlite3.SQLITE_BUSY || lite.Code()&0xff == sqlite3.SQLITE_BUSY
	}
	return false
}

// Unavailable reports whether err says the database could not do the work
// now — busy past the busy timeout, unreachable, shutting down, or a
// primary demoted to read-only by a failover — rather than refusing it:
// nothing was changed, and the same request may succeed in a moment.
func Unavailable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return strings.HasPrefix(pg.Code, "08") || // connection exception
			pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03" || // shutdown, crash, cannot connect now
			pg.Code == "25006" // read-only transaction: this server is no longer the primary
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err) { // pgx: the server went away mid-conversation
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		code := lite.Code() & 0xff
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
	}
	return false
}

// isUniqueViolation reports whether err is a duplicate key.
func isUniqueViolation(err error) bool {
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

// forUpdate locks selected rows on PostgreSQL; SQLite's IMMEDIATE
// transactions already hold the single write lock.
func (s *Store) forUpdate(q *bun.SelectQuery) *bun.SelectQuery {
	if s.postgres {
		return q.For("UPDATE")
	}
	return q
}

func notFound(what, field, id string) error {
	return clearing.Errorf(clearing.NotFound, what+"_not_found", field, "no %s %s", what, id)
}

func nullTime(t time.Time) bun.NullTime { return bun.NullTime{Time: t} }

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

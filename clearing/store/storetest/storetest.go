// Package storetest opens fresh, migrated stores on every engine for tests:
// a SQLite file in the test's temp dir and a PostgreSQL schema of its own.
// PostgreSQL comes from CROSSCLEAR_TEST_POSTGRES (default: the local server
// at 127.0.0.1:5432, database test). It is never skipped: a test run without
// PostgreSQL fails and says how to start it.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/inbound"
)

// DefaultPostgres is used when CROSSCLEAR_TEST_POSTGRES is not set.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL is the server tests use.
func PostgresURL() string {
	if u := os.Getenv("CROSSCLEAR_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultPostgres
}

// Engines are the engines every store test runs on.
var Engines = []string{"sqlite", "postgres"}

// Open returns a fresh migrated store on engine, closed (and its schema
// dropped) when the test ends.
func Open(t testing.TB, engine string, opt store.Options) *store.Store {
	t.Helper()
	dsn := DSN(t, engine)
	if opt.Refunds == nil {
		opt.Refunds = inbound.RefundFile(inbound.DefaultOperatorBIC) // as serve: every refund writes its pacs.004
	}
	s, err := store.Open(context.Background(), dsn, opt)
	if err != nil {
		t.Fatalf("open %s store: %v", engine, err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s store: %v", engine, err)
	}
	return s
}

// DSN returns a connection string to an empty database on engine.
func DSN(t testing.TB, engine string) string {
	t.Helper()
	switch engine {
	case "sqlite":
		return filepath.Join(t.TempDir(), "crossclear.db")
	case "postgres":
		return freshSchema(t)
	}
	t.Fatalf("unknown engine %q", engine)
	return ""
}

// freshSchema creates a schema of its own and returns a URL whose
// search_path points at it.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := PostgresURL()
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("PostgreSQL at %s is needed for the store tests (start it, or set CROSSCLEAR_TEST_POSTGRES; scripts/test does both): %v", base, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("CROSSCLEAR_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

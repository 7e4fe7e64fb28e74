package store_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// TestUnavailable: real errors of a database that cannot work now (SQLite
// busy, a PostgreSQL server that is read-only after a failover, or not
// there) are told apart from refusals, which a retry would not cure.
func TestUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)&_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	if _, err := a.Exec("CREATE TABLE t (x INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	holder, err := a.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	_, busy := b.Exec("INSERT INTO t VALUES (1)")
	if busy == nil || !store.Unavailable(busy) {
		t.Fatalf("SQLite writer while another holds the lock: %v", busy)
	}
	if _, err := holder.ExecContext(ctx, "INSERT INTO t VALUES (1); COMMIT"); err != nil {
		t.Fatal(err)
	}
	_, dup := b.Exec("INSERT INTO t VALUES (1)")
	if dup == nil || store.Unavailable(dup) {
		t.Fatalf("a duplicate key is a refusal, not unavailability: %v", dup)
	}

	pg, err := sql.Open("pgx", storetest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	tx, err := pg.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_, readOnly := tx.Exec("CREATE TABLE crossclear_read_only_probe (x INTEGER)")
	tx.Rollback()
	if readOnly == nil || !store.Unavailable(readOnly) {
		t.Fatalf("a write on a read-only server: %v", readOnly)
	}
	_, syntax := pg.Exec("SELEC 1")
	if syntax == nil || store.Unavailable(syntax) {
		t.Fatalf("a syntax error is ours, not unavailability: %v", syntax)
	}
	gone, err := sql.Open("pgx", "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer gone.Close()
	if err := gone.PingContext(ctx); err == nil || !store.Unavailable(err) {
		t.Fatalf("no server: %v", err)
	}
}

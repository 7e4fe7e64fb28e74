package store_test

import (
	"context"
	"testing"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// A connection that answers "read-only transaction" (25006) reached a
// server that is no longer the primary: the error is a 503 (Unavailable)
// and the pool throws the connection away, so the next request gets a
// fresh one rather than the same refusal for ever. The session here is
// made read-only by hand, as a demoted primary's would be.
func TestReadOnlyConnectionIsDiscarded(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, "postgres", store.Options{Pool: store.Pool{MaxConns: 1}})
	if err := s.Primary(ctx); err != nil {
		t.Fatalf("Primary on a primary: %v", err)
	}
	if _, err := s.DB().ExecContext(ctx, "SET SESSION default_transaction_read_only = on"); err != nil {
		t.Fatal(err)
	}
	_, err := s.DB().ExecContext(ctx, "CREATE TABLE ro_probe (x int)")
	if err == nil {
		t.Fatal("a write on a read-only session succeeded")
	}
	if !store.Unavailable(err) {
		t.Fatalf("a 25006 is not Unavailable (a 503): %v", err)
	}
	var ro string
	if err := s.DB().QueryRowContext(ctx, "SHOW default_transaction_read_only").Scan(&ro); err != nil {
		t.Fatal(err)
	}
	if ro != "off" {
		t.Fatalf("the pool kept the read-only connection (default_transaction_read_only = %s)", ro)
	}
	if _, err := s.DB().ExecContext(ctx, "CREATE TABLE ro_probe (x int)"); err != nil {
		t.Fatalf("a write after the read-only connection was dropped: %v", err)
	}
}

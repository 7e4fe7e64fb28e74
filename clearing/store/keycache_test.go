package store_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// TestKeyCacheRevocation: a cached key is refused at once after its own
// process revokes it; a revocation by another process is seen within the
// TTL (SQLite, moved clock) — and on PostgreSQL at once, told by NOTIFY,
// with a TTL of an hour so that only the notification can explain it.
func TestKeyCacheRevocation(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := newClock()
			dsn := storetest.DSN(t, engine)
			open := func() *store.Store {
				s, err := store.Open(ctx, dsn, store.Options{Now: c.now})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				if _, err := s.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				return s
			}
			node1, node2 := open(), open()
			ttl := time.Hour
			if engine == "sqlite" {
				ttl = 5 * time.Second
			}
			log := slog.New(slog.DiscardHandler)
			node1.CacheAPIKeys(ctx, ttl, log)
			node2.CacheAPIKeys(ctx, ttl, log)
			mk := func() (store.APIKey, string) {
				k, secret, err := node1.CreateAPIKey(ctx, clearing.RoleOperator, "", "cached", storetest.Operator)
				if err != nil {
					t.Fatal(err)
				}
				return k, secret
			}
			authenticates := func(s *store.Store, secret string) bool {
				_, err := s.Authenticate(ctx, secret)
				return err == nil
			}
			// PostgreSQL caches only once its listener is up.
			waitFor(t, func() bool { return node1.CachingAPIKeys() && node2.CachingAPIKeys() })

			// Revoked by the process itself: refused at once.
			k, secret := mk()
			if !authenticates(node1, secret) || !authenticates(node1, secret) {
				t.Fatal("a live key is refused")
			}
			if err := node1.RevokeAPIKey(ctx, k.ID, storetest.Operator); err != nil {
				t.Fatal(err)
			}
			if authenticates(node1, secret) {
				t.Fatal("the revoking process still accepts the key")
			}

			// Revoked by another process.
			k, secret = mk()
			if !authenticates(node2, secret) {
				t.Fatal("a live key is refused")
			}
			if err := node1.RevokeAPIKey(ctx, k.ID, storetest.Operator); err != nil {
				t.Fatal(err)
			}
			if engine == "postgres" {
				waitFor(t, func() bool { return !authenticates(node2, secret) })
				return
			}
			if !authenticates(node2, secret) {
				t.Fatal("SQLite: another process's revocation seen before the TTL: is the cache used at all?")
			}
			c.advance(ttl)
			if authenticates(node2, secret) {
				t.Fatal("SQLite: still accepted after the TTL")
			}
		})
	}
}

// waitFor polls cond for up to 5 s: for what another process tells us.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("not within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

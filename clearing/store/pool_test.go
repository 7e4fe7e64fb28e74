package store_test

import (
	"testing"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// TestPoolSize: the pool is what the configuration says, else the
// engine's default (PostgreSQL: derived from the machine; SQLite: 4).
func TestPoolSize(t *testing.T) {
	for _, tc := range []struct {
		engine string
		pool   store.Pool
		want   int
	}{
		{"postgres", store.Pool{}, store.DefaultMaxConns()},
		{"postgres", store.Pool{MaxConns: 7}, 7},
		{"sqlite", store.Pool{}, 4},
		{"sqlite", store.Pool{MaxConns: 2}, 2},
	} {
		s := storetest.Open(t, tc.engine, store.Options{Pool: tc.pool})
		if got := s.DB().Stats().MaxOpenConnections; got != tc.want {
			t.Errorf("%s %+v: %d connections, want %d", tc.engine, tc.pool, got, tc.want)
		}
	}
	if store.DefaultMaxConns() < 16 {
		t.Errorf("default pool %d, want at least 16", store.DefaultMaxConns())
	}
}

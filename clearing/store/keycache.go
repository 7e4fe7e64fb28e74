package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// The API key cache spares every request a database round trip to
// authenticate. A cached key is trusted for at most the cache's TTL, so a
// revocation made by any process takes effect within it; the process that
// revokes forgets the key at once, and on PostgreSQL every process does:
// RevokeAPIKey notifies keyRevokedChannel in its transaction, and each
// cache listens (delivered on commit). While the listener is not connected
// the cache keeps nothing, so the TTL bound never depends on it.

// keyRevokedChannel is the PostgreSQL NOTIFY channel of revocations; the
// payload is the revoked key's hash.
const keyRevokedChannel = "crossclear_api_key_revoked"

// DefaultKeyCacheTTL bounds how long a revoked key may still authenticate
// on a process that was not told (SQLite beside other processes, or a lost
// PostgreSQL listener).
const DefaultKeyCacheTTL = 5 * time.Second

type keyCache struct {
	ttl   time.Duration
	clock func() time.Time

	mu      sync.Mutex
	keys    map[string]cachedKey // by hash
	enabled bool                 // false while PostgreSQL's listener is down
}

type cachedKey struct {
	key   APIKey
	until time.Time
}

// maxCachedKeys bounds the cache; past it, it starts again empty.
const maxCachedKeys = 100_000

func (c *keyCache) get(hash string) (APIKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.keys[hash]
	if !ok || !c.clock().Before(k.until) {
		return APIKey{}, false
	}
	return k.key, true
}

func (c *keyCache) put(hash string, k APIKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.enabled {
		return
	}
	if len(c.keys) >= maxCachedKeys {
		clear(c.keys)
	}
	c.keys[hash] = cachedKey{key: k, until: c.clock().Add(c.ttl)}
}

func (c *keyCache) forget(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.keys, hash)
}

// setEnabled turns caching on or off; off also forgets every key.
func (c *keyCache) setEnabled(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.enabled = on
	if !on {
		clear(c.keys)
	}
}

// CacheAPIKeys makes Authenticate keep keys for up to ttl (0:
// DefaultKeyCacheTTL). On PostgreSQL it listens for revocations from every
// process until ctx ends, and caches only while it listens. serve calls
// it; short-lived commands go to the database every time.
func (s *Store) CacheAPIKeys(ctx context.Context, ttl time.Duration, log *slog.Logger) {
	if ttl <= 0 {
		ttl = DefaultKeyCacheTTL
	}
	c := &keyCache{ttl: ttl, clock: s.clock, keys: map[string]cachedKey{}, enabled: !s.postgres}
	s.keys = c
	if s.postgres {
		go s.listenForRevocations(ctx, c, log)
	}
}

// CachingAPIKeys reports whether Authenticate uses the cache now: on
// PostgreSQL only while the revocation listener is connected.
func (s *Store) CachingAPIKeys() bool {
	if s.keys == nil {
		return false
	}
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	return s.keys.enabled
}

// listenForRevocations holds a connection of its own on LISTEN and forgets
// each key revoked anywhere; it reconnects with backoff, caching nothing
// meanwhile.
func (s *Store) listenForRevocations(ctx context.Context, c *keyCache, log *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listen(ctx, c)
		c.setEnabled(false)
		if ctx.Err() != nil {
			return
		}
		log.Warn("API key cache off: revocation listener lost", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func (s *Store) listen(ctx context.Context, c *keyCache) error {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+keyRevokedChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	c.setEnabled(true) // only now: a revocation from here on reaches us
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("wait for notification: %w", err)
		}
		c.forget(n.Payload)
	}
}

// Package ratelimit keeps token buckets by identity (an API key, a client
// address) in bounded memory, on an injectable clock. The regulator
// gateway limits requests with it, the main API failed authentications.
package ratelimit

import (
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// MaxTracked bounds the buckets kept. Past it, full buckets are dropped (a
// full bucket is the same as a fresh one); if that is not enough, so are
// arbitrary others: forgetting some debts beats growing without bound.
const MaxTracked = 10_000

// Buckets are token buckets by identity: each holds up to burst tokens and
// refills at limit tokens a second.
type Buckets struct {
	mu    sync.Mutex
	limit rate.Limit
	burst int
	now   func() time.Time
	by    map[string]*rate.Limiter
}

// New makes buckets of burst tokens refilled at limit a second; now is the
// clock (nil: time.Now).
func New(limit rate.Limit, burst int, now func() time.Time) *Buckets {
	if now == nil {
		now = time.Now
	}
	return &Buckets{limit: limit, burst: burst, now: now, by: map[string]*rate.Limiter{}}
}

// PerWindow makes buckets that allow n events in any window (n at once,
// then one every window/n): after a burst, full again one window later.
func PerWindow(n int, window time.Duration, now func() time.Time) *Buckets {
	return New(rate.Limit(float64(n)/window.Seconds()), n, now)
}

// Allow takes a token from id's bucket, reporting whether there was one.
func (b *Buckets) Allow(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	lim, ok := b.by[id]
	if !ok {
		b.evict()
		lim = rate.NewLimiter(b.limit, b.burst)
		b.by[strings.Clone(id)] = lim // id may live in a buffer the server reuses (fiber's c.Get)
	}
	return lim.AllowN(b.now(), 1)
}

// Peek reports whether id has a token left, without taking it (nor
// remembering id).
func (b *Buckets) Peek(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	lim, ok := b.by[id]
	return !ok || lim.TokensAt(b.now()) >= 1
}

// RetryAfter is how long until id has a token again, in whole seconds, at
// least 1: what a Retry-After header says.
func (b *Buckets) RetryAfter(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	lim, ok := b.by[id]
	if !ok || b.limit <= 0 {
		return 1
	}
	missing := 1 - lim.TokensAt(b.now())
	return max(1, int(math.Ceil(missing/float64(b.limit))))
}

// Len is how many identities are tracked.
func (b *Buckets) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.by)
}

// evict makes room for one more bucket; b.mu is held.
func (b *Buckets) evict() {
	if len(b.by) < MaxTracked {
		return
	}
	now := b.now()
	for id, lim := range b.by {
		if lim.TokensAt(now) >= float64(b.burst) {
			delete(b.by, id)
		}
	}
	for id := range b.by { // map order: arbitrary victims
		if len(b.by) < MaxTracked*9/10 {
			break
		}
		delete(b.by, id)
	}
}

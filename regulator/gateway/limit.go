package gateway

import (
	"math"
	"sync"

	"golang.org/x/time/rate"
)

// maxTracked bounds the limiters kept: past it the idle ones are dropped
// (a full bucket is the same as a fresh one).
const maxTracked = 10_000

// limiters are token buckets by identity (API key id, client address).
type limiters struct {
	mu    sync.Mutex
	limit rate.Limit
	burst int
	by    map[string]*rate.Limiter
}

func newLimiters(perMinute, burst int) *limiters {
	return &limiters{limit: rate.Limit(float64(perMinute) / 60), burst: burst, by: map[string]*rate.Limiter{}}
}

func (l *limiters) get(id string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.by[id]
	if !ok {
		if len(l.by) >= maxTracked {
			for k, v := range l.by {
				if v.Tokens() >= float64(l.burst) {
					delete(l.by, k)
				}
			}
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.by[id] = lim
	}
	return lim
}

// allow takes a token for id.
func (l *limiters) allow(id string) bool { return l.get(id).Allow() }

// peek reports whether id has a token left, without taking it.
func (l *limiters) peek(id string) bool { return l.get(id).Tokens() >= 1 }

// retryAfter is how many seconds until id has a token again.
func (l *limiters) retryAfter(id string) int {
	missing := 1 - l.get(id).Tokens()
	if missing <= 0 {
		return 1
	}
	return int(math.Ceil(missing / float64(l.limit)))
}

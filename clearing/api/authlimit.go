package api

import (
	"cmp"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing/ratelimit"
)

// AuthLimit bounds failed authentications (an unknown or revoked key), per
// client address and per presented key, so that keys cannot be guessed at
// database speed. Past the limit the answer is 429 with Retry-After, before
// the database is asked; requests that authenticate take nothing from it.
type AuthLimit struct {
	// Failures allowed in any Window, from one address and against one
	// key (default 20; negative: no limit). After a burst of Failures,
	// one more is allowed every Window/Failures.
	Failures int
	Window   time.Duration // default 1m
	Now      func() time.Time
}

// Defaults of AuthLimit: a client with a wrong or revoked key finds out
// long before it is limited; a guesser gets 20 tries a minute.
const (
	DefaultAuthFailures = 20
	DefaultAuthWindow   = time.Minute
)

// presentedKeyLen is how much of a presented secret names "the key" it is
// guessed against: "cck_" and 8 hex digits. Failures with the same start
// from many addresses (a distributed guess, a botnet replaying a revoked
// key) are limited together; a real key with that start is slowed with
// them, which is the point.
const presentedKeyLen = 12

// authLimiter counts failed authentications; nil counts nothing.
type authLimiter struct {
	addrs, keys *ratelimit.Buckets
}

func newAuthLimiter(cfg AuthLimit) *authLimiter {
	if cfg.Failures < 0 {
		return nil
	}
	n, w := cmp.Or(cfg.Failures, DefaultAuthFailures), cfg.Window
	if w <= 0 {
		w = DefaultAuthWindow
	}
	return &authLimiter{addrs: ratelimit.PerWindow(n, w, cfg.Now), keys: ratelimit.PerWindow(n, w, cfg.Now)}
}

func presentedKey(secret string) string {
	if len(secret) > presentedKeyLen {
		return secret[:presentedKeyLen]
	}
	return secret
}

// check answers 429 when addr or the presented key failed too often.
func (l *authLimiter) check(c *fiber.Ctx, addr, secret string) error {
	if l == nil {
		return nil
	}
	wait := 0
	if !l.addrs.Peek(addr) {
		wait = l.addrs.RetryAfter(addr)
	}
	if key := presentedKey(secret); secret != "" && !l.keys.Peek(key) {
		wait = max(wait, l.keys.RetryAfter(key))
	}
	if wait == 0 {
		return nil
	}
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(wait))
	return newError(http.StatusTooManyRequests, "rate_limited", "Authorization",
		"too many failed authentications from this address or with this key: retry in %d s", wait)
}

// failed records a failed authentication.
func (l *authLimiter) failed(addr, secret string) {
	if l == nil {
		return
	}
	l.addrs.Allow(addr)
	l.keys.Allow(presentedKey(secret))
}

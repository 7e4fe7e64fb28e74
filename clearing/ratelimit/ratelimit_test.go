package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestPerWindow: n events pass, the next is refused with a Retry-After
// that is right, and a window later the bucket is full again.
func TestPerWindow(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	b := PerWindow(3, time.Minute, c.now)
	if !b.Peek("a") || b.Len() != 0 {
		t.Fatal("peeking an unknown id must pass and remember nothing")
	}
	for i := range 3 {
		if !b.Allow("a") {
			t.Fatalf("event %d refused", i+1)
		}
	}
	if b.Peek("a") || b.Allow("a") {
		t.Fatal("a 4th event within the window passed")
	}
	if got := b.RetryAfter("a"); got != 20 {
		t.Fatalf("Retry-After %d, want 20 (one token every 20 s)", got)
	}
	if !b.Allow("b") {
		t.Fatal("another id is limited too")
	}
	c.t = c.t.Add(time.Minute)
	for i := range 3 {
		if !b.Allow("a") {
			t.Fatalf("a window later, event %d refused", i+1)
		}
	}
}

// TestBounded: however many identities come, the buckets kept stay under
// MaxTracked.
func TestBounded(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	b := PerWindow(1, time.Hour, c.now)
	for i := range 3 * MaxTracked {
		b.Allow(fmt.Sprint("addr-", i)) // every bucket empty: nothing is free to drop
	}
	if n := b.Len(); n > MaxTracked {
		t.Fatalf("%d buckets kept, want at most %d", n, MaxTracked)
	}
}

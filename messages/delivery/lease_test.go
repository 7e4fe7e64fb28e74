package delivery_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/messages/delivery"
)

// Two workers (two serve processes) share one destination: only one holds
// it at a time; one that stalled past its lease learns it lost it and can
// neither extend nor release the new holder's lease.
func TestLeaseOneHolderAtATime(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			s := storetest.Open(t, engine, store.Options{})
			ts := "TIMESTAMP WITH TIME ZONE"
			if engine == "sqlite" {
				ts = "TIMESTAMP"
			}
			if _, err := s.DB().ExecContext(ctx, "CREATE TABLE lease_probe (id TEXT PRIMARY KEY, leased_until "+ts+")"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB().ExecContext(ctx, "INSERT INTO lease_probe (id) VALUES ('dest')"); err != nil {
				t.Fatal(err)
			}
			t0 := time.Date(2026, 12, 6, 8, 0, 0, 123456789, time.UTC)
			a := &delivery.Lease{DB: s.DB(), Table: "lease_probe", ID: "dest", For: time.Minute}
			b := &delivery.Lease{DB: s.DB(), Table: "lease_probe", ID: "dest", For: time.Minute}

			if ok, err := a.Claim(ctx, t0); err != nil || !ok {
				t.Fatalf("a claims a free destination: %v %v", ok, err)
			}
			if ok, err := b.Claim(ctx, t0.Add(30*time.Second)); err != nil || ok {
				t.Fatalf("b claims while a holds it: %v %v, want false", ok, err)
			}
			if err := a.Extend(ctx, t0.Add(50*time.Second)); err != nil {
				t.Fatalf("a extends its lease: %v", err)
			}
			if ok, err := b.Claim(ctx, t0.Add(70*time.Second)); err != nil || ok {
				t.Fatalf("b claims within a's extension: %v %v, want false", ok, err)
			}
			// a stalls; its lease runs out and b takes the destination.
			if ok, err := b.Claim(ctx, t0.Add(3*time.Minute)); err != nil || !ok {
				t.Fatalf("b claims after a's lease ran out: %v %v", ok, err)
			}
			if err := a.Extend(ctx, t0.Add(3*time.Minute)); !errors.Is(err, delivery.ErrLeaseLost) {
				t.Fatalf("a extends after losing the lease: %v, want ErrLeaseLost", err)
			}
			if err := a.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if ok, err := a.Claim(ctx, t0.Add(3*time.Minute+time.Second)); err != nil || ok {
				t.Fatalf("a claims again while b holds it (a's release must not have freed b's lease): %v %v", ok, err)
			}
			if err := b.Extend(ctx, t0.Add(3*time.Minute+2*time.Second)); err != nil {
				t.Fatalf("b extends: %v", err)
			}
			if err := b.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if ok, err := a.Claim(ctx, t0.Add(3*time.Minute+3*time.Second)); err != nil || !ok {
				t.Fatalf("a claims after b released: %v %v", ok, err)
			}
		})
	}
}

// probe makes a table of one destination, as a worker's table has.
func probe(t *testing.T, engine string) *store.Store {
	t.Helper()
	ctx := context.Background()
	s := storetest.Open(t, engine, store.Options{})
	ts := "TIMESTAMP WITH TIME ZONE"
	if engine == "sqlite" {
		ts = "TIMESTAMP"
	}
	for _, q := range []string{"CREATE TABLE lease_probe (id TEXT PRIMARY KEY, leased_until " + ts + ")", "INSERT INTO lease_probe (id) VALUES ('dest')"} {
		if _, err := s.DB().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// A node killed while it held a destination (it claimed, then never
// extended) holds it up only for a worker's lease, not minutes.
func TestKilledHolderIsTakenOverWithinTheLease(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			s := probe(t, engine)
			t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
			lease := delivery.Worker{}.LeaseFor() // what a worker claims and extends by
			killed := &delivery.Lease{DB: s.DB(), Table: "lease_probe", ID: "dest", For: lease}
			if ok, err := killed.Claim(ctx, t0); err != nil || !ok {
				t.Fatalf("claim: %v %v", ok, err)
			}
			other := &delivery.Lease{DB: s.DB(), Table: "lease_probe", ID: "dest", For: lease}
			at := func(d time.Duration) func() time.Time { return func() time.Time { return t0.Add(d) } }
			ran := false
			work := func(context.Context) error { ran = true; return nil }
			if held, err := other.Hold(ctx, at(lease-time.Second), work); err != nil || held || ran {
				t.Fatalf("another worker took the destination before the lease ran out: held %v, ran %v, %v", held, ran, err)
			}
			if held, err := other.Hold(ctx, at(20*time.Second), work); err != nil || !held || !ran {
				t.Fatalf("20 s after the holder died its destination is still blocked (lease %s): held %v, ran %v, %v", lease, held, ran, err)
			}
		})
	}
}

// A delivery that lasts several leases keeps its destination: the
// heartbeat extends the lease, so no other worker claims it meanwhile,
// and the delivery is not cancelled.
func TestHeartbeatKeepsALongDelivery(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			s := probe(t, engine)
			const lease = 600 * time.Millisecond
			a := &delivery.Lease{DB: s.DB(), Table: "lease_probe", ID: "dest", For: lease}
			b := &delivery.Lease{DB: s.DB(), Table: "lease_probe", ID: "dest", For: lease}
			held, err := a.Hold(ctx, time.Now, func(ctx context.Context) error {
				for end := time.Now().Add(5 * lease); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
					if held, err := b.Hold(ctx, time.Now, func(context.Context) error { return nil }); err != nil || held {
						t.Errorf("b took the destination during a's delivery: %v %v", held, err)
						return nil
					}
				}
				return context.Cause(ctx)
			})
			if err != nil || !held {
				t.Fatalf("a's long delivery: held %v, %v", held, err)
			}
			if held, err := b.Hold(ctx, time.Now, func(context.Context) error { return nil }); err != nil || !held {
				t.Fatalf("b after a's delivery ended (a released it): %v %v", held, err)
			}
		})
	}
}

// A holder that lost its lease — another worker took the destination
// after this one stalled, or no heartbeat got through before it ran out —
// has its delivery cancelled with ErrLeaseLost, and does not free the new
// holder's lease.
func TestHolderThatLostItsLeaseStops(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			s := probe(t, engine)
			const lease = 600 * time.Millisecond
			a := &delivery.Lease{DB: s.DB(), Table: "lease_probe", ID: "dest", For: lease}
			b := &delivery.Lease{DB: s.DB(), Table: "lease_probe", ID: "dest", For: time.Hour}

			// Taken over: b's clock says a's lease ran out (a stalled).
			start := time.Now()
			held, err := a.Hold(ctx, time.Now, func(ctx context.Context) error {
				if ok, err := b.Claim(ctx, time.Now().Add(time.Minute)); err != nil || !ok {
					t.Fatalf("b takes the destination: %v %v", ok, err)
				}
				inFlight(ctx, 5*lease) // cancelled when the heartbeat finds the lease lost
				if !delivery.LeaseLost(ctx) {
					t.Errorf("a's delivery ended for %v, want ErrLeaseLost", context.Cause(ctx))
				}
				return context.Cause(ctx)
			})
			if !held || !errors.Is(err, delivery.ErrLeaseLost) {
				t.Fatalf("a after losing its lease: held %v, %v; want ErrLeaseLost", held, err)
			}
			if took := time.Since(start); took > lease {
				t.Errorf("a stopped %s after losing its lease, want within the heartbeat (%s)", took, lease/3)
			}
			if err := b.Extend(ctx, time.Now().Add(time.Minute)); err != nil {
				t.Fatalf("b still holds the destination after a stopped: %v", err)
			}
			if err := b.Release(ctx); err != nil {
				t.Fatal(err)
			}

			// Cut off: a's heartbeats stop getting through (its clock, read
			// before each Extend, hangs for two leases), so it must give up
			// by its own expiry, before anyone else could claim.
			var claimed atomic.Bool
			now := func() time.Time {
				if claimed.Load() {
					time.Sleep(2 * lease)
				}
				return time.Now()
			}
			start = time.Now()
			var gaveUp time.Duration
			held, err = a.Hold(ctx, now, func(ctx context.Context) error {
				claimed.Store(true)
				inFlight(ctx, 5*lease)
				gaveUp = time.Since(start)
				return context.Cause(ctx)
			})
			if !held || !errors.Is(err, delivery.ErrLeaseLost) {
				t.Fatalf("a without heartbeats: held %v, %v; want ErrLeaseLost", held, err)
			}
			if gaveUp > lease+100*time.Millisecond {
				t.Errorf("a without heartbeats went on %s, past its lease of %s", gaveUp, lease)
			}
		})
	}
}

// inFlight is a delivery that lasts until ctx ends, or at most d.
func inFlight(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

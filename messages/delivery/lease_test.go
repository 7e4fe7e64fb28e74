package delivery_test

import (
	"context"
	"errors"
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

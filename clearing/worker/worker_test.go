package worker

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

// clock is a store clock that tests move.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const releaseAfter = 15 * 24 * time.Hour

// openStore opens and migrates another handle on dsn, as a second process would.
func openStore(t *testing.T, dsn string, c *clock) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn, store.Options{ReleaseAfter: releaseAfter, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func hold(t *testing.T, s *store.Store, w storetest.World, value string) clearing.Payment {
	t.Helper()
	amt, err := fx.ParseAmount(value, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Hold(context.Background(), clearing.HoldRequest{BuyerBankID: w.Banks[1].ID, MerchantID: w.Merchants[0].ID, Amount: amt}, storetest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func state(t *testing.T, s *store.Store, id string) (clearing.State, []clearing.Event) {
	t.Helper()
	p, evs, err := s.Payment(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p.State, evs
}

func TestAutoReleasePass(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			now := time.Now()
			c := newClock(now.Add(-16 * 24 * time.Hour))
			s := storetest.Open(t, engine, store.Options{ReleaseAfter: releaseAfter, Now: c.Now})
			w := storetest.Seed(t, s)

			due := hold(t, s, w, "120.00")
			disputed := hold(t, s, w, "75.50")
			if _, err := s.Act(ctx, disputed.ID, clearing.Action{Kind: clearing.ActionDispute, Reason: "not delivered"}, storetest.Operator); err != nil {
				t.Fatal(err)
			}
			c.Set(now)
			young := hold(t, s, w, "10.00")

			a := &AutoRelease{Store: s, Logger: quiet}
			n, err := a.Pass(ctx)
			if err != nil || n != 1 {
				t.Fatalf("pass released %d, %v; want 1", n, err)
			}
			st, evs := state(t, s, due.ID)
			if st != clearing.Released || evs[len(evs)-1].Type != clearing.EventAutoReleased || evs[len(evs)-1].Actor != clearing.AutoReleaseWorker.String() {
				t.Fatalf("due payment: %s, last event %+v", st, evs[len(evs)-1])
			}
			if st, _ := state(t, s, disputed.ID); st != clearing.Disputed {
				t.Fatalf("disputed payment is %s, want disputed: a dispute stops the clock", st)
			}
			if st, _ := state(t, s, young.ID); st != clearing.Held {
				t.Fatalf("young payment is %s, want held", st)
			}
			if n, err := a.Pass(ctx); err != nil || n != 0 {
				t.Fatalf("second pass released %d, %v; want 0", n, err)
			}
		})
	}
}

// TestAutoReleaseBatches checks a pass keeps going until nothing is due.
func TestAutoReleaseBatches(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	c := newClock(now.Add(-16 * 24 * time.Hour))
	s := storetest.Open(t, "sqlite", store.Options{ReleaseAfter: releaseAfter, Now: c.Now})
	w := storetest.Seed(t, s)
	for range 7 {
		hold(t, s, w, "1.00")
	}
	c.Set(now)
	n, err := (&AutoRelease{Store: s, Batch: 3, Logger: quiet}).Pass(ctx)
	if err != nil || n != 7 {
		t.Fatalf("pass released %d, %v; want 7 in batches of 3", n, err)
	}
}

func TestAutoReleaseRestart(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			now := time.Now()
			past := now.Add(-16 * 24 * time.Hour)
			c := newClock(now)
			dsn := storetest.DSN(t, engine)
			first := openStore(t, dsn, c)
			w := storetest.Seed(t, first)

			// The first process runs its worker until it has released p1.
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- (&AutoRelease{Store: first, Interval: 10 * time.Millisecond, Logger: quiet}).Run(ctx) }()
			c.Set(past)
			p1 := hold(t, first, w, "50.00")
			c.Set(now)
			waitState(t, first, p1.ID, clearing.Released)
			stop()
			if err := <-done; err != nil {
				t.Fatalf("Run returned %v after cancel, want nil", err)
			}

			// While nothing runs, p2 becomes due.
			c.Set(past)
			p2 := hold(t, first, w, "60.00")
			c.Set(now)
			time.Sleep(50 * time.Millisecond)
			if st, _ := state(t, first, p2.ID); st != clearing.Held {
				t.Fatalf("p2 is %s with no worker running, want held", st)
			}
			first.Close()

			// A new process finds it in the database and releases it.
			second := openStore(t, dsn, c)
			ctx2, stop2 := context.WithCancel(context.Background())
			defer stop2()
			go (&AutoRelease{Store: second, Interval: time.Hour, Logger: quiet}).Run(ctx2)
			waitState(t, second, p2.ID, clearing.Released)
		})
	}
}

func waitState(t *testing.T, s *store.Store, id string, want clearing.State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := state(t, s, id)
		if st == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("payment %s is %s, want %s", id, st, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCycleSchedulerRace runs two schedulers, each on its own store handle
// like two serve processes, and makes both read the old open cycle before
// either closes it: exactly one cycle must close.
func TestCycleSchedulerRace(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			c := newClock(time.Now())
			dsn := storetest.DSN(t, engine)
			a, b := openStore(t, dsn, c), openStore(t, dsn, c)
			const period = time.Hour

			sa := &CycleScheduler{Store: a, Period: period, Now: c.Now, Logger: quiet}
			sb := &CycleScheduler{Store: b, Period: period, Now: c.Now, Logger: quiet}
			if closed, _, err := sa.Tick(ctx); err != nil || closed {
				t.Fatalf("young cycle: closed=%v err=%v, want nothing", closed, err)
			}

			// Both read cycle 1 as due before either closes it.
			var read sync.WaitGroup
			read.Add(2)
			barrier := func(clearing.Cycle) { read.Done(); read.Wait() }
			sa.afterRead, sb.afterRead = barrier, barrier
			c.Add(period + time.Minute)
			type outcome struct {
				closed bool
				cycle  clearing.Cycle
				err    error
			}
			results := make(chan outcome, 2)
			for _, s := range []*CycleScheduler{sa, sb} {
				go func() {
					closed, cy, err := s.Tick(ctx)
					results <- outcome{closed, cy, err}
				}()
			}
			closes := 0
			for range 2 {
				o := <-results
				if o.err != nil {
					t.Fatalf("tick: %v", o.err)
				}
				if o.closed {
					closes++
					if o.cycle.ID != 1 || o.cycle.State == clearing.CycleOpen {
						t.Fatalf("closed %+v, want cycle 1", o.cycle)
					}
				}
			}
			if closes != 1 {
				t.Fatalf("%d schedulers closed a cycle, want exactly 1", closes)
			}
			cur, err := a.CurrentCycle(ctx)
			if err != nil || cur.ID != 2 {
				t.Fatalf("open cycle %d (%v), want 2", cur.ID, err)
			}
			cycles, err := a.Cycles(ctx, 10)
			if err != nil || len(cycles) != 2 {
				t.Fatalf("%d cycles (%v), want 2", len(cycles), err)
			}

			// The new cycle is young for both: nobody closes it.
			sa.afterRead, sb.afterRead = nil, nil
			for _, s := range []*CycleScheduler{sa, sb} {
				if closed, _, err := s.Tick(ctx); err != nil || closed {
					t.Fatalf("young cycle 2: closed=%v err=%v", closed, err)
				}
			}
		})
	}
}

// TestCycleSchedulerRun runs two scheduler loops against one database for
// a while, the clock jumping a period at a time: each period closes one cycle.
func TestCycleSchedulerRun(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx, stop := context.WithCancel(context.Background())
			c := newClock(time.Now())
			dsn := storetest.DSN(t, engine)
			a, b := openStore(t, dsn, c), openStore(t, dsn, c)
			const period = time.Hour
			var wg sync.WaitGroup
			for _, s := range []*store.Store{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sch := &CycleScheduler{Store: s, Period: period, Poll: 5 * time.Millisecond, Now: c.Now, Logger: quiet}
					if err := sch.Run(ctx); err != nil {
						t.Errorf("Run: %v", err)
					}
				}()
			}
			for want := int64(2); want <= 4; want++ {
				c.Add(period)
				deadline := time.Now().Add(10 * time.Second)
				for {
					cur, err := a.CurrentCycle(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					if cur.ID == want {
						break
					}
					if cur.ID > want || time.Now().After(deadline) {
						t.Fatalf("open cycle %d, want %d", cur.ID, want)
					}
					time.Sleep(5 * time.Millisecond)
				}
				time.Sleep(30 * time.Millisecond) // several polls of both: no second close
				if cur, _ := a.CurrentCycle(context.Background()); cur.ID != want {
					t.Fatalf("open cycle %d after a period, want %d", cur.ID, want)
				}
			}
			stop()
			wg.Wait()
		})
	}
}

package push_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/messages/delivery"
	"github.com/crossclear/crossclear/regulator/bundle"
	"github.com/crossclear/crossclear/regulator/internal/regtest"
	"github.com/crossclear/crossclear/regulator/push"
	"github.com/crossclear/crossclear/regulator/verify"
)

// receiver is a regulator's HTTPS endpoint on loopback: it can be down
// (503), or lose its answer after keeping a report; it keeps each report
// once per Idempotency-Key, in arrival order.
type receiver struct {
	mu       sync.Mutex
	down     bool
	dropOnce bool // keep the next report but cut the connection before answering
	keys     []string
	bundles  []bundle.Bundle
	attempts int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if r.down {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(req.Body)
	key := req.Header.Get("Idempotency-Key")
	r.keys = append(r.keys, key)
	seen := false
	for _, b := range r.bundles {
		seen = seen || b.Report == key
	}
	if !seen {
		b, err := bundle.Parse(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.bundles = append(r.bundles, b)
	}
	if r.dropOnce {
		r.dropOnce = false
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (r *receiver) set(f func(r *receiver)) { r.mu.Lock(); defer r.mu.Unlock(); f(r) }

type env struct {
	w      *regtest.World
	rec    *receiver
	srv    *httptest.Server
	outbox *push.Outbox
	worker *push.Worker
}

func newEnv(t *testing.T, engine string) *env {
	t.Helper()
	w := regtest.New(t, engine)
	rec := &receiver{}
	srv := httptest.NewTLSServer(rec)
	t.Cleanup(srv.Close)
	outbox := push.NewOutbox(w.Store.DB(), w.Producer.Log)
	client := srv.Client()
	client.Timeout = 5 * time.Second
	worker := &push.Worker{Outbox: outbox, Archive: w.Producer.Archive, Log: w.Producer.Log, Client: client,
		MinBackoff: 6 * time.Hour, MaxBackoff: 48 * time.Hour, Now: w.Clock.Now, Logger: slog.New(slog.DiscardHandler)}
	return &env{w: w, rec: rec, srv: srv, outbox: outbox, worker: worker}
}

func (e *env) tick(t *testing.T) int {
	t.Helper()
	n, err := e.worker.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDownThenUp: an endpoint registered after cycle 1 gets the
// jurisdiction's history; while it is down the attempts are recorded and
// back off, later reports queue behind; when it is up it receives
// everything in order, each verifiable against the last.
func TestDownThenUp(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t, engine)
			p := e.w.Hold(t, 1, 0, "100.00")
			e.w.Act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease})
			e.w.Close(t)
			e.w.Produce(t)
			ep, err := e.outbox.AddEndpoint(ctx, "SG", e.srv.URL+"/reports", storetest.Operator, e.w.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if ep.Pending != 1 {
				t.Fatalf("a new endpoint has %d reports queued, want SG-cycle-1", ep.Pending)
			}
			e.rec.set(func(r *receiver) { r.down = true })
			if n := e.tick(t); n != 0 {
				t.Fatalf("delivered %d to a down endpoint", n)
			}
			e.w.Close(t)
			e.w.Close(t)
			e.w.Produce(t)
			if n := e.tick(t); n != 0 || e.rec.attempts != 1 {
				t.Fatalf("during the backoff: delivered %d, %d attempts", n, e.rec.attempts)
			}
			ep, _ = e.outbox.Endpoint(ctx, ep.ID)
			if ep.Pending != 3 || !strings.Contains(ep.LastError, "503 Service Unavailable: maintenance") {
				t.Fatalf("endpoint while down: %+v", ep)
			}
			// The backlog's age is its oldest report's: SG-cycle-1, made first.
			first, err := e.w.Producer.Archive.Get(ctx, "SG-cycle-1")
			if err != nil || ep.OldestPending.IsZero() || !ep.OldestPending.Equal(first.CreatedAt) {
				t.Fatalf("oldest pending %v, want SG-cycle-1's %v (%v)", ep.OldestPending, first.CreatedAt, err)
			}
			e.w.Clock.Advance(6 * time.Hour)
			e.rec.set(func(r *receiver) { r.down = false })
			if n := e.tick(t); n != 3 {
				t.Fatalf("delivered %d when back up, want 3", n)
			}
			var ids []string
			for _, b := range e.rec.bundles {
				ids = append(ids, b.Report)
			}
			if strings.Join(ids, " ") != "SG-cycle-1 SG-cycle-2 SG-cycle-3" || strings.Join(e.rec.keys, " ") != "SG-cycle-1 SG-cycle-2 SG-cycle-3" {
				t.Fatalf("received %v with keys %v", ids, e.rec.keys)
			}
			st := verify.State{Seqs: map[string]int64{}}
			for _, b := range e.rec.bundles {
				if st, _, err = verify.Verify(e.w.Keys(t), st, []bundle.Bundle{b}, nil); err != nil {
					t.Fatalf("pushed %s does not verify after the ones before it: %v", b.Report, err)
				}
			}
			ep, _ = e.outbox.Endpoint(ctx, ep.ID)
			if ep.Delivered != 3 || ep.Pending != 0 || ep.DeliveredSize != 9 || ep.LastError != "" || !ep.OldestPending.IsZero() {
				t.Fatalf("endpoint after delivery: %+v", ep)
			}
			ds, err := e.outbox.Deliveries(ctx, ep.ID, 10)
			if err != nil || len(ds) != 4 || ds[3].StatusCode != 503 || ds[3].ReportID != "SG-cycle-1" || ds[0].StatusCode != 202 || ds[2].Attempt != 2 {
				t.Fatalf("deliveries: %+v, %v", ds, err)
			}
			// The next cycle goes out with a proof from the checkpoint it holds.
			e.w.Close(t)
			e.w.Produce(t)
			if n := e.tick(t); n != 1 {
				t.Fatalf("cycle 4: delivered %d", n)
			}
			last := e.rec.bundles[3]
			if last.Consistency == nil || last.Consistency.FromSize != 9 {
				t.Fatalf("cycle 4's bundle has no consistency proof from 9: %+v", last.Consistency)
			}
			if _, _, err := verify.Verify(e.w.Keys(t), st, []bundle.Bundle{last}, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLostAnswerIsRetriedWithTheSameKey: a report the receiver kept but
// whose answer was lost goes again with the same Idempotency-Key, and the
// receiver keeps it once.
func TestLostAnswerIsRetriedWithTheSameKey(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.w.Close(t)
	e.w.Produce(t)
	if _, err := e.outbox.AddEndpoint(context.Background(), "DE", e.srv.URL, storetest.Operator, e.w.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.rec.set(func(r *receiver) { r.dropOnce = true })
	if n := e.tick(t); n != 0 {
		t.Fatalf("an unanswered post counted as delivered")
	}
	e.w.Clock.Advance(6 * time.Hour)
	if n := e.tick(t); n != 1 {
		t.Fatalf("retry: delivered %d", n)
	}
	if strings.Join(e.rec.keys, " ") != "DE-cycle-1 DE-cycle-1" || len(e.rec.bundles) != 1 {
		t.Fatalf("keys %v, kept %d", e.rec.keys, len(e.rec.bundles))
	}
}

// TestWorkersShareEndpoints: workers of several processes deliver each
// report once, in order.
func TestWorkersShareEndpoints(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine)
			for range 4 {
				e.w.Close(t)
			}
			e.w.Produce(t)
			if _, err := e.outbox.AddEndpoint(context.Background(), "US-NY", e.srv.URL, storetest.Operator, e.w.Clock.Now()); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					w := *e.worker
					if _, err := w.Tick(context.Background()); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			e.tick(t) // whatever a losing worker left
			if got := strings.Join(e.rec.keys, " "); got != "US-NY-cycle-1 US-NY-cycle-2 US-NY-cycle-3 US-NY-cycle-4" {
				t.Fatalf("received %s", got)
			}
		})
	}
}

// TestEndpoints: URLs must be https (http on loopback only); a removed
// endpoint gets nothing more.
func TestEndpoints(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "sqlite")
	for _, bad := range []string{"http://regulator.example/in", "ftp://x/y", "https://user:pw@x/y", "/relative", "https://"} {
		if _, err := e.outbox.AddEndpoint(ctx, "SG", bad, storetest.Operator, e.w.Clock.Now()); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	if _, err := e.outbox.AddEndpoint(ctx, "sg", "https://x/y", storetest.Operator, e.w.Clock.Now()); err == nil {
		t.Error("a lower-case jurisdiction was accepted")
	}
	for _, good := range []string{"https://mas.example/crossclear", "http://127.0.0.1:9000/in", "http://localhost/in"} {
		if err := push.CheckURL(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
	ep, err := e.outbox.AddEndpoint(ctx, "SG", e.srv.URL, storetest.Operator, e.w.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.outbox.RemoveEndpoint(ctx, ep.ID, storetest.Operator, e.w.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.w.Close(t)
	e.w.Produce(t)
	if n := e.tick(t); n != 0 || e.rec.attempts != 0 {
		t.Fatalf("a removed endpoint got %d reports", n)
	}
	var audited int
	if err := e.w.Store.DB().NewRaw("SELECT COUNT(*) FROM audit_log WHERE action IN ('regulator.endpoint.add', 'regulator.endpoint.remove')").Scan(ctx, &audited); err != nil || audited != 2 {
		t.Errorf("audited endpoint changes: %d, %v", audited, err)
	}
}

// TestTakenOverPushStops: a worker whose endpoint is taken over while it
// pushes (it stalled past its lease, and another node claimed the
// endpoint) has its push aborted and records nothing more — the new holder
// owns the report's attempts now — and leaves the new holder's lease be.
func TestTakenOverPushStops(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t, engine)
			arrived := make(chan struct{}, 1)
			slow := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body) // then the server notices a client that hangs up
				arrived <- struct{}{}
				select { // a regulator that takes its time
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				w.WriteHeader(http.StatusAccepted)
			}))
			t.Cleanup(slow.Close)
			e.w.Close(t)
			e.w.Produce(t)
			ep, err := e.outbox.AddEndpoint(ctx, "DE", slow.URL, storetest.Operator, e.w.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			w := *e.worker
			w.Client, w.Lease = slow.Client(), 600*time.Millisecond
			w.Client.Timeout = 20 * time.Second
			other := &delivery.Lease{DB: e.w.Store.DB(), Table: "regulator_endpoints", ID: ep.ID, For: time.Hour}
			tookOver := make(chan struct{})
			go func() {
				defer close(tookOver)
				<-arrived
				if ok, err := other.Claim(ctx, e.w.Clock.Now().Add(time.Minute)); err != nil || !ok {
					t.Errorf("the other node takes the endpoint: %v %v", ok, err)
				}
			}()
			start := time.Now()
			n, err := w.Tick(ctx)
			if n != 0 || !errors.Is(err, delivery.ErrLeaseLost) {
				t.Fatalf("the worker that lost its endpoint: delivered %d, %v; want ErrLeaseLost", n, err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the worker pushed on for %s after losing its lease", took)
			}
			<-tookOver
			if ds, err := e.outbox.Deliveries(ctx, ep.ID, 10); err != nil || len(ds) != 0 {
				t.Fatalf("attempts recorded by the worker that lost the endpoint: %+v %v", ds, err)
			}
			if err := other.Extend(ctx, e.w.Clock.Now().Add(time.Minute)); err != nil {
				t.Fatalf("the new holder's lease: %v", err)
			}
		})
	}
}

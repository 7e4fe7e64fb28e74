package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/compliance/compliancetest"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/webhook"
)

// receiver is the subscribers' endpoints, one path per subscription, on a
// real HTTP server on loopback that the test takes down (closed listener)
// or makes answer 503, then brings back on the same address. It verifies
// every signature and keeps each event id once per subscription, in
// arrival order, counting what arrives again.
type receiver struct {
	t    *testing.T
	addr string

	mu       sync.Mutex
	srv      *http.Server
	failing  bool // answer 503
	secrets  map[string]string
	got      map[string][]string // subscription path → event ids, first arrivals in order
	seen     map[string]map[string]bool
	payloads map[string]map[string]json.RawMessage
	dups     int
	badSigs  int
	attempts int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, secrets: map[string]string{}, got: map[string][]string{}, seen: map[string]map[string]bool{},
		payloads: map[string]map[string]json.RawMessage{}}
	r.up()
	t.Cleanup(r.down)
	return r
}

func (r *receiver) url(name string) string { return "http://" + r.addr + "/hooks/" + name }

// up listens (again) on the receiver's address.
func (r *receiver) up() {
	r.t.Helper()
	addr := r.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may take a moment to be free again
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("receiver listen: %v", err)
	}
	r.addr = ln.Addr().String()
	srv := &http.Server{Handler: r}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(ln)
}

// down closes the listener and every connection: senders get refused.
func (r *receiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (r *receiver) set(f func(r *receiver)) { r.mu.Lock(); defer r.mu.Unlock(); f(r) }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if r.failing {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	name := strings.TrimPrefix(req.URL.Path, "/hooks/")
	if err := webhook.Verify(r.secrets[name], req.Header, body, time.Now(), 5*time.Minute); err != nil {
		r.badSigs++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var ev struct {
		ID   string          `json:"id"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != req.Header.Get("webhook-id") {
		http.Error(w, "body id is not webhook-id", http.StatusBadRequest)
		return
	}
	if r.seen[name] == nil {
		r.seen[name], r.payloads[name] = map[string]bool{}, map[string]json.RawMessage{}
	}
	if r.seen[name][ev.ID] {
		r.dups++
	} else {
		r.seen[name][ev.ID] = true
		r.got[name] = append(r.got[name], ev.ID)
		r.payloads[name][ev.ID] = ev.Data
	}
	w.WriteHeader(http.StatusNoContent)
}

type env struct {
	s       *store.Store
	w       storetest.World
	rec     *receiver
	subs    map[string]store.WebhookSubscription // by receiver path
	workers []*webhook.Worker
}

func newEnv(t *testing.T, engine string, maxFailures int) *env {
	s := storetest.Open(t, engine, store.Options{})
	e := &env{s: s, w: storetest.Seed(t, s), rec: newReceiver(t), subs: map[string]store.WebhookSubscription{}}
	for i := 0; i < 2; i++ { // two workers, as two serve processes: the lease keeps each queue to one
		e.workers = append(e.workers, &webhook.Worker{Store: s, Client: &http.Client{Timeout: 5 * time.Second},
			MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, MaxFailures: maxFailures,
			Logger: slog.New(slog.DiscardHandler)})
	}
	return e
}

func (e *env) subscribe(t *testing.T, name string, by clearing.Actor, types ...string) store.WebhookSubscription {
	t.Helper()
	sub, err := e.s.CreateWebhook(context.Background(), by, e.rec.url(name), types)
	if err != nil {
		t.Fatalf("subscribe %s: %v", name, err)
	}
	if !strings.HasPrefix(sub.Secret, "whsec_") {
		t.Fatalf("secret %q: want whsec_…", sub.Secret)
	}
	e.rec.set(func(r *receiver) { r.secrets[name] = sub.Secret })
	e.subs[name] = sub
	return sub
}

// tick runs every worker once, at the same time.
func (e *env) tick(t *testing.T) {
	t.Helper()
	var wg sync.WaitGroup
	for _, w := range e.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.Tick(context.Background()); err != nil {
				t.Errorf("tick: %v", err)
			}
		}()
	}
	wg.Wait()
}

// drain ticks until nothing is queued for live, active subscriptions.
func (e *env) drain(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		e.tick(t)
		st, err := e.s.WebhookStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Backlog == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("webhook backlog not drained in 30s")
}

func (e *env) hold(t *testing.T, buyer clearing.Participant, m clearing.Merchant, value string) clearing.Payment {
	t.Helper()
	a, err := fx.ParseAmount(value, m.Currency)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.s.Hold(context.Background(), clearing.HoldRequest{BuyerBankID: buyer.ID, MerchantID: m.ID, Amount: a}, storetest.Operator)
	if err != nil {
		t.Fatalf("hold: %v", err)
	}
	return p
}

func (e *env) act(t *testing.T, p clearing.Payment, a clearing.Action) {
	t.Helper()
	if _, err := e.s.Act(context.Background(), p.ID, a, storetest.Operator); err != nil {
		t.Fatalf("%s %s: %v", a.Kind, p.ID, err)
	}
}

// queued is what the store queued for a subscription, in queue order.
func (e *env) queued(t *testing.T, id string) []string {
	t.Helper()
	var ids []string
	if err := e.s.DB().NewRaw("SELECT event_id FROM webhook_outbox WHERE subscription_id = ? ORDER BY id", id).Scan(context.Background(), &ids); err != nil {
		t.Fatal(err)
	}
	return ids
}

type paymentData struct {
	PaymentID  string `json:"payment_id"`
	Seq        int    `json:"seq"`
	MerchantID string `json:"merchant_id"`
	BuyerBank  string `json:"buyer_bank_id"`
	MerchBank  string `json:"merchant_bank_id"`
}

// TestReceiverOutage is the done-when test: events of several payments
// keep coming while the receiver is down (refused connections), then
// failing (503), then back; every event id arrives exactly once per
// subscription, in order, each subscriber sees only what its role may.
func TestReceiverOutage(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine, -1)
			banks, ms := e.w.Banks, e.w.Merchants
			e.subscribe(t, "operator", storetest.Operator)
			e.subscribe(t, "merchant0", clearing.Actor{Role: clearing.RoleMerchant, Subject: ms[0].ID})
			e.subscribe(t, "merchant1", clearing.Actor{Role: clearing.RoleMerchant, Subject: ms[1].ID})
			e.subscribe(t, "bank2", clearing.Actor{Role: clearing.RoleBank, Subject: banks[2].ID})
			e.subscribe(t, "disputes", storetest.Operator, "payment.disputed", "payment.dispute_resolved_refund")

			var ps []clearing.Payment
			for i := 0; i < 3; i++ {
				ps = append(ps, e.hold(t, banks[1], ms[0], "10.00"), e.hold(t, banks[1], ms[1], "20.00"))
			}
			e.drain(t)

			e.rec.down()
			e.act(t, ps[0], clearing.Action{Kind: clearing.ActionRelease})
			e.act(t, ps[1], clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 500})
			e.act(t, ps[2], clearing.Action{Kind: clearing.ActionDispute, Reason: "not delivered"})
			for i := 0; i < 5; i++ {
				e.tick(t)
				time.Sleep(3 * time.Millisecond)
			}
			if sub, _ := e.s.Webhook(context.Background(), e.subs["operator"].ID, storetest.Operator); sub.Failures == 0 || sub.Pending == 0 {
				t.Fatalf("while down: failures %d, pending %d; want both > 0", sub.Failures, sub.Pending)
			}

			e.rec.set(func(r *receiver) { r.failing = true })
			e.rec.up()
			e.act(t, ps[2], clearing.Action{Kind: clearing.ActionResolve, Decision: clearing.DecideRefund, Reason: "refund it"})
			e.act(t, ps[3], clearing.Action{Kind: clearing.ActionRefund})
			ps = append(ps, e.hold(t, banks[2], ms[0], "30.00"), e.hold(t, banks[2], ms[2], "40.00"))
			for i := 0; i < 5; i++ {
				e.tick(t)
				time.Sleep(3 * time.Millisecond)
			}

			e.rec.set(func(r *receiver) { r.failing = false })
			e.act(t, ps[1], clearing.Action{Kind: clearing.ActionRelease})
			e.drain(t)

			r := e.rec
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.dups != 0 || r.badSigs != 0 {
				t.Fatalf("%d duplicated event ids, %d bad signatures; want 0", r.dups, r.badSigs)
			}
			// Every queued event arrived once, in queue order; the operator's
			// queue holds every payment event the store booked.
			for name, sub := range e.subs {
				want := e.queued(t, sub.ID)
				if strings.Join(r.got[name], " ") != strings.Join(want, " ") {
					t.Errorf("%s received %d events %v; want the %d queued, in order %v", name, len(r.got[name]), r.got[name], len(want), want)
				}
			}
			var booked int
			if err := e.s.DB().NewRaw("SELECT COUNT(*) FROM payment_events WHERE type <> ?", string(clearing.EventReceived)).Scan(context.Background(), &booked); err != nil {
				t.Fatal(err)
			}
			if n := len(r.got["operator"]); n != booked || n < 14 {
				t.Fatalf("operator received %d events, the store booked %d payment events", n, booked)
			}
			if n := len(r.got["disputes"]); n != 2 {
				t.Errorf("disputes subscription received %d events; want 2 (disputed, resolved)", n)
			}
			// Visibility, and per payment the events in their order.
			for name, ok := range map[string]func(d paymentData) bool{
				"merchant0": func(d paymentData) bool { return d.MerchantID == ms[0].ID },
				"merchant1": func(d paymentData) bool { return d.MerchantID == ms[1].ID },
				"bank2":     func(d paymentData) bool { return d.BuyerBank == banks[2].ID || d.MerchBank == banks[2].ID },
				"operator":  func(paymentData) bool { return true },
			} {
				if len(r.got[name]) == 0 {
					t.Errorf("%s received nothing", name)
				}
				last := map[string]int{}
				for _, id := range r.got[name] {
					var d paymentData
					if err := json.Unmarshal(r.payloads[name][id], &d); err != nil {
						t.Fatal(err)
					}
					if !ok(d) {
						t.Errorf("%s received an event of payment %s (merchant %s) it may not see", name, d.PaymentID, d.MerchantID)
					}
					if d.Seq <= last[d.PaymentID] {
						t.Errorf("%s: payment %s event %d after %d", name, d.PaymentID, d.Seq, last[d.PaymentID])
					}
					last[d.PaymentID] = d.Seq
				}
			}
			if got, want := len(r.got["merchant0"])+len(r.got["merchant1"]), len(r.got["operator"])-countFor(r, "operator", ms[2].ID); got != want {
				t.Errorf("merchants received %d events together; want %d", got, want)
			}
		})
	}
}

func countFor(r *receiver, name, merchantID string) int {
	n := 0
	for _, id := range r.got[name] {
		var d paymentData
		json.Unmarshal(r.payloads[name][id], &d)
		if d.MerchantID == merchantID {
			n++
		}
	}
	return n
}

// TestPauseAndResume: a subscription failing MaxFailures times in a row
// is paused (nothing is tried while paused, events still queue); resuming
// delivers everything, once, in order.
func TestPauseAndResume(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine, 3)
			sub := e.subscribe(t, "merchant0", clearing.Actor{Role: clearing.RoleMerchant, Subject: e.w.Merchants[0].ID})
			e.rec.set(func(r *receiver) { r.failing = true })
			p := e.hold(t, e.w.Banks[1], e.w.Merchants[0], "10.00")
			deadline := time.Now().Add(20 * time.Second)
			for {
				e.tick(t)
				got, err := e.s.Webhook(ctx, sub.ID, storetest.Operator)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status == store.WebhookPaused {
					if got.Failures != 3 {
						t.Fatalf("paused after %d failures; want 3", got.Failures)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("not paused: %+v", got)
				}
				time.Sleep(5 * time.Millisecond)
			}
			e.act(t, p, clearing.Action{Kind: clearing.ActionRelease})
			e.rec.set(func(r *receiver) { r.failing = false; r.attempts = 0 })
			for i := 0; i < 3; i++ {
				e.tick(t)
				time.Sleep(25 * time.Millisecond)
			}
			if e.rec.attempts != 0 {
				t.Fatalf("%d attempts to a paused subscription", e.rec.attempts)
			}
			if st, _ := e.s.WebhookStats(ctx); st.Paused != 1 || st.Backlog != 2 {
				t.Fatalf("stats %+v; want 1 paused, backlog 2", st)
			}
			// Another merchant may not resume it.
			if _, err := e.s.ResumeWebhook(ctx, sub.ID, clearing.Actor{Role: clearing.RoleMerchant, Subject: e.w.Merchants[1].ID}); !errors.Is(err, store.ErrNoWebhook) {
				t.Fatalf("resume by another merchant: %v; want not found", err)
			}
			if got, err := e.s.ResumeWebhook(ctx, sub.ID, clearing.Actor{Role: clearing.RoleMerchant, Subject: e.w.Merchants[0].ID}); err != nil || got.Status != store.WebhookActive {
				t.Fatalf("resume: %+v, %v", got, err)
			}
			e.drain(t)
			want := e.queued(t, sub.ID)
			if strings.Join(e.rec.got["merchant0"], " ") != strings.Join(want, " ") || len(want) != 2 || e.rec.dups != 0 {
				t.Fatalf("received %v (%d dups); want %v", e.rec.got["merchant0"], e.rec.dups, want)
			}
			log, err := e.s.WebhookDeliveries(ctx, sub.ID, storetest.Operator, 100)
			if err != nil || len(log) != 5 || log[0].StatusCode != http.StatusNoContent || log[len(log)-1].StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("delivery log %+v, %v; want 3 failures then 2 deliveries", log, err)
			}
		})
	}
}

// TestReplay: replaying from an event id sends it and every later one
// again, in order, with the same ids.
func TestReplay(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine, 0)
			sub := e.subscribe(t, "bank1", clearing.Actor{Role: clearing.RoleBank, Subject: e.w.Banks[1].ID})
			for i := 0; i < 3; i++ {
				e.hold(t, e.w.Banks[1], e.w.Merchants[0], "10.00")
			}
			e.drain(t)
			first := append([]string(nil), e.rec.got["bank1"]...)
			if len(first) != 3 {
				t.Fatalf("received %v; want 3 events", first)
			}
			e.rec.set(func(r *receiver) { r.seen["bank1"] = map[string]bool{}; r.got["bank1"] = nil })
			if _, err := e.s.ReplayWebhook(ctx, sub.ID, "evt_nope", storetest.Operator); err == nil {
				t.Fatal("replay from an unknown event: want an error")
			}
			n, err := e.s.ReplayWebhook(ctx, sub.ID, first[1], clearing.Actor{Role: clearing.RoleBank, Subject: e.w.Banks[1].ID})
			if err != nil || n != 2 {
				t.Fatalf("replay: %d, %v; want 2", n, err)
			}
			e.drain(t)
			if got := e.rec.got["bank1"]; strings.Join(got, " ") != strings.Join(first[1:], " ") || e.rec.dups != 0 {
				t.Fatalf("replayed %v; want %v", got, first[1:])
			}
		})
	}
}

// TestSignature checks Sign against the Standard Webhooks reference
// example.
func TestSignature(t *testing.T) {
	got, err := webhook.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
		[]byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s; want %s", got, want)
	}
}

// TestCapAlarmFileReadyAndReview: a bank hears of its own cap alarm (once,
// when the threshold is crossed), of a file ready in its mailbox and of
// the decision on its payment held for review; another bank hears of none
// of it; the operator of all.
func TestCapAlarmFileReadyAndReview(t *testing.T) {
	sc := compliancetest.Screener(t, compliance.Config{})
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			s := storetest.Open(t, engine, store.Options{Screener: sc})
			e := &env{s: s, w: storetest.Seed(t, s), rec: newReceiver(t), subs: map[string]store.WebhookSubscription{}}
			e.workers = []*webhook.Worker{{Store: s, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}}
			listed, err := s.CreateMerchant(ctx, clearing.Merchant{Name: "TNK Trading International Ltd", Country: "CH", Currency: "EUR",
				Account: "DE02100100109307118603", BankID: "DEUTDEFF"}, storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			types := []string{store.WebhookCapAlarm, store.WebhookMailboxFileReady, store.WebhookReviewDecided}
			buyer, other := e.w.Banks[1], e.w.Banks[0]
			e.subscribe(t, "buyer", clearing.Actor{Role: clearing.RoleBank, Subject: buyer.ID}, types...)
			e.subscribe(t, "other", clearing.Actor{Role: clearing.RoleBank, Subject: other.ID}, types...)
			e.subscribe(t, "operator", storetest.Operator, types...)

			e.hold(t, buyer, e.w.Merchants[0], "850000.00") // 85 % of the cap: past the 80 % alarm
			small := e.hold(t, buyer, e.w.Merchants[0], "1.00")
			e.act(t, small, clearing.Action{Kind: clearing.ActionRefund}) // a pacs.004 for the buyer's bank
			files, err := s.UnsealedMailboxFiles(ctx, 10)
			if err != nil || len(files) != 1 {
				t.Fatalf("unsealed files %d, %v", len(files), err)
			}
			if _, err := s.SealMailboxFiles(ctx, []store.Seal{{FileID: files[0].ID, Signature: []byte(`{}`)}}); err != nil {
				t.Fatal(err)
			}
			a, _ := fx.ParseAmount("250.00", "EUR")
			_, err = s.Hold(ctx, clearing.HoldRequest{BuyerBankID: buyer.ID, MerchantID: listed.ID, Amount: a}, clearing.Actor{Role: clearing.RoleBank, Subject: buyer.ID})
			se, ok := store.AsScreeningError(err)
			if !ok || !se.Pending {
				t.Fatalf("want a payment held for review: %v", err)
			}
			if _, _, _, err := s.ApproveReview(ctx, se.ScreeningID, "registry checked: not the listed entity",
				clearing.Actor{Role: clearing.RoleCompliance, Subject: "key_officer"}, nil); err != nil {
				t.Fatal(err)
			}
			e.drain(t)

			r := e.rec
			for name, want := range map[string]int{"buyer": 3, "operator": 3, "other": 0} {
				var got []string
				for _, id := range r.got[name] {
					got = append(got, typeOf(t, s, id))
					if strings.Contains(string(r.payloads[name][id]), "registry checked") {
						t.Errorf("%s: the officer's comment leaked: %s", name, r.payloads[name][id])
					}
				}
				if len(got) != want || (want == 3 && strings.Join(got, " ") != strings.Join(types, " ")) {
					t.Errorf("%s received %v; want %d events (%v)", name, got, want, types)
				}
			}
			if r.dups != 0 || r.badSigs != 0 {
				t.Fatalf("%d duplicates, %d bad signatures", r.dups, r.badSigs)
			}
		})
	}
}

func typeOf(t *testing.T, s *store.Store, id string) string {
	t.Helper()
	var typ string
	if err := s.DB().NewRaw("SELECT type FROM webhook_events WHERE id = ?", id).Scan(context.Background(), &typ); err != nil {
		t.Fatal(err)
	}
	return typ
}

// TestPayoutSettled: when a merchant's bank's net position of a cycle is
// settled, the merchant, its bank and the operator hear how much of the
// merchant's money it carried; another merchant hears nothing.
func TestPayoutSettled(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine, 20)
			buyer, m := e.w.Banks[1], e.w.Merchants[0] // DBS pays DEUTDEFF's merchant in EUR
			e.subscribe(t, "merchant", clearing.Actor{Role: clearing.RoleMerchant, Subject: m.ID}, store.WebhookPayoutSettled)
			e.subscribe(t, "bank", clearing.Actor{Role: clearing.RoleBank, Subject: m.BankID}, store.WebhookPayoutSettled)
			e.subscribe(t, "other", clearing.Actor{Role: clearing.RoleMerchant, Subject: e.w.Merchants[1].ID}, store.WebhookPayoutSettled)
			for _, v := range []string{"100.00", "23.45"} {
				e.act(t, e.hold(t, buyer, m, v), clearing.Action{Kind: clearing.ActionRelease})
			}
			e.act(t, e.hold(t, buyer, m, "7.00"), clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 200}) // 2.00 of 7.00
			cy, err := e.s.CloseCycle(ctx, storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.s.SettlePositions(ctx, []store.PositionKey{{CycleID: cy.ID, Owner: buyer.ID, Currency: "EUR"}}, storetest.Operator, ""); err != nil {
				t.Fatal(err)
			}
			e.drain(t)
			if n := len(e.rec.got["merchant"]); n != 0 {
				t.Fatalf("payout announced before its bank's position was settled: %d events", n)
			}
			if _, err := e.s.SettlePositions(ctx, []store.PositionKey{{CycleID: cy.ID, Owner: m.BankID, Currency: "EUR"}}, storetest.Operator, ""); err != nil {
				t.Fatal(err)
			}
			e.drain(t)
			for _, name := range []string{"merchant", "bank"} {
				ids := e.rec.got[name]
				if len(ids) != 1 {
					t.Fatalf("%s received %d payout events, want 1", name, len(ids))
				}
				var d struct {
					CycleID     int64  `json:"cycle_id"`
					MerchantID  string `json:"merchant_id"`
					Currency    string `json:"currency"`
					AmountMinor int64  `json:"amount_minor"`
					Payments    int    `json:"payments"`
				}
				if err := json.Unmarshal(e.rec.payloads[name][ids[0]], &d); err != nil {
					t.Fatal(err)
				}
				if d.CycleID != cy.ID || d.MerchantID != m.ID || d.Currency != "EUR" || d.AmountMinor != 12545 || d.Payments != 3 {
					t.Fatalf("%s: payout %+v, want 125.45 EUR over 3 payments", name, d)
				}
			}
			if n := len(e.rec.got["other"]); n != 0 || e.rec.dups != 0 {
				t.Fatalf("another merchant got %d events; %d duplicates", n, e.rec.dups)
			}
		})
	}
}

// TestCapAlarmOnLowerCap: lowering a cap under a bank's debit so that it
// crosses the alarm threshold raises the alarm once, as a hold would.
func TestCapAlarmOnLowerCap(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine, 20)
			buyer := e.w.Banks[1]
			e.subscribe(t, "bank", clearing.Actor{Role: clearing.RoleBank, Subject: buyer.ID}, store.WebhookCapAlarm)
			e.hold(t, buyer, e.w.Merchants[0], "500000.00")            // half the EUR cap: no alarm
			for _, capMinor := range []int64{60_000_000, 55_000_000} { // 83 %, then 91 %: one crossing
				if _, err := e.s.UpdateParticipantLimits(context.Background(), buyer.ID, store.LimitsChange{
					Set: []clearing.SettlementCurrency{{Currency: "EUR", NetDebitCapMinor: capMinor}}, Reason: "risk review"}, storetest.Operator); err != nil {
					t.Fatal(err)
				}
			}
			e.drain(t)
			if ids := e.rec.got["bank"]; len(ids) != 1 || !strings.Contains(string(e.rec.payloads["bank"][ids[0]]), `"net_debit_cap_minor":60000000`) {
				t.Fatalf("alarms: %d %v", len(ids), e.rec.payloads["bank"])
			}
		})
	}
}

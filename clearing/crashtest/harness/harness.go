package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Config is one run's: the binary, the database and the client's manners.
type Config struct {
	Name string // names the run in the log: the engine, "ha"
	Bin  string // the crossclear binary
	Dir  string // the servers' working folder (HOME, logs)
	DSN  string // the database, read by the final checks
	Seed uint64

	Concurrency int // client goroutines sending requests at once
	// InProgressWait is how long a retry may be answered 409
	// request_in_progress before the key is reported stuck.
	InProgressWait time.Duration
	// NoAnswerFor bounds how long a retry may go without an Answer
	// (connection refused, 5xx) before the key is reported stuck; 30 s
	// when 0.
	NoAnswerFor time.Duration
	// RetryInline makes the traffic retry a request that got no answer (a
	// 503, a dead node) at once, on whatever node answers, as a client
	// riding out a failover does; otherwise it waits for Retry after a
	// restart.
	RetryInline bool
	// SystemEffects: the servers' own workers act too (auto-release, the
	// cycle scheduler); the client then never closes cycles, and the
	// checks hold those effects to their own rules (each payment
	// auto-released at most once, each cycle closed once) instead of to a
	// request.
	SystemEffects bool
}

// replaysPerRound is how many answered requests, besides those answered by
// a round's retries, are re-sent after each restart.
const replaysPerRound = 24

// finalReplayCap bounds the final pass that re-sends every answered request.
const finalReplayCap = 20000

// Target is where requests go: one server, or several nodes.
type Target interface {
	Do(ctx context.Context, method, path, secret, idemKey, contentType string, body []byte) (Answer, error)
}

// Harness is one run: the world, the traffic, the journal and the checks.
type Harness struct {
	t   *testing.T
	cfg Config
	Env []string   // the environment servers run with
	rng *rand.Rand // the main goroutine's

	// Target receives the traffic; the caller sets it (and moves it to a
	// restarted server) before each phase of traffic.
	Target    Target
	secrets   map[string]string // API key secrets by "operator" or bank BIC
	merchants []merchant
	closeByID bool // POST /v1/cycles/{id}/close exists; else POST /v1/cycles/close

	j        *journal
	pool     *pool
	problems *problems
	keySeq   atomic.Int64
	closeMu  sync.Mutex
	stopping atomic.Bool
	curRound int // set before a round's workers start

	closedMu    sync.Mutex
	closedKnown []int64 // cycles the client saw closed

	// counts for the log
	Kills, unansweredAtKill, retried, replays int
	serverErrors                              atomic.Int64
	errorLogLines                             []string
}

// New prepares a run: the servers' environment (HOME, the database, the
// listen addresses left to the kernel) and an empty journal.
func New(t *testing.T, cfg Config) *Harness {
	if cfg.NoAnswerFor == 0 {
		cfg.NoAnswerFor = 30 * time.Second
	}
	h := &Harness{t: t, cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(len(cfg.Name)))), secrets: map[string]string{},
		j: newJournal(), pool: newPool(), problems: newProblems(t)}
	home := filepath.Join(cfg.Dir, "home")
	if err := os.MkdirAll(filepath.Join(home, ".config"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"TMPDIR=" + os.TempDir(),
		"CROSSCLEAR_DATABASE=" + cfg.DSN,
		"CROSSCLEAR_LISTEN=127.0.0.1:0",
		"CROSSCLEAR_REGULATOR_LISTEN=127.0.0.1:0",
		"CROSSCLEAR_CYCLE_PERIOD=0", // only the test closes cycles, unless SystemEffects
		"CROSSCLEAR_LOG_LEVEL=warn",
	}
	return h
}

// Rng is the main goroutine's random source, seeded by the run's seed.
func (h *Harness) Rng() *rand.Rand { return h.rng }

// Secret is the API key secret of "operator" or a bank's BIC.
func (h *Harness) Secret(who string) string { return h.secrets[who] }

// Failed reports whether the run has so many problems that going on is
// pointless.
func (h *Harness) Failed() bool { return h.t.Failed() && h.problems.total() > 200 }

func (h *Harness) nextKey(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, h.keySeq.Add(1))
}

// Setup makes the operator key with the CLI and the world through the API.
func (h *Harness) Setup() {
	t := h.t
	cmd := ExecCommand(h.cfg.Bin, h.cfg.Dir, h.Env, "apikey", "create", "--role", "operator", "--quiet")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("crossclear apikey create: %v", err)
	}
	h.secrets["operator"] = strings.TrimSpace(string(out))

	var caps []map[string]string
	for _, c := range currencies {
		caps = append(caps, map[string]string{"currency": c, "net_debit_cap": "1000000000.00"})
	}
	for _, b := range banks {
		h.must(http.StatusCreated, "/v1/participants", map[string]any{"kind": "bank", "bic": b.BIC, "name": "Crash Test Bank " + b.BIC,
			"country": b.Country, "jurisdiction": b.Jurisdiction, "currencies": caps}, nil)
		var key struct{ Secret string }
		h.must(http.StatusCreated, "/v1/api-keys", map[string]string{"role": "bank", "subject": b.BIC, "name": "crashtest"}, &key)
		if key.Secret == "" {
			t.Fatalf("no secret for %s's API key", b.BIC)
		}
		h.secrets[b.BIC] = key.Secret
		for _, ccy := range merchantCurrencies[b.BIC] {
			m := merchant{Bank: b.BIC, Currency: ccy, Account: "CRASH-" + b.BIC + "-" + ccy}
			var got struct{ ID string }
			h.must(http.StatusCreated, "/v1/merchants", map[string]string{"name": "Crash Shop " + b.BIC + " " + ccy, "country": b.Country,
				"currency": ccy, "account": m.Account, "bank_id": b.BIC}, &got)
			m.ID = got.ID
			h.merchants = append(h.merchants, m)
		}
	}
	a, err := h.Target.Do(context.Background(), http.MethodGet, "/openapi.json", "", "", "", nil)
	if err != nil || a.Status != http.StatusOK {
		t.Fatalf("GET /openapi.json: %v %s", err, a)
	}
	var doc struct{ Paths map[string]any }
	json.Unmarshal(a.Body, &doc)
	_, h.closeByID = doc.Paths["/v1/cycles/{id}/close"]
	if !h.closeByID {
		t.Logf("POST /v1/cycles/{id}/close is not in the OpenAPI document: closing with POST /v1/cycles/close (a retry that closes the next cycle shows as a doubled close)")
	}
}

// must makes a setup request (no Idempotency-Key) as the operator.
func (h *Harness) must(want int, path string, body any, into any) {
	h.t.Helper()
	a, err := h.Target.Do(context.Background(), http.MethodPost, path, h.secrets["operator"], "", "application/json", mustJSON(body))
	if err != nil || a.Status != want {
		h.t.Fatalf("POST %s: %v %s, want %d", path, err, a, want)
	}
	if into != nil {
		if err := json.Unmarshal(a.Body, into); err != nil {
			h.t.Fatalf("POST %s: %v", path, err)
		}
	}
}

// Traffic is the client goroutines of one phase.
type Traffic struct {
	h  *Harness
	wg sync.WaitGroup
}

// Traffic starts the client goroutines of round n on h.Target.
func (h *Harness) Traffic(n int) *Traffic {
	h.stopping.Store(false)
	h.curRound = n
	tr := &Traffic{h: h}
	for i := range h.cfg.Concurrency {
		w := &worker{h: h, r: rand.New(rand.NewPCG(h.cfg.Seed, uint64(n)<<16|uint64(i)))}
		tr.wg.Go(func() {
			for !h.stopping.Load() {
				w.step()
			}
		})
	}
	return tr
}

// Stop tells the goroutines to send nothing new; Wait waits for those in
// flight (cut short when the caller kills their server in between).
func (tr *Traffic) Stop() { tr.h.stopping.Store(true) }
func (tr *Traffic) Wait() { tr.wg.Wait() }

// Killed takes note of a killed server: its log's errors, and the
// requests left without an answer, which it returns for Recover.
func (h *Harness) Killed(srv *Server) []*Call {
	h.Kills++
	h.errorLogLines = append(h.errorLogLines, ErrorLines(srv.LogPath)...)
	pending := h.j.pending()
	for _, c := range pending {
		c.unanswered++
	}
	h.unansweredAtKill += len(pending)
	return pending
}

// Recover retries every pending call until it is answered and re-sends a
// sample of answered ones; it returns how many retries got an answer and
// how many of those were replays (done before the kill).
func (h *Harness) Recover(pending []*Call) (retried, replayed int) {
	h.retry(pending)
	for _, c := range pending {
		if c.answered {
			retried++
		}
		if c.replayedOn {
			replayed++
		}
	}
	h.retried += retried
	h.replaySample(pending)
	return retried, replayed
}

// Calls is how many requests the journal holds.
func (h *Harness) Calls() int { return len(h.j.snapshot()) }

// issue sends a new request of the traffic and records it in the journal
// first, so that a kill finds it there. Without an answer it is retried at
// once when the client rides out failures (RetryInline), else after the
// restart.
func (h *Harness) issue(c *Call) {
	c.Round = h.curRound
	c.sentAt = time.Now()
	h.j.add(c)
	a, err := h.Target.Do(context.Background(), c.Method, c.Path, h.secrets[c.As], c.Key, c.ContentType, c.Body)
	switch {
	case err != nil:
		h.j.attempt(c) // unanswered: a kill was faster
	case h.j.record(c, a):
		h.learn(c)
		return
	default:
		h.serverErrors.Add(1) // a 5xx: retried like an unanswered request
	}
	if h.cfg.RetryInline && !h.stopping.Load() {
		h.retryOne(c)
	}
}

// Unavailable is how many requests were answered 503 at least once, and
// how many 503 answers there were in all.
func (h *Harness) Unavailable() (requests, answers int) {
	for _, c := range h.j.snapshot() {
		if c.n503 > 0 {
			requests++
		}
		answers += c.n503
	}
	return requests, answers
}

// OtherServerErrors is how many answers were a 5xx other than a 503 with
// Retry-After (a 500 where the database was merely unavailable, say).
func (h *Harness) OtherServerErrors() int {
	n := 0
	for _, c := range h.j.snapshot() {
		n += c.nOther5xx
	}
	return n
}

// Retried is how many requests were answered only on a retry, and how
// many of those answers were replays (the first attempt had taken effect).
func (h *Harness) Retried() (retried, replayed int) {
	for _, c := range h.j.snapshot() {
		if c.retried {
			retried++
		}
		if c.replayedOn {
			replayed++
		}
	}
	return retried, replayed
}

// FirstWriteAfter is when the first request sent after t was answered
// 2xx (every request of the traffic writes); false if none was.
func (h *Harness) FirstWriteAfter(t time.Time) (time.Time, bool) {
	var first time.Time
	for _, c := range h.j.answered() {
		if ok(c.ans) && !c.sentAt.Before(t) && (first.IsZero() || c.answeredAt.Before(first)) {
			first = c.answeredAt
		}
	}
	return first, !first.IsZero()
}

// learn takes in what a 2xx answer says about payments.
func (h *Harness) learn(c *Call) {
	if c.ans.Status == http.StatusNotFound {
		// Traffic only acts on payments it was told exist, on routes that
		// exist: a 404 is a request the server never ran (as a second
		// c.Next of a request re-run after its commit group failed was).
		h.problems.add("answered 404", "%s: %s", c, c.ans)
	}
	if !ok(c.ans) {
		return
	}
	switch c.Kind {
	case kindHold:
		var p paymentJSON
		if err := json.Unmarshal(c.ans.Body, &p); err != nil || p.ID == "" {
			h.problems.add("unreadable answer", "%s: %s", c, c.ans)
			return
		}
		h.pool.add(&payment{ID: p.ID, Buyer: c.As, MerchantBank: h.merchantBank(p.MerchantID), Merchant: p.MerchantID, Currency: c.Currency,
			Minor: c.Minor, Source: c.Key, Version: p.Version, State: p.State, Held: minor(h.t, p.Held)})
	case kindFile:
		var f fileAnswer
		if err := json.Unmarshal(c.ans.Body, &f); err != nil {
			h.problems.add("unreadable answer", "%s: %s", c, c.ans)
			return
		}
		for _, tx := range f.Transactions {
			if tx.Status != "ACSP" {
				continue
			}
			i := slices.IndexFunc(c.FileTxs, func(x fileTx) bool { return x.UETR == tx.UETR })
			if i < 0 {
				h.problems.add("file answer names a transaction not in the file", "%s: %s", c, tx.UETR)
				continue
			}
			x := c.FileTxs[i]
			h.pool.add(&payment{ID: x.UETR, Buyer: c.As, MerchantBank: h.merchantBank(x.Merchant), Merchant: x.Merchant, Currency: x.Currency,
				Minor: x.Minor, Source: c.Key, Version: 1, State: "held", Held: x.Minor})
		}
	case kindPartial, kindRelease, kindDispute, kindRefund, kindResolve:
		var p paymentJSON
		if err := json.Unmarshal(c.ans.Body, &p); err != nil || p.ID == "" {
			h.problems.add("unreadable answer", "%s: %s", c, c.ans)
			return
		}
		h.pool.learn(h, p)
	case kindClose:
		var cy cycleJSON
		if err := json.Unmarshal(c.ans.Body, &cy); err != nil || cy.ID == 0 {
			h.problems.add("unreadable answer", "%s: %s", c, c.ans)
			return
		}
		h.closedMu.Lock()
		h.closedKnown = append(h.closedKnown, cy.ID)
		h.closedMu.Unlock()
	}
}

func (h *Harness) merchantBank(id string) string {
	for _, m := range h.merchants {
		if m.ID == id {
			return m.Bank
		}
	}
	return ""
}

// retry sends every call again, with its key and body, until it gets an
// answer. A 409 request_in_progress is waited out for -crash.inprogress-wait
// only: the process that claimed the key is dead, so the claim would block
// the retry until it is taken to be abandoned (minutes), and the client
// could not tell whether its money moved.
func (h *Harness) retry(calls []*Call) {
	sem := make(chan struct{}, h.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, c := range calls {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			h.retryOne(c)
		})
	}
	wg.Wait()
}

func (h *Harness) retryOne(c *Call) {
	start := time.Now()
	var inProgressSince time.Time
	var last string
	for {
		a, err := h.Target.Do(context.Background(), c.Method, c.Path, h.secrets[c.As], c.Key, c.ContentType, c.Body)
		switch {
		case err != nil:
			h.j.attempt(c)
			last = err.Error()
		case h.j.record(c, a):
			c.retried, c.replayedOn = true, a.Replayed
			h.learn(c)
			return
		case inProgress(a):
			if inProgressSince.IsZero() {
				inProgressSince = time.Now()
			}
			if time.Since(inProgressSince) > h.cfg.InProgressWait {
				c.stuck = fmt.Sprintf("answered %s for %s after the restart", a, (h.cfg.InProgressWait).String())
				h.problems.add("retry stuck on 409 request_in_progress",
					"%s, unanswered when the server was killed, is still answered 409 request_in_progress %s after the restart: the dead process's claim blocks the retry, and the client cannot learn whether it took effect",
					c, (h.cfg.InProgressWait).String())
				return
			}
			last = a.String()
		default:
			last = a.String() // 5xx
		}
		if time.Since(start) > h.cfg.NoAnswerFor {
			c.stuck = "no answer: " + last
			h.problems.add("retry got no answer", "%s: nothing but %s for %s", c, last, h.cfg.NoAnswerFor)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// replaySample re-sends the calls this round's retries answered and a
// random sample of the others: each must get its first answer again.
func (h *Harness) replaySample(retried []*Call) {
	var sample []*Call
	for _, c := range retried {
		if c.answered {
			sample = append(sample, c)
		}
	}
	answered := h.j.answered()
	for range min(replaysPerRound, len(answered)) {
		sample = append(sample, answered[h.rng.IntN(len(answered))])
	}
	h.replay(sample)
}

// replay re-sends calls concurrently and compares.
func (h *Harness) replay(calls []*Call) {
	sem := make(chan struct{}, h.cfg.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, c := range calls {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			a, err := h.Target.Do(context.Background(), c.Method, c.Path, h.secrets[c.As], c.Key, c.ContentType, c.Body)
			mu.Lock()
			h.replays++
			mu.Unlock()
			switch {
			case err != nil:
				h.problems.add("replay got no answer", "%s: %v", c, err)
			case a.Status != c.ans.Status || !bytes.Equal(a.Body, c.ans.Body):
				h.problems.add("replay differs from the first answer", "%s: first answer %s; sent again: %s", c, c.ans, a)
			case !a.Replayed:
				h.problems.add("replay without Idempotent-Replayed: true", "%s: %s", c, a)
			}
		})
	}
	wg.Wait()
}

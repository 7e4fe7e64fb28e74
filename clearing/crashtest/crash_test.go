package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
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

	"github.com/crossclear/crossclear/clearing/store/storetest"
)

var (
	roundsFlag      = flag.Int("crash.rounds", 10, "SIGKILLs (rounds of traffic) per engine; the long run is 200")
	seedFlag        = flag.Uint64("crash.seed", 0, "seed of the traffic and of the kill times; 0 takes one from the clock (logged)")
	concurrencyFlag = flag.Int("crash.concurrency", 8, "client goroutines sending requests at once")
	enginesFlag     = flag.String("crash.engines", strings.Join(storetest.Engines, ","), "engines to run on, comma-separated")
	inProgressFlag  = flag.Duration("crash.inprogress-wait", 5*time.Second, "how long a retry after a restart may be answered 409 request_in_progress before the key is reported stuck")
	killMinFlag     = flag.Duration("crash.kill-min", 50*time.Millisecond, "least traffic before a SIGKILL")
	killMaxFlag     = flag.Duration("crash.kill-max", 800*time.Millisecond, "most traffic before a SIGKILL")
	binaryFlag      = flag.String("crash.binary", "", "a crossclear binary to test instead of building cmd/crossclear from this tree (an older build, say)")
)

// noAnswerFor bounds how long a retry may go without an answer (connection
// refused, 5xx) before the key is reported stuck.
const noAnswerFor = 30 * time.Second

// replaysPerRound is how many answered requests, besides those answered by
// this round's retries, are re-sent after each restart.
const replaysPerRound = 24

// finalReplayCap bounds the final pass that re-sends every answered request.
const finalReplayCap = 20000

// TestCrash is the kill -9 test: see doc.go.
func TestCrash(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (repeat with -crash.seed=%d), %d rounds per engine, %d client goroutines", seed, seed, *roundsFlag, *concurrencyFlag)
	bin := *binaryFlag
	if bin == "" {
		bin = buildBinary(t, t.TempDir())
	} else {
		t.Logf("testing %s", bin)
	}
	for _, engine := range strings.Split(*enginesFlag, ",") {
		t.Run(engine, func(t *testing.T) {
			h := newHarness(t, engine, bin, seed)
			h.run()
		})
	}
}

// harness is one engine's run: the server, the world, the journal.
type harness struct {
	t      *testing.T
	engine string
	bin    string
	dir    string
	dsn    string
	env    []string
	seed   uint64
	rng    *rand.Rand // the main goroutine's

	srv       *server
	starts    int
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
	kills, unansweredAtKill, retried, replays int
	serverErrors                              atomic.Int64
	errorLogLines                             []string
}

func newHarness(t *testing.T, engine, bin string, seed uint64) *harness {
	dir := t.TempDir()
	h := &harness{t: t, engine: engine, bin: bin, dir: dir, dsn: storetest.DSN(t, engine), seed: seed,
		rng: rand.New(rand.NewPCG(seed, uint64(len(engine)))), secrets: map[string]string{},
		j: newJournal(), pool: newPool(), problems: newProblems(t)}
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(filepath.Join(home, ".config"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"TMPDIR=" + os.TempDir(),
		"CROSSCLEAR_DATABASE=" + h.dsn,
		"CROSSCLEAR_LISTEN=127.0.0.1:0",
		"CROSSCLEAR_REGULATOR_LISTEN=127.0.0.1:0",
		"CROSSCLEAR_CYCLE_PERIOD=0", // only the test closes cycles
		"CROSSCLEAR_LOG_LEVEL=warn",
	}
	return h
}

func (h *harness) nextKey(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, h.keySeq.Add(1))
}

func (h *harness) start() {
	h.starts++
	h.srv = startServer(h.t, h.bin, h.dir, h.env, h.starts)
}

func (h *harness) run() {
	t := h.t
	began := time.Now()
	h.start()
	h.setup()
	for round := 1; round <= *roundsFlag; round++ {
		h.round(round)
		if t.Failed() && h.problems.total() > 200 {
			t.Logf("stopping after round %d: too many problems", round)
			break
		}
	}
	h.finalChecks()
	t.Logf("%s: %s in all", h.engine, time.Since(began).Round(time.Millisecond))
}

// setup makes the operator key with the CLI and the world through the API.
func (h *harness) setup() {
	t := h.t
	cmd := execCommand(h.bin, h.dir, h.env, "apikey", "create", "--role", "operator", "--quiet")
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
	a, err := h.srv.do(context.Background(), http.MethodGet, "/openapi.json", "", "", "", nil)
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
func (h *harness) must(want int, path string, body any, into any) {
	h.t.Helper()
	a, err := h.srv.do(context.Background(), http.MethodPost, path, h.secrets["operator"], "", "application/json", mustJSON(body))
	if err != nil || a.Status != want {
		h.t.Fatalf("POST %s: %v %s, want %d", path, err, a, want)
	}
	if into != nil {
		if err := json.Unmarshal(a.Body, into); err != nil {
			h.t.Fatalf("POST %s: %v", path, err)
		}
	}
}

// round runs traffic, kills the server at a random moment, restarts it,
// retries every unanswered request and re-sends a sample of answered ones.
func (h *harness) round(n int) {
	t := h.t
	srv := h.srv
	h.stopping.Store(false)
	h.curRound = n
	var wg sync.WaitGroup
	for i := range *concurrencyFlag {
		w := &worker{h: h, srv: srv, r: rand.New(rand.NewPCG(h.seed, uint64(n)<<16|uint64(i)))}
		wg.Go(func() {
			for !h.stopping.Load() {
				w.step()
			}
		})
	}
	span := max(*killMaxFlag-*killMinFlag, time.Millisecond)
	after := *killMinFlag + time.Duration(h.rng.Int64N(int64(span)))
	time.Sleep(after)
	if dead, err := srv.dead(); dead {
		h.stopping.Store(true)
		wg.Wait()
		t.Fatalf("round %d: crossclear serve died on its own: %v\n%s", n, err, tail(srv.logPath, 40))
	}
	h.stopping.Store(true)
	srv.kill()
	wg.Wait()
	h.kills++
	h.errorLogLines = append(h.errorLogLines, errorLines(srv.logPath)...)

	pending := h.j.pending()
	for _, c := range pending {
		c.unanswered++
	}
	h.unansweredAtKill += len(pending)

	restart := time.Now()
	h.start()
	h.retry(pending)
	retried, replayed := 0, 0
	for _, c := range pending {
		if c.answered {
			retried++
		}
		if c.replayedOn {
			replayed++
		}
	}
	h.retried += retried
	h.replaySample(n, pending)
	t.Logf("round %d: killed after %s with %d requests unanswered (%d in the journal); restarted, %d retried to an answer (%d of them replays: done before the kill) in %s",
		n, after.Round(time.Millisecond), len(pending), len(h.j.calls), retried, replayed, time.Since(restart).Round(time.Millisecond))
}

// issue sends a new request of the traffic and records it in the journal
// first, so that a kill finds it there.
func (h *harness) issue(srv *server, c *call) {
	c.Round = h.curRound
	h.j.add(c)
	a, err := srv.do(context.Background(), c.Method, c.Path, h.secrets[c.As], c.Key, c.ContentType, c.Body)
	if err != nil {
		h.j.attempt(c)
		return // unanswered: the kill was faster
	}
	if !h.j.record(c, a) {
		h.serverErrors.Add(1)
		return // a 5xx: retried after the restart, like an unanswered request
	}
	h.learn(c)
}

// learn takes in what a 2xx answer says about payments.
func (h *harness) learn(c *call) {
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

func (h *harness) merchantBank(id string) string {
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
func (h *harness) retry(calls []*call) {
	sem := make(chan struct{}, *concurrencyFlag)
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

func (h *harness) retryOne(c *call) {
	start := time.Now()
	var inProgressSince time.Time
	var last string
	for {
		a, err := h.srv.do(context.Background(), c.Method, c.Path, h.secrets[c.As], c.Key, c.ContentType, c.Body)
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
			if time.Since(inProgressSince) > *inProgressFlag {
				c.stuck = fmt.Sprintf("answered %s for %s after the restart", a, (*inProgressFlag).String())
				h.problems.add("retry stuck on 409 request_in_progress",
					"%s, unanswered when the server was killed, is still answered 409 request_in_progress %s after the restart: the dead process's claim blocks the retry, and the client cannot learn whether it took effect",
					c, (*inProgressFlag).String())
				return
			}
			last = a.String()
		default:
			last = a.String() // 5xx
		}
		if time.Since(start) > noAnswerFor {
			c.stuck = "no answer: " + last
			h.problems.add("retry got no answer", "%s: nothing but %s for %s", c, last, noAnswerFor)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// replaySample re-sends the calls this round's retries answered and a
// random sample of the others: each must get its first answer again.
func (h *harness) replaySample(n int, retried []*call) {
	var sample []*call
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
func (h *harness) replay(calls []*call) {
	sem := make(chan struct{}, *concurrencyFlag)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, c := range calls {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			a, err := h.srv.do(context.Background(), c.Method, c.Path, h.secrets[c.As], c.Key, c.ContentType, c.Body)
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

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
)

var benchCmd = &command{
	name:    "bench",
	summary: "load-test crossclear serve over real HTTP: ops/s, p50/p99 and server CPU per operation",
	about: `
Starts --nodes 'crossclear serve' processes as children on --database (by
default a new SQLite file in a temporary folder; a PostgreSQL database must
hold no participants but bench's own), or drives the servers already
running on it at --target, seeds four banks and their merchants with
unlimited caps, and drives each workload at each concurrency for
--duration over real HTTP, the clients spread over the servers in turn,
every mutating request with an Idempotency-Key:

  hold-release   hold one payment, then release it (2 transitions an op)
  hold-refund    hold one payment, then refund it (2 transitions an op)
  read           read a held payment by id, with its events and legs
  batch          hold 500 payments in one request (500 holds an op)

For each it prints operations per second, what they moved (transitions
or holds per second), p50 and p99 latency per request, and the server's
CPU time per operation, summed over the servers it started (from /proc, so
the client's own CPU is not counted; not measured with --target). At the end it runs the ledger check through the API and fails
if the books do not balance.`,
	example: `  crossclear bench
  crossclear bench --concurrency 1,16,64,256 --duration 10s
  crossclear bench --database postgres://postgres@127.0.0.1:5432/bench --workloads hold-release,read
  crossclear bench --database "$HA_DATABASE_URL" --nodes 3 --workloads hold-release   # deploy/ha's cluster
  crossclear bench --database "$DSN" --target http://10.0.0.1:8080,http://10.0.0.2:8080`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		database := fs.String("database", "", "database to serve (empty: a new SQLite file in a temporary folder); its participants must be bench's own")
		levels := fs.String("concurrency", "1,16,64", "client concurrency levels, comma-separated")
		duration := fs.Duration("duration", 5*time.Second, "how long each workload runs at each level")
		workloads := fs.String("workloads", strings.Join(benchWorkloads, ","), "workloads to run, comma-separated")
		nodes := fs.Int("nodes", 1, "serve processes to start on --database, the clients spread over them")
		targets := fs.String("target", "", "comma-separated base URLs of servers already running on --database to drive instead of starting any")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("bench", args); err != nil {
				return err
			}
			if *nodes < 1 || *nodes > 64 {
				return usagef("bench", "--nodes takes a whole number from 1 to 64, got %d", *nodes)
			}
			if *targets != "" && *database == "" {
				return usagef("bench", "--target needs --database: bench writes its world and keys there")
			}
			plan, err := parseBenchPlan(*levels, *workloads, *duration)
			if err != nil {
				return usagef("bench", "%v", err)
			}
			dsn := *database
			if dsn == "" {
				dir, err := os.MkdirTemp("", "crossclear-bench-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				dsn = filepath.Join(dir, "bench.db")
			}
			b, err := startBench(ctx, dsn, *nodes, commaList(*targets), c)
			if err != nil {
				return err
			}
			defer b.stop()
			results, err := b.run(ctx, plan)
			if err != nil {
				return err
			}
			ledgerOK, err := b.ledgerOK()
			if err != nil {
				return err
			}
			report := benchReport{Engine: b.engine, Servers: len(b.bases), Started: len(b.cmds) > 0, Results: results, LedgerOK: ledgerOK, Retried: b.retried.Load()}
			if *asJSON {
				err = printJSON(c.stdout, report)
			} else {
				report.print(c.stdout)
			}
			if err == nil && !ledgerOK {
				err = errors.New("the ledger check failed after the run: the books do not balance")
			}
			return err
		}
	},
}

var benchWorkloads = []string{"hold-release", "hold-refund", "read", "batch"}

// benchBatch is how many holds one batch request carries.
const benchBatch = 500

type benchPlan struct {
	levels    []int
	workloads []string
	duration  time.Duration
}

func parseBenchPlan(levels, workloads string, d time.Duration) (benchPlan, error) {
	p := benchPlan{duration: d}
	if d <= 0 {
		return p, fmt.Errorf("--duration must be positive, got %s", d)
	}
	for _, f := range strings.Split(levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return p, fmt.Errorf("--concurrency takes whole numbers from 1 to 4096, got %q", f)
		}
		p.levels = append(p.levels, n)
	}
	for _, w := range strings.Split(workloads, ",") {
		w = strings.TrimSpace(w)
		if !slices.Contains(benchWorkloads, w) {
			return p, fmt.Errorf("--workloads takes %s, got %q", strings.Join(benchWorkloads, ", "), w)
		}
		p.workloads = append(p.workloads, w)
	}
	return p, nil
}

// bench is the servers it drives (its serve children, or --target) with
// bench's world in their database.
type bench struct {
	engine   string
	bases    []string    // the servers' base URLs; client i uses bases[i % len]
	cmds     []*exec.Cmd // the serve children, none with --target
	client   *http.Client
	operator string
	banks    []benchBank
	seq      atomic.Int64 // idempotency keys and references
	retried  atomic.Int64 // requests answered 503 and sent again
	heldMu   sync.Mutex
	held     []string // payment ids for the read workload
}

type benchBank struct {
	key      string // the bank's API key
	merchant string // a merchant of the next bank: every payment crosses banks
}

var servingOn = regexp.MustCompile(`serving on (http://\S+)`)

func startBench(ctx context.Context, dsn string, nodes int, targets []string, c *cli) (*bench, error) {
	s, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return nil, err
	}
	b := &bench{engine: s.Engine(), client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4096}, Timeout: time.Minute}}
	if err := b.seed(ctx, s); err != nil {
		return nil, err
	}
	if len(targets) > 0 {
		b.bases = targets
		return b, nil
	}
	for range nodes {
		if err := b.startServe(ctx, dsn, c); err != nil {
			b.stop()
			return nil, err
		}
	}
	return b, nil
}

// startServe starts one serve child on dsn and waits until it serves.
func (b *bench) startServe(ctx context.Context, dsn string, c *cli) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the crossclear binary: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "serve")
	cmd.Env = append(os.Environ(), "CROSSCLEAR_DATABASE="+dsn, "CROSSCLEAR_LISTEN=127.0.0.1:0", "CROSSCLEAR_REGULATOR_LISTEN=off",
		"CROSSCLEAR_CYCLE_PERIOD=0", "CROSSCLEAR_LOG_LEVEL=error")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start crossclear serve: %w", err)
	}
	b.cmds = append(b.cmds, cmd)
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if m := servingOn.FindStringSubmatch(lines.Text()); m != nil {
			b.bases = append(b.bases, m[1])
			go io.Copy(io.Discard, out)
			return nil
		}
	}
	return errors.New("crossclear serve exited before serving")
}

func (b *bench) stop() {
	b.client.CloseIdleConnections() // else serve waits for them to shut down
	for _, cmd := range b.cmds {
		if cmd.Process != nil {
			cmd.Process.Signal(os.Interrupt)
		}
	}
	for _, cmd := range b.cmds {
		cmd.Wait()
	}
}

// serverCPU is the CPU time the serve children have used; 0 with --target.
func (b *bench) serverCPU() (time.Duration, error) {
	var total time.Duration
	for _, cmd := range b.cmds {
		t, err := processCPU(cmd.Process.Pid)
		if err != nil {
			return 0, err
		}
		total += t
	}
	return total, nil
}

// seed makes four banks in EUR with caps no run reaches, a merchant at
// each, and their keys; an existing bench world is reused.
func (b *bench) seed(ctx context.Context, s *store.Store) error {
	bics := []string{"BNCHDEFF", "BNCHFRPP", "BNCHNL2A", "BNCHITMM"}
	existing, err := s.Participants(ctx, store.ParticipantFilter{})
	if err != nil {
		return err
	}
	for _, p := range existing {
		if !slices.Contains(bics, p.ID) {
			return fmt.Errorf("the database holds participant %s: bench writes many payments, so give it an empty database (or its own earlier one)", p.ID)
		}
	}
	by := operatorCLI
	_, op, err := s.CreateAPIKey(ctx, clearing.RoleOperator, "", "bench operator", by)
	if err != nil {
		return err
	}
	b.operator = op
	merchants := make([]string, len(bics))
	for i, bic := range bics {
		if len(existing) == 0 {
			country := bic[4:6]
			if _, err := s.CreateParticipant(ctx, clearing.Participant{Kind: clearing.Bank, BIC: bic, Name: "Bench " + country, Country: country, Jurisdiction: country,
				Currencies: []clearing.SettlementCurrency{{Currency: "EUR", NetDebitCapMinor: 1_000_000_000_000_000}}}, by); err != nil {
				return err
			}
			m, err := s.CreateMerchant(ctx, clearing.Merchant{Name: "Bench shop " + country, Country: country, Currency: "EUR", Account: "ACCT-" + bic, BankID: bic}, by)
			if err != nil {
				return err
			}
			merchants[i] = m.ID
			continue
		}
		ms, err := s.Merchants(ctx, store.MerchantFilter{BankID: bic})
		if err != nil || len(ms) == 0 {
			return fmt.Errorf("bench merchant of %s: %v", bic, err)
		}
		merchants[i] = ms[0].ID
	}
	for i, bic := range bics {
		_, key, err := s.CreateAPIKey(ctx, clearing.RoleBank, bic, "bench", by)
		if err != nil {
			return err
		}
		b.banks = append(b.banks, benchBank{key: key, merchant: merchants[(i+1)%len(bics)]})
	}
	return nil
}

// call sends one request to the server base and fails unless the answer
// is want. A 503 (the database busy: SQLite's one writer behind long
// batches) is what a client retries, with the same Idempotency-Key, after
// its Retry-After: so does bench, a few times, and counts it.
func (b *bench) call(base, method, path, key string, body any, want int) ([]byte, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	idem := fmt.Sprintf("bench-%d", b.seq.Add(1))
	for try := 1; ; try++ {
		req, err := http.NewRequest(method, base+path, bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		if method == http.MethodPost {
			req.Header.Set("Idempotency-Key", idem)
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := b.client.Do(req)
		if err != nil {
			return nil, err
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		if res.StatusCode == http.StatusServiceUnavailable && try < 5 {
			b.retried.Add(1)
			wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(wait, 1)) * time.Second)
			continue
		}
		if res.StatusCode != want {
			return nil, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, raw)
		}
		return raw, nil
	}
}

// hold holds one payment as bank through base and returns its id.
func (b *bench) hold(base string, bank benchBank) (string, error) {
	n := b.seq.Add(1)
	raw, err := b.call(base, http.MethodPost, "/v1/payments", bank.key, map[string]any{"merchant_id": bank.merchant,
		"amount": fmt.Sprintf("%d.%02d", 1+n%500, n%100), "currency": "EUR", "reference": fmt.Sprintf("bench %d", n)}, http.StatusCreated)
	if err != nil {
		return "", err
	}
	var p struct{ ID string }
	return p.ID, json.Unmarshal(raw, &p)
}

// op runs one operation of workload as client i and times each request.
func (b *bench) op(workload string, i int, timed func(func() error) error) error {
	bank := b.banks[i%len(b.banks)]
	base := b.bases[i%len(b.bases)]
	switch workload {
	case "hold-release", "hold-refund":
		var id string
		if err := timed(func() (err error) { id, err = b.hold(base, bank); return err }); err != nil {
			return err
		}
		action, key := "release", bank.key
		if workload == "hold-refund" {
			action, key = "refund", b.operator // the buyer's bank may not refund: the merchant's bank or the operator does
		}
		return timed(func() error {
			_, err := b.call(base, http.MethodPost, "/v1/payments/"+id+"/"+action, key, map[string]any{}, http.StatusOK)
			return err
		})
	case "read":
		b.heldMu.Lock()
		id := b.held[i%len(b.held)]
		b.heldMu.Unlock()
		return timed(func() error {
			_, err := b.call(base, http.MethodGet, "/v1/payments/"+id, b.operator, nil, http.StatusOK)
			return err
		})
	case "batch":
		items := make([]map[string]any, benchBatch)
		for k := range items {
			items[k] = map[string]any{"merchant_id": bank.merchant, "amount": "1.00", "currency": "EUR"}
		}
		return timed(func() error {
			_, err := b.call(base, http.MethodPost, "/v1/payments/batch", bank.key, map[string]any{"payments": items}, http.StatusOK)
			return err
		})
	}
	return fmt.Errorf("unknown workload %q", workload)
}

// benchResult is one workload at one concurrency.
type benchResult struct {
	Workload    string  `json:"workload"`
	Concurrency int     `json:"concurrency"`
	Ops         int     `json:"ops"`
	OpsPerSec   float64 `json:"ops_per_sec"`
	MovedPerSec float64 `json:"moved_per_sec"` // transitions (hold-release, hold-refund), holds (batch) or reads per second
	P50Ms       float64 `json:"p50_ms"`        // per request
	P99Ms       float64 `json:"p99_ms"`
	ServerCPUMs float64 `json:"server_cpu_ms_per_op"`
}

type benchReport struct {
	Engine   string        `json:"engine"`
	Servers  int           `json:"servers"` // serve processes driven
	Started  bool          `json:"started"` // by bench (server CPU measured), not --target
	Results  []benchResult `json:"results"`
	LedgerOK bool          `json:"ledger_ok"`
	Retried  int64         `json:"retried"` // requests answered 503 and sent again
}

func (b *bench) run(ctx context.Context, plan benchPlan) ([]benchResult, error) {
	if slices.Contains(plan.workloads, "read") {
		for i := range 64 { // what the read workload reads
			id, err := b.hold(b.bases[i%len(b.bases)], b.banks[i%len(b.banks)])
			if err != nil {
				return nil, err
			}
			b.held = append(b.held, id)
		}
	}
	var out []benchResult
	for _, w := range plan.workloads {
		for _, n := range plan.levels {
			r, err := b.level(ctx, w, n, plan.duration)
			if err != nil {
				return nil, fmt.Errorf("%s at %d: %w", w, n, err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// level runs workload with n clients for d.
func (b *bench) level(ctx context.Context, workload string, n int, d time.Duration) (benchResult, error) {
	cpu0, err := b.serverCPU()
	if err != nil {
		return benchResult{}, err
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		ops       int
		firstErr  error
		wg        sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			done := 0
			timed := func(f func() error) error {
				t := time.Now()
				err := f()
				mine = append(mine, time.Since(t))
				return err
			}
			var err error
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if err = b.op(workload, i, timed); err != nil {
					break
				}
				done++
			}
			mu.Lock()
			defer mu.Unlock()
			latencies, ops = append(latencies, mine...), ops+done
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return benchResult{}, firstErr
	}
	cpu1, err := b.serverCPU()
	if err != nil {
		return benchResult{}, err
	}
	slices.Sort(latencies)
	moved := map[string]int{"hold-release": 2, "hold-refund": 2, "read": 1, "batch": benchBatch}[workload]
	r := benchResult{Workload: workload, Concurrency: n, Ops: ops, OpsPerSec: float64(ops) / elapsed.Seconds()}
	r.MovedPerSec = r.OpsPerSec * float64(moved)
	r.P50Ms, r.P99Ms = percentileMs(latencies, 0.50), percentileMs(latencies, 0.99)
	if ops > 0 {
		r.ServerCPUMs = float64((cpu1 - cpu0).Microseconds()) / 1000 / float64(ops)
	}
	return r, nil
}

func percentileMs(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(q*float64(len(sorted)-1))].Microseconds()) / 1000
}

// processCPU is the user and system CPU time pid has used, from
// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s).
func processCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("server CPU time: %w", err)
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("server CPU time: short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("server CPU time: %w", err)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

func (b *bench) ledgerOK() (bool, error) {
	raw, err := b.call(b.bases[0], http.MethodGet, "/v1/ledger/check", b.operator, nil, http.StatusOK)
	if err != nil {
		return false, err
	}
	var l struct{ OK bool }
	return l.OK, json.Unmarshal(raw, &l)
}

func (r benchReport) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "workload\tclients\tops/s\tmoved/s\tp50 ms\tp99 ms\tserver CPU ms/op\t\n")
	for _, x := range r.Results {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.1f\t%.1f\t%.2f\t\n", x.Workload, x.Concurrency, x.OpsPerSec, x.MovedPerSec, x.P50Ms, x.P99Ms, x.ServerCPUMs)
	}
	tw.Flush()
	verdict := "ledger check: ok"
	if !r.LedgerOK {
		verdict = "ledger check: FAILED"
	}
	servers := fmt.Sprintf("%d serve process(es) started by bench", r.Servers)
	if !r.Started {
		servers = fmt.Sprintf("%d running server(s) (--target; server CPU not measured)", r.Servers)
	}
	fmt.Fprintf(w, "engine %s, %s; moved/s counts transitions (hold-release, hold-refund), holds (batch) or reads; %s\n", r.Engine, servers, verdict)
	if r.Retried > 0 {
		fmt.Fprintf(w, "%d requests were answered 503 (database busy) and sent again after Retry-After, with the same Idempotency-Key\n", r.Retried)
	}
}

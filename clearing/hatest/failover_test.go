package hatest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing/crashtest/harness"
	"github.com/crossclear/crossclear/clearing/store"
)

var (
	seedFlag        = flag.Uint64("ha.seed", 0, "seed of the traffic; 0 takes one from the clock (logged)")
	concurrencyFlag = flag.Int("ha.concurrency", 8, "client goroutines sending requests at once")
	portBaseFlag    = flag.Int("ha.port-base", 16440, "first port of the test cluster (cluster.sh's HA_PORT_BASE)")
)

// Timing of the run: traffic before a node is killed, before the primary
// is killed, and on the healed cluster.
const (
	warmUp        = 5 * time.Second
	primaryAfter  = 2 * time.Second
	healedTraffic = 6 * time.Second
	failoverLimit = 90 * time.Second // no write within it after the kill fails the test
)

// TestFailover is the failover test: see doc.go.
func TestFailover(t *testing.T) {
	if os.Getenv("CROSSCLEAR_HA_TEST") == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must run the failover test: set CROSSCLEAR_HA_TEST=1 (bash .ci/hatest does)")
		}
		t.Skip("the failover test brings up a Patroni cluster (root, Debian packages): set CROSSCLEAR_HA_TEST=1 or run bash .ci/hatest")
	}
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (repeat with -ha.seed=%d), %d client goroutines", seed, seed, *concurrencyFlag)
	began := time.Now()
	bin := harness.BuildBinary(t, t.TempDir())
	cl := upCluster(t)

	dir := t.TempDir()
	h := harness.New(t, harness.Config{Name: "ha", Bin: bin, Dir: dir, DSN: cl.primary, Seed: seed, Concurrency: *concurrencyFlag,
		InProgressWait: 30 * time.Second, NoAnswerFor: failoverLimit, RetryInline: true, SystemEffects: true})
	env := append(h.Env,
		"CROSSCLEAR_DATABASE_REPLICA="+cl.replica,
		"CROSSCLEAR_CYCLE_PERIOD=8s",
		"CROSSCLEAR_AUTO_RELEASE_AFTER=12s",
		"CROSSCLEAR_AUTO_RELEASE_INTERVAL=1s",
		"CROSSCLEAR_REGULATOR_INTERVAL=1s",
		"CROSSCLEAR_DATABASE_MAX_CONNS=12",
	)
	ns := &nodes{t: t, bin: bin, dir: dir, env: env}
	for range 3 {
		ns.start()
	}
	h.Target = ns
	h.Setup()
	rx := newReceiver(t)
	for _, j := range []string{"DE", "US-NY", "GB"} {
		cmd := harness.ExecCommand(bin, dir, env, "regulator", "add-endpoint", "--jurisdiction", j, "--url", rx.url+"/"+j)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("regulator add-endpoint %s: %v\n%s", j, err, out)
		}
	}

	traffic := h.Traffic(1)
	time.Sleep(warmUp)
	// A node dies with requests in flight: their retries land on the
	// other nodes, which replay what the dead one committed.
	victim := ns.kill(1)
	time.Sleep(primaryAfter)
	member := cl.killPrimary()
	// The clock starts once the kill is done: cluster.sh first asks
	// Patroni which member leads (a second or more on a busy machine), and
	// a write sent meanwhile still reaches the live primary — that made
	// earlier runs report a "failover" of 57 ms.
	killAt := time.Now()
	ready := watchReadyz(ns.first(), killAt)
	first, ok := waitFirstWrite(h, killAt)
	if !ok {
		traffic.Stop()
		traffic.Wait()
		t.Fatalf("no write succeeded within %s of killing the primary %s\n%s", failoverLimit, member, cl.status())
	}
	failover := first.Sub(killAt)
	t.Logf("primary %s killed; first successful write %s later; the cluster: %s", member, failover.Round(time.Millisecond), cl.status())
	cl.up() // the dead member comes back as a replica (pg_rewind)
	ns.start()
	time.Sleep(healedTraffic)
	traffic.Stop()
	traffic.Wait()
	h.Recover(h.Killed(victim))
	sawNoPrimary := ready.result()

	reports, dupes := waitForPushes(t, cl.primary, rx)
	reads := ns.gatewayReports(h)

	h.FinalChecks(ns.stopAll)
	requests503, answers503 := h.Unavailable()
	retried, replayed := h.Retried()
	t.Logf("failover: %s from SIGKILL of the primary to the first successful write; %d requests answered 503 meanwhile (%d 503 answers); %d requests in all, %d answered on a retry, %d of them replays of what a first attempt had committed",
		failover.Round(time.Millisecond), requests503, answers503, h.Calls(), retried, replayed)
	t.Logf("regulator push: %d reports delivered, %d pushed twice; the gateway read %d reports from the replica; %s in all",
		reports, dupes, reads, time.Since(began).Round(time.Second))
	if n := h.OtherServerErrors(); n > 0 {
		t.Errorf("%d answers were a 5xx other than a 503 with Retry-After: without a primary every request must be that", n)
	}
	if !sawNoPrimary {
		t.Errorf("/readyz never said no primary (503 with Retry-After) between the kill and the first write")
	}
	if dupes > 0 {
		t.Errorf("%d regulator reports pushed twice to one endpoint", dupes)
	}
	if reads == 0 {
		t.Errorf("the regulator gateway read no reports from the replica")
	}
}

// waitFirstWrite waits for the first request sent after t to be answered 2xx.
func waitFirstWrite(h *harness.Harness, t time.Time) (time.Time, bool) {
	deadline := time.Now().Add(failoverLimit)
	for time.Now().Before(deadline) {
		if first, ok := h.FirstWriteAfter(t); ok {
			return first, true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Time{}, false
}

// cluster is deploy/ha/cluster.sh's cluster, in a folder of its own.
type cluster struct {
	t       *testing.T
	script  string
	dir     string
	env     []string
	primary string // HA_DATABASE_URL: haproxy to the primary
	replica string // HA_REPLICA_URL: haproxy to the replicas
}

func upCluster(t *testing.T) *cluster {
	script, err := filepath.Abs("../../deploy/ha/cluster.sh")
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir(): PostgreSQL runs as another user, who must reach it.
	dir, err := os.MkdirTemp("", "crossclear-hatest-")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, script: script, dir: dir, env: append(os.Environ(), "HA_DIR="+dir, fmt.Sprintf("HA_PORT_BASE=%d", *portBaseFlag))}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cluster logs: %s", c.logTails())
		}
		if out, err := c.run("down"); err != nil {
			t.Errorf("cluster.sh down: %v\n%s", err, out)
		}
	})
	start := time.Now()
	out := c.up()
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "HA_DATABASE_URL":
			c.primary = v
		case "HA_REPLICA_URL":
			c.replica = v
		}
	}
	if c.primary == "" || c.replica == "" {
		t.Fatalf("cluster.sh up printed no addresses:\n%s", out)
	}
	t.Logf("cluster up in %s: primary %s, replicas %s", time.Since(start).Round(time.Millisecond), c.primary, c.replica)
	return c
}

func (c *cluster) run(args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{c.script}, args...)...)
	cmd.Env = c.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

// up starts what is not running and waits until the cluster takes writes
// with every member streaming.
func (c *cluster) up() string {
	c.t.Helper()
	out, err := c.run("up")
	if err != nil {
		c.t.Fatalf("cluster.sh up: %v\n%s\n%s", err, out, c.logTails())
	}
	return out
}

// killPrimary SIGKILLs the primary's Patroni and PostgreSQL; it returns the
// member's name.
func (c *cluster) killPrimary() string {
	c.t.Helper()
	out, err := c.run("kill-primary")
	if err != nil {
		c.t.Fatalf("cluster.sh kill-primary: %v\n%s", err, out)
	}
	return strings.TrimSpace(out)
}

func (c *cluster) status() string {
	cmd := exec.Command("bash", c.script, "status")
	cmd.Env = c.env
	out, _ := cmd.CombinedOutput()
	return "\n" + string(out)
}

// logTails are the last lines of every log of the cluster, for a failure.
func (c *cluster) logTails() string {
	paths, _ := filepath.Glob(filepath.Join(c.dir, "log", "*.log"))
	more, _ := filepath.Glob(filepath.Join(c.dir, "log", "*", "*.log"))
	var b strings.Builder
	for _, p := range append(paths, more...) {
		fmt.Fprintf(&b, "\n--- %s\n%s", p, harness.Tail(p, 15))
	}
	return b.String()
}

// nodes are the crossclear serve processes; requests go to them in turn,
// and a request that finds a node dead is retried on the next.
type nodes struct {
	t      *testing.T
	bin    string
	dir    string
	env    []string
	starts int

	mu       sync.Mutex
	live     []*harness.Server
	gateways map[*harness.Server]string
	stopped  []*harness.Server // killed by the test
	next     int
}

// start starts one more node, its regulator gateway on a port of its own.
func (ns *nodes) start() {
	ns.t.Helper()
	ns.starts++
	gw := freeAddr(ns.t)
	// Nodes alternate between grouped and single commits (GroupedCommits).
	srv := harness.StartServer(ns.t, ns.bin, ns.dir, append(ns.env, "CROSSCLEAR_REGULATOR_LISTEN="+gw, harness.GroupCommitEnv(ns.starts)), ns.starts)
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.gateways == nil {
		ns.gateways = map[*harness.Server]string{}
	}
	ns.live = append(ns.live, srv)
	ns.gateways[srv] = "http://" + gw
}

// kill SIGKILLs the i-th live node and returns it.
func (ns *nodes) kill(i int) *harness.Server {
	ns.mu.Lock()
	srv := ns.live[i]
	ns.live = append(ns.live[:i:i], ns.live[i+1:]...)
	ns.stopped = append(ns.stopped, srv)
	ns.mu.Unlock()
	srv.Kill()
	return srv
}

func (ns *nodes) first() *harness.Server {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.live[0]
}

// Do sends the request to the next live node.
func (ns *nodes) Do(ctx context.Context, method, path, secret, idemKey, contentType string, body []byte) (harness.Answer, error) {
	ns.mu.Lock()
	srv := ns.live[ns.next%len(ns.live)]
	ns.next++
	ns.mu.Unlock()
	return srv.Do(ctx, method, path, secret, idemKey, contentType, body)
}

// stopAll stops every live node with SIGTERM; a node that had died on its
// own (on a database error, say) fails the test.
func (ns *nodes) stopAll() []*harness.Server {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for _, srv := range ns.live {
		if dead, err := srv.Dead(); dead {
			ns.t.Errorf("a crossclear node died on its own: %v\n%s", err, harness.Tail(srv.LogPath, 30))
			continue
		}
		if err := srv.Stop(); err != nil {
			ns.t.Errorf("crossclear serve did not stop cleanly: %v\n%s", err, harness.Tail(srv.LogPath, 20))
		}
	}
	return append(append([]*harness.Server(nil), ns.live...), ns.stopped...)
}

// gatewayReports lists the DE regulator's reports through a node's
// regulator gateway, which reads them from the replica; it returns how
// many it lists.
func (ns *nodes) gatewayReports(h *harness.Harness) int {
	t := ns.t
	a, err := ns.Do(context.Background(), http.MethodPost, "/v1/api-keys", h.Secret("operator"), "", "application/json",
		[]byte(`{"role":"regulator","subject":"DE","name":"hatest"}`))
	if err != nil || a.Status != http.StatusCreated {
		t.Errorf("create a regulator key: %v %s", err, a)
		return 0
	}
	var key struct{ Secret string }
	json.Unmarshal(a.Body, &key)
	ns.mu.Lock()
	gw := ns.gateways[ns.live[0]]
	ns.mu.Unlock()
	req, _ := http.NewRequest(http.MethodGet, gw+"/v1/reports", nil)
	req.Header.Set("Authorization", "Bearer "+key.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("GET %s/v1/reports: %v", gw, err)
		return 0
	}
	defer resp.Body.Close()
	var list struct {
		Reports []json.RawMessage `json:"reports"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s/v1/reports: %d %v", gw, resp.StatusCode, err)
	}
	return len(list.Reports)
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// readyzWatch polls a node's /readyz from the kill until a write succeeds
// again, looking for "no primary" with Retry-After.
type readyzWatch struct {
	done chan bool
}

func watchReadyz(srv *harness.Server, since time.Time) *readyzWatch {
	w := &readyzWatch{done: make(chan bool, 1)}
	go func() {
		saw := false
		client := &http.Client{Timeout: 3 * time.Second}
		for time.Since(since) < failoverLimit && !saw {
			resp, err := client.Get(srv.Base + "/readyz")
			if err == nil {
				var body struct {
					Error struct{ Message string } `json:"error"`
				}
				json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				saw = resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" &&
					strings.Contains(body.Error.Message, "no primary")
			}
			time.Sleep(100 * time.Millisecond)
		}
		w.done <- saw
	}()
	return w
}

func (w *readyzWatch) result() bool { return <-w.done }

// receiver is the regulators' endpoint: it counts the pushes of each
// report to each endpoint (by the Idempotency-Key, the report's id).
type receiver struct {
	url string
	mu  sync.Mutex
	got map[string]int // "<path> <report id>" → pushes
}

func newReceiver(t *testing.T) *receiver {
	rx := &receiver{got: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rx.mu.Lock()
		rx.got[r.URL.Path+" "+r.Header.Get("Idempotency-Key")]++
		rx.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	rx.url = srv.URL
	return rx
}

// waitForPushes waits until every report queued for an endpoint is
// delivered (the nodes are stopped by then or still pushing), then checks
// that the receiver got each exactly once. It returns the reports
// delivered and those pushed more than once.
func waitForPushes(t *testing.T, dsn string, rx *receiver) (delivered, dupes int) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatalf("open the database: %v", err)
	}
	defer s.Close()
	type queued struct {
		URL      string `bun:"url"`
		ReportID string `bun:"report_id"`
		Done     bool   `bun:"done"`
	}
	var rows []queued
	for {
		rows = nil
		err := s.DB().NewRaw(`SELECT e.url, o.report_id, o.delivered_at IS NOT NULL AS done
			FROM regulator_outbox o JOIN regulator_endpoints e ON e.id = o.endpoint_id`).Scan(ctx, &rows)
		if err != nil {
			t.Fatalf("read the regulator outbox: %v", err)
		}
		waiting := 0
		for _, r := range rows {
			if !r.Done {
				waiting++
			}
		}
		if waiting == 0 && len(rows) > 0 {
			break
		}
		if ctx.Err() != nil {
			t.Errorf("regulator push: %d of %d reports still undelivered after 3 minutes", waiting, len(rows))
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	rx.mu.Lock()
	defer rx.mu.Unlock()
	for _, r := range rows {
		path := strings.TrimPrefix(r.URL, rx.url)
		n := rx.got[path+" "+r.ReportID]
		switch {
		case r.Done && n == 0:
			t.Errorf("report %s is recorded delivered to %s but never arrived", r.ReportID, r.URL)
		case n > 1:
			dupes++
			t.Logf("report %s pushed %d times to %s", r.ReportID, n, r.URL)
		}
		if r.Done {
			delivered++
		}
	}
	return delivered, dupes
}

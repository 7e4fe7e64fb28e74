package crashtest

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing/crashtest/harness"
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

// TestCrash is the kill -9 test: see doc.go.
func TestCrash(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (repeat with -crash.seed=%d), %d rounds per engine, %d client goroutines", seed, seed, *roundsFlag, *concurrencyFlag)
	bin := *binaryFlag
	if bin == "" {
		bin = harness.BuildBinary(t, t.TempDir())
	} else {
		t.Logf("testing %s", bin)
	}
	for _, engine := range strings.Split(*enginesFlag, ",") {
		t.Run(engine, func(t *testing.T) {
			r := &run{t: t, bin: bin, dir: t.TempDir()}
			r.h = harness.New(t, harness.Config{Name: engine, Bin: bin, Dir: r.dir, DSN: storetest.DSN(t, engine), Seed: seed,
				Concurrency: *concurrencyFlag, InProgressWait: *inProgressFlag})
			r.run()
		})
	}
}

// run is one engine's: one server, killed and restarted every round.
type run struct {
	t      *testing.T
	h      *harness.Harness
	bin    string
	dir    string
	srv    *harness.Server
	starts int
}

func (r *run) start() {
	r.starts++
	r.srv = harness.StartServer(r.t, r.bin, r.dir, append(r.h.Env, harness.GroupCommitEnv(r.starts)), r.starts)
	r.h.Target = r.srv
}

func (r *run) run() {
	began := time.Now()
	r.start()
	r.h.Setup()
	for round := 1; round <= *roundsFlag; round++ {
		r.round(round)
		if r.h.Failed() {
			r.t.Logf("stopping after round %d: too many problems", round)
			break
		}
	}
	r.h.FinalChecks(func() []*harness.Server {
		if err := r.srv.Stop(); err != nil {
			r.t.Errorf("crossclear serve did not stop cleanly: %v\n%s", err, harness.Tail(r.srv.LogPath, 20))
		}
		return []*harness.Server{r.srv}
	})
	r.t.Logf("%s in all", time.Since(began).Round(time.Millisecond))
}

// round runs traffic, kills the server at a random moment, restarts it,
// retries every unanswered request and re-sends a sample of answered ones.
func (r *run) round(n int) {
	srv, grouped := r.srv, harness.GroupedCommits(r.starts)
	traffic := r.h.Traffic(n)
	span := max(*killMaxFlag-*killMinFlag, time.Millisecond)
	after := *killMinFlag + time.Duration(r.h.Rng().Int64N(int64(span)))
	time.Sleep(after)
	if dead, err := srv.Dead(); dead {
		traffic.Stop()
		traffic.Wait()
		r.t.Fatalf("round %d: crossclear serve died on its own: %v\n%s", n, err, harness.Tail(srv.LogPath, 40))
	}
	traffic.Stop()
	srv.Kill()
	traffic.Wait()
	pending := r.h.Killed(srv)

	restart := time.Now()
	r.start()
	retried, replayed := r.h.Recover(pending)
	r.t.Logf("round %d (group_commit_max %d): killed after %s with %d requests unanswered (%d in the journal); restarted (group_commit_max %d), %d retried to an answer (%d of them replays: done before the kill) in %s",
		n, grouped, after.Round(time.Millisecond), len(pending), r.h.Calls(), harness.GroupedCommits(r.starts), retried, replayed, time.Since(restart).Round(time.Millisecond))
}

package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// asCLI makes this test binary act as crossclear itself when a test starts
// it as a child process (bench starts "crossclear serve" from its own
// executable).
const asCLI = "CROSSCLEAR_TEST_BINARY_IS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
	}
	os.Exit(m.Run())
}

// TestBench runs every workload briefly against a real serve child on each
// engine: operations happen, latencies and the server's CPU are measured,
// and the books balance afterwards.
func TestBench(t *testing.T) {
	t.Setenv(asCLI, "1")
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			out := mustRun(t, nil, "bench", "--database", storetest.DSN(t, engine), "--concurrency", "1,4", "--duration", "300ms", "--json")
			var r benchReport
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("bench --json: %v\n%s", err, out)
			}
			if r.Engine != engine || !r.LedgerOK || len(r.Results) != len(benchWorkloads)*2 {
				t.Fatalf("report: %+v", r)
			}
			for _, x := range r.Results {
				if x.Ops == 0 || x.OpsPerSec <= 0 || x.P99Ms < x.P50Ms || x.P50Ms <= 0 || x.ServerCPUMs <= 0 {
					t.Errorf("%s at %d: %+v", x.Workload, x.Concurrency, x)
				}
			}
			// A database with anyone else's participants is refused.
			dsn := storetest.DSN(t, engine)
			mustRun(t, nil, "migrate", "--database", dsn)
			storetest.Seed(t, openTestStore(t, dsn))
			if code, _, errs := crossclear(t, nil, "bench", "--database", dsn, "--duration", "100ms"); code != 1 || !strings.Contains(errs, "give it an empty database") {
				t.Errorf("bench on a foreign database: exit %d %s", code, errs)
			}
		})
	}
}

// TestBenchNodes drives several serve processes on one PostgreSQL
// database, then the same servers again as --target: the clients spread
// over them, and the books balance.
func TestBenchNodes(t *testing.T) {
	t.Setenv(asCLI, "1")
	dsn := storetest.DSN(t, "postgres")
	out := mustRun(t, nil, "bench", "--database", dsn, "--nodes", "2", "--workloads", "hold-release", "--concurrency", "4", "--duration", "300ms", "--json")
	var r benchReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out)
	}
	if r.Servers != 2 || !r.Started || !r.LedgerOK || len(r.Results) != 1 || r.Results[0].Ops == 0 || r.Results[0].ServerCPUMs <= 0 {
		t.Fatalf("report with --nodes 2: %+v", r)
	}

	srv, _, _ := startServing(t, map[string]string{"CROSSCLEAR_DATABASE": dsn, "CROSSCLEAR_LISTEN": "127.0.0.1:0", "CROSSCLEAR_REGULATOR_LISTEN": "off"}, "serve")
	out = mustRun(t, nil, "bench", "--database", dsn, "--target", srv+","+srv, "--workloads", "hold-release", "--concurrency", "4", "--duration", "300ms", "--json")
	r = benchReport{}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out)
	}
	if r.Servers != 2 || r.Started || !r.LedgerOK || r.Results[0].Ops == 0 || r.Results[0].ServerCPUMs != 0 {
		t.Fatalf("report with --target: %+v", r)
	}
	if code, _, errs := crossclear(t, nil, "bench", "--target", srv); code != 2 || !strings.Contains(errs, "--target needs --database") {
		t.Errorf("--target without --database: exit %d %s", code, errs)
	}
}

package witnessing_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/messages/delivery"
	"github.com/crossclear/crossclear/regulator/cosignature"
	"github.com/crossclear/crossclear/regulator/internal/regtest"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/witness/witnesstest"
	"github.com/crossclear/crossclear/regulator/witnessing"
)

type env struct {
	w        *regtest.World
	registry *witnessing.Registry
	worker   *witnessing.Worker
	logKey   string
	origin   string
}

func newEnv(t *testing.T, engine string) *env { return newEnvTB(t, engine) }

var operator = storetest.Operator

func newEnvTB(t testing.TB, engine string) *env {
	t.Helper()
	w := regtest.New(t, engine)
	keys := w.Keys(t)
	reg := &witnessing.Registry{DB: w.Store.DB(), Now: w.Clock.Now}
	return &env{w: w, registry: reg, logKey: keys.CheckpointKeys[0], origin: keys.Origin,
		worker: &witnessing.Worker{Worker: delivery.Worker{Now: w.Clock.Now}, Registry: reg, Log: w.Producer.Log, Refresh: 10 * time.Minute}}
}

// cycle closes a cycle with one payment and publishes its reports.
func (e *env) cycle(t *testing.T) merklelog.Checkpoint {
	t.Helper()
	p := e.w.Hold(t, 1, 0, "10.00")
	e.w.Act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease})
	e.w.Close(t)
	e.w.Produce(t)
	cp, err := e.w.Producer.Log.LatestCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func (e *env) add(t *testing.T, vkey, url string) {
	t.Helper()
	if _, err := e.registry.Add(context.Background(), vkey, url, storetest.Operator); err != nil {
		t.Fatal(err)
	}
}

func (e *env) pass(t *testing.T) {
	t.Helper()
	if err := e.worker.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// cosignedBy opens the latest checkpoint as served (note + cosignatures)
// with the log's key and the witnesses' keys, and returns who cosigned.
func (e *env) cosignedBy(t *testing.T, vkeys ...string) (merklelog.Checkpoint, map[string]time.Time) {
	t.Helper()
	cp, err := e.w.Producer.Log.LatestCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	logV, _ := note.NewVerifier(e.logKey)
	vs := []note.Verifier{logV}
	for _, k := range vkeys {
		v, err := cosignature.NewVerifier(k)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	n, err := note.Open(cp.Cosigned(), note.VerifierList(vs...))
	if err != nil {
		t.Fatalf("served checkpoint does not open: %v\n%s", err, cp.Cosigned())
	}
	out := map[string]time.Time{}
	for _, s := range n.Sigs[1:] {
		at, err := cosignature.Timestamp(s)
		if err != nil {
			t.Fatal(err)
		}
		out[s.Name] = at
	}
	return cp, out
}

// TestThreeWitnesses: a real litewitness and two crossclear witnesses
// cosign each checkpoint; a witness the operator lost track of (409) is
// caught up with the right proof; a witness that is down or does not know
// the log waits with backoff and says why; an unchanged log is cosigned
// again after Refresh, so the newest cosignature stays fresh.
func TestThreeWitnesses(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "sqlite")
	lw := witnesstest.StartLitewitness(t, e.origin, e.logKey)
	clock := regtest.NewClock(time.Unix(1_800_000_000, 0)) // the crossclear witnesses' own clock
	sg := regtest.StartWitness(t, "witness.test/sg", e.origin, e.logKey, clock.Now)
	de := regtest.StartWitness(t, "witness.test/de", e.origin, e.logKey, clock.Now)
	vkeys := []string{lw.VKey, sg.VKey, de.VKey}
	e.add(t, lw.VKey, lw.URL)
	e.add(t, sg.VKey, sg.URL)
	e.add(t, de.VKey, de.URL+"/") // a trailing slash is the same prefix

	first := e.cycle(t)
	e.pass(t)
	_, by := e.cosignedBy(t, vkeys...)
	if len(by) != 3 {
		t.Fatalf("cosigned by %v, want all three", by)
	}

	// The operator's record of sg is lost (a restore): sg says 409 with
	// its size, and gets the proof from there.
	if _, err := e.w.Store.DB().NewRaw("UPDATE regulator_witnesses SET size = 0 WHERE id = ?", sg.Name).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	second := e.cycle(t)
	if second.Size <= first.Size {
		t.Fatal("the log did not grow")
	}
	e.pass(t)
	cp, by := e.cosignedBy(t, vkeys...)
	if len(by) != 3 || cp.Size != second.Size {
		l, _ := e.registry.List(ctx, second.Size)
		t.Fatalf("second checkpoint cosigned by %v; witnesses %+v", by, l)
	}
	list, err := e.registry.List(ctx, second.Size)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range list {
		if w.Size != second.Size || w.LagSize != 0 || w.Attempts != 0 || w.LastError != "" {
			t.Errorf("witness %s after catching up: %+v", w.Name, w)
		}
	}

	// de goes down; a witness that does not know the log is added.
	de.Server.Close()
	_, otherLog, err := note.GenerateKey(rand.Reader, "another.test/log")
	if err != nil {
		t.Fatal(err)
	}
	stranger := regtest.StartWitness(t, "witness.test/stranger", "another.test/log", otherLog, nil)
	e.add(t, stranger.VKey, stranger.URL)
	third := e.cycle(t)
	e.pass(t)
	_, by = e.cosignedBy(t, vkeys...)
	if len(by) != 2 || !by[sg.Name].After(time.Time{}) {
		t.Fatalf("third checkpoint cosigned by %v, want litewitness and sg", by)
	}
	list, _ = e.registry.List(ctx, third.Size)
	for _, w := range list {
		switch w.Name {
		case de.Name, stranger.Name:
			if w.Attempts != 1 || w.LastError == "" || !w.NextAttemptAt.After(e.w.Clock.Now()) || w.LagSize == 0 {
				t.Errorf("failing witness %s: %+v", w.Name, w)
			}
		default:
			if w.LagSize != 0 {
				t.Errorf("witness %s lags by %d", w.Name, w.LagSize)
			}
		}
	}
	if l, _ := e.registry.Get(ctx, stranger.Name); !strings.Contains(l.LastError, "404") {
		t.Errorf("unknown log: %q", l.LastError)
	}
	attempts := func(name string) int { w, _ := e.registry.Get(ctx, name); return w.Attempts }
	e.pass(t) // within the backoff: not asked again
	if attempts(de.Name) != 1 {
		t.Error("a failing witness was asked again before its backoff")
	}

	// Nothing appended for longer than Refresh: asked again, fresh
	// timestamps (the crossclear witnesses' clock moved on).
	before := by[sg.Name]
	clock.Advance(11 * time.Minute)
	e.w.Clock.Advance(11 * time.Minute)
	e.pass(t)
	_, by = e.cosignedBy(t, vkeys...)
	if !by[sg.Name].After(before) {
		t.Fatalf("sg's cosignature was not refreshed: %v then %v", before, by[sg.Name])
	}
	if attempts(de.Name) != 2 {
		t.Errorf("de after its backoff: %d attempts", attempts(de.Name))
	}
}

func TestRegistry(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "sqlite")
	sg := regtest.StartWitness(t, "witness.test/sg", e.origin, e.logKey, nil)
	e.add(t, sg.VKey, sg.URL)
	for _, tc := range []struct{ vkey, url, field string }{
		{e.logKey, sg.URL, "vkey"}, // a log's key, not a cosigner's
		{sg.VKey, "http://witness.example/", "url"},
		{sg.VKey, sg.URL, "vkey"}, // already registered
	} {
		_, err := e.registry.Add(ctx, tc.vkey, tc.url, storetest.Operator)
		if ce, ok := clearing.AsError(err); !ok || ce.Field != tc.field {
			t.Errorf("Add(%q, %q) = %v, want an error on %s", tc.vkey, tc.url, err, tc.field)
		}
	}
	if err := e.registry.Remove(ctx, sg.Name, storetest.Operator); err != nil {
		t.Fatal(err)
	}
	if l, _ := e.registry.List(ctx, 0); len(l) != 0 {
		t.Fatalf("removed witness listed: %+v", l)
	}
	e.add(t, sg.VKey, sg.URL) // back
	if l, _ := e.registry.List(ctx, 0); len(l) != 1 {
		t.Fatalf("re-added witness: %+v", l)
	}
}

// TestCosignaturesOnPostgres: the same upsert and reads on PostgreSQL.
func TestCosignaturesOnPostgres(t *testing.T) {
	e := newEnv(t, "postgres")
	sg := regtest.StartWitness(t, "witness.test/sg", e.origin, e.logKey, nil)
	e.add(t, sg.VKey, sg.URL)
	e.cycle(t)
	e.pass(t)
	if _, by := e.cosignedBy(t, sg.VKey); len(by) != 1 {
		t.Fatalf("cosigned by %v", by)
	}
	e.w.Clock.Advance(11 * time.Minute)
	e.pass(t) // the same second possibly: the newer-only upsert keeps one row
	if _, by := e.cosignedBy(t, sg.VKey); len(by) != 1 {
		t.Fatalf("cosigned by %v", by)
	}
}

// TestWitnessChangesAreAudited: adding and removing a witness each leave
// one audit entry naming who did it, in the change's transaction; an add
// that fails (the witness is registered already) leaves none.
func TestWitnessChangesAreAudited(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			sg := regtest.StartWitness(t, "witness.test/sg", e.origin, e.logKey, nil)
			by := clearing.Actor{Role: clearing.RoleOperator, Subject: "key_witness_admin"}
			entries := func(action string) []string {
				t.Helper()
				var actors []string
				err := e.w.Store.DB().NewRaw("SELECT actor FROM audit_log WHERE action = ? AND object = ? ORDER BY id", action, sg.Name).Scan(ctx, &actors)
				if err != nil {
					t.Fatal(err)
				}
				return actors
			}
			if _, err := e.registry.Add(ctx, sg.VKey, sg.URL, by); err != nil {
				t.Fatal(err)
			}
			if got := entries("witness.add"); len(got) != 1 || got[0] != by.String() {
				t.Fatalf("witness.add entries after an add: %q, want one by %s", got, by)
			}
			if _, err := e.registry.Add(ctx, sg.VKey, sg.URL, by); err == nil {
				t.Fatal("a second add of a registered witness succeeded")
			}
			if got := entries("witness.add"); len(got) != 1 {
				t.Fatalf("witness.add entries after a failed add: %q, want the first add's only", got)
			}
			if err := e.registry.Remove(ctx, sg.Name, by); err != nil {
				t.Fatal(err)
			}
			if got := entries("witness.remove"); len(got) != 1 || got[0] != by.String() {
				t.Fatalf("witness.remove entries after a remove: %q, want one by %s", got, by)
			}
		})
	}
}

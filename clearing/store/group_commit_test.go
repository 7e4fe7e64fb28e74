package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// A group whose COMMIT the database refuses (here a deferred unique
// constraint one request broke) certainly rolled back: every request runs
// again alone, and only the one at fault fails.
func TestGroupCommitRefusedRunsAlone(t *testing.T) {
	s := storetest.Open(t, "postgres", store.Options{})
	table := probeTable(t, s, "CREATE TABLE %s (x int, CONSTRAINT %[1]s_x UNIQUE (x) DEFERRABLE INITIALLY DEFERRED)")
	runs, errs := runGroupOf3(t, s, func(ctx context.Context, i int) error {
		q := fmt.Sprintf("INSERT INTO %s VALUES (%d)", table, i)
		if i == 1 {
			q = fmt.Sprintf("INSERT INTO %s VALUES (100), (100)", table) // fails only at COMMIT
		}
		return s.ExecIn(ctx, q)
	})
	for i := range 3 {
		if runs[i] != 2 {
			t.Errorf("request %d ran %d times, want 2 (in the group, then alone)", i, runs[i])
		}
		if (errs[i] != nil) != (i == 1) {
			t.Errorf("request %d: %v", i, errs[i])
		}
	}
	if n := count(t, s, table); n != 2 {
		t.Errorf("%d rows committed, want 2 (requests 0 and 2)", n)
	}
}

// A group whose connection dies during COMMIT has an unknown outcome:
// running its requests again could do them twice, so each is answered
// with the failure (503: the database is unavailable) and none runs again.
func TestGroupCommitLostIsNotRunAgain(t *testing.T) {
	s := storetest.Open(t, "postgres", store.Options{})
	table := probeTable(t, s, "CREATE TABLE %s (x int)")
	// A deferred trigger ends the session in the middle of the COMMIT.
	fn := table + "_die"
	for _, q := range []string{
		fmt.Sprintf("CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$", fn),
		fmt.Sprintf("CREATE CONSTRAINT TRIGGER %s AFTER INSERT ON %s DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION %[1]s()", fn, table),
	} {
		if err := s.ExecIn(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = s.ExecIn(context.Background(), "DROP FUNCTION IF EXISTS "+fn+" CASCADE") })
	runs, errs := runGroupOf3(t, s, func(ctx context.Context, i int) error {
		return s.ExecIn(ctx, fmt.Sprintf("INSERT INTO %s VALUES (%d)", table, i))
	})
	for i := range 3 {
		if runs[i] != 1 {
			t.Errorf("request %d ran %d times, want 1", i, runs[i])
		}
		if errs[i] == nil || !store.Unavailable(errs[i]) {
			t.Errorf("request %d: %v, want an Unavailable (503) error", i, errs[i])
		}
	}
}

// runGroupOf3 runs fn for requests 0, 1, 2 in one commit group and
// returns how often each ran and what each was answered.
func runGroupOf3(t *testing.T, s *store.Store, fn func(ctx context.Context, i int) error) (runs [3]int32, errs [3]error) {
	t.Helper()
	g := s.NewGroup(store.GroupConfig{Max: 3, Window: time.Minute}, nil)
	var counts [3]atomic.Int32
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = g.Atomically(ctx, func(ctx context.Context) error {
				counts[i].Add(1)
				return fn(ctx, i)
			})
		}()
	}
	wg.Wait()
	for i := range 3 {
		runs[i] = counts[i].Load()
	}
	return runs, errs
}

// probeTable creates a table of its own from the create statement (%s is
// its name) and drops it after the test.
func probeTable(t *testing.T, s *store.Store, create string) string {
	t.Helper()
	name := fmt.Sprintf("group_probe_%d", time.Now().UnixNano())
	if err := s.ExecIn(ctx, fmt.Sprintf(create, name)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.ExecIn(context.Background(), "DROP TABLE IF EXISTS "+name) })
	return name
}

func count(t *testing.T, s *store.Store, table string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

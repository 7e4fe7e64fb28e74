package worker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/compliance/compliancetest"
)

// The reloader picks up a new version of a list on its schedule, and
// keeps the last good one when the source breaks.
func TestSanctionsReloader(t *testing.T) {
	raw, err := os.ReadFile(compliancetest.UNFile())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "consolidated.xml")
	os.WriteFile(file, raw, 0o644)
	sc, err := compliance.New(compliance.Config{Sources: []compliance.Source{{List: compliance.ListUN, Location: file}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := sc.Lists()[0]
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- (&SanctionsReloader{Screener: sc, Interval: 20 * time.Millisecond, Logger: quiet}).Run(ctx)
	}()
	newcomer := compliance.Party{Name: "Oskar Vandelheim"}
	os.WriteFile(file, []byte(strings.Replace(string(raw), " <ENTITIES>", ` <ENTITIES>
  <ENTITY><DATAID>3999</DATAID><FIRST_NAME>OSKAR VANDELHEIM</FIRST_NAME><REFERENCE_NUMBER>XXe.999</REFERENCE_NUMBER></ENTITY>`, 1)), 0o644)
	waitFor(t, "the new version", func() bool { return sc.Check(newcomer).Outcome == compliance.Review })
	second := sc.Lists()[0]
	if second.Hash == first.Hash || second.Entries != first.Entries+1 {
		t.Fatalf("%+v after %+v", second, first)
	}
	os.WriteFile(file, []byte("not XML"), 0o644)
	time.Sleep(100 * time.Millisecond) // a few failed reloads
	if l := sc.Lists()[0]; l.Hash != second.Hash || sc.Check(newcomer).Outcome != compliance.Review {
		t.Fatalf("a broken source must not drop the list: %+v", l)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

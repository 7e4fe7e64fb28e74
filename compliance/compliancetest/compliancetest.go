// Package compliancetest gives tests the sanctions lists they screen
// against: the real OFAC sample records shipped inside the watchman
// module (read from the module cache, never copied here) and a small UN
// consolidated list sample in its published format.
package compliancetest

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossclear/crossclear/compliance"
)

var (
	watchmanOnce sync.Once
	watchmanDir  string
	watchmanErr  error
)

// WatchmanDir is where the go command keeps github.com/moov-io/watchman
// at the version go.mod requires.
func WatchmanDir(t testing.TB) string {
	t.Helper()
	watchmanOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/moov-io/watchman").Output()
		watchmanDir, watchmanErr = strings.TrimSpace(string(out)), err
	})
	if watchmanErr != nil || watchmanDir == "" {
		t.Fatalf("locate the watchman module (go list -m github.com/moov-io/watchman): %v", watchmanErr)
	}
	return watchmanDir
}

// OFACDir is the directory of watchman's OFAC sample: the four legacy CSV
// files with 17 real SDN records.
func OFACDir(t testing.TB) string {
	return filepath.Join(WatchmanDir(t), "internal", "ofactest", "testdata")
}

// UNFile is the UN consolidated list sample.
func UNFile() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "testdata", "un-consolidated-sample.xml")
}

// Sources are both sample lists.
func Sources(t testing.TB) []compliance.Source {
	return []compliance.Source{{List: compliance.ListOFAC, Location: OFACDir(t)}, {List: compliance.ListUN, Location: UNFile()}}
}

// Lists loads both sample lists.
func Lists(t testing.TB) []*compliance.List {
	t.Helper()
	var out []*compliance.List
	for _, src := range Sources(t) {
		l, err := compliance.Load(context.Background(), src, nil, time.Now())
		if err != nil {
			t.Fatalf("load %s: %v", src, err)
		}
		out = append(out, l)
	}
	return out
}

// Screener is a screener over both sample lists (cfg's Sources are
// replaced), loaded.
func Screener(t testing.TB, cfg compliance.Config) *compliance.Screener {
	t.Helper()
	cfg.Sources = Sources(t)
	s, err := compliance.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// EUFile is the real EU consolidated list sample shipped in the watchman
// module (CSV, about 13 MB).
func EUFile(t testing.TB) string {
	return filepath.Join(WatchmanDir(t), "test", "testdata", "eu_csl.csv")
}

// UKSanctionsListODS is the real UK Sanctions List sample (FCDO, the
// OpenDocument spreadsheet) shipped in the watchman module.
func UKSanctionsListODS(t testing.TB) string {
	return filepath.Join(WatchmanDir(t), "test", "testdata", "UK_Sanctions_List.ods")
}

// UKConList is the real OFSI consolidated list sample (ConList.csv)
// shipped in the watchman module.
func UKConList(t testing.TB) string {
	return filepath.Join(WatchmanDir(t), "test", "testdata", "ConList.csv")
}

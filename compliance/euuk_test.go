package compliance_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/compliance/compliancetest"
)

func load(t *testing.T, list, location string) (*compliance.List, time.Duration) {
	t.Helper()
	start := time.Now()
	l, err := compliance.Load(context.Background(), compliance.Source{List: list, Location: location}, nil, time.Now())
	if err != nil {
		t.Fatalf("load %s from %s: %v", list, location, err)
	}
	raw, err := os.ReadFile(location)
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != list || l.Hash != hexSHA(raw) || l.Source != location {
		t.Fatalf("%s: name %s hash %s source %s, want the SHA-256 of the file", list, l.Name, l.Hash, l.Source)
	}
	return l, time.Since(start)
}

func byName(l *compliance.List, name string) *compliance.Entry {
	for i, e := range l.Entries {
		if strings.EqualFold(e.Name, name) || slices.ContainsFunc(e.AltNames, func(a string) bool { return strings.EqualFold(a, name) }) {
			return &l.Entries[i]
		}
	}
	return nil
}

// TestLoadEUSample reads the real EU consolidated list sample shipped in
// the watchman module (CSV): every entity with its names, and screening
// against it finds a listed name written another way.
func TestLoadEUSample(t *testing.T) {
	l, took := load(t, compliance.ListEU, compliancetest.EUFile(t))
	t.Logf("EU sample: %d entries in %s", len(l.Entries), took)
	if len(l.Entries) < 3000 {
		t.Fatalf("%d entries, want the sample's 3,500 or so", len(l.Entries))
	}
	e := byName(l, "Academy of National Defence Science")
	if e == nil || e.Type != "business" {
		t.Fatalf("Academy of National Defence Science: %+v", e)
	}
	p := byName(l, "Mohammed Masood Azhar Alvi")
	if p == nil || p.Type != "person" || !slices.Contains(p.AltNames, "Masud Azhar") {
		t.Fatalf("Mohammed Masood Azhar Alvi: %+v", p)
	}
	ix := compliance.NewIndex(l)
	ms := ix.Match(compliance.Party{Name: "Academy of National Defense Science"}, 0.74)
	if len(ms) == 0 || ms[0].EntryID != e.ID || !ms[0].ExactName || ms[0].List != compliance.ListEU {
		t.Fatalf("the American spelling against the EU's: %+v", ms)
	}
}

// TestLoadUKSamples reads both real UK samples shipped in the watchman
// module: the FCDO's UK Sanctions List as published in OpenDocument
// (.ods) and OFSI's consolidated list (ConList.csv); the same
// designations come out of both.
func TestLoadUKSamples(t *testing.T) {
	ods, took := load(t, compliance.ListUK, compliancetest.UKSanctionsListODS(t))
	t.Logf("UK Sanctions List (.ods): %d entries in %s", len(ods.Entries), took)
	con, took := load(t, compliance.ListUK, compliancetest.UKConList(t))
	t.Logf("OFSI ConList.csv: %d entries in %s", len(con.Entries), took)
	if len(ods.Entries) < 3000 || len(con.Entries) < 3000 {
		t.Fatalf("%d entries in the .ods, %d in ConList.csv, want 3,000 or more each", len(ods.Entries), len(con.Entries))
	}
	for _, l := range []*compliance.List{ods, con} {
		e := byName(l, "HAJI KHAIRULLAH HAJI SATTAR MONEY EXCHANGE")
		if e == nil || e.Type != "business" {
			t.Fatalf("%s: HAJI KHAIRULLAH HAJI SATTAR MONEY EXCHANGE: %+v", l.Source, e)
		}
		ms := compliance.NewIndex(l).Match(compliance.Party{Name: "Haji Khairullah & Haji Sattar Money-Exchange"}, 0.74)
		if len(ms) == 0 || ms[0].EntryID != e.ID || ms[0].List != compliance.ListUK {
			t.Fatalf("%s: %+v", l.Source, ms)
		}
	}
	if u := entry(t, ods, "AFG0001"); !slices.Contains(u.Programs, "The Afghanistan (Sanctions) (EU Exit) Regulations 2020") {
		t.Fatalf("AFG0001: %+v", u)
	}
}

// TestLoadRefusesBrokenEUUK: a file of another format is an error naming
// what is missing.
func TestLoadRefusesBrokenEUUK(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other.csv")
	os.WriteFile(other, []byte("a;b;c\n1;2;3\n"), 0o644)
	notODS := filepath.Join(dir, "x.ods")
	os.WriteFile(notODS, []byte("PK\x03\x04 not a zip"), 0o644)
	for _, tc := range []struct {
		src  compliance.Source
		want string
	}{
		{compliance.Source{List: compliance.ListEU, Location: other}, "Entity_LogicalId"},
		{compliance.Source{List: compliance.ListUK, Location: other}, "neither the UK Sanctions List"},
		{compliance.Source{List: compliance.ListUK, Location: notODS}, "OpenDocument"},
		{compliance.Source{List: compliance.ListEU, Location: compliancetest.UNFile()}, "EU list"},
	} {
		_, err := compliance.Load(context.Background(), tc.src, nil, time.Now())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error about %q, got %v", tc.src, tc.want, err)
		}
	}
}

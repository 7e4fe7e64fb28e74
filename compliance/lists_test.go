package compliance_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/compliance/compliancetest"
)

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func entry(t *testing.T, l *compliance.List, id string) compliance.Entry {
	t.Helper()
	i := slices.IndexFunc(l.Entries, func(e compliance.Entry) bool { return e.ID == id })
	if i < 0 {
		t.Fatalf("%s has no entry %s", l.Name, id)
	}
	return l.Entries[i]
}

// TestLoadOFACSample reads the real SDN records shipped in the watchman
// module and checks what screening relies on: every record, aliases from
// alt.csv and the remarks, countries from add.csv, and a content hash
// anyone holding the four files can recompute.
func TestLoadOFACSample(t *testing.T) {
	dir := compliancetest.OFACDir(t)
	l, err := compliance.Load(context.Background(), compliance.Source{List: compliance.ListOFAC, Location: dir}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 17 {
		t.Fatalf("%d entries, want the sample's 17", len(l.Entries))
	}
	var joined string
	for _, f := range []string{"add.csv", "alt.csv", "sdn.csv", "sdn_comments.csv"} {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		joined += hexSHA(raw)
	}
	if want := hexSHA([]byte(joined)); l.Hash != want {
		t.Fatalf("hash %s, want %s (SHA-256 of the files' SHA-256s: add, alt, sdn, sdn_comments)", l.Hash, want)
	}
	moreno := entry(t, l, "15102")
	if moreno.Name != "MORENO, Daniel" || moreno.Type != "person" || !slices.Contains(moreno.AltNames, "Daniel Gonzalo MORENO JR.") || !slices.Contains(moreno.Countries, "BZ") {
		t.Fatalf("entry 15102: %+v", moreno)
	}
	if iran := entry(t, l, "11195"); !slices.Contains(iran.AltNames, "HESA") || iran.Type != "business" || !slices.Contains(iran.Countries, "IR") {
		t.Fatalf("entry 11195: %+v", iran)
	}
}

// TestLoadUNSample reads the UN consolidated list sample: people and
// entities, names joined from their parts, low-quality aliases left out.
func TestLoadUNSample(t *testing.T) {
	raw, err := os.ReadFile(compliancetest.UNFile())
	if err != nil {
		t.Fatal(err)
	}
	l, err := compliance.ParseUN(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 11 || l.Hash != hexSHA(raw) || l.Name != compliance.ListUN {
		t.Fatalf("%d entries, hash %s, name %s", len(l.Entries), l.Hash, l.Name)
	}
	makenga := entry(t, l, "CDi.008")
	if makenga.Name != "SULTANI MAKENGA" || slices.Contains(makenga.AltNames, "Musa") || !slices.Contains(makenga.AltNames, "MAKENGA, EMMANUEL SULTANI") {
		t.Fatalf("CDi.008: %+v (the Low alias Musa must be left out)", makenga)
	}
	if komid := entry(t, l, "KPe.001"); komid.Type != "business" || !slices.Contains(komid.AltNames, "KOMID") || !slices.Contains(komid.Programs, "DPRK") {
		t.Fatalf("KPe.001: %+v", komid)
	}
	if zawahiri := entry(t, l, "QDi.006"); zawahiri.Name != "AYMAN MUHAMMED RABI AL-ZAWAHIRI" || !slices.Contains(zawahiri.Countries, "EG") {
		t.Fatalf("QDi.006: %+v", zawahiri)
	}
}

// TestLoadRefusesBrokenLists: each problem is an error naming the file or
// what is missing, never a list quietly shorter than the source.
func TestLoadRefusesBrokenLists(t *testing.T) {
	ctx := context.Background()
	partial := t.TempDir()
	for _, f := range []string{"sdn.csv", "alt.csv", "sdn_comments.csv"} {
		raw, _ := os.ReadFile(filepath.Join(compliancetest.OFACDir(t), f))
		os.WriteFile(filepath.Join(partial, f), raw, 0o644)
	}
	empty := t.TempDir()
	for _, f := range compliance.OFACFiles {
		os.WriteFile(filepath.Join(empty, f), nil, 0o644)
	}
	badXML := filepath.Join(t.TempDir(), "un.xml")
	os.WriteFile(badXML, []byte("<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL>"), 0o644)
	noEntries := filepath.Join(t.TempDir(), "un.xml")
	os.WriteFile(noEntries, []byte(`<CONSOLIDATED_LIST dateGenerated="2025-01-01"></CONSOLIDATED_LIST>`), 0o644)
	for _, tc := range []struct {
		src  compliance.Source
		want string
	}{
		{compliance.Source{List: compliance.ListOFAC, Location: partial}, "add.csv"},
		{compliance.Source{List: compliance.ListOFAC, Location: empty}, "sdn.csv has no record"},
		{compliance.Source{List: compliance.ListOFAC, Location: filepath.Join(empty, "nowhere")}, "no sdn.csv"},
		{compliance.Source{List: compliance.ListUN, Location: badXML}, "CONSOLIDATED_LIST"},
		{compliance.Source{List: compliance.ListUN, Location: noEntries}, "no INDIVIDUALS/INDIVIDUAL or ENTITIES/ENTITY"},
		{compliance.Source{List: "xx", Location: badXML}, "unknown list"},
	} {
		_, err := compliance.Load(ctx, tc.src, nil, time.Now())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error about %q, got %v", tc.src, tc.want, err)
		}
	}
}

// TestLoadFromURL fetches both lists over HTTP, as from OFAC's and the
// UN's servers: same content, same hash as from files; a server error is
// reported with its status.
func TestLoadFromURL(t *testing.T) {
	dir := compliancetest.OFACDir(t)
	mux := http.NewServeMux()
	mux.Handle("/ofac/", http.StripPrefix("/ofac/", http.FileServer(http.Dir(dir))))
	mux.HandleFunc("/un/consolidated.xml", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, compliancetest.UNFile()) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()
	for _, tc := range []struct{ url, file compliance.Source }{
		{compliance.Source{List: compliance.ListOFAC, Location: srv.URL + "/ofac/"}, compliance.Source{List: compliance.ListOFAC, Location: dir}},
		{compliance.Source{List: compliance.ListUN, Location: srv.URL + "/un/consolidated.xml"}, compliance.Source{List: compliance.ListUN, Location: compliancetest.UNFile()}},
	} {
		fromURL, err := compliance.Load(ctx, tc.url, srv.Client(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		fromFile, err := compliance.Load(ctx, tc.file, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if fromURL.Hash != fromFile.Hash || len(fromURL.Entries) != len(fromFile.Entries) || fromURL.Source != tc.url.Location {
			t.Fatalf("%s: %d entries %s, from the file %d entries %s", tc.url, len(fromURL.Entries), fromURL.Hash, len(fromFile.Entries), fromFile.Hash)
		}
	}
	_, err := compliance.Load(ctx, compliance.Source{List: compliance.ListUN, Location: srv.URL + "/un/missing.xml?token=s3cret"}, srv.Client(), time.Now())
	if err == nil || !strings.Contains(err.Error(), "404") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("a missing URL, its token never shown: %v", err)
	}
	l, err := compliance.Load(ctx, compliance.Source{List: compliance.ListUN, Location: srv.URL + "/un/consolidated.xml?token=s3cret"}, srv.Client(), time.Now())
	if err != nil || strings.Contains(l.Source, "s3cret") {
		t.Fatalf("the recorded source hides the token: %q %v", l.Source, err)
	}
}

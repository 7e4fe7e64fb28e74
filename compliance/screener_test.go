package compliance_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/compliance/compliancetest"
)

func reasonCodes(d compliance.Decision) []string {
	var out []string
	for _, r := range d.Reasons {
		out = append(out, r.Code)
	}
	return out
}

// TestSanctionsPolicy: what a name, a date of birth and an identifier
// decide.
func TestSanctionsPolicy(t *testing.T) {
	s := compliancetest.Screener(t, compliance.Config{})
	for _, tc := range []struct {
		name    string
		party   compliance.Party
		outcome compliance.Outcome
		code    string
	}{
		{"a listed name reordered", compliance.Party{Name: "Daniel Moreno"}, compliance.Review, compliance.CodeExactName},
		{"a fuzzy name alone never rejects", compliance.Party{Name: "Dmitri Khoroshev"}, compliance.Review, compliance.CodeSanctionsHit},
		// A date of birth that differs lowers the score under the
		// corroborated threshold, but an exact name still holds.
		{"an exact name with another date of birth", compliance.Party{Name: "Daniel Moreno", BirthDate: "1990-01-01"}, compliance.Review, compliance.CodeExactName},
		{"a fuzzy name with another date of birth", compliance.Party{Name: "Artem Lifshits", BirthDate: "1971-03-03"}, compliance.Pass, ""},
		{"a fuzzy name with the listed date of birth", compliance.Party{Name: "Artem Lifshits", BirthDate: "1992-12-26"}, compliance.Review, compliance.CodeSanctionsHit},
		{"the listed passport number", compliance.Party{Name: "Ri Won Ho", ID: "381310014"}, compliance.Reject, compliance.CodeExactName},
		{"a merchant of the fixture world", compliance.Party{Name: "Berlin Books", Country: "DE"}, compliance.Pass, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.party.Role = compliance.Creditor
			d := s.Check(tc.party)
			if d.Outcome != tc.outcome {
				t.Fatalf("outcome %s, want %s: %+v", d.Outcome, tc.outcome, d.Reasons)
			}
			if tc.code != "" && !slices.Contains(reasonCodes(d), tc.code) {
				t.Fatalf("reasons %v, want %s", reasonCodes(d), tc.code)
			}
			if len(d.Lists) != 2 || d.Lists[0].Hash == "" {
				t.Fatalf("the decision must record the lists and their hashes: %+v", d.Lists)
			}
			for _, m := range d.Matches {
				if m.ListHash == "" || m.Role != compliance.Creditor || m.Score <= 0 {
					t.Fatalf("match %+v", m)
				}
			}
			if d.Outcome != compliance.Pass && (len(d.Matches) == 0 || d.Score == 0 || d.ISOReason() != compliance.ISORegulatory) {
				t.Fatalf("a hit records the matched entries, the score and RR04: %+v", d)
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		p     compliance.Policy
		field string
	}{
		{compliance.Policy{NameOnly: compliance.Thresholds{Review: 0}, Corroborated: compliance.Thresholds{Review: 0.8}}, "name_only.review"},
		{compliance.Policy{NameOnly: compliance.Thresholds{Review: 0.7}, Corroborated: compliance.Thresholds{Review: 0.8, Reject: 0.5}}, "corroborated.reject"},
		{compliance.Policy{NameOnly: compliance.Thresholds{Review: 1.2}, Corroborated: compliance.Thresholds{Review: 0.8}}, "name_only.review"},
	} {
		err := tc.p.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.field+":") {
			t.Errorf("%+v: want an error on %s, got %v", tc.p, tc.field, err)
		}
	}
	if _, err := compliance.New(compliance.Config{Sources: []compliance.Source{{List: compliance.ListUN, Location: "a"}, {List: compliance.ListUN, Location: "b"}}}); err == nil {
		t.Fatal("a list configured twice must be refused")
	}
}

// TestPartyAddressLimit: the fullest address an ISO 20022 party can
// carry fits; a field past the limit is refused naming it.
func TestPartyAddressLimit(t *testing.T) {
	lines := make([]string, 7)
	for i := range lines {
		lines[i] = strings.Repeat("ü", 70)
	}
	full := strings.Join(append(lines, strings.Repeat("s", 70), "1234567890123456", "1234567890123456", strings.Repeat("t", 35)), ", ")
	if err := (compliance.Party{Name: "Jürgen Müller", Address: full}).Validate(); err != nil {
		t.Fatalf("a full address of %d characters: %v", len([]rune(full)), err)
	}
	err := compliance.Party{Name: "Jürgen Müller", Address: strings.Repeat("x", compliance.MaxFieldLen+1)}.Validate()
	var fe *compliance.FieldError
	if !errors.As(err, &fe) || fe.Field != "address" {
		t.Fatalf("want an error on address, got %v", err)
	}
}

// TestNoListsPasses: without lists, screening passes everything (serve
// says so loudly at start) and records that no list was screened.
func TestNoListsPasses(t *testing.T) {
	s, err := compliance.New(compliance.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := s.Check(compliance.Party{Name: "Daniel Moreno"})
	if d.Outcome != compliance.Pass || len(d.Lists) != 0 {
		t.Fatalf("%+v", d)
	}
}

// TestReloadSwapsWhileScreening: screening goes on during reloads and
// always sees one whole version of the lists; a new version is used as
// soon as it is loaded; a list that fails to load keeps its last version
// while the others are refreshed.
func TestReloadSwapsWhileScreening(t *testing.T) {
	ofacDir := t.TempDir()
	for _, f := range compliance.OFACFiles {
		raw, err := os.ReadFile(filepath.Join(compliancetest.OFACDir(t), f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(ofacDir, f), raw, 0o644)
	}
	unRaw, _ := os.ReadFile(compliancetest.UNFile())
	unFile := filepath.Join(t.TempDir(), "consolidated.xml")
	os.WriteFile(unFile, unRaw, 0o644)
	s, err := compliance.New(compliance.Config{Sources: []compliance.Source{{List: compliance.ListOFAC, Location: ofacDir}, {List: compliance.ListUN, Location: unFile}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := s.Reload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	newcomer := compliance.Party{Role: compliance.Debtor, Name: "Oskar Vandelheim"}
	if d := s.Check(newcomer); d.Outcome != compliance.Pass {
		t.Fatalf("not listed yet: %+v", d)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	var checks, torn atomic.Int64
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				d := s.Check(compliance.Party{Name: "Daniel Moreno"})
				checks.Add(1)
				if len(d.Lists) != 2 || d.Outcome != compliance.Review {
					torn.Add(1)
				}
			}
		})
	}
	added := strings.Replace(string(unRaw), " <ENTITIES>", ` <ENTITIES>
  <ENTITY><DATAID>3999</DATAID><FIRST_NAME>OSKAR VANDELHEIM</FIRST_NAME><UN_LIST_TYPE>Test</UN_LIST_TYPE><REFERENCE_NUMBER>XXe.999</REFERENCE_NUMBER></ENTITY>`, 1)
	for i := range 6 {
		if i == 3 {
			os.WriteFile(unFile, []byte(added), 0o644)
		}
		if _, err := s.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if torn.Load() != 0 || checks.Load() == 0 {
		t.Fatalf("%d of %d checks during reloads saw no lists or missed a listed name", torn.Load(), checks.Load())
	}
	d := s.Check(newcomer)
	if d.Outcome != compliance.Review || d.Matches[0].EntryID != "XXe.999" {
		t.Fatalf("after the reload the new entry must be screened: %+v", d)
	}
	if un := s.Lists()[1]; un.Hash == first[1].Hash || un.Entries != first[1].Entries+1 {
		t.Fatalf("the UN list's hash and size must be the new version's: %+v (was %+v)", un, first[1])
	}

	// A broken UN file: the error says so, the last good UN list stays.
	before := s.Lists()
	os.WriteFile(unFile, []byte("<CONSOLIDATED_LIST>"), 0o644)
	after, err := s.Reload(ctx)
	if err == nil || !strings.Contains(err.Error(), "still screening against the version loaded") {
		t.Fatalf("a failed reload must say what is still used: %v", err)
	}
	if len(after) != 2 || after[1].Hash != before[1].Hash {
		t.Fatalf("the last good UN list must stay: %+v, was %+v", after, before)
	}
	if d := s.Check(newcomer); d.Outcome != compliance.Review {
		t.Fatalf("screening must go on against the last good list: %+v", d)
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, norm, key, skel string }{
		{"MORENO, Daniel", "moreno daniel", "daniel moreno", "daniel moreno"},
		{"JÉRÔME KAKWAVU", "jerome kakwavu", "jerome kakwavu", "ierome kakvavu"},
		{"TNK TRADING INTERNATIONAL S.A.", "tnk trading international sa", "international tnk trading", "international tnk trading"},
		{"TNK Trading Intl Ltd", "tnk trading intl ltd", "international tnk trading", "international tnk trading"},
		{"O'Neil & Sons", "oneil sons", "oneil sons", "oneil sons"},
		{"Artyom Lifshitz", "artyom lifshitz", "artyom lifshitz", "artem lifshits"},
		{"Ayman al-Zawahiri", "ayman al zawahiri", "al ayman zawahiri", "aiman zavahiri"},
		{"Łódź Trading", "lodz trading", "lodz trading", "lodz trading"},
	} {
		if got := compliance.Normalize(tc.in); got != tc.norm {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.norm)
		}
		if got := compliance.NameKey(tc.in); got != tc.key {
			t.Errorf("NameKey(%q) = %q, want %q", tc.in, got, tc.key)
		}
		if got := compliance.SkeletonKey(tc.in); got != tc.skel {
			t.Errorf("SkeletonKey(%q) = %q, want %q", tc.in, got, tc.skel)
		}
	}
}

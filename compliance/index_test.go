package compliance_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/compliance/compliancetest"
)

// generatedScreener screens against the sample lists and a generated
// OFAC list of n entries; it returns the generated people's names too.
func generatedScreener(t *testing.T, n int) (*compliance.Screener, []string) {
	t.Helper()
	dir := t.TempDir()
	people := writeOFAC(t, dir, n, 7)
	sources := append(compliancetest.Sources(t), compliance.Source{List: compliance.ListEU, Location: compliancetest.EUFile(t)})
	for i := range sources {
		if sources[i].List == compliance.ListOFAC {
			sources[i].Location = dir
		}
	}
	s, err := compliance.New(compliance.Config{Sources: sources})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, people
}

// probeNames are the labelled names, generated people's names with a typo
// and generated names that are nobody's.
func probeNames(t *testing.T, people []string) []string {
	var out []string
	for _, v := range loadVariants(t) {
		out = append(out, v.Name)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		out = append(out, title(typo(r, people[r.IntN(len(people))])), title(word(r, 2)+" "+word(r, 3)), title(word(r, 3))+" Books GmbH")
	}
	return out
}

// TestCountingBothWays: candidate search counts shared trigrams over every
// name when the posting lists are long and over the names touched when
// they are short; both must find the same names with the same Dice.
func TestCountingBothWays(t *testing.T) {
	s, people := generatedScreener(t, 2000)
	found := 0
	for _, name := range probeNames(t, people) {
		dense, sparse := s.Index().CountBothWays(name)
		if len(dense) == 0 {
			continue
		}
		found++
		if !slices.Equal(dense, sparse) {
			t.Fatalf("%q: counting every name found %d, counting the touched ones %d", name, len(dense), len(sparse))
		}
	}
	if found < 500 {
		t.Fatalf("only %d names found candidates: the test compares too little", found)
	}
}

// TestScoreBound: for a party carrying only a name, the bound scoring
// uses to skip candidates is never below watchman's score — checked for
// every probe name against its candidates and twenty other entries — and
// matching finds the very same matches (entries, scores, what was
// compared) with the bound and without it, for every probe and for every
// labelled variant with its date of birth and identifier.
func TestScoreBound(t *testing.T) {
	s, people := generatedScreener(t, 2000)
	ix := s.Index()
	floor := min(compliance.DefaultPolicy.NameOnly.Review, compliance.DefaultPolicy.Corroborated.Review)
	r := rand.New(rand.NewPCG(8, 9))
	pairs, skipped, matched := 0, 0, 0
	for _, name := range probeNames(t, people) {
		p := compliance.Party{Role: compliance.Asked, Name: name}
		entries := ix.CandidateEntries(name)
		for range 20 {
			entries = append(entries, int32(r.IntN(ix.Size())))
		}
		for _, e := range entries {
			bound, score := ix.BoundAndScore(p, int(e))
			if score > bound+1e-9 {
				t.Fatalf("%q against entry %d: watchman scores %v, above the bound %v", name, e, score, bound)
			}
			pairs++
			if bound < floor {
				skipped++
			}
		}
		matched += sameMatches(t, ix, p, floor)
	}
	for _, v := range loadVariants(t) {
		matched += sameMatches(t, ix, compliance.Party{Role: compliance.Asked, Name: v.Name, BirthDate: v.DOB, ID: v.ID, Country: v.Country}, floor)
	}
	t.Logf("%d pairs, %d (%.0f %%) skipped by the bound; %d matches found both ways", pairs, skipped, 100*float64(skipped)/float64(pairs), matched)
	if skipped < pairs/2 || matched < 200 {
		t.Fatalf("the bound skipped %d of %d pairs and %d matches were compared: the test compares too little", skipped, pairs, matched)
	}
}

func sameMatches(t *testing.T, ix *compliance.Index, p compliance.Party, floor float64) int {
	t.Helper()
	bounded, unbounded := ix.MatchBothWays(p, floor)
	if !reflect.DeepEqual(bounded, unbounded) {
		t.Fatalf("%+v: with the bound %+v, without %+v", p, bounded, unbounded)
	}
	return len(bounded)
}

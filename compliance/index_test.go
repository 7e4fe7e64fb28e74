package compliance_test

import (
	"context"
	"math/rand/v2"
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

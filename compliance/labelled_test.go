package compliance_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/compliance/compliancetest"
)

type variant struct {
	Name, DOB, ID, Country string
	Category, Expect       string
}

func loadVariants(t *testing.T) []variant {
	t.Helper()
	raw, err := os.ReadFile("testdata/labelled-names.json")
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Variants []variant }
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatalf("labelled-names.json: %v", err)
	}
	return set.Variants
}

// TestLabelledNames screens every labelled variant against both sample
// lists at the default policy and computes recall (variants of a listed
// name held or rejected, with that entry among the matches) and the
// false-positive rate (close non-matches held). The README quotes the
// figures it prints.
func TestLabelledNames(t *testing.T) {
	s := compliancetest.Screener(t, compliance.Config{})
	vs := loadVariants(t)
	if len(vs) < 150 {
		t.Fatalf("the labelled set has %d variants; it must have at least 150", len(vs))
	}
	type tally struct{ n, hit int }
	byCat := map[string]*tally{}
	var tp, fn, fp, tn int
	var misses []string
	lowestHit, highestMiss := 1.0, 0.0 // fuzzy scores of held variants and of passed non-matches
	for _, v := range vs {
		d := s.Check(compliance.Party{Role: compliance.Asked, Name: v.Name, BirthDate: v.DOB, ID: v.ID, Country: v.Country})
		held := d.Outcome != compliance.Pass
		found := slices.ContainsFunc(d.Matches, func(m compliance.Match) bool { return m.List+"/"+m.EntryID == v.Expect })
		c := byCat[v.Category]
		if c == nil {
			c = &tally{}
			byCat[v.Category] = c
		}
		c.n++
		switch {
		case v.Expect != "" && held && found:
			tp++
			c.hit++
			for _, m := range d.Matches {
				if m.List+"/"+m.EntryID == v.Expect && !m.ExactName {
					lowestHit = min(lowestHit, m.Score)
				}
			}
		case v.Expect != "":
			fn++
			misses = append(misses, fmt.Sprintf("missed %q (%s): %s score %.4f", v.Name, v.Expect, d.Outcome, d.Score))
		case held:
			fp++
			c.hit++
			misses = append(misses, fmt.Sprintf("false positive %q: %s on %s", v.Name, d.Outcome, matchNames(d.Matches)))
		default:
			tn++
			for _, m := range s.Index().Match(compliance.Party{Name: v.Name, BirthDate: v.DOB, ID: v.ID, Country: v.Country}, 0) {
				highestMiss = max(highestMiss, m.Score)
			}
		}
	}
	recall := float64(tp) / float64(tp+fn)
	fpr := float64(fp) / float64(fp+tn)
	cats := make([]string, 0, len(byCat))
	for c := range byCat {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	var b strings.Builder
	fmt.Fprintf(&b, "labelled set: %d variants, %d of a listed name, %d close non-matches (policy %+v)\n", len(vs), tp+fn, fp+tn, s.Policy())
	for _, c := range cats {
		fmt.Fprintf(&b, "  %-24s %2d variants, %2d held\n", c, byCat[c].n, byCat[c].hit)
	}
	fmt.Fprintf(&b, "  recall %.3f (%d/%d)   false-positive rate %.3f (%d/%d)\n", recall, tp, tp+fn, fpr, fp, fp+tn)
	fmt.Fprintf(&b, "  lowest score of a variant held on score alone %.4f; highest score of a non-match passed %.4f\n", lowestHit, highestMiss)
	for _, m := range misses {
		fmt.Fprintf(&b, "  %s\n", m)
	}
	t.Log("\n" + b.String())
	if recall < 0.97 {
		t.Errorf("recall %.3f is under 0.97", recall)
	}
	if fpr > 0.10 {
		t.Errorf("false-positive rate %.3f is over 0.10", fpr)
	}
}

func matchNames(ms []compliance.Match) string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s/%s %q %.4f", m.List, m.EntryID, m.EntryName, m.Score))
	}
	return strings.Join(out, "; ")
}

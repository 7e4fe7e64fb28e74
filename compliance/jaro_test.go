package compliance

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestSortByScore: scoring pairs words in the order watchman's sort.Slice
// leaves them, equal scores included.
func TestSortByScore(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		s := make([]pairScore, r.IntN(40))
		for i := range s {
			s[i] = pairScore{score: float64(r.IntN(4)) / 4, search: i, index: r.IntN(5)} // many ties
		}
		want := slices.Clone(s)
		sort.Slice(want, func(i, j int) bool { return want[i].score > want[j].score })
		sortByScore(s)
		if !slices.Equal(s, want) {
			t.Fatalf("sorted %v, sort.Slice %v", s, want)
		}
	}
}

package compliance

import (
	"cmp"
	"slices"
)

// Ranked is a name found by candidate search: its entry and Dice.
type Ranked = ranked

// CountBothWays runs candidate search's counting both ways over name's
// trigrams and returns what each found, ordered by entry then Dice.
func (ix *Index) CountBothWays(name string) (dense, sparse []Ranked) {
	grams := trigrams(NameWords(name), Skeleton(name))
	var lists [][]int32
	for _, g := range grams {
		lists = append(lists, ix.grams[g])
	}
	counts := make([]uint16, len(ix.nameEntry))
	dense = ix.countDense(counts, lists, len(grams), nil)
	_, sparse = ix.countSparse(counts, lists, len(grams), nil, nil)
	byEntry := func(a, b ranked) int { return cmp.Or(cmp.Compare(a.entry, b.entry), cmp.Compare(a.dice, b.dice)) }
	slices.SortFunc(dense, byEntry)
	slices.SortFunc(sparse, byEntry)
	return dense, sparse
}

// MatchBothWays matches p with the score bound and without it.
func (ix *Index) MatchBothWays(p Party, floor float64) (bounded, unbounded []Match) {
	bounded = ix.match(p, floor)
	ix.noBound = true
	defer func() { ix.noBound = false }()
	return bounded, ix.match(p, floor)
}

// BoundAndScore is the score bound of p, a party carrying only a name,
// against entry (+Inf: none) and watchman's score.
func (ix *Index) BoundAndScore(p Party, entry int) (bound, score float64) {
	words, skeleton := NameWords(p.Name), Skeleton(p.Name)
	queries, skelQueries := queryEntities(p, words), queryEntities(p, skeleton)
	same := slices.Equal(words, skeleton)
	b := newScoreBound(queries, skelQueries, same)
	if b == nil {
		panic("no bound for " + p.Name)
	}
	e := ix.entries[entry]
	return b.of(e), e.score(queries, skelQueries, same).score
}

// CandidateEntries are the entries candidate search finds for name.
func (ix *Index) CandidateEntries(name string) []int32 {
	return ix.candidates(trigrams(NameWords(name), Skeleton(name)))
}

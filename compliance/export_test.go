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
	counts := make([]uint16, len(ix.names))
	dense = ix.countDense(counts, lists, len(grams), nil)
	_, sparse = ix.countSparse(counts, lists, len(grams), nil, nil)
	byEntry := func(a, b ranked) int { return cmp.Or(cmp.Compare(a.entry, b.entry), cmp.Compare(a.dice, b.dice)) }
	slices.SortFunc(dense, byEntry)
	slices.SortFunc(sparse, byEntry)
	return dense, sparse
}

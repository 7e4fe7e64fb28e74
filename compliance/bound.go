package compliance

import (
	"math"
	"os"
	"reflect"
	"strings"

	"github.com/moov-io/watchman/pkg/search"
)

// A bound on watchman's score lets scoring skip the candidates that
// cannot reach the floor, without calling watchman for them: most of a
// party's 32 candidates merely share trigrams with its name.
//
// It holds for a party that carries only a name (no address, identifier
// nor date of birth): watchman v0.60.0 (pkg/search, DetailedSimilarity)
// then compares the name and nothing else, and its final score is at
// most 0.9 × the name's score s (applyPenaltiesAndBonuses multiplies by
// 0.9 when fewer than two required fields were compared, and the name is
// the only one; every other factor is at most 1, and neither the exact
// override nor the perfect-match boost can apply without an identifier).
// s is the best over the entry's names of BestPairCombinationJaroWinkler,
// times 0.8 when it is at most 0.9 and the party's name has two words or
// more (adjustScoreBasedOnQuality), times factors at most 1 — or 1 when
// both primary names are the same words. An entry with a former name
// (compared too, by watchman's own folding) gets no bound.
//
// BestPairCombinationJaroWinkler is rebuilt here (jaro.go) over word
// combinations prepared once per entry name at load and once per party,
// where watchman builds both at every comparison; the scores scoring
// reports are still watchman's. TestScoreBound checks the bound against
// watchman's score pair by pair, and that matching finds the same
// matches with and without it.

// boundSlack covers the rounding of watchman's weighted average (s × 42 /
// 42 is s within an ulp or two).
const boundSlack = 1e-9

// nameSide is one side's names as watchman's name comparison sees them.
type nameSide struct {
	joined string      // PreparedFields.Name: the primary name's words joined
	words  int         // words in the primary name
	combos [][]wordsOf // each name's word combinations, primary name first
}

func sideOf(pf search.PreparedFields) nameSide {
	s := nameSide{joined: pf.Name, words: len(pf.NameFields)}
	for _, fields := range append([][]string{pf.NameFields}, pf.AltNameFields...) {
		if len(fields) > 0 { // watchman scores an empty name 0
			s.combos = append(s.combos, combinations(fields))
		}
	}
	return s
}

// scoreBound bounds the score of one party's comparisons.
type scoreBound struct {
	words, skeleton nameSide // the party's name in its two spellings
	sameSpelling    bool
	scratch         []pairScore // one party is matched by one goroutine
}

// newScoreBound is the bound for a party scored with queries (its name's
// words) and skelQueries (its skeleton), nil when none holds: the party
// carries more than a name, or watchman's string scoring is tuned by its
// environment variables away from the constants jaro.go copies.
func newScoreBound(queries, skelQueries []search.Entity[search.Value], sameSpelling bool) *scoreBound {
	if !defaultStringScoring || len(queries) != 1 || len(skelQueries) != 1 || !nameOnly(queries[0]) || !nameOnly(skelQueries[0]) {
		return nil
	}
	b := &scoreBound{words: sideOf(queries[0].PreparedFields), skeleton: sideOf(skelQueries[0].PreparedFields), sameSpelling: sameSpelling}
	if len(b.words.combos) == 0 || len(b.skeleton.combos) == 0 {
		return nil // watchman compares no name: nothing to bound it by
	}
	return b
}

// nameOnly says whether q carries nothing watchman compares but its name.
func nameOnly(q search.Entity[search.Value]) bool {
	q.Name, q.Source = "", ""
	q.PreparedFields.Name, q.PreparedFields.NameFields = "", nil
	return reflect.ValueOf(q).IsZero()
}

// below says whether e's score cannot reach floor.
func (b *scoreBound) below(e *Entry, floor float64) bool {
	return b != nil && b.of(e) < floor-boundSlack
}

// of is the most e's score can be, whichever spellings scoring compares
// (as Entry.score does); +Inf when there is no bound.
func (b *scoreBound) of(e *Entry) float64 {
	if e.formerName {
		return math.Inf(1)
	}
	ub := b.words.bound(&e.words, &b.scratch)
	if !(b.sameSpelling && e.sameSpelling) {
		ub = max(ub, b.skeleton.bound(&e.skeletonWords, &b.scratch))
	}
	return ub
}

// bound is the most watchman's final score can be for a party of name q
// against an entry of names e; scratch is reused between calls.
func (q *nameSide) bound(e *nameSide, scratch *[]pairScore) float64 {
	if q.joined == e.joined {
		return 1 // watchman's exact-name fast path
	}
	var raw float64
	for _, combos := range e.combos {
		raw = max(raw, bestCombination(q.combos[0], combos, scratch))
	}
	if raw <= termMatchThreshold && q.words >= 2 {
		raw *= 0.8 // too few matching terms
	}
	return 0.9 * raw // fewer than two required fields compared
}

// termMatchThreshold is watchman's: a name scoring above it counts all
// its words as matching.
const termMatchThreshold = 0.90

// watchmanTuning are the environment variables watchman's string scoring
// reads; jaro.go copies their defaults.
var watchmanTuning = []string{"JARO_WINKLER_BOOST_THRESHOLD", "JARO_WINKLER_PREFIX_SIZE", "LENGTH_DIFFERENCE_CUTOFF_FACTOR",
	"LENGTH_DIFFERENCE_PENALTY_WEIGHT", "DIFFERENT_LETTER_PENALTY_WEIGHT", "UNMATCHED_INDEX_TOKEN_WEIGHT", "DISABLE_PHONETIC_FILTERING"}

var defaultStringScoring = func() bool {
	for _, v := range watchmanTuning {
		if strings.TrimSpace(os.Getenv(v)) != "" {
			return false
		}
	}
	return true
}()

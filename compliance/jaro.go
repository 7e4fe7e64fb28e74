package compliance

import (
	"math"
	"sort"
	"unicode"

	"github.com/xrash/smetrics"
)

// watchman's name similarity (github.com/moov-io/watchman v0.60.0, Apache
// License 2.0, internal/stringscore:
// BestPairCombinationJaroWinkler, BestPairsJaroWinkler, customJaroWinkler,
// GenerateWordCombinations, firstCharacterSoundexMatch), copied operation
// for operation so that it gives the same float64, for the score bound
// (bound.go). The word combinations are taken as arguments, prepared once
// per name, instead of being built at every comparison.

// watchman's default tuning (its environment variables unset).
const (
	jwBoostThreshold              = 0.7
	jwPrefixSize                  = 4
	lengthDifferenceCutoffFactor  = 0.9
	lengthDifferencePenaltyWeight = 0.3
	differentLetterPenaltyWeight  = 0.9
	unmatchedIndexPenaltyWeight   = 0.15
)

// wordsOf are a name's words (or one combination of them) with what
// bestPairs reads of each word, worked out once.
type wordsOf struct {
	text   []string
	sound  []rune // each word's first sound (phoneticClass)
	length int    // bytes in all the words
}

func prepareWords(text []string) wordsOf {
	w := wordsOf{text: text, sound: make([]rune, len(text)), length: sumLength(text)}
	for i, t := range text {
		w.sound[i] = phoneticClass(t)
	}
	return w
}

// combinations are a name's word combinations, prepared.
func combinations(tokens []string) []wordsOf {
	var out []wordsOf
	for _, c := range wordCombinations(tokens) {
		out = append(out, prepareWords(c))
	}
	return out
}

// bestCombination is BestPairCombinationJaroWinkler over prepared word
// combinations; scratch is reused between calls.
func bestCombination(search, indexed []wordsOf, scratch *[]pairScore) float64 {
	var best float64
	for i := range search {
		for j := range indexed {
			if score := bestPairs(&search[i], &indexed[j], scratch); score > best {
				best = score
			}
		}
	}
	return best
}

// wordCombinations is GenerateWordCombinations: the words, then short
// words (three letters or fewer) joined to the next, then to the
// previous, when that differs.
func wordCombinations(tokens []string) [][]string {
	if len(tokens) <= 1 {
		return [][]string{tokens}
	}
	out := [][]string{tokens}
	forward := make([]string, 0, len(tokens))
	for i := 0; i < len(tokens); i++ {
		if i < len(tokens)-1 && len(tokens[i]) <= 3 {
			forward = append(forward, tokens[i]+tokens[i+1])
			i++
		} else {
			forward = append(forward, tokens[i])
		}
	}
	if len(forward) == len(tokens) {
		return out
	}
	out = append(out, forward)
	var backward []string
	for i, t := range tokens {
		switch {
		case i > 0 && len(t) <= 3:
			if len(backward) > 0 {
				backward[len(backward)-1] += t
			}
		default:
			backward = append(backward, t)
		}
	}
	if len(backward) < len(tokens) && !equalWords(backward, forward) {
		out = append(out, backward)
	}
	return out
}

func equalWords(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// pairScore is one search word against one indexed word.
type pairScore struct {
	score         float64
	search, index int
}

// sortByScore sorts best first exactly as watchman's sort.Slice does, so
// that equal scores end in the same order and the same words are paired:
// sort.Sort runs the same pdqsort, which sorts 12 elements or fewer by
// this insertion sort, done here without boxing the slice.
func sortByScore(s []pairScore) {
	if len(s) > 12 {
		sort.Sort(byScore(s))
		return
	}
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].score > s[j-1].score; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

type byScore []pairScore

func (s byScore) Len() int           { return len(s) }
func (s byScore) Less(i, j int) bool { return s[i].score > s[j].score }
func (s byScore) Swap(i, j int)      { s[i], s[j] = s[j], s[i] }

// bestPairs is BestPairsJaroWinkler: each search word paired greedily with
// the indexed word it resembles best, weighted by length, less a penalty
// for the indexed words left unpaired.
func bestPairs(search, indexed *wordsOf, scratch *[]pairScore) float64 {
	searchTokens, indexedTokens := search.text, indexed.text
	scores := (*scratch)[:0]
	defer func() { *scratch = scores }()
	for si, s := range searchTokens {
		for ii, t := range indexedTokens {
			// firstCharacterSoundexMatch: an empty word matches nothing
			if t != "" && s != "" && indexed.sound[ii] == search.sound[si] {
				scores = append(scores, pairScore{customJaroWinkler(t, s), si, ii})
			}
		}
	}
	sortByScore(scores)
	var searchedWords, matchedWords [16]bool // most names have fewer words
	searched, matched := searchedWords[:], matchedWords[:]
	if len(searchTokens) > len(searched) || len(indexedTokens) > len(matched) {
		searched, matched = make([]bool, len(searchTokens)), make([]bool, len(indexedTokens))
	}
	matchedLength := 0
	weighted := 0.0
	for _, p := range scores {
		if searched[p.search] || matched[p.index] {
			continue
		}
		weighted += p.score * float64(len(searchTokens[p.search])+len(indexedTokens[p.index]))
		searched[p.search], matched[p.index] = true, true
		matchedLength += len(indexedTokens[p.index])
	}
	average := weighted / float64(search.length+matchedLength)
	matchedIndexLength := 0
	for i, t := range indexedTokens {
		if matched[i] {
			matchedIndexLength += len(t)
		}
	}
	matchedFraction := float64(matchedIndexLength) / float64(indexed.length)
	return average * scalingFactor(matchedFraction, unmatchedIndexPenaltyWeight)
}

// customJaroWinkler is Jaro-Winkler penalised for words of very different
// lengths and for different first letters.
func customJaroWinkler(s1, s2 string) float64 {
	score := smetrics.JaroWinkler(s1, s2, jwBoostThreshold, jwPrefixSize)
	if metric := lengthDifferenceFactor(s1, s2); metric < lengthDifferenceCutoffFactor {
		score = score * scalingFactor(metric, lengthDifferencePenaltyWeight)
	}
	if s1[0] != s2[0] {
		score = score * differentLetterPenaltyWeight
	}
	return score
}

func scalingFactor(metric, weight float64) float64 { return 1.0 - (1.0-metric)*weight }

func sumLength(words []string) int {
	n := 0
	for _, w := range words {
		n += len(w)
	}
	return n
}

func lengthDifferenceFactor(s1, s2 string) float64 {
	l1, l2 := float64(len(s1)), float64(len(s2))
	return math.Min(l1, l2) / math.Max(l1, l2)
}

// phoneticClass is a word's first sound: watchman compares only words
// whose first letters sound alike (a partial soundex).
func phoneticClass(s string) rune {
	for _, r := range s {
		first := unicode.ToUpper(r)
		if class, ok := soundex[first]; ok {
			return class
		}
		return first
	}
	return ' '
}

var soundex = map[rune]rune{
	'A': 'A', 'E': 'A', 'I': 'A', 'O': 'A', 'U': 'A', 'Y': 'A', // vowels
	'B': 'B', 'F': 'B', 'P': 'B', 'V': 'B',
	'C': 'C', 'G': 'C', 'J': 'C', 'K': 'C', 'Q': 'C', 'S': 'C', 'X': 'C', 'Z': 'C',
	'D': 'D', 'T': 'D',
	'L': 'L',
	'M': 'M', 'N': 'M',
	'R': 'R',
	'H': 'H', 'W': 'H',
}

package compliance

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moov-io/iso3166"
	"github.com/moov-io/watchman/pkg/search"
)

// Index holds loaded lists ready for screening. It is immutable once
// built: a reload builds a new Index and swaps it in (Screener), so that
// screening never waits for a reload nor sees half a list.
//
// Scoring every entry with watchman for every party would cost one
// comparison per entry (20,000 for a list that size); instead the names
// sharing character trigrams with the party's name are ranked by their
// Dice coefficient, which survives typos, transliterations and word
// order, and only the best few are scored.
type Index struct {
	lists   []ListInfo
	entries []*Entry
	// Every name and alias of every entry, by name id: its entry, and how
	// many distinct trigrams it has (apart, as candidate search reads
	// every name's count).
	nameEntry []int32
	nameGrams []uint16
	exact     map[string][]int32 // NameKey of a name → entries
	skel      map[string][]int32 // SkeletonKey of a name → entries
	joined    map[string][]int32 // "w:" JoinedKey, "s:" SkeletonJoinedKey of a name → entries
	grams     map[string][]int32 // trigram → names having it
	counts    sync.Pool          // *[]uint16, one counter per name, for candidate search
	scratch   sync.Pool          // *candidateScratch
	noBound   bool               // score every candidate with watchman (tests compare)

	cacheMu sync.Mutex
	cache   map[cacheKey][]Match // merchants and banks recur in payment after payment
}

// cacheKey is a party without its role, and the floor it was matched at.
type cacheKey struct {
	p     Party
	floor float64
}

// Candidate search: a name is a candidate when its Dice coefficient on
// trigrams with the party's name (2 × shared / (ours + theirs)) is at
// least minDice; the maxCandidates entries with the best are scored.
const (
	minDice       = 0.4
	maxCandidates = 32
	maxCached     = 50_000
)

// NewIndex indexes lists. Lists with the same name replace each other: the
// last one wins.
func NewIndex(lists ...*List) *Index {
	ix := &Index{exact: map[string][]int32{}, skel: map[string][]int32{}, joined: map[string][]int32{}, grams: map[string][]int32{}, cache: map[cacheKey][]Match{}}
	byName := map[string]*List{}
	var order []string
	for _, l := range lists {
		if _, seen := byName[l.Name]; !seen {
			order = append(order, l.Name)
		}
		byName[l.Name] = l
	}
	for _, name := range order {
		l := byName[name]
		ix.lists = append(ix.lists, l.Info())
		for i := range l.Entries {
			ix.add(&l.Entries[i])
		}
	}
	n := len(ix.nameEntry)
	ix.counts.New = func() any { c := make([]uint16, n); return &c }
	return ix
}

func (ix *Index) add(e *Entry) {
	id := int32(len(ix.entries))
	ix.entries = append(ix.entries, e)
	for _, name := range e.names() {
		key := NameKey(name)
		if key == "" {
			continue
		}
		addID(ix.exact, key, id)
		addID(ix.skel, SkeletonKey(name), id)
		addID(ix.joined, "w:"+JoinedKey(name), id)
		addID(ix.joined, "s:"+SkeletonJoinedKey(name), id)
		nameID := int32(len(ix.nameEntry))
		grams := trigrams(NameWords(name), Skeleton(name))
		ix.nameEntry = append(ix.nameEntry, id)
		ix.nameGrams = append(ix.nameGrams, uint16(min(len(grams), math.MaxUint16)))
		for _, g := range grams {
			ix.grams[g] = append(ix.grams[g], nameID)
		}
	}
}

// addID adds id to m[k] unless it is there already (ids arrive in order).
func addID(m map[string][]int32, k string, id int32) {
	if ids := m[k]; len(ids) == 0 || ids[len(ids)-1] != id {
		m[k] = append(ids, id)
	}
}

// trigrams are the distinct character trigrams of each word with its ends
// marked ("^mo", "mor", … "no$"), over both spellings of a name.
func trigrams(spellings ...[]string) []string {
	var out []string
	for _, words := range spellings {
		for _, w := range words {
			rs := []rune("^" + w + "$")
			for i := 0; i+3 <= len(rs); i++ {
				if g := string(rs[i : i+3]); !slices.Contains(out, g) {
					out = append(out, g)
				}
			}
		}
	}
	return out
}

// Lists are the lists in the index.
func (ix *Index) Lists() []ListInfo { return slices.Clone(ix.lists) }

// Size is the number of entries.
func (ix *Index) Size() int { return len(ix.entries) }

// Match is a listed entry a party resembles.
type Match struct {
	Role      Role     `json:"role"` // of the party that matched
	Party     string   `json:"party"`
	List      string   `json:"list"`
	ListHash  string   `json:"list_hash"`
	EntryID   string   `json:"entry_id"`
	EntryName string   `json:"entry_name"`
	Type      string   `json:"entry_type"`
	Programs  []string `json:"programs,omitempty"`
	Countries []string `json:"countries,omitempty"`
	// Score is watchman's similarity, 0 to 1, rounded to 4 decimals.
	Score float64 `json:"score"`
	// Compared names what besides the name watchman could compare, the
	// party and the entry both having it: "birth_date", "id", "address".
	// Empty, the score rests on the name alone.
	Compared []string `json:"compared,omitempty"`
	// ExactName: the party's name and one of the entry's names are the
	// same after normalisation: equal NameKeys (case, accents,
	// punctuation, word order, legal form, spelling variants), equal
	// SkeletonKeys (the same name in another transliteration), or equal
	// JoinedKeys (words joined or split).
	ExactName   bool   `json:"exact_name"`
	MatchedName string `json:"matched_name,omitempty"` // the listed name or alias that matched exactly
}

// Match finds the entries p resembles with a score of at least floor, and
// every entry whose name matches p's exactly after normalisation whatever
// its score; best first.
func (ix *Index) Match(p Party, floor float64) []Match {
	if len(ix.entries) == 0 || strings.TrimSpace(p.Name) == "" {
		return nil
	}
	role := p.Role
	p.Role = ""
	key := cacheKey{p, floor}
	ix.cacheMu.Lock()
	cached, ok := ix.cache[key]
	ix.cacheMu.Unlock()
	if !ok {
		cached = ix.match(p, floor)
		ix.cacheMu.Lock()
		if len(ix.cache) >= maxCached {
			clear(ix.cache)
		}
		ix.cache[key] = cached
		ix.cacheMu.Unlock()
	}
	out := slices.Clone(cached)
	for i := range out {
		out[i].Role = role
	}
	return out
}

func (ix *Index) match(p Party, floor float64) []Match {
	words, skeleton := NameWords(p.Name), Skeleton(p.Name)
	exact := map[int32]string{}
	key, skelKey := sortedKey(words), sortedKey(skeleton)
	joined, skelJoined := strings.Join(words, ""), strings.Join(skeleton, "")
	for _, id := range ix.joined["s:"+skelJoined] {
		exact[id] = ix.matchedName(id, SkeletonJoinedKey, skelJoined)
	}
	for _, id := range ix.joined["w:"+joined] {
		exact[id] = ix.matchedName(id, JoinedKey, joined)
	}
	for _, id := range ix.skel[skelKey] {
		exact[id] = ix.matchedName(id, SkeletonKey, skelKey)
	}
	for _, id := range ix.exact[key] {
		exact[id] = ix.matchedName(id, NameKey, key)
	}
	queries := queryEntities(p, words)
	skelQueries := queryEntities(p, skeleton)
	sameSpelling := slices.Equal(words, skeleton) // then the skeleton comparison may add nothing
	bound := newScoreBound(queries, skelQueries, sameSpelling)
	if ix.noBound {
		bound = nil
	}
	var out []Match
	scored := map[int32]bool{}
	score := func(id int32) {
		if scored[id] {
			return
		}
		scored[id] = true
		e := ix.entries[id]
		name, isExact := exact[id]
		if !isExact && bound.below(e, floor) {
			return
		}
		best := e.score(queries, skelQueries, sameSpelling)
		if best.score < floor && !isExact {
			return
		}
		out = append(out, Match{Party: p.Name, List: e.List, ListHash: ix.hashOf(e.List), EntryID: e.ID, EntryName: e.Name,
			Type: e.Type, Programs: e.Programs, Countries: e.Countries, Score: math.Round(best.score*10000) / 10000, Compared: best.compared,
			ExactName: isExact, MatchedName: name})
	}
	for id := range exact {
		score(id)
	}
	for _, id := range ix.candidates(trigrams(words, skeleton)) {
		score(id)
	}
	slices.SortFunc(out, func(a, b Match) int {
		if a.ExactName != b.ExactName {
			if a.ExactName {
				return -1
			}
			return 1
		}
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.List+a.EntryID, b.List+b.EntryID)
	})
	return out
}

func (ix *Index) matchedName(id int32, keyOf func(string) string, key string) string {
	for _, n := range ix.entries[id].names() {
		if keyOf(n) == key {
			return n
		}
	}
	return ""
}

func (ix *Index) hashOf(list string) string {
	for _, l := range ix.lists {
		if l.Name == list {
			return l.Hash
		}
	}
	return ""
}

// candidates are the entries whose names have the best Dice coefficients
// with grams, best first, at most maxCandidates.
func (ix *Index) candidates(grams []string) []int32 {
	if len(grams) == 0 {
		return nil
	}
	cp := ix.counts.Get().(*[]uint16)
	defer ix.counts.Put(cp)
	sc, _ := ix.scratch.Get().(*candidateScratch)
	if sc == nil {
		sc = &candidateScratch{}
	}
	defer ix.scratch.Put(sc)
	lists := sc.lists[:0]
	postings := 0
	for _, g := range grams {
		l := ix.grams[g]
		lists = append(lists, l)
		postings += len(l)
	}
	sc.lists = lists
	if postings >= len(ix.nameEntry)/denseShare {
		sc.found = ix.countDense(*cp, lists, len(grams), sc.found[:0])
	} else {
		sc.touched, sc.found = ix.countSparse(*cp, lists, len(grams), sc.touched[:0], sc.found[:0])
	}
	found := sc.found
	slices.SortFunc(found, func(a, b ranked) int {
		if a.dice != b.dice {
			if a.dice > b.dice {
				return -1
			}
			return 1
		}
		return int(a.entry - b.entry)
	})
	var out []int32
	for _, f := range found {
		if len(out) == maxCandidates {
			break
		}
		if !slices.Contains(out, f.entry) { // an entry's best name comes first
			out = append(out, f.entry)
		}
	}
	return out
}

// denseShare: when the query's posting lists hold at least one name in
// denseShare, counting every name is cheaper than remembering which were
// touched (the profile of BenchmarkScreen20k put the touched list's
// branch and append at about 6 ns per posting, a pass over every name at
// about 1 ns per name). Both ways find the same names.
const denseShare = 6

// countDense adds up the shared trigrams of every name in counts, then
// passes over all the names once, keeping the ones at minDice, and leaves
// counts zeroed.
func (ix *Index) countDense(counts []uint16, lists [][]int32, ours int, found []ranked) []ranked {
	for _, l := range lists {
		for _, n := range l {
			counts[n]++
		}
	}
	theirs := ix.nameGrams[:len(counts)] // one bounds check for the loop
	for n, c := range counts {
		if ok, dice := passes(int(c), ours, int(theirs[n])); ok {
			found = append(found, ranked{ix.nameEntry[n], dice})
		}
	}
	clear(counts)
	return found
}

// countSparse is countDense for few postings: only the names touched are
// looked at again.
func (ix *Index) countSparse(counts []uint16, lists [][]int32, ours int, touched []int32, found []ranked) ([]int32, []ranked) {
	for _, l := range lists {
		for _, n := range l {
			if counts[n] == 0 {
				touched = append(touched, n)
			}
			counts[n]++
		}
	}
	for _, n := range touched {
		c := counts[n]
		counts[n] = 0
		if ok, dice := passes(int(c), ours, int(ix.nameGrams[n])); ok {
			found = append(found, ranked{ix.nameEntry[n], dice})
		}
	}
	return touched, found
}

// passes says whether a name sharing shared of our trigrams, having
// theirs, reaches minDice, and its Dice coefficient.
func passes(shared, ours, theirs int) (bool, float64) {
	total := ours + theirs
	// Dice ≥ 0.4 needs 5 × shared ≥ ours + theirs: most names fall short
	// of it, and an integer test says so (a name sharing nothing too).
	if 5*shared < total {
		return false, 0
	}
	dice := 2 * float64(shared) / float64(total)
	return dice >= minDice, dice
}

// candidateScratch is reused between candidate searches.
type candidateScratch struct {
	lists   [][]int32
	touched []int32
	found   []ranked
}

type ranked struct {
	entry int32
	dice  float64
}

// score is watchman's best score for a party's queries against e, in
// both spellings unless both are spelled alike.
func (e *Entry) score(queries, skelQueries []search.Entity[search.Value], sameSpelling bool) scoring {
	var best scoring
	for _, q := range queries {
		best = best.better(similarity(q, e.entity))
	}
	if !(sameSpelling && e.sameSpelling) {
		for _, q := range skelQueries {
			best = best.better(similarity(q, e.skeleton))
		}
	}
	return best
}

// scoring is one comparison's outcome.
type scoring struct {
	score    float64
	compared []string
}

func (s scoring) better(o scoring) scoring {
	if o.score > s.score {
		return o
	}
	return s
}

// similarity scores q against an entry with watchman and notes which
// details the score could rest on, from the pieces watchman compared.
func similarity(q, e search.Entity[search.Value]) scoring {
	d := search.DetailedSimilarity(nil, q, e)
	out := scoring{score: d.FinalScore}
	for _, p := range d.Pieces {
		if p.FieldsCompared == 0 {
			continue
		}
		var what string
		switch p.PieceType {
		case "dates":
			what = "birth_date"
		case "identifiers", "gov-ids-exact":
			what = "id"
		case "address":
			what = "address"
		default:
			continue
		}
		if !slices.Contains(out.compared, what) {
			out.compared = append(out.compared, what)
		}
	}
	return out
}

// queryEntities turns a party into watchman queries, its name folded into
// words. A date of birth makes it a person (watchman compares dates only
// between persons); an identifier alone may be a person's or a company's,
// so both are tried. A name alone is compared with every kind of entry. A
// country goes with an address only: alone it says too little (people
// move), and a mismatching country must not clear a name.
func queryEntities(p Party, words []string) []search.Entity[search.Value] {
	base := search.Entity[search.Value]{Name: p.Name, Source: search.SourceAPIRequest}
	var pf search.PreparedFields
	if p.Address != "" {
		base.Addresses = []search.Address{{Line1: p.Address, Country: iso3166.GetName(p.Country)}}
		pf = nameless(base).Normalize().PreparedFields
	}
	base = withNames(base, pf, func(string) []string { return words }, []string{p.Name})
	var ids []search.GovernmentID
	if p.ID != "" {
		ids = []search.GovernmentID{{Identifier: p.ID}}
	}
	var birth *time.Time
	if t, err := time.Parse(time.DateOnly, p.BirthDate); err == nil {
		birth = &t
	}
	if birth == nil && ids == nil {
		return []search.Entity[search.Value]{base}
	}
	person := base
	person.Type = search.EntityPerson
	person.Person = &search.Person{Name: p.Name, BirthDate: birth, GovernmentIDs: ids}
	out := []search.Entity[search.Value]{person}
	if birth == nil {
		business := base
		business.Type = search.EntityBusiness
		business.Business = &search.Business{Name: p.Name, GovernmentIDs: ids}
		out = append(out, business)
	}
	return out
}

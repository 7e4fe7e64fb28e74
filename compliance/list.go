package compliance

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/moov-io/watchman/pkg/search"
)

// Names of the lists crossclear loads.
const (
	ListOFAC = "us_ofac" // OFAC's SDN list, the four legacy CSV files
	ListUN   = "un"      // the UN Security Council consolidated list (XML)
	ListEU   = "eu"      // the EU consolidated financial sanctions list (CSV)
	ListUK   = "uk"      // the UK Sanctions List (FCDO, CSV or ODS) or OFSI's consolidated list (CSV)
)

// Lists are the lists crossclear can load.
var Lists = []string{ListOFAC, ListUN, ListEU, ListUK}

// MaxListEntries bounds one list (OFAC's SDN list has about 18,000).
const MaxListEntries = 500_000

// Entry is one listed person, company, vessel or aircraft.
type Entry struct {
	List      string   `json:"list"`
	ID        string   `json:"id"`   // OFAC ent_num, UN REFERENCE_NUMBER
	Name      string   `json:"name"` // as listed
	AltNames  []string `json:"alt_names,omitempty"`
	Type      string   `json:"type"` // person, business, organization, vessel, aircraft, unknown
	Countries []string `json:"countries,omitempty"`
	Programs  []string `json:"programs,omitempty"`

	entity       search.Entity[search.Value] // prepared for watchman's scoring
	skeleton     search.Entity[search.Value] // the same with every name in its Skeleton spelling
	sameSpelling bool                        // every name's skeleton is its NameWords

	// The same names prepared for the score bound (bound.go), and whether
	// a former name, which gets no bound, is compared too.
	words, skeletonWords nameSide
	formerName           bool
}

// names is the entry's primary name then its alternate names.
func (e *Entry) names() []string { return append([]string{e.Name}, e.AltNames...) }

// prepare readies an entry for scoring with watchman. The name fields
// watchman compares are filled from our folding (NameWords, and Skeleton
// for the second form) rather than by watchman's Normalize: its stopword
// removal guesses each name's language, which is most of its cost, and
// queries and entries must be folded alike. Addresses and contacts are
// still prepared by watchman.
func (e *Entry) prepare(entity search.Entity[search.Value]) {
	pf := nameless(entity).Normalize().PreparedFields
	e.entity = withNames(entity, pf, NameWords, e.names())
	e.skeleton = withNames(entity, pf, Skeleton, e.names())
	e.sameSpelling = slices.EqualFunc(e.entity.PreparedFields.AltNameFields, e.skeleton.PreparedFields.AltNameFields, slices.Equal) &&
		slices.Equal(e.entity.PreparedFields.NameFields, e.skeleton.PreparedFields.NameFields)
	e.words, e.skeletonWords = sideOf(e.entity.PreparedFields), sideOf(e.skeleton.PreparedFields)
	e.formerName = slices.ContainsFunc(entity.HistoricalInfo, func(h search.HistoricalInfo) bool { return strings.EqualFold(h.Type, "Former Name") })
}

// nameless is e without its names, so that Normalize prepares only the
// rest (cheaply: no name, no language to guess).
func nameless(e search.Entity[search.Value]) search.Entity[search.Value] {
	e.Name = ""
	switch {
	case e.Person != nil:
		p := *e.Person
		p.AltNames, e.Person = nil, &p
	case e.Business != nil:
		b := *e.Business
		b.AltNames, e.Business = nil, &b
	case e.Organization != nil:
		o := *e.Organization
		o.AltNames, e.Organization = nil, &o
	case e.Vessel != nil:
		v := *e.Vessel
		v.AltNames, e.Vessel = nil, &v
	case e.Aircraft != nil:
		a := *e.Aircraft
		a.AltNames, e.Aircraft = nil, &a
	}
	return e
}

// withNames sets e's prepared fields to pf with names (primary first)
// folded into words by fold.
func withNames(e search.Entity[search.Value], pf search.PreparedFields, fold func(string) []string, names []string) search.Entity[search.Value] {
	first := scoringWords(fold(names[0]))
	pf.Name, pf.NameFields = strings.Join(first, " "), first
	pf.AltNames, pf.AltNameFields = nil, nil
	for _, n := range names[1:] {
		w := scoringWords(fold(n))
		pf.AltNames = append(pf.AltNames, strings.Join(w, " "))
		pf.AltNameFields = append(pf.AltNameFields, w)
	}
	e.PreparedFields = pf
	return e
}

// stopwords carry no identity: "Charity and Development Foundation".
var stopwords = map[string]bool{"and": true, "of": true, "the": true, "for": true}

func scoringWords(words []string) []string {
	out := make([]string, 0, len(words))
	for _, w := range words {
		if !stopwords[w] {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return words
	}
	return out
}

// List is one loaded sanctions list.
type List struct {
	Name     string // ListOFAC, ListUN, ListEU, ListUK
	Source   string // where it was read from: a directory, file or URL
	Hash     string // SHA-256 (hex) identifying the content, recorded with every decision
	LoadedAt time.Time
	Entries  []Entry
}

// Info describes the list without its entries.
func (l *List) Info() ListInfo {
	return ListInfo{Name: l.Name, Source: l.Source, Hash: l.Hash, Entries: len(l.Entries), LoadedAt: l.LoadedAt}
}

// ListInfo names a loaded list version: what every decision records.
type ListInfo struct {
	Name     string    `json:"name"`
	Source   string    `json:"source,omitempty"`
	Hash     string    `json:"hash"`
	Entries  int       `json:"entries"`
	LoadedAt time.Time `json:"loaded_at"`
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

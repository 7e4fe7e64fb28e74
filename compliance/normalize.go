package compliance

import (
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Names are compared in one folded form: lower case, accents removed,
// punctuation gone. The exact-name rule compares keys (NameKey): the
// folded words without legal-form words, in sorted order, so that word
// order ("MORENO, Daniel" on the SDN list, "Daniel Moreno" on a payment)
// and a company's legal form ("S.A.", "Ltd") do not hide an exact match.

// letters that have no decomposition but a usual Latin spelling.
var foldSpecial = strings.NewReplacer("ß", "ss", "æ", "ae", "œ", "oe", "ø", "o", "ł", "l", "đ", "d", "ð", "d", "þ", "th", "ı", "i")

// Normalize folds a name: lower case, diacritics removed (Jérôme →
// jerome), apostrophes and dots dropped inside words (O'Neil → oneil,
// S.A. → sa), every other punctuation mark or symbol a space, runs of
// spaces one space.
func Normalize(name string) string {
	folded := strings.ToLower(name)
	if !isASCII(folded) {
		t := unaccent.Get().(transform.Transformer)
		if f, _, err := transform.String(t, folded); err == nil {
			folded = f
		}
		unaccent.Put(t)
		folded = foldSpecial.Replace(folded)
	}
	var b strings.Builder
	space := true // no leading space
	for _, r := range folded {
		switch {
		case r == '\'' || r == '’' || r == '‘' || r == '`' || r == '.':
			// dropped: O'Neil, S.A.
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			b.WriteRune(r)
			space = false
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	return strings.TrimSpace(b.String())
}

// unaccent removes diacritics: decompose, drop the combining marks,
// recompose. A transformer keeps state, hence one per goroutine.
var unaccent = sync.Pool{New: func() any {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// legalForms are words naming a company's legal form, not the company:
// they are left out of NameKey so that "TNK TRADING INTERNATIONAL S.A."
// and "TNK Trading International" have the same key.
var legalForms = map[string]bool{
	"ltd": true, "limited": true, "llc": true, "llp": true, "lp": true, "inc": true, "incorporated": true,
	"corp": true, "corporation": true, "co": true, "company": true, "plc": true, "sa": true, "sarl": true,
	"sas": true, "gmbh": true, "ag": true, "kg": true, "bv": true, "nv": true, "srl": true, "spa": true,
	"sro": true, "oy": true, "ab": true, "aps": true, "jsc": true, "ojsc": true, "pjsc": true, "cjsc": true,
	"ooo": true, "zao": true, "oao": true, "pte": true, "pty": true, "bhd": true, "sdn": true, "tbk": true,
	"ltda": true, "kft": true, "doo": true, "fze": true, "fzco": true, "fzc": true, "wll": true,
}

// honorifics are titles that are not part of a name.
var honorifics = map[string]bool{"mr": true, "mrs": true, "ms": true, "miss": true, "dr": true, "prof": true}

// abbreviations of words common in company names, written out.
var abbreviations = map[string]string{
	"intl": "international", "natl": "national", "mfg": "manufacturing", "assn": "association", "assoc": "association",
	"bros": "brothers", "svcs": "services", "govt": "government", "dept": "department", "univ": "university",
	"mgmt": "management", "intnl": "international", "tradg": "trading", "hldgs": "holdings", "grp": "group",
}

// NameWords is a folded name's significant words: abbreviations written
// out, legal forms and honorifics left out (unless nothing else is left).
func NameWords(name string) []string {
	words := strings.Fields(Normalize(name))
	kept := words[:0:0]
	for _, w := range words {
		if full, ok := abbreviations[w]; ok {
			w = full
		}
		if !legalForms[w] && !honorifics[w] {
			kept = append(kept, w)
		}
	}
	if len(kept) == 0 {
		return words
	}
	return kept
}

// NameKey is the key of the exact-name rule: a name's significant words,
// sorted and joined by one space. Two names with equal keys are the same
// name written in another order, case, accent or legal form.
func NameKey(name string) string { return sortedKey(NameWords(name)) }

func sortedKey(words []string) string {
	words = slices.Clone(words)
	slices.Sort(words)
	return strings.Join(words, " ")
}

// Transliteration: one name reaches the lists in several Latin spellings
// (Artyom/Artem, Lifshitz/Lifshits, Ayman/Aiman, Qaddafi/Kadhafi/Gaddafi).
// Skeleton folds the usual variants into one spelling, so that scoring the
// skeletons of two names forgives them; the original spelling is always
// scored too, and the better score counts.
var skeletonSteps = []struct{ from, to string }{
	{"sch", "sh"}, {"tch", "ch"}, {"ph", "f"}, {"ck", "k"}, {"q", "k"}, {"x", "ks"}, {"w", "v"},
	{"dh", "d"}, {"th", "t"}, {"gh", "g"}, {"kh", "h"}, {"tz", "ts"}, {"ou", "u"}, {"ee", "i"}, {"oo", "u"},
	{"y", "i"}, {"j", "i"},
}

// particles are articles and connectives of Arabic and other names that
// one spelling writes and another leaves out (al-Zawahiri, Zawahiri).
var particles = map[string]bool{"al": true, "el": true, "ul": true, "bin": true, "ibn": true, "bint": true, "and": true, "of": true, "the": true}

// Skeleton is a name's significant words in their skeleton spelling:
// particles and one-letter words (initials, the Persian ezafe of
// "Sazi-e Iran") dropped, "yo" after a consonant read as "e" (Artyom,
// Fyodor, Pyotr), the variants above folded, doubled letters single.
func Skeleton(name string) []string {
	var out []string
	for _, w := range NameWords(name) {
		if particles[w] || len([]rune(w)) == 1 {
			continue
		}
		w = softVowel(w)
		for _, s := range skeletonSteps {
			w = strings.ReplaceAll(w, s.from, s.to)
		}
		out = append(out, undouble(w))
	}
	if len(out) == 0 {
		return NameWords(name)
	}
	return out
}

// softVowel reads "yo" after a consonant as "e": Russian ё, written yo
// or e.
func softVowel(w string) string {
	rs := []rune(w)
	var b strings.Builder
	for i := 0; i < len(rs); i++ {
		if i > 0 && i+1 < len(rs) && rs[i] == 'y' && rs[i+1] == 'o' && !strings.ContainsRune("aeiouy", rs[i-1]) {
			b.WriteRune('e')
			i++
			continue
		}
		b.WriteRune(rs[i])
	}
	return b.String()
}

// SkeletonKey is NameKey in the skeleton spelling: two names with equal
// skeleton keys are the same name transliterated another way.
func SkeletonKey(name string) string { return sortedKey(Skeleton(name)) }

func undouble(w string) string {
	var b strings.Builder
	var last rune
	for i, r := range w {
		if i > 0 && r == last {
			continue
		}
		b.WriteRune(r)
		last = r
	}
	return b.String()
}

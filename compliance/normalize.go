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

// abbreviations of words common in company names, written out (Variants).
var abbreviations = map[string]string{
	"intl": "international", "natl": "national", "mfg": "manufacturing", "assn": "association", "assoc": "association",
	"bros": "brothers", "svcs": "services", "govt": "government", "dept": "department", "univ": "university",
	"mgmt": "management", "intnl": "international", "tradg": "trading", "hldgs": "holdings", "grp": "group",
}

// NameWords is a folded name's significant words: abbreviations written
// out, spelling variants in one spelling (Variants), glued legal forms
// and "Abdul…" split off, legal forms, honorifics and "and" left out
// (unless nothing else is left).
func NameWords(name string) []string {
	words := Variants(strings.Fields(Normalize(name)))
	kept := words[:0:0]
	for _, w := range words {
		if !legalForms[w] && !honorifics[w] && w != "and" { // "&" is punctuation: "A & B", "A and B"
			kept = append(kept, w)
		}
	}
	if len(kept) == 0 {
		return words
	}
	return kept
}

// Spelling variants. One name is written several ways, all of which a
// list or a payment may use; each group below is read as its first
// spelling, on the list side and the payment side alike (NameWords), so
// that the exact-name rule and the scores see one spelling. The table is
// deliberately small and explicit: a rule that conflated two different
// names would raise the false-positive rate.
var variantGroups = [][]string{
	// British and American English in company names
	{"organization", "organisation"}, {"organizations", "organisations"},
	{"organized", "organised"}, {"center", "centre"}, {"centers", "centres"},
	{"defense", "defence"}, {"program", "programme"}, {"programs", "programmes"},
	{"license", "licence"}, {"labor", "labour"}, {"harbor", "harbour"},
	{"color", "colour"}, {"honor", "honour"}, {"neighbor", "neighbour"},
	{"aluminum", "aluminium"}, {"jewelry", "jewellery"}, {"jeweler", "jeweller"}, {"jewelers", "jewellers"},
	{"catalog", "catalogue"}, {"dialog", "dialogue"}, {"theater", "theatre"}, {"fiber", "fibre"},
	{"meter", "metre"}, {"liter", "litre"}, {"sulfur", "sulphur"}, {"tire", "tyre"}, {"tires", "tyres"},
	{"traveling", "travelling"}, {"traveler", "traveller"}, {"modeling", "modelling"}, {"fueling", "fuelling"},
	{"enroll", "enrol"}, {"check", "cheque"}, {"gray", "grey"}, {"plow", "plough"},
	{"specialized", "specialised"}, {"authorized", "authorised"}, {"analyze", "analyse"}, {"organize", "organise"},
	// Arabic given names and their usual transliterations
	{"muhammad", "mohammed", "mohammad", "mohamad", "mohamed", "muhammed", "muhamad", "muhamed", "mohamud", "mohd", "mohammod", "mouhamed", "mhammad"},
	{"ahmad", "ahmed", "ahmet", "ehmed"},
	{"mahmud", "mahmoud", "mahmood", "mehmood"},
	{"mustafa", "mustapha", "moustafa", "mostafa", "mostapha"},
	{"husayn", "hussein", "hussain", "husain", "hossein", "hosein", "husein", "hussien"},
	{"hasan", "hassan", "hasen"},
	{"usama", "osama", "oussama", "ousama", "usamah"},
	{"yusuf", "yousef", "youssef", "yousif", "yusef", "yousuf", "yussuf"},
	{"umar", "omar", "omer", "oumar"},
	{"abu", "abou"},
	{"abdullah", "abdallah", "abdulla", "abdalla", "abdellah"},
	{"ibrahim", "ebrahim", "ibraheem", "ibrahem"},
	{"khalid", "khaled", "khalad"},
	{"said", "saeed", "saied", "saiid"},
	{"qasim", "qassem", "kassem", "qasem", "kasim", "qassim", "kacem"},
	{"nasir", "nasser", "naser", "nassir"},
	{"rahman", "rehman", "rachman", "rohman"},
	{"karim", "kareem", "kerim"},
	{"yahya", "yahia", "yehia", "yahiya"},
	{"abdul", "abdel", "abdal", "abdol", "abdoul", "abdur"},
	// Russian given names
	{"aleksandr", "alexander", "alexandr", "aleksander", "oleksandr"},
	{"aleksei", "alexei", "alexey", "aleksey", "alexej", "oleksiy"},
	{"sergei", "sergey", "sergej", "serhiy", "serguei"},
	{"evgeni", "yevgeny", "evgeny", "evgeniy", "yevgeniy", "evgenii", "yevgenii", "jewgeni"},
	{"dmitri", "dmitry", "dmitriy", "dmitrii", "dmitrij"},
	{"yuri", "yury", "yuriy", "iurii", "jurij"},
	{"andrei", "andrey", "andriy", "andrej"},
	{"nikolai", "nikolay", "mykola", "nikolaj"},
	{"mikhail", "michail", "mykhailo", "mikhael"},
	{"vladimir", "volodymyr", "wladimir"},
}

// variants maps each spelling to its group's first.
var variants = func() map[string]string {
	m := map[string]string{}
	for _, g := range variantGroups {
		for _, w := range g[1:] {
			m[w] = g[0]
		}
	}
	for w, full := range abbreviations {
		m[w] = full
	}
	return m
}()

// canonical are the spellings variants map to.
var canonical = func() map[string]bool {
	m := map[string]bool{}
	for _, g := range variantGroups {
		m[g[0]] = true
	}
	return m
}()

// arabicArticles follow "abd" in "Abd al-Rahman", "Abd el Kader", "Abd
// ur-Rahman": the three words are one name, read "abdul rahman".
var arabicArticles = map[string]bool{"al": true, "el": true, "ul": true, "ar": true, "ur": true, "as": true, "an": true, "ad": true, "at": true, "az": true}

// gluedLegalForms are legal forms one may find written onto the word
// before them ("AcmeLtd", "SteelCorp"); they are split off a word of at
// least four other letters. The two-letter forms (co, sa, ag…) are split
// off only after a word of companyWords ("TradingCo"): at the end of
// any word they would cut real names.
var gluedLegalForms = []string{"ltd", "llc", "llp", "inc", "corp", "plc", "gmbh", "pjsc", "ojsc", "cjsc", "sarl", "ltda", "fzco", "fze", "bhd", "company", "corporation"}

var companyWords = map[string]bool{
	"trading": true, "trade": true, "shipping": true, "holding": true, "holdings": true, "group": true, "industries": true,
	"industrial": true, "international": true, "investment": true, "investments": true, "energy": true, "oil": true,
	"petroleum": true, "bank": true, "steel": true, "mining": true, "engineering": true, "technology": true,
	"technologies": true, "services": true, "logistics": true, "electronics": true, "development": true,
	"construction": true, "chemical": true, "chemicals": true, "commercial": true, "general": true, "marine": true,
	"maritime": true, "import": true, "export": true, "exchange": true, "finance": true, "capital": true,
}

// Variants rewrites folded words: each spelling variant and abbreviation
// in its one spelling; "abd al", "abd el"… as "abdul"; "abdulrahman",
// "abdelkader" split after "abdul" (not "abdullah", a name of its own);
// a legal form glued to the word before it split off ("tradingco" →
// "trading co").
func Variants(words []string) []string {
	out := make([]string, 0, len(words))
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "abd" && i+1 < len(words) && arabicArticles[words[i+1]] {
			w, i = "abdul", i+1
		}
		out = append(out, splitWord(w)...)
	}
	for i, w := range out {
		if v, ok := variants[w]; ok {
			out[i] = v
		}
	}
	return out
}

// abdulPrefixes are the spellings of "abdul" a glued name starts with.
var abdulPrefixes = []string{"abdoul", "abdul", "abdel", "abdal", "abdol", "abdur"}

// splitWord splits a glued "abdul…" or legal form off w.
func splitWord(w string) []string {
	if _, ok := variants[w]; ok || canonical[w] {
		return []string{w}
	}
	for _, p := range abdulPrefixes {
		rest, ok := strings.CutPrefix(w, p)
		if !ok || len(rest) < 3 || strings.HasPrefix(rest, "lah") || strings.HasPrefix(rest, "llah") {
			continue // abdullah, abdallah, abdellah: a name of their own
		}
		if p == "abdur" { // only before r (ar-Rahman): abdurrahman, abdurahman
			rest = "r" + strings.TrimPrefix(rest, "r")
		}
		return []string{"abdul", rest}
	}
	for _, l := range gluedLegalForms {
		if rest, ok := strings.CutSuffix(w, l); ok && len(rest) >= 4 {
			return []string{rest, l}
		}
	}
	for _, l := range []string{"co", "sa", "ag", "ab", "nv", "bv"} {
		if rest, ok := strings.CutSuffix(w, l); ok && companyWords[rest] {
			return []string{rest, l}
		}
	}
	return []string{w}
}

// NameKey is the key of the exact-name rule: a name's significant words,
// sorted and joined by one space. Two names with equal keys are the same
// name written in another order, case, accent or legal form.
func NameKey(name string) string { return sortedKey(NameWords(name)) }

// JoinedKey is a name's significant words run together in their order:
// two names with equal joined keys differ only in where words are split
// ("Bel-Kap-Steel" and "Belkap Steel", "Abdul Karim" and "Abdulkarim").
func JoinedKey(name string) string { return strings.Join(NameWords(name), "") }

// SkeletonJoinedKey is JoinedKey in the skeleton spelling.
func SkeletonJoinedKey(name string) string { return strings.Join(Skeleton(name), "") }

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

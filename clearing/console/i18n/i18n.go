// Package i18n is the console's message catalogue: every word the console
// shows, one TOML file per language (en.toml, zh-Hans.toml), embedded in
// the binary. A file is sections of keys ([nav] overview = "…" is the key
// nav.overview); {name} in a message is a placeholder filled by name, so a
// translation may put the pieces in its own order. Amounts, dates and
// durations are formatted here too, by each language's [format] keys:
// amounts exactly, from integer minor units and the ISO 4217 digits of
// fx's currency table, never through a float.
//
// Every language has every key English has (i18n_test.go), so a lookup
// that misses is a bug; it shows English, then the bare key, rather than
// nothing.
package i18n

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"golang.org/x/text/language"

	"github.com/crossclear/crossclear/fx"
)

//go:embed *.toml
var files embed.FS

// Locale is one language of the catalogue.
type Locale struct {
	Tag  string // BCP 47: "en", "zh-Hans"; what sessions store
	Name string // in its own language, for the switch: "English", "简体中文"
	msgs map[string]string
	base *Locale // English, for a key this one lacks
}

// Default is English: what a browser that asks for nothing we have gets.
var Default *Locale

// Locales are every language, English first.
var Locales []*Locale

var matcher language.Matcher

func init() {
	names, err := fs.Glob(files, "*.toml")
	if err != nil {
		panic(err)
	}
	var tags []language.Tag
	for _, n := range names {
		raw, err := files.ReadFile(n)
		if err != nil {
			panic(err)
		}
		var tree map[string]any
		if err := toml.Unmarshal(raw, &tree); err != nil {
			panic(fmt.Sprintf("i18n: %s: %v", n, err))
		}
		l := &Locale{Tag: strings.TrimSuffix(path.Base(n), ".toml"), msgs: map[string]string{}}
		flatten("", tree, l.msgs)
		l.Name = l.msgs["meta.name"]
		if l.Tag == "en" {
			Default = l
			Locales = append([]*Locale{l}, Locales...)
		} else {
			Locales = append(Locales, l)
		}
	}
	for _, l := range Locales {
		if l != Default {
			l.base = Default
		}
		tags = append(tags, language.Make(l.Tag))
	}
	matcher = language.NewMatcher(tags)
}

func flatten(prefix string, tree map[string]any, out map[string]string) {
	for k, v := range tree {
		switch v := v.(type) {
		case map[string]any:
			flatten(prefix+k+".", v, out)
		case string:
			out[prefix+k] = v
		default:
			panic(fmt.Sprintf("i18n: %s%s is a %T, not a string", prefix, k, v))
		}
	}
}

// Lookup is the locale whose tag is exactly tag, or nil.
func Lookup(tag string) *Locale {
	for _, l := range Locales {
		if l.Tag == tag {
			return l
		}
	}
	return nil
}

// Negotiate picks the locale for a request: the one chosen (a session's or
// a cookie's tag) if we have it, else the best match for the browser's
// Accept-Language (zh-CN, zh-SG and zh match zh-Hans), else English.
func Negotiate(chosen, acceptLanguage string) *Locale {
	if l := Lookup(chosen); l != nil {
		return l
	}
	if acceptLanguage == "" {
		return Default
	}
	_, i, conf := matcher.Match(parseAccept(acceptLanguage)...)
	if conf == language.No {
		return Default
	}
	return Locales[i]
}

func parseAccept(s string) []language.Tag {
	tags, _, err := language.ParseAcceptLanguage(s)
	if err != nil {
		return nil
	}
	return tags
}

// Keys are every key of l, sorted.
func (l *Locale) Keys() []string {
	keys := make([]string, 0, len(l.msgs))
	for k := range l.msgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Has reports whether l itself has key.
func (l *Locale) Has(key string) bool {
	_, ok := l.msgs[key]
	return ok
}

// Raw is l's message for key without filling it in.
func (l *Locale) Raw(key string) string { return l.msgs[key] }

// T is the message for key with its placeholders filled: args are name,
// value pairs ("id", 12 fills {id}).
func (l *Locale) T(key string, args ...any) string {
	msg, ok := l.msgs[key]
	if !ok && l.base != nil {
		msg, ok = l.base.msgs[key]
	}
	if !ok {
		return key
	}
	if len(args) == 0 || !strings.Contains(msg, "{") {
		return msg
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}

// Term names a value of the domain (a payment's state, a role, a review's
// status): the message kind.value, or the value itself when the catalogue
// has no word for it (an identifier such as a message type).
func (l *Locale) Term(kind, value string) string {
	key := kind + "." + value
	if _, ok := l.msgs[key]; !ok {
		if l.base == nil || !l.base.Has(key) {
			return value
		}
	}
	return l.T(key)
}

// Money writes minor units of a currency as the locale writes amounts:
// the currency's ISO 4217 digits after the decimal mark, thousands
// grouped, in the locale's pattern ("1,234.56 EUR"). Exact: integer
// arithmetic on the minor units only. An unknown code is shown with no
// decimals rather than guessed.
func (l *Locale) Money(minor int64, ccy string) string {
	digits := 0
	if c, err := fx.LookupCurrency(ccy); err == nil {
		digits = int(c.MinorUnits)
	}
	return l.T("format.money", "amount", l.Number(minor, digits), "currency", ccy)
}

// Number writes an integer count of 10^-digits units as a decimal with the
// locale's grouping and decimal mark.
func (l *Locale) Number(units int64, digits int) string {
	neg := units < 0
	s := strconv.FormatUint(uint64(units), 10)
	if neg {
		s = strconv.FormatUint(uint64(-units), 10) // -MinInt64 wraps to itself as uint64: still right
	}
	for len(s) <= digits {
		s = "0" + s
	}
	whole, frac := s[:len(s)-digits], s[len(s)-digits:]
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	group := l.T("format.group")
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(r)
	}
	if digits > 0 {
		b.WriteString(l.T("format.decimal"))
		b.WriteString(frac)
	}
	return b.String()
}

// Time writes an instant in UTC by the locale's format.datetime (a Go
// time layout); the zero time is a dash.
func (l *Locale) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(l.T("format.datetime"))
}

// Date writes a day by the locale's format.date.
func (l *Locale) Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(l.T("format.date"))
}

// Duration writes a session length in whole hours or minutes.
func (l *Locale) Duration(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return l.T("format.hours", "n", int64(d/time.Hour))
	}
	return l.T("format.minutes", "n", int64(d.Round(time.Minute)/time.Minute))
}

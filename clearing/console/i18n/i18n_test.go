package i18n

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// TestCatalogueComplete fails when a language lacks a key English has,
// has one English lacks, leaves a message empty, or does not fill the
// same placeholders.
func TestCatalogueComplete(t *testing.T) {
	if len(Locales) < 2 || Default == nil || Default.Tag != "en" || Lookup("zh-Hans") == nil {
		t.Fatalf("locales %v: want English first and Simplified Chinese", Locales)
	}
	for _, l := range Locales {
		if l.Name == "" {
			t.Errorf("%s: no meta.name for the language switch", l.Tag)
		}
		for _, k := range Default.Keys() {
			if !l.Has(k) {
				t.Errorf("%s: missing %s (English: %q)", l.Tag, k, Default.Raw(k))
				continue
			}
			// A [format] pattern may pick among what it is given ({m} or
			// {mm}); a message fills exactly what English fills.
			want, got := placeholders(Default.Raw(k)), placeholders(l.Raw(k))
			if !slices.Equal(want, got) && !strings.HasPrefix(k, "format.") {
				t.Errorf("%s: %s fills %v, English fills %v", l.Tag, k, got, want)
			}
			if l.Raw(k) == "" {
				t.Errorf("%s: %s is empty", l.Tag, k)
			}
		}
		for _, k := range l.Keys() {
			if !Default.Has(k) {
				t.Errorf("%s: %s is not an English key (a typo, or English lacks it)", l.Tag, k)
			}
		}
	}
}

func placeholders(msg string) []string {
	p := placeholder.FindAllString(msg, -1)
	slices.Sort(p)
	return slices.Compact(p)
}

func TestMoney(t *testing.T) {
	en, zh := Default, Lookup("zh-Hans")
	for _, tc := range []struct {
		minor int64
		ccy   string
		en    string
	}{
		{123456, "EUR", "1,234.56 EUR"},
		{-5, "EUR", "-0.05 EUR"},
		{0, "USD", "0.00 USD"},
		{1234567, "JPY", "1,234,567 JPY"}, // no minor units
		{1234567, "BHD", "1,234.567 BHD"}, // three
		{999_999_999_999_999_999, "EUR", "9,999,999,999,999,999.99 EUR"},
		{-9_223_372_036_854_775_808, "EUR", "-92,233,720,368,547,758.08 EUR"},
		{1234, "XYZ", "1,234 XYZ"}, // unknown: no decimals guessed
	} {
		if got := en.Money(tc.minor, tc.ccy); got != tc.en {
			t.Errorf("en %d %s = %q, want %q", tc.minor, tc.ccy, got, tc.en)
		}
		if got := zh.Money(tc.minor, tc.ccy); got != tc.en {
			t.Errorf("zh %d %s = %q, want %q", tc.minor, tc.ccy, got, tc.en)
		}
	}
}

func TestDatesAndDurations(t *testing.T) {
	at := time.Date(2026, 3, 5, 9, 7, 0, 0, time.FixedZone("SGT", 8*3600))
	zh := Lookup("zh-Hans")
	for _, tc := range []struct{ got, want string }{
		{Default.Time(at), "2026-03-05 01:07 UTC"},
		{zh.Time(at), "2026年3月5日 01:07 UTC"},
		{Default.Date(at), "2026-03-05"},
		{zh.Date(at), "2026年3月5日"},
		{zh.Time(time.Time{}), "—"},
		{Default.Duration(30 * time.Minute), "30 minutes"},
		{zh.Duration(8 * time.Hour), "8 小时"},
		{zh.Duration(90 * time.Minute), "90 分钟"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestMessages(t *testing.T) {
	zh := Lookup("zh-Hans")
	if got := zh.T("title.cycle", "id", 42); got != "清算周期 42" {
		t.Errorf("title.cycle = %q", got)
	}
	if got := zh.Term("state", "released"); got != "已放款" {
		t.Errorf("state.released = %q", got)
	}
	if got := zh.Term("state", "no_such_state"); got != "no_such_state" {
		t.Errorf("a value without a word shows itself, got %q", got)
	}
	if got := zh.T("no.such.key"); got != "no.such.key" {
		t.Errorf("a missing key shows itself, got %q", got)
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct{ chosen, accept, want string }{
		{"", "", "en"},
		{"", "zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"},
		{"", "zh", "zh-Hans"},
		{"", "zh-Hans-SG", "zh-Hans"},
		{"", "en-GB,en;q=0.9", "en"},
		{"", "fr-FR,de;q=0.5", "en"},
		{"", "fr-FR,zh-CN;q=0.5", "zh-Hans"},
		{"", "not a header;;;", "en"},
		{"en", "zh-CN", "en"}, // a choice beats the browser
		{"zh-Hans", "en-US", "zh-Hans"},
		{"xx", "zh-CN", "zh-Hans"}, // an unknown choice is ignored
	} {
		if got := Negotiate(tc.chosen, tc.accept).Tag; got != tc.want {
			t.Errorf("Negotiate(%q, %q) = %s, want %s", tc.chosen, tc.accept, got, tc.want)
		}
	}
}

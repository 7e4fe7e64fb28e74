package fx

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCurrencyTableSanity(t *testing.T) {
	all := Currencies()
	if len(all) < 150 {
		t.Fatalf("only %d currencies, want at least 150", len(all))
	}
	if !slices.IsSortedFunc(all, func(a, b Currency) int { return strings.Compare(a.Code, b.Code) }) {
		t.Error("table is not sorted by code")
	}
	codes := map[string]bool{}
	numerics := map[int]string{}
	for _, c := range all {
		if len(c.Code) != 3 || strings.ToUpper(c.Code) != c.Code || strings.Trim(c.Code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			t.Errorf("%q: code is not three upper-case letters", c.Code)
		}
		if codes[c.Code] {
			t.Errorf("%s: duplicate code", c.Code)
		}
		codes[c.Code] = true
		if c.Numeric <= 0 || c.Numeric > 999 {
			t.Errorf("%s: numeric %d out of range", c.Code, c.Numeric)
		}
		if prev, dup := numerics[c.Numeric]; dup {
			t.Errorf("%s: numeric %d already used by %s", c.Code, c.Numeric, prev)
		}
		numerics[c.Numeric] = c.Code
		switch c.MinorUnits {
		case 0, 2, 3, 4:
		default:
			t.Errorf("%s: minor units %d not in {0,2,3,4}", c.Code, c.MinorUnits)
		}
		if c.Name == "" {
			t.Errorf("%s: empty name", c.Code)
		}
	}
}

func TestCurrencySpotChecks(t *testing.T) {
	want := []struct {
		code    string
		numeric int
		minor   int32
	}{
		{"AED", 784, 2}, {"BHD", 48, 3}, {"CLF", 990, 4}, {"JPY", 392, 0},
		{"KWD", 414, 3}, {"UYW", 927, 4}, {"VES", 928, 2}, {"SLE", 925, 2},
		{"ZWG", 924, 2}, {"EUR", 978, 2}, {"USD", 840, 2}, {"GBP", 826, 2},
		{"CHF", 756, 2}, {"XCG", 532, 2},
		{"ISK", 352, 0}, {"KRW", 410, 0}, {"VND", 704, 0}, {"CLP", 152, 0},
		{"PYG", 600, 0}, {"UGX", 800, 0}, {"XAF", 950, 0}, {"XOF", 952, 0},
		{"XPF", 953, 0}, {"KMF", 174, 0}, {"RWF", 646, 0}, {"DJF", 262, 0},
		{"GNF", 324, 0}, {"VUV", 548, 0}, {"BIF", 108, 0}, {"UYI", 940, 0},
		{"IQD", 368, 3}, {"JOD", 400, 3}, {"LYD", 434, 3}, {"OMR", 512, 3},
		{"TND", 788, 3},
		{"BOV", 984, 2}, {"CHE", 947, 2}, {"CHW", 948, 2}, {"COU", 970, 2},
		{"MXV", 979, 2}, {"USN", 997, 2},
	}
	for _, w := range want {
		c, err := LookupCurrency(w.code)
		if err != nil {
			t.Errorf("%s: %v", w.code, err)
			continue
		}
		if c.Code != w.code || c.Numeric != w.numeric || c.MinorUnits != w.minor {
			t.Errorf("%s = {%s %d %d}, want {%s %d %d}", w.code, c.Code, c.Numeric, c.MinorUnits, w.code, w.numeric, w.minor)
		}
	}
}

func TestCurrencyExcluded(t *testing.T) {
	// Withdrawn codes, and codes whose minor units ISO gives as N.A.
	for _, code := range []string{
		"HRK", "SLL", "ZWL", "VEF", "MRO", "STD", "CUC", "ANG", "BYR", "LTL",
		"XAU", "XAG", "XPT", "XPD", "XDR", "XSU", "XUA", "XBA", "XBB", "XBC", "XBD", "XTS", "XXX",
	} {
		if _, err := LookupCurrency(code); !errors.Is(err, ErrUnknownCurrency) {
			t.Errorf("LookupCurrency(%q) err = %v, want ErrUnknownCurrency", code, err)
		}
	}
}

func TestLookupCurrencyErrors(t *testing.T) {
	tests := []struct {
		code    string
		mention string
	}{
		{"XYZ", "not an active ISO 4217 code"},
		{"eur", "upper case"},
		{"Eur", "upper case"},
		{"", "not an active"},
		{"EURO", "not an active"},
		{" EUR", "not an active"},
	}
	for _, tt := range tests {
		_, err := LookupCurrency(tt.code)
		if !errors.Is(err, ErrUnknownCurrency) {
			t.Errorf("LookupCurrency(%q) err = %v, want ErrUnknownCurrency", tt.code, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("LookupCurrency(%q) err = %q, want it to mention %q", tt.code, err, tt.mention)
		}
	}
}

func TestMustCurrency(t *testing.T) {
	if got := MustCurrency("EUR"); got.Numeric != 978 {
		t.Errorf("MustCurrency(EUR) = %+v", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustCurrency(XYZ) did not panic")
		}
	}()
	MustCurrency("XYZ")
}

func TestCurrenciesIsACopy(t *testing.T) {
	a := Currencies()
	a[0].MinorUnits = 99
	if b := Currencies(); b[0].MinorUnits == 99 {
		t.Error("Currencies() exposes the table")
	}
	if c, _ := LookupCurrency(a[0].Code); c.MinorUnits == 99 {
		t.Error("Currencies() exposes the lookup map")
	}
}

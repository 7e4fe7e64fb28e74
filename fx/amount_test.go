package fx

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestParseAmountAccepts(t *testing.T) {
	tests := []struct {
		value, code string
		minor       int64
	}{
		{"1234.50", "EUR", 123450},
		{"1234.5", "EUR", 123450},
		{"1.5", "EUR", 150},
		{"0.01", "EUR", 1},
		{"-0.05", "EUR", -5},
		{"+7", "EUR", 700},
		{"0", "EUR", 0},
		{"1234", "EUR", 123400},
		{"100", "JPY", 100},
		{"100.0", "JPY", 100}, // a trailing zero adds no precision
		{"1.500", "BHD", 1500},
		{"1.5", "BHD", 1500},
		{"0.001", "KWD", 1},
		{"1.2345", "CLF", 12345},
		{"0.0001", "UYW", 1},
		{"10000000000000.00", "EUR", MaxMinor},
		{"-10000000000000", "EUR", -MaxMinor},
		{"1000000000000000", "JPY", MaxMinor},
	}
	for _, tt := range tests {
		a, err := ParseAmount(tt.value, tt.code)
		if err != nil {
			t.Errorf("ParseAmount(%q, %s): %v", tt.value, tt.code, err)
			continue
		}
		if a.Minor != tt.minor || a.Currency.Code != tt.code {
			t.Errorf("ParseAmount(%q, %s) = %d %s, want %d %s", tt.value, tt.code, a.Minor, a.Currency.Code, tt.minor, tt.code)
		}
	}
}

func TestParseAmountRefuses(t *testing.T) {
	tests := []struct {
		value, code string
		err         error
		mention     []string
	}{
		{"1", "XYZ", ErrUnknownCurrency, []string{"XYZ"}},
		{"1", "eur", ErrUnknownCurrency, []string{"upper case", "EUR"}},
		{"1.234", "EUR", ErrTooPrecise, []string{"EUR", "2 decimal"}},
		{"1.001", "EUR", ErrTooPrecise, []string{"EUR"}},
		{"1.5", "JPY", ErrTooPrecise, []string{"JPY", "0 decimal"}},
		{"1.0001", "BHD", ErrTooPrecise, []string{"BHD", "3 decimal"}},
		{"1.00001", "CLF", ErrTooPrecise, []string{"CLF", "4 decimal"}},
		{"1e3", "EUR", ErrMalformed, nil},
		{"1E3", "EUR", ErrMalformed, nil},
		{"NaN", "EUR", ErrMalformed, nil},
		{"Inf", "EUR", ErrMalformed, nil},
		{"", "EUR", ErrMalformed, nil},
		{" 1", "EUR", ErrMalformed, nil},
		{"1 ", "EUR", ErrMalformed, nil},
		{"1,000.00", "EUR", ErrMalformed, nil},
		{"1,5", "EUR", ErrMalformed, nil},
		{"1.", "EUR", ErrMalformed, nil},
		{".5", "EUR", ErrMalformed, nil},
		{"-.5", "EUR", ErrMalformed, nil},
		{"-", "EUR", ErrMalformed, nil},
		{"+", "EUR", ErrMalformed, nil},
		{"--1", "EUR", ErrMalformed, nil},
		{"+-1", "EUR", ErrMalformed, nil},
		{"1.2.3", "EUR", ErrMalformed, nil},
		{"0x10", "EUR", ErrMalformed, nil},
		{"1_000", "EUR", ErrMalformed, nil},
		{"€1", "EUR", ErrMalformed, nil},
		{"１", "EUR", ErrMalformed, nil}, // full-width digit
		{strings.Repeat("1", 41), "EUR", ErrMalformed, nil},
		{"10000000000000.01", "EUR", ErrTooLarge, nil},
		{"-10000000000000.01", "EUR", ErrTooLarge, nil},
		{"1000000000000001", "JPY", ErrTooLarge, nil},
		{"99999999999999999999999999999999999999", "EUR", ErrTooLarge, nil},
		{"9223372036854775808", "JPY", ErrTooLarge, nil},
	}
	for _, tt := range tests {
		a, err := ParseAmount(tt.value, tt.code)
		if !errors.Is(err, tt.err) {
			t.Errorf("ParseAmount(%q, %s) = %v, %v; want error %v", tt.value, tt.code, a, err, tt.err)
			continue
		}
		for _, m := range tt.mention {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("ParseAmount(%q, %s) error %q does not mention %q", tt.value, tt.code, err, m)
			}
		}
	}
}

func TestParsePositiveAmount(t *testing.T) {
	for _, v := range []string{"0", "0.00", "-0", "-1", "-0.01", "+0"} {
		if _, err := ParsePositiveAmount(v, "EUR"); !errors.Is(err, ErrNotPositive) {
			t.Errorf("ParsePositiveAmount(%q, EUR) err = %v, want ErrNotPositive", v, err)
		}
	}
	if _, err := ParsePositiveAmount("1.234", "EUR"); !errors.Is(err, ErrTooPrecise) {
		t.Errorf("ParsePositiveAmount(1.234, EUR) err = %v, want ErrTooPrecise", err)
	}
	if _, err := ParsePositiveAmount("1", "XYZ"); !errors.Is(err, ErrUnknownCurrency) {
		t.Errorf("ParsePositiveAmount(1, XYZ) err = %v, want ErrUnknownCurrency", err)
	}
	a, err := ParsePositiveAmount("0.01", "EUR")
	if err != nil || a.Minor != 1 {
		t.Errorf("ParsePositiveAmount(0.01, EUR) = %v, %v; want 1 minor unit", a, err)
	}
}

func TestValue(t *testing.T) {
	tests := []struct {
		code  string
		minor int64
		want  string
	}{
		{"EUR", 123450, "1234.50"},
		{"EUR", 0, "0.00"},
		{"EUR", 1, "0.01"},
		{"EUR", -5, "-0.05"},
		{"EUR", -123450, "-1234.50"},
		{"EUR", MaxMinor, "10000000000000.00"},
		{"JPY", 1234, "1234"},
		{"JPY", 0, "0"},
		{"JPY", -7, "-7"},
		{"BHD", 1500, "1.500"},
		{"BHD", 1, "0.001"},
		{"CLF", 12345, "1.2345"},
		{"UYW", -1, "-0.0001"},
	}
	for _, tt := range tests {
		a := MustCurrency(tt.code).FromMinor(tt.minor)
		if got := a.Value(); got != tt.want {
			t.Errorf("%s FromMinor(%d).Value() = %q, want %q", tt.code, tt.minor, got, tt.want)
		}
		if got, want := a.String(), tt.want+" "+tt.code; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestRoundTripEveryCurrency(t *testing.T) {
	r := rand.New(rand.NewPCG(4217, 1))
	fixed := []int64{0, 1, -1, 9, 10, 99, 100, 101, 12345, -12345, MaxMinor, -MaxMinor, MaxMinor - 1}
	for _, c := range Currencies() {
		values := append([]int64(nil), fixed...)
		for range 200 {
			// Spread over magnitudes, not only huge numbers.
			m := r.Int64N(MaxMinor+1) >> r.UintN(50)
			if r.IntN(2) == 0 {
				m = -m
			}
			values = append(values, m)
		}
		for _, m := range values {
			s := c.FromMinor(m).Value()
			a, err := c.Parse(s)
			if err != nil {
				t.Fatalf("%s: Parse(%q) from %d: %v", c.Code, s, m, err)
			}
			if a.Minor != m || a.Currency != c {
				t.Fatalf("%s: Parse(FromMinor(%d).Value() = %q) = %d", c.Code, m, s, a.Minor)
			}
			if strings.ContainsAny(s, "eE") {
				t.Fatalf("%s: Value() of %d has an exponent: %q", c.Code, m, s)
			}
			if i := strings.IndexByte(s, '.'); (i < 0 && c.MinorUnits != 0) || (i >= 0 && len(s)-i-1 != int(c.MinorUnits)) {
				t.Fatalf("%s: Value() of %d = %q, want exactly %d decimals", c.Code, m, s, c.MinorUnits)
			}
		}
	}
}

func dec(t *testing.T, s string) decimal.Decimal {
	t.Helper()
	d, err := decimal.NewFromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRounding(t *testing.T) {
	tests := []struct {
		code, x  string
		down, up int64
	}{
		{"EUR", "1.005", 100, 101},
		{"EUR", "-1.005", -100, -101},
		{"EUR", "1.00", 100, 100},
		{"EUR", "1.01", 101, 101},
		{"EUR", "-1.01", -101, -101},
		{"EUR", "0", 0, 0},
		{"EUR", "0.001", 0, 1},
		{"EUR", "-0.001", 0, -1},
		{"EUR", "0.0099999", 0, 1},
		{"EUR", "2.999999999999", 299, 300},
		{"EUR", "1e-30", 0, 1},
		{"EUR", "12e2", 120000, 120000},
		{"JPY", "100.4", 100, 101},
		{"JPY", "100.5", 100, 101},
		{"JPY", "-100.9", -100, -101},
		{"JPY", "100", 100, 100},
		{"BHD", "1.2345", 1234, 1235},
		{"BHD", "-1.2345", -1234, -1235},
		{"BHD", "1.234", 1234, 1234},
		{"CLF", "0.00001", 0, 1},
		{"EUR", "10000000000000.001", MaxMinor, 0}, // up overflows: checked below
	}
	for _, tt := range tests {
		c := MustCurrency(tt.code)
		x := dec(t, tt.x)
		down, err := c.RoundDown(x)
		if err != nil || down.Minor != tt.down || down.Currency != c {
			t.Errorf("%s RoundDown(%s) = %v, %v; want %d", tt.code, tt.x, down, err, tt.down)
		}
		up, err := c.RoundUp(x)
		if tt.x == "10000000000000.001" {
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("%s RoundUp(%s) err = %v, want ErrTooLarge", tt.code, tt.x, err)
			}
			continue
		}
		if err != nil || up.Minor != tt.up || up.Currency != c {
			t.Errorf("%s RoundUp(%s) = %v, %v; want %d", tt.code, tt.x, up, err, tt.up)
		}
	}
}

func TestRoundingTooLarge(t *testing.T) {
	eur := MustCurrency("EUR")
	for _, s := range []string{"10000000000000.01", "-10000000000000.01", "1e40", "-1e40"} {
		x := dec(t, s)
		if _, err := eur.RoundDown(x); !errors.Is(err, ErrTooLarge) {
			t.Errorf("RoundDown(%s) err = %v, want ErrTooLarge", s, err)
		}
		if _, err := eur.RoundUp(x); !errors.Is(err, ErrTooLarge) {
			t.Errorf("RoundUp(%s) err = %v, want ErrTooLarge", s, err)
		}
	}
}

// TestRoundingProperty: for random decimals x, RoundDown(x) and RoundUp(x)
// bracket x toward and away from zero, differ by at most one minor unit, and
// both equal x when x needs no more decimals than the currency has.
func TestRoundingProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(20260101, 7))
	for _, code := range []string{"EUR", "JPY", "BHD", "CLF", "KWD", "ISK"} {
		c := MustCurrency(code)
		for range 2000 {
			// x = n * 10^-scale, scale in 0..8, |n| < 10^10 (fits MaxMinor at 4 decimals).
			n := r.Int64N(10_000_000_000) >> r.UintN(34)
			if r.IntN(2) == 0 {
				n = -n
			}
			scale := int32(r.IntN(9))
			x := decimal.New(n, -scale)

			down, err := c.RoundDown(x)
			if err != nil {
				t.Fatalf("%s RoundDown(%s): %v", code, x, err)
			}
			up, err := c.RoundUp(x)
			if err != nil {
				t.Fatalf("%s RoundUp(%s): %v", code, x, err)
			}
			d, u := down.Decimal(), up.Decimal()
			if x.Sign() >= 0 {
				if d.GreaterThan(x) || x.GreaterThan(u) {
					t.Fatalf("%s x=%s: want down %s <= x <= up %s", code, x, d, u)
				}
			} else if u.GreaterThan(x) || x.GreaterThan(d) {
				t.Fatalf("%s x=%s: want up %s <= x <= down %s (negative: down is toward zero)", code, x, u, d)
			}
			if diff := up.Minor - down.Minor; diff < -1 || diff > 1 {
				t.Fatalf("%s x=%s: down %d and up %d differ by more than one minor unit", code, x, down.Minor, up.Minor)
			}
			if x.Abs().LessThan(d.Abs()) || u.Abs().LessThan(x.Abs()) {
				t.Fatalf("%s x=%s: down %s must be toward zero, up %s away from zero", code, x, d, u)
			}
			exact := scale <= c.MinorUnits || x.Equal(x.Truncate(c.MinorUnits))
			if exact != (down.Minor == up.Minor) {
				t.Fatalf("%s x=%s: exact=%v but down %d, up %d", code, x, exact, down.Minor, up.Minor)
			}
			if exact && (!d.Equal(x) || !u.Equal(x)) {
				t.Fatalf("%s x=%s: exact value rounded to %s / %s", code, x, d, u)
			}
		}
	}
}

func TestAddMinor(t *testing.T) {
	tests := []struct {
		a, b int64
		sum  int64
		ok   bool
	}{
		{1, 2, 3, true},
		{-1, 1, 0, true},
		{math.MaxInt64, 0, math.MaxInt64, true},
		{math.MaxInt64, 1, 0, false},
		{math.MaxInt64, math.MaxInt64, 0, false},
		{math.MinInt64, 0, math.MinInt64, true},
		{math.MinInt64, -1, 0, false},
		{math.MinInt64, math.MinInt64, 0, false},
		{math.MaxInt64, math.MinInt64, -1, true},
		{math.MinInt64, math.MaxInt64, -1, true},
		{math.MaxInt64 - 5, 5, math.MaxInt64, true},
		{math.MinInt64 + 5, -5, math.MinInt64, true},
		{math.MinInt64 + 5, -6, 0, false},
	}
	for _, tt := range tests {
		sum, ok := AddMinor(tt.a, tt.b)
		if ok != tt.ok || (ok && sum != tt.sum) {
			t.Errorf("AddMinor(%d, %d) = %d, %v; want %d, %v", tt.a, tt.b, sum, ok, tt.sum, tt.ok)
		}
	}
}

func TestAmountAdd(t *testing.T) {
	eur, jpy := MustCurrency("EUR"), MustCurrency("JPY")
	got, err := eur.FromMinor(150).Add(eur.FromMinor(-50))
	if err != nil || got.Minor != 100 || got.Currency != eur {
		t.Errorf("Add = %v, %v; want 1.00 EUR", got, err)
	}
	if _, err := eur.FromMinor(1).Add(jpy.FromMinor(1)); !errors.Is(err, ErrCurrencyMix) {
		t.Errorf("EUR + JPY err = %v, want ErrCurrencyMix", err)
	}
	if _, err := eur.FromMinor(math.MaxInt64).Add(eur.FromMinor(1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("overflowing Add err = %v, want ErrTooLarge", err)
	}
}

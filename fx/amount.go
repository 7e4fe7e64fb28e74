package fx

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
)

// Errors returned by parsing; wrap-checked with errors.Is.
var (
	ErrUnknownCurrency = errors.New("unknown currency")
	ErrMalformed       = errors.New("malformed amount")
	ErrTooPrecise      = errors.New("too many decimals")
	ErrNotPositive     = errors.New("amount must be positive")
	ErrTooLarge        = errors.New("amount too large")
	ErrCurrencyMix     = errors.New("currencies differ")
)

// MaxMinor bounds every single amount (10^15 minor units: ten trillion
// dollars). Ledger sums of many such amounts still fit in int64, and
// anything bigger is a typo, not a payment.
const MaxMinor int64 = 1_000_000_000_000_000

// Amount is an exact sum of money: an integer count of the currency's
// minor units. Decimals (shopspring/decimal) are used at the edges, to parse
// and print; inside, integer minor units keep netting allocation-free and
// make "more decimals than the currency has" unrepresentable.
type Amount struct {
	Minor    int64
	Currency Currency
}

// ParseAmount reads a plain decimal string ("1234.50", "-3") in the given
// currency. It refuses exponents, more decimals than the currency's minor
// units, and magnitudes above MaxMinor. It never rounds.
func ParseAmount(value, code string) (Amount, error) {
	c, err := LookupCurrency(code)
	if err != nil {
		return Amount{}, err
	}
	return c.Parse(value)
}

// ParsePositiveAmount is ParseAmount for amounts that must be above zero:
// payments, releases, caps of transfers.
func ParsePositiveAmount(value, code string) (Amount, error) {
	a, err := ParseAmount(value, code)
	if err != nil {
		return Amount{}, err
	}
	if a.Minor <= 0 {
		return Amount{}, fmt.Errorf("%w: got %s", ErrNotPositive, value)
	}
	return a, nil
}

// Parse reads a plain decimal string in currency c; see ParseAmount.
func (c Currency) Parse(value string) (Amount, error) {
	if !plainDecimal(value) {
		return Amount{}, fmt.Errorf("%w: %q is not a plain decimal number like 1234.50", ErrMalformed, value)
	}
	d, err := decimal.NewFromString(value)
	if err != nil {
		return Amount{}, fmt.Errorf("%w: %q: %v", ErrMalformed, value, err)
	}
	if places := decimalPlaces(value); places > int(c.MinorUnits) {
		return Amount{}, fmt.Errorf("%w: %s allows %d decimal(s), %q has %d", ErrTooPrecise, c.Code, c.MinorUnits, value, places)
	}
	minor := d.Shift(c.MinorUnits)
	if minor.Abs().GreaterThan(decimal.NewFromInt(MaxMinor)) {
		return Amount{}, fmt.Errorf("%w: %q exceeds %s", ErrTooLarge, value, c.FromMinor(MaxMinor).Value())
	}
	return Amount{Minor: minor.IntPart(), Currency: c}, nil
}

// FromMinor makes an amount from a count of minor units.
func (c Currency) FromMinor(minor int64) Amount { return Amount{Minor: minor, Currency: c} }

// Decimal returns the amount in major units as an exact decimal.
func (a Amount) Decimal() decimal.Decimal { return decimal.New(a.Minor, -a.Currency.MinorUnits) }

// Value formats the amount with exactly the currency's minor units and no
// exponent: "1234.50" for EUR, "1234" for JPY, "1.500" for BHD.
func (a Amount) Value() string { return a.Decimal().StringFixed(a.Currency.MinorUnits) }

// String is "1234.50 EUR".
func (a Amount) String() string { return a.Value() + " " + a.Currency.Code }

// Add returns a+b, refusing mixed currencies and int64 overflow.
func (a Amount) Add(b Amount) (Amount, error) {
	if a.Currency.Code != b.Currency.Code {
		return Amount{}, fmt.Errorf("%w: %s + %s", ErrCurrencyMix, a.Currency.Code, b.Currency.Code)
	}
	sum, ok := AddMinor(a.Minor, b.Minor)
	if !ok {
		return Amount{}, fmt.Errorf("%w: %s + %s overflows", ErrTooLarge, a, b)
	}
	return Amount{Minor: sum, Currency: a.Currency}, nil
}

// AddMinor adds two minor-unit counts, reporting false on int64 overflow.
func AddMinor(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// The rounding rule, written down once. Amounts given to us are never
// rounded: more decimals than the currency allows is an error. Rounding
// happens only where crossclear computes money (a conversion, a fee, a
// share), and always in favour of the party that computes it: what it pays
// out is rounded down (toward zero), what it charges is rounded up (away
// from zero). The remainder is therefore never created out of thin air.

// RoundDown rounds a computed amount toward zero to the currency's minor
// units: use it for what the computing party pays out.
func (c Currency) RoundDown(d decimal.Decimal) (Amount, error) {
	return c.fromDecimal(d.Shift(c.MinorUnits).Truncate(0))
}

// RoundUp rounds a computed amount away from zero to the currency's minor
// units: use it for what the computing party charges.
func (c Currency) RoundUp(d decimal.Decimal) (Amount, error) {
	shifted := d.Shift(c.MinorUnits)
	t := shifted.Truncate(0)
	if !t.Equal(shifted) {
		if shifted.Sign() > 0 {
			t = t.Add(decimal.NewFromInt(1))
		} else {
			t = t.Sub(decimal.NewFromInt(1))
		}
	}
	return c.fromDecimal(t)
}

func (c Currency) fromDecimal(minor decimal.Decimal) (Amount, error) {
	if minor.Abs().GreaterThan(decimal.NewFromInt(MaxMinor)) {
		return Amount{}, fmt.Errorf("%w: %s %s", ErrTooLarge, minor.Shift(-c.MinorUnits), c.Code)
	}
	return Amount{Minor: minor.IntPart(), Currency: c}, nil
}

// plainDecimal accepts [+-]digits[.digits] and nothing else: no exponent,
// no spaces, no thousands separators, no "NaN".
func plainDecimal(s string) bool {
	if len(s) == 0 || len(s) > 40 {
		return false
	}
	i := 0
	if s[0] == '-' || s[0] == '+' {
		i++
	}
	digits, dot := 0, false
	for ; i < len(s); i++ {
		switch ch := s[i]; {
		case ch >= '0' && ch <= '9':
			digits++
		case ch == '.' && !dot:
			dot = true
			if digits == 0 {
				return false
			}
		default:
			return false
		}
	}
	return digits > 0 && s[len(s)-1] != '.'
}

// decimalPlaces counts significant digits after the point ("1.50" has one:
// a trailing zero adds no precision).
func decimalPlaces(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			frac := s[i+1:]
			for len(frac) > 0 && frac[len(frac)-1] == '0' {
				frac = frac[:len(frac)-1]
			}
			return len(frac)
		}
	}
	return 0
}

// RoundDownQuotient is RoundDown(num ÷ den), computed exactly: the quotient
// is cut at the currency's minor units by an integer division with
// remainder, so no intermediate rounding of a non-terminating quotient can
// move the result. Use it for what the computing party pays out.
func (c Currency) RoundDownQuotient(num, den decimal.Decimal) (Amount, error) {
	q, _, err := c.quoRem(num, den)
	if err != nil {
		return Amount{}, err
	}
	return c.fromDecimal(q)
}

// RoundUpQuotient is RoundUp(num ÷ den), computed exactly: the quotient cut
// at the minor units, plus one unit away from zero if anything remained. It
// never falls short of the exact quotient. Use it for what the computing
// party charges.
func (c Currency) RoundUpQuotient(num, den decimal.Decimal) (Amount, error) {
	q, r, err := c.quoRem(num, den)
	if err != nil {
		return Amount{}, err
	}
	if !r.IsZero() {
		if num.Sign()*den.Sign() > 0 {
			q = q.Add(decimal.NewFromInt(1))
		} else {
			q = q.Sub(decimal.NewFromInt(1))
		}
	}
	return c.fromDecimal(q)
}

// quoRem divides num by den and returns the quotient truncated toward zero
// in minor units (an integer) and whether anything remained (r != 0).
func (c Currency) quoRem(num, den decimal.Decimal) (q, r decimal.Decimal, err error) {
	if den.IsZero() {
		return q, r, fmt.Errorf("%w: %s ÷ 0", ErrMalformed, num)
	}
	q, r = num.QuoRem(den, c.MinorUnits)
	return q.Shift(c.MinorUnits), r, nil
}

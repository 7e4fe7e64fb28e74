// Package fx owns money: ISO 4217 currencies and their minor units, exact
// amounts (amount.go, with the rounding rule), rates and the ECB reference
// rates (rate.go, ecb.go), the rate book with inverse and cross rates
// (book.go), and quotes and conversion (quote.go). No value passes through
// binary floating point: amounts are integer minor units, rates decimals.
package fx

import (
	"fmt"
	"strings"
)

// Currency is an active ISO 4217 currency.
type Currency struct {
	Code       string // alphabetic code, e.g. "EUR"
	Numeric    int    // numeric code, e.g. 978
	MinorUnits int32  // digits after the decimal point: JPY 0, EUR 2, BHD 3
	Name       string
}

var byCode = func() map[string]Currency {
	m := make(map[string]Currency, len(iso4217))
	for _, c := range iso4217 {
		if _, dup := m[c.Code]; dup {
			panic("fx: duplicate currency " + c.Code)
		}
		m[c.Code] = c
	}
	return m
}()

// LookupCurrency returns the active ISO 4217 currency with this code.
// The code must be the upper-case three-letter form.
func LookupCurrency(code string) (Currency, error) {
	c, ok := byCode[code]
	if !ok {
		if up := strings.ToUpper(code); up != code {
			if _, ok := byCode[up]; ok {
				return Currency{}, fmt.Errorf("%w: %q (codes are upper case: %q)", ErrUnknownCurrency, code, up)
			}
		}
		return Currency{}, fmt.Errorf("%w: %q is not an active ISO 4217 code", ErrUnknownCurrency, code)
	}
	return c, nil
}

// MustCurrency is LookupCurrency for codes known at compile time.
func MustCurrency(code string) Currency {
	c, err := LookupCurrency(code)
	if err != nil {
		panic(err)
	}
	return c
}

// Currencies returns every active currency, ordered by code.
func Currencies() []Currency {
	out := make([]Currency, len(iso4217))
	copy(out, iso4217)
	return out
}

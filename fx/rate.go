package fx

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Errors of rates, the rate book and quotes; test them with errors.Is. Every
// error returned wraps one of them and names the pair (or quote) concerned
// and what was expected.
var (
	ErrUnknownPair    = errors.New("unknown currency pair")
	ErrBadRate        = errors.New("bad rate")
	ErrNoRate         = errors.New("no rate")
	ErrStaleRate      = errors.New("stale rate")
	ErrBadECB         = errors.New("malformed ECB reference rates")
	ErrSameCurrency   = errors.New("same currency on both sides")
	ErrBadQuote       = errors.New("bad quote request")
	ErrQuoteExpired   = errors.New("quote expired")
	ErrQuoteUsed      = errors.New("quote already used") // for the store: fx quotes are values and cannot know
	ErrQuoteOtherBank = errors.New("quote issued to another bank")
	ErrQuoteMismatch  = errors.New("quote does not match the payment")
)

// MaxRatePlaces is the most decimal places a rate given to crossclear may
// have (trailing zeros do not count). Real quotes have at most 6 to 10; more
// is a unit or parsing error ("absurd precision"), not a better price.
const MaxRatePlaces = 12

// maxRate bounds a rate given to crossclear: no pair of active currencies is
// a trillion apart, and the bound keeps every product far from overflow.
var maxRate = decimal.New(1, 12)

// Pair is an ordered currency pair: 1 Base = rate Quote (EUR/USD 1.0835 means
// one euro is worth 1.0835 US dollars). Codes are active ISO 4217 codes.
type Pair struct{ Base, Quote string }

// String is "EUR/USD".
func (p Pair) String() string { return p.Base + "/" + p.Quote }

// Inverse is the pair the other way round: USD/EUR for EUR/USD.
func (p Pair) Inverse() Pair { return Pair{Base: p.Quote, Quote: p.Base} }

// ParsePair reads "EUR/USD" and validates it.
func ParsePair(s string) (Pair, error) {
	base, quote, ok := strings.Cut(s, "/")
	if !ok {
		return Pair{}, fmt.Errorf("%w: %q is not of the form BASE/QUOTE, like EUR/USD", ErrUnknownPair, s)
	}
	p := Pair{Base: base, Quote: quote}
	return p, p.Validate()
}

// Validate checks that both codes are active ISO 4217 currencies and differ.
// Errors wrap ErrUnknownPair (and ErrUnknownCurrency or ErrSameCurrency).
func (p Pair) Validate() error {
	if _, err := LookupCurrency(p.Base); err != nil {
		return fmt.Errorf("%w %s: base: %w", ErrUnknownPair, p, err)
	}
	if _, err := LookupCurrency(p.Quote); err != nil {
		return fmt.Errorf("%w %s: quote: %w", ErrUnknownPair, p, err)
	}
	if p.Base == p.Quote {
		return fmt.Errorf("%w %s: %w (want two different currencies)", ErrUnknownPair, p, ErrSameCurrency)
	}
	return nil
}

// Rate is one quoted rate of a pair from one source: 1 Base buys Bid Quote
// when the source buys Base from you, and costs Ask Quote when it sells you
// Base. A reference rate (the ECB's) has Bid == Ask.
type Rate struct {
	Pair
	Bid, Ask   decimal.Decimal
	Source     string // "ecb", or a provider id
	AsOf       time.Time
	ValidUntil time.Time
}

// Mid is (Bid + Ask) / 2, exactly (halving a decimal never needs rounding).
func (r Rate) Mid() decimal.Decimal { return mid(r.Bid, r.Ask) }

var half = decimal.New(5, -1)

func mid(bid, ask decimal.Decimal) decimal.Decimal { return bid.Add(ask).Mul(half) }

// Validate checks a rate before it enters a book. Errors wrap ErrBadRate
// (and ErrUnknownPair for a bad pair) and name the pair.
func (r Rate) Validate() error {
	if err := r.Pair.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadRate, err)
	}
	if err := checkRateValue(r.Pair, "bid", r.Bid); err != nil {
		return err
	}
	if err := checkRateValue(r.Pair, "ask", r.Ask); err != nil {
		return err
	}
	if r.Bid.GreaterThan(r.Ask) {
		return fmt.Errorf("%w %s: bid %s is above ask %s (want bid <= ask)", ErrBadRate, r.Pair, r.Bid, r.Ask)
	}
	if err := checkSource(r.Source); err != nil {
		return fmt.Errorf("%w %s: %v", ErrBadRate, r.Pair, err)
	}
	if r.AsOf.IsZero() {
		return fmt.Errorf("%w %s from %s: no as-of time", ErrBadRate, r.Pair, r.Source)
	}
	if !r.ValidUntil.After(r.AsOf) {
		return fmt.Errorf("%w %s from %s: valid until %s is not after as-of %s", ErrBadRate, r.Pair, r.Source,
			r.ValidUntil.Format(time.RFC3339), r.AsOf.Format(time.RFC3339))
	}
	return nil
}

func checkRateValue(p Pair, side string, d decimal.Decimal) error {
	if d.Sign() <= 0 {
		return fmt.Errorf("%w %s: %s %s is not positive", ErrBadRate, p, side, d)
	}
	if d.GreaterThanOrEqual(maxRate) {
		return fmt.Errorf("%w %s: %s %s is absurdly large (want below %s)", ErrBadRate, p, side, d, maxRate)
	}
	if !d.Truncate(MaxRatePlaces).Equal(d) {
		return fmt.Errorf("%w %s: %s %s has absurd precision (want at most %d decimal places)", ErrBadRate, p, side, d, MaxRatePlaces)
	}
	return nil
}

func checkSource(s string) error {
	if s == "" {
		return errors.New("no source (want \"ecb\" or a provider id)")
	}
	if len(s) > 64 {
		return fmt.Errorf("source %.20q... is longer than 64 bytes", s)
	}
	for _, ch := range s {
		if ch <= ' ' || ch == 0x7f {
			return fmt.Errorf("source %q contains spaces or control characters", s)
		}
	}
	return nil
}

// legLabel describes a leg of a conversion: "EUR/USD ecb 2026-11-20", or for
// a rate used the other way round "USD/EUR ecb 2026-11-20 (inverted)". ECB
// rates are daily and carry their date; others their RFC 3339 time in UTC.
func legLabel(r Rate, inverted bool) string {
	when := r.AsOf.UTC().Format(time.RFC3339)
	if r.Source == SourceECB {
		when = r.AsOf.Format(time.DateOnly)
	}
	if inverted {
		return r.Pair.Inverse().String() + " " + r.Source + " " + when + " (inverted)"
	}
	return r.Pair.String() + " " + r.Source + " " + when
}

package clearing

import (
	"fmt"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/fx"
)

// Exposure (docs/fx.md): a participant's open-cycle positions, one per
// currency, each converted into one currency (the reporting currency, or a
// multi-currency cap's own) at the rate book's mid rate, with the rate and
// the path of rates it came from recorded.
//
// Each position is converted exactly once and rounded once, by the rounding
// rule of fx/amount.go seen from the scheme, which computes the figure to
// guard itself: a debit is what the participant owes, so it is rounded away
// from zero (up in magnitude), a credit is what it is owed, so it is rounded
// toward zero. A converted exposure therefore never understates a debit or
// overstates a credit. Totals are sums of the rounded lines.
//
// The total debit adds up the debit positions only: a credit in one
// currency does not offset a debit in another, because it pays nothing
// until settlement and converting it would bet on the rate (the aggregate
// short position of CLS works the same way). The net, with credits offset,
// is reported next to it.

// MidRate is the book's mid rate of a pair (quote per 1 base) and the legs
// it was derived from (fx.Conversion.Path).
type MidRate struct {
	Mid  decimal.Decimal
	Path []string
}

// MidRates finds the mid rate from one currency into another, or says why
// there is none. It is never asked for from == to.
type MidRates func(from, to string) (MidRate, error)

// ExposureLine is one currency position, converted.
type ExposureLine struct {
	Currency       string
	NetMinor       int64           // received − paid in Currency: negative is a debit
	Converted      bool            // false when no usable rate exists (Missing says why)
	ConvertedMinor int64           // NetMinor × Rate in the exposure's currency, rounded once
	Rate           decimal.Decimal // the mid rate used; 1 for the exposure's own currency; zero for a zero position
	Path           []string
	Missing        string
}

// Exposure is one participant's converted positions and their totals.
type Exposure struct {
	Participant string
	Currency    string         // what the lines are converted into
	Lines       []ExposureLine // by currency code
	// DebitMinor is the total debit: Σ |converted| over the debit lines (≥
	// 0). DebitKnown is false when a debit line could not be converted:
	// then the total is not given, rather than guessed.
	DebitMinor int64
	DebitKnown bool
	// NetMinor is Σ converted over every line; NetKnown as DebitKnown.
	NetMinor int64
	NetKnown bool
	Cap      TotalCap // the participant's multi-currency net debit cap, if any
}

// Headroom is how much more total debit the cap allows, when the exposure
// is in the cap's currency and its total debit is known.
func (e Exposure) Headroom() (int64, bool) {
	if !e.Cap.Set() || e.Cap.Currency != e.Currency || !e.DebitKnown {
		return 0, false
	}
	return e.Cap.Minor - e.DebitMinor, true
}

// Line returns the line of currency ccy.
func (e Exposure) Line(ccy string) (ExposureLine, bool) {
	for _, l := range e.Lines {
		if l.Currency == ccy {
			return l, true
		}
	}
	return ExposureLine{}, false
}

// ConvertPosition converts a net position of net minor units of from into
// to at rate (to per 1 from), rounding once: a debit (negative) away from
// zero, a credit toward zero.
func ConvertPosition(net int64, from, to string, rate decimal.Decimal) (int64, error) {
	if net == 0 {
		return 0, nil
	}
	src, err := fx.LookupCurrency(from)
	if err != nil {
		return 0, err
	}
	dst, err := fx.LookupCurrency(to)
	if err != nil {
		return 0, err
	}
	if rate.Sign() <= 0 {
		return 0, fmt.Errorf("%w %s/%s: rate %s is not positive", fx.ErrBadRate, from, to, rate)
	}
	x := src.FromMinor(net).Decimal().Mul(rate)
	var a fx.Amount
	if net < 0 {
		a, err = dst.RoundUp(x) // away from zero: the debit is never understated
	} else {
		a, err = dst.RoundDown(x)
	}
	if err != nil {
		return 0, err
	}
	return a.Minor, nil
}

// NewExposure converts participant's net positions (minor units by
// currency) into ccy with rates. A zero position needs no rate.
func NewExposure(participant, ccy string, nets map[string]int64, rates MidRates) Exposure {
	e := Exposure{Participant: participant, Currency: ccy, DebitKnown: true, NetKnown: true}
	codes := make([]string, 0, len(nets))
	for c := range nets {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		l := ExposureLine{Currency: c, NetMinor: nets[c]}
		switch {
		case l.NetMinor == 0:
			l.Converted = true
		case c == ccy:
			l.Converted, l.ConvertedMinor, l.Rate, l.Path = true, l.NetMinor, decimal.New(1, 0), []string{c + " (no conversion)"}
		default:
			m, err := rates(c, ccy)
			if err == nil {
				l.ConvertedMinor, err = ConvertPosition(l.NetMinor, c, ccy, m.Mid)
			}
			if err != nil {
				l.Missing = err.Error()
				break
			}
			l.Converted, l.Rate, l.Path = true, m.Mid, m.Path
		}
		switch {
		case !l.Converted:
			e.NetKnown = false
			if l.NetMinor < 0 {
				e.DebitKnown = false
			}
		default:
			e.NetMinor += l.ConvertedMinor
			if l.ConvertedMinor < 0 {
				e.DebitMinor -= l.ConvertedMinor
			}
		}
		e.Lines = append(e.Lines, l)
	}
	if !e.DebitKnown {
		e.DebitMinor = 0
	}
	if !e.NetKnown {
		e.NetMinor = 0
	}
	return e
}

// CheckNetDebitCapTotal checks bank's multi-currency net debit cap for a
// hold of amount: before and after are the bank's exposure without and with
// the hold, both converted into the cap's currency. A hold that raises the
// total debit past the cap is refused with an error naming the cap, the
// current converted exposure and the amount converted. When a debit position
// cannot be converted (no usable rate) the hold is refused too: the cap is
// not checked by guessing.
func CheckNetDebitCapTotal(bank Participant, amount fx.Amount, before, after Exposure) error {
	limit := bank.NetDebitCapTotal
	if !limit.Set() {
		return nil
	}
	if before.Currency != limit.Currency || after.Currency != limit.Currency {
		return fmt.Errorf("%w: exposure of %s in %s/%s checked against a cap in %s", ErrInvariant, bank.ID, before.Currency, after.Currency, limit.Currency)
	}
	for _, e := range []Exposure{after, before} {
		if e.DebitKnown {
			continue
		}
		var ccys, why []string
		for _, l := range e.Lines {
			if !l.Converted && l.NetMinor < 0 {
				ccys = append(ccys, l.Currency)
				why = append(why, fmt.Sprintf("%s (position %s): %s", l.Currency, fx.MustCurrency(l.Currency).FromMinor(l.NetMinor), l.Missing))
			}
		}
		return Errorf(Refused, "exposure_rate_unavailable", "currency",
			"bank %s has a multi-currency net debit cap of %s, and its debit in %s cannot be converted into %s, so the cap cannot be checked (no rate is guessed): %s",
			bank.ID, limit.Amount(), strings.Join(ccys, ", "), limit.Currency, strings.Join(why, "; "))
	}
	if after.DebitMinor <= limit.Minor || after.DebitMinor <= before.DebitMinor {
		return nil
	}
	ccy := fx.MustCurrency(limit.Currency)
	what := amount.String()
	if amount.Currency.Code != limit.Currency {
		if l, ok := after.Line(amount.Currency.Code); ok && l.Converted && l.Rate.Sign() > 0 {
			if conv, err := ConvertPosition(-amount.Minor, amount.Currency.Code, limit.Currency, l.Rate); err == nil {
				what = fmt.Sprintf("%s (%s at the mid rate %s)", amount, ccy.FromMinor(-conv), l.Rate)
			}
		}
	}
	return Errorf(Refused, "net_debit_cap_total_exceeded", "amount",
		"holding %s would take bank %s to a total debit of %s across currencies, past its multi-currency net debit cap of %s (current converted exposure %s)",
		what, bank.ID, ccy.FromMinor(after.DebitMinor), limit.Amount(), ccy.FromMinor(before.DebitMinor))
}

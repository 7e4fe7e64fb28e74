package fx

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// MaxSpreadBps is the exclusive upper bound of a spread in basis points: a
// spread of 10000 bps (100 %) would leave the client nothing.
const MaxSpreadBps = 10000

// Quote is a firm offer of an FX provider to one bank: the bank pays
// SellMinor of Sell and the merchant side receives BuyMinor of Buy, until
// ExpiresAt. Rates are Buy per 1 Sell: Mid is the book's mid rate and Rate
// what the client gets, the bid less the spread. SpreadMinor is what the
// spread is worth in Buy minor units, RoundDown(sell × bid) − BuyMinor, so
// that it can be booked or reported as its own leg.
type Quote struct {
	ID                  string
	Provider, Bank      string
	Sell, Buy           Currency
	SellMinor, BuyMinor int64
	Mid, Rate           decimal.Decimal
	SpreadBps           int
	SpreadMinor         int64
	Path                []string
	IssuedAt, ExpiresAt time.Time
}

// SellAmount is what the bank pays.
func (q Quote) SellAmount() Amount { return q.Sell.FromMinor(q.SellMinor) }

// BuyAmount is what the merchant side receives.
func (q Quote) BuyAmount() Amount { return q.Buy.FromMinor(q.BuyMinor) }

// SpreadAmount is what the spread is worth, in the Buy currency.
func (q Quote) SpreadAmount() Amount { return q.Buy.FromMinor(q.SpreadMinor) }

// QuoteSell quotes a conversion where the bank pays exactly sell (in
// conv.Base) and receives, in conv.Quote, BuyMinor = RoundDown(sell × rate)
// with rate = bid × (1 − spreadBps/10000): the provider pays that out, so it
// is rounded down. A conversion that buys less than one minor unit is
// refused (ErrNotPositive).
func QuoteSell(conv Conversion, sell Amount, spreadBps int, provider, bank string, now time.Time, ttl time.Duration) (Quote, error) {
	if sell.Minor <= 0 {
		return Quote{}, fmt.Errorf("%w: quote %s: sell amount %s", ErrNotPositive, conv.Pair, sell)
	}
	if sell.Currency.Code != conv.Base {
		return Quote{}, fmt.Errorf("%w: quote %s sells %s, the sell amount is %s", ErrCurrencyMix, conv.Pair, conv.Base, sell)
	}
	q, err := newQuote(conv, spreadBps, provider, bank, now, ttl)
	if err != nil {
		return Quote{}, err
	}
	buy, err := q.Buy.RoundDown(sell.Decimal().Mul(q.Rate))
	if err != nil {
		return Quote{}, fmt.Errorf("fx: quote %s of %s: %w", conv.Pair, sell, err)
	}
	if buy.Minor <= 0 {
		return Quote{}, fmt.Errorf("%w: quote %s: %s at %s buys less than one minor unit of %s", ErrNotPositive, conv.Pair, sell, q.Rate, q.Buy.Code)
	}
	q.SellMinor, q.BuyMinor = sell.Minor, buy.Minor
	return q.withSpread(conv.Bid)
}

// QuoteBuy quotes a conversion where the merchant side receives exactly buy
// (in conv.Quote) and the bank pays, in conv.Base, SellMinor =
// RoundUp(buy ÷ rate) with rate = bid × (1 − spreadBps/10000): the provider
// charges that, so it is rounded up.
//
// The division cannot under-charge: RoundUpQuotient divides exactly, with an
// integer quotient and remainder at the sell currency's minor units, and adds
// one unit when the remainder is not zero; no intermediate quotient is ever
// rounded to a fixed precision. The result is still checked: SellMinor × rate
// must cover buy, and SellMinor − 1 unit must not.
func QuoteBuy(conv Conversion, buy Amount, spreadBps int, provider, bank string, now time.Time, ttl time.Duration) (Quote, error) {
	if buy.Minor <= 0 {
		return Quote{}, fmt.Errorf("%w: quote %s: buy amount %s", ErrNotPositive, conv.Pair, buy)
	}
	if buy.Currency.Code != conv.Quote {
		return Quote{}, fmt.Errorf("%w: quote %s buys %s, the buy amount is %s", ErrCurrencyMix, conv.Pair, conv.Quote, buy)
	}
	q, err := newQuote(conv, spreadBps, provider, bank, now, ttl)
	if err != nil {
		return Quote{}, err
	}
	sell, err := q.Sell.RoundUpQuotient(buy.Decimal(), q.Rate)
	if err != nil {
		return Quote{}, fmt.Errorf("fx: quote %s for %s: %w", conv.Pair, buy, err)
	}
	covers := sell.Decimal().Mul(q.Rate)
	less := q.Sell.FromMinor(sell.Minor - 1).Decimal().Mul(q.Rate)
	if covers.LessThan(buy.Decimal()) || !less.LessThan(buy.Decimal()) {
		// Unreachable: RoundUpQuotient is exact.
		return Quote{}, fmt.Errorf("fx: internal error: quote %s: %s at %s does not buy exactly-or-just-over %s", conv.Pair, sell, q.Rate, buy)
	}
	q.SellMinor, q.BuyMinor = sell.Minor, buy.Minor
	return q.withSpread(conv.Bid)
}

// newQuote checks what both makers share and fills in everything but the
// amounts.
func newQuote(conv Conversion, spreadBps int, provider, bank string, now time.Time, ttl time.Duration) (Quote, error) {
	if err := conv.Pair.Validate(); err != nil {
		return Quote{}, err
	}
	if conv.Bid.Sign() <= 0 || conv.Ask.LessThan(conv.Bid) {
		return Quote{}, fmt.Errorf("%w %s: conversion bid %s, ask %s (want 0 < bid <= ask)", ErrBadRate, conv.Pair, conv.Bid, conv.Ask)
	}
	if spreadBps < 0 || spreadBps >= MaxSpreadBps {
		return Quote{}, fmt.Errorf("%w %s: spread %d bps is outside [0, %d)", ErrBadQuote, conv.Pair, spreadBps, MaxSpreadBps)
	}
	if provider == "" || bank == "" {
		return Quote{}, fmt.Errorf("%w %s: provider %q and bank %q must both be given", ErrBadQuote, conv.Pair, provider, bank)
	}
	if ttl <= 0 {
		return Quote{}, fmt.Errorf("%w %s: time to live %s must be positive", ErrBadQuote, conv.Pair, ttl)
	}
	expires := now.Add(ttl)
	if !conv.ValidUntil.IsZero() {
		if !now.Before(conv.ValidUntil) {
			return Quote{}, fmt.Errorf("%w for %s: the conversion expired at %s (now %s)", ErrStaleRate, conv.Pair,
				conv.ValidUntil.Format(time.RFC3339), now.Format(time.RFC3339))
		}
		// No quote outlives the rates it was made from.
		expires = earliest(expires, conv.ValidUntil)
	}
	return Quote{
		ID:        "fxq_" + rand.Text(),
		Provider:  provider,
		Bank:      bank,
		Sell:      MustCurrency(conv.Base),
		Buy:       MustCurrency(conv.Quote),
		Mid:       conv.Mid(),
		Rate:      conv.Bid.Mul(decimal.New(int64(MaxSpreadBps-spreadBps), -4)),
		SpreadBps: spreadBps,
		Path:      append([]string(nil), conv.Path...),
		IssuedAt:  now,
		ExpiresAt: expires,
	}, nil
}

// withSpread sets SpreadMinor = RoundDown(sell × bid) − BuyMinor.
func (q Quote) withSpread(bid decimal.Decimal) (Quote, error) {
	atBid, err := q.Buy.RoundDown(q.SellAmount().Decimal().Mul(bid))
	if err != nil {
		return Quote{}, fmt.Errorf("fx: quote %s/%s: %w", q.Sell.Code, q.Buy.Code, err)
	}
	q.SpreadMinor = atBid.Minor - q.BuyMinor
	return q, nil
}

// Check tells whether the quote may be used at now by bank for a payment of
// sell converted into buyCurrency. Errors wrap ErrQuoteOtherBank (checked
// first, so that another bank learns nothing about the quote),
// ErrQuoteExpired (now at or after ExpiresAt) or ErrQuoteMismatch (naming
// what the quote says and what the payment says). That a quote is used only
// once is up to its store (ErrQuoteUsed).
func (q Quote) Check(now time.Time, bank string, sell Amount, buyCurrency string) error {
	if bank != q.Bank {
		return fmt.Errorf("%w: quote %s was not issued to bank %q", ErrQuoteOtherBank, q.ID, bank)
	}
	if !now.Before(q.ExpiresAt) {
		return fmt.Errorf("%w: quote %s expired at %s (now %s)", ErrQuoteExpired, q.ID,
			q.ExpiresAt.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	if sell.Currency.Code != q.Sell.Code || sell.Minor != q.SellMinor {
		return fmt.Errorf("%w: quote %s sells %s, the payment is %s", ErrQuoteMismatch, q.ID, q.SellAmount(), sell)
	}
	if buyCurrency != q.Buy.Code {
		return fmt.Errorf("%w: quote %s buys %s, the payment wants %s", ErrQuoteMismatch, q.ID, q.Buy.Code, buyCurrency)
	}
	return nil
}

// ConvertAt converts a (positive) amount into currency to at rate (to per 1
// of a's currency), applying the rounding rule: if the computing party pays
// the result out (payOut) it is rounded down, if it charges it, up. Used for
// legs that are not quoted, such as converting a refund back at a fresh rate.
// The result may be zero when a is smaller than one unit of to.
func ConvertAt(a Amount, to Currency, rate decimal.Decimal, payOut bool) (Amount, error) {
	if a.Minor <= 0 {
		return Amount{}, fmt.Errorf("%w: converting %s to %s", ErrNotPositive, a, to.Code)
	}
	if _, err := LookupCurrency(to.Code); err != nil {
		return Amount{}, fmt.Errorf("fx: converting %s: %w", a, err)
	}
	if a.Currency.Code == to.Code {
		return Amount{}, fmt.Errorf("%w: converting %s to %s", ErrSameCurrency, a, to.Code)
	}
	if rate.Sign() <= 0 {
		return Amount{}, fmt.Errorf("%w %s/%s: rate %s is not positive", ErrBadRate, a.Currency.Code, to.Code, rate)
	}
	x := a.Decimal().Mul(rate)
	var (
		out Amount
		err error
	)
	if payOut {
		out, err = to.RoundDown(x)
	} else {
		out, err = to.RoundUp(x)
	}
	if err != nil {
		return Amount{}, fmt.Errorf("fx: converting %s to %s at %s: %w", a, to.Code, rate, err)
	}
	return out, nil
}

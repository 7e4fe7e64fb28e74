package clearing

import (
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/fx"
)

// Cross-currency payments, as docs/fx.md designs them. The buyer's bank pays
// T in its currency (the sell currency); the merchant is settled in its own
// (the buy currency); an FX provider converts at a locked quote:
//
//	leg          debit          credit        currency  amount
//	fee          buyer's bank   fees          sell      F = RoundUp(T × fee_bps / 10000)
//	spread       buyer's bank   FX provider   sell      S = RoundUp(T × spread_bps / 10000)
//	conversion   buyer's bank   FX provider   sell      C = T − F − S
//	delivery     FX provider    escrow        buy       M = RoundDown(C × rate)
//
// The rate is the provider's bid as quoted, never adjusted: spread and fee
// are their own legs. Releases pay the merchant's bank from escrow in the
// buy currency exactly as for same-currency payments. A refund gives the
// held buy amount back to the provider, which converts it back at a fresh
// rate; the buyer's bank gets back exactly its share of T (see
// Payment.fxRefundLegs).

// MaxBps bounds fee and spread: together they must leave something to convert.
const MaxBps = 10000

// FXResultCharge says who bears the FX result of cross-currency refunds:
// the difference between the locked share C_r and the fresh conversion C′.
type FXResultCharge string

const (
	// ChargeOperator books the FX result to the operator's FXResultAccount
	// (the default).
	ChargeOperator FXResultCharge = "operator"
	// ChargeMerchant books it to the merchant's bank, in the sell currency:
	// the merchant (through its bank) bears the rate move of what it gives
	// back. The merchant's bank must settle the sell currency, or the hold
	// is refused (fx_result_currency_not_settled): refusing the hold is
	// harmless, refusing a refund later would trap the buyer's money.
	ChargeMerchant FXResultCharge = "merchant"
)

// Valid reports whether c is one of the charges above ("" is not).
func (c FXResultCharge) Valid() bool { return c == ChargeOperator || c == ChargeMerchant }

// FXQuote is a firm price for a cross-currency payment: bank pays TotalMinor
// (T) of Sell, of which FeeMinor (F) and SpreadMinor (S) are charged as their
// own legs and ConvertedMinor (C) is converted at Rate (Buy per 1 Sell, the
// provider's bid along Path) into BuyMinor (M) of Buy for the merchant, until
// ExpiresAt. PaymentID is the payment that used it, "" while unused.
type FXQuote struct {
	ID                  string
	Provider, Bank      string
	Sell, Buy           string
	TotalMinor          int64 // T
	FeeMinor            int64 // F
	SpreadMinor         int64 // S
	ConvertedMinor      int64 // C = T − F − S
	BuyMinor            int64 // M = RoundDown(C × Rate)
	Rate, Mid           decimal.Decimal
	FeeBps, SpreadBps   int
	Path                []string
	IssuedAt, ExpiresAt time.Time
	PaymentID           string
}

// Total is what the bank pays.
func (q FXQuote) Total() fx.Amount { return fx.MustCurrency(q.Sell).FromMinor(q.TotalMinor) }

// FX is the quote as package fx sees it for Quote.Check: the bank pays T of
// Sell and the merchant side receives M of Buy.
func (q FXQuote) FX() fx.Quote {
	return fx.Quote{ID: q.ID, Provider: q.Provider, Bank: q.Bank, Sell: fx.MustCurrency(q.Sell), Buy: fx.MustCurrency(q.Buy),
		SellMinor: q.TotalMinor, BuyMinor: q.BuyMinor, Mid: q.Mid, Rate: q.Rate, Path: q.Path, IssuedAt: q.IssuedAt, ExpiresAt: q.ExpiresAt}
}

// NewFXQuote prices a payment of total (T, in conv.Base) converted into
// conv.Quote: F and S are charged by the rounding rule (rounded up), C = T − F
// − S is quoted by fx.QuoteSell with no spread folded into the rate, so that M
// = RoundDown(C × bid). It refuses fees and spreads outside [0, MaxBps) and
// payments too small to convert into one minor unit.
func NewFXQuote(conv fx.Conversion, total fx.Amount, feeBps, spreadBps int, provider, bank string, now time.Time, ttl time.Duration) (FXQuote, error) {
	if feeBps < 0 || spreadBps < 0 || feeBps+spreadBps >= MaxBps {
		return FXQuote{}, fmt.Errorf("%w: fee %d bps and spread %d bps must be non-negative and add up to less than %d", fx.ErrBadQuote, feeBps, spreadBps, MaxBps)
	}
	if total.Minor <= 0 {
		return FXQuote{}, fmt.Errorf("%w: quote %s: amount %s", fx.ErrNotPositive, conv.Pair, total)
	}
	sell := total.Currency
	fee, err := sell.RoundUp(total.Decimal().Mul(decimal.New(int64(feeBps), -4)))
	if err != nil {
		return FXQuote{}, err
	}
	spread, err := sell.RoundUp(total.Decimal().Mul(decimal.New(int64(spreadBps), -4)))
	if err != nil {
		return FXQuote{}, err
	}
	converted := total.Minor - fee.Minor - spread.Minor
	if converted <= 0 {
		return FXQuote{}, fmt.Errorf("%w: %s leaves nothing to convert after a fee of %s and a spread of %s", fx.ErrNotPositive, total, fee, spread)
	}
	q, err := fx.QuoteSell(conv, sell.FromMinor(converted), 0, provider, bank, now, ttl)
	if err != nil {
		return FXQuote{}, err
	}
	return FXQuote{
		ID: q.ID, Provider: provider, Bank: bank, Sell: q.Sell.Code, Buy: q.Buy.Code,
		TotalMinor: total.Minor, FeeMinor: fee.Minor, SpreadMinor: spread.Minor, ConvertedMinor: converted, BuyMinor: q.BuyMinor,
		Rate: q.Rate, Mid: q.Mid, FeeBps: feeBps, SpreadBps: spreadBps, Path: q.Path, IssuedAt: q.IssuedAt, ExpiresAt: q.ExpiresAt,
	}, nil
}

// QuoteError turns an fx quote error into a clearing error naming the
// quote_id field. A quote issued to another bank is reported exactly like
// one that does not exist, so that banks cannot probe each other's quotes.
func QuoteError(err error, id string) error {
	switch {
	case errors.Is(err, fx.ErrQuoteOtherBank):
		return UnknownQuote(id)
	case errors.Is(err, fx.ErrQuoteExpired):
		return Errorf(Refused, "quote_expired", "quote_id", "%v", err)
	case errors.Is(err, fx.ErrQuoteUsed):
		return Errorf(Conflict, "quote_used", "quote_id", "%v", err)
	case errors.Is(err, fx.ErrQuoteMismatch):
		return Errorf(Invalid, "quote_mismatch", "quote_id", "%v", err)
	}
	return err
}

// UnknownQuote is the answer for a quote that does not exist or that the
// caller may not use.
func UnknownQuote(id string) error {
	return Errorf(Invalid, "unknown_quote", "quote_id", "no quote %q for this bank", id)
}

// HoldFX holds a cross-currency payment at a locked quote: req.Amount (T) is
// in the buyer's currency, the merchant is paid in its own, and q says how
// one becomes the other. It checks the parties as Hold does (the buyer's
// bank settling the sell currency, the merchant's bank the buy currency),
// the provider (an active FX provider settling both), and the quote with
// fx.Quote.Check (issued to this bank, not expired, for exactly this amount
// and these currencies). That a quote is used once is the store's to ensure.
// The caller checks the buyer's bank's net debit cap in the sell currency for T.
//
// charge says who will bear the FX result of the payment's refunds; it is
// recorded on the payment (FXResultOwner), so that a later change of the
// configuration does not change what was agreed for a payment already held.
// With ChargeMerchant the merchant's bank must settle the sell currency.
func HoldFX(req HoldRequest, q FXQuote, provider, buyerBank Participant, merchant Merchant, merchantBank Participant, charge FXResultCharge, by Actor, now time.Time, releaseAfter time.Duration) (Transition, error) {
	if err := checkParties(req, buyerBank, merchant, merchantBank, true); err != nil {
		return Transition{}, err
	}
	sell, buy := req.Amount.Currency.Code, merchant.Currency
	if sell == buy {
		return Transition{}, Errorf(Invalid, "quote_mismatch", "quote_id", "the payment and merchant %s are both in %s: there is nothing to convert", merchant.ID, sell)
	}
	if err := q.FX().Check(now, buyerBank.ID, req.Amount, buy); err != nil {
		return Transition{}, QuoteError(err, q.ID)
	}
	if provider.ID != q.Provider {
		return Transition{}, fmt.Errorf("%w: quote %s is from %q, the caller loaded %q", ErrInvariant, q.ID, q.Provider, provider.ID)
	}
	if q.FeeMinor < 0 || q.SpreadMinor < 0 || q.ConvertedMinor <= 0 || q.BuyMinor <= 0 || q.FeeMinor+q.SpreadMinor+q.ConvertedMinor != q.TotalMinor {
		return Transition{}, fmt.Errorf("%w: quote %s does not add up: T %d, F %d, S %d, C %d, M %d", ErrInvariant, q.ID, q.TotalMinor, q.FeeMinor, q.SpreadMinor, q.ConvertedMinor, q.BuyMinor)
	}
	if provider.Kind != FXProvider {
		return Transition{}, Errorf(Invalid, "not_an_fx_provider", "quote_id", "%s is %s, not an FX provider", provider.ID, WithArticle(string(provider.Kind)))
	}
	if provider.Status != Active {
		return Transition{}, Errorf(Refused, "participant_suspended", "quote_id", "FX provider %s is suspended", provider.ID)
	}
	for _, ccy := range []string{sell, buy} {
		if _, ok := provider.Settles(ccy); !ok {
			return Transition{}, Errorf(Invalid, "currency_not_settled", "currency", "FX provider %s does not settle %s", provider.ID, ccy)
		}
	}
	bearer := FXResultAccount
	switch charge {
	case ChargeOperator:
	case ChargeMerchant:
		if _, ok := merchantBank.Settles(sell); !ok {
			return Transition{}, Errorf(Refused, "fx_result_currency_not_settled", "currency",
				"the FX result of refunds is charged to the merchant's bank (fx_result_charged_to = merchant), and bank %s of merchant %s does not settle %s, the currency it would be booked in",
				merchantBank.ID, merchant.ID, sell)
		}
		bearer = merchantBank.ID
	default:
		return Transition{}, fmt.Errorf("%w: FX result charged to %q (want %q or %q)", ErrInvariant, charge, ChargeOperator, ChargeMerchant)
	}
	p := newPayment(req, buyerBank, merchant, merchantBank, now, releaseAfter)
	p.Currency, p.AmountMinor = buy, q.BuyMinor
	p.SellCurrency, p.SellMinor, p.FeeMinor, p.SpreadMinor, p.ConvertedMinor = sell, q.TotalMinor, q.FeeMinor, q.SpreadMinor, q.ConvertedMinor
	p.FXProviderID, p.QuoteID, p.Rate, p.FXResultOwner = provider.ID, q.ID, q.Rate.String(), bearer
	legs := []Posting{
		{PaymentID: p.ID, Kind: PostFee, Currency: sell, Debit: buyerBank.ID, Credit: FeesAccount, AmountMinor: q.FeeMinor},
		{PaymentID: p.ID, Kind: PostFXSpread, Currency: sell, Debit: buyerBank.ID, Credit: provider.ID, AmountMinor: q.SpreadMinor},
		{PaymentID: p.ID, Kind: PostFXConversion, Currency: sell, Debit: buyerBank.ID, Credit: provider.ID, AmountMinor: q.ConvertedMinor},
		{PaymentID: p.ID, Kind: PostFXDelivery, Currency: buy, Debit: provider.ID, Credit: EscrowAccount, AmountMinor: q.BuyMinor},
	}
	return Transition{Payment: p, Events: holdEvents(p, by.String(), now), Postings: nonZero(legs)}, nil
}

// nonZero drops legs that move nothing: a fee or spread of 0 bps, or an FX
// result borne by the buyer's bank itself (the merchant's bank charged, and
// it is also the buyer's). A posting always moves a positive amount between
// two different accounts.
func nonZero(ps []Posting) []Posting {
	out := ps[:0]
	for _, p := range ps {
		if p.AmountMinor > 0 && p.Debit != p.Credit {
			out = append(out, p)
		}
	}
	return out
}

// ShareUp is ⌈x × part / whole⌉ computed exactly, for 0 ≤ part ≤ whole:
// x's share of part of whole, rounded up; ShareUp(x, whole, whole) is x.
func ShareUp(x, part, whole int64) int64 {
	switch {
	case part >= whole:
		return x
	case part <= 0 || x == 0:
		return 0
	}
	n := new(big.Int).Mul(big.NewInt(x), big.NewInt(part))
	q, r := n.QuoRem(n, big.NewInt(whole), new(big.Int))
	if r.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}

// RefundedSell is what has been given back to the buyer's bank of a
// cross-currency payment's conversion, fee and spread: each its share of
// the buy amount refunded so far, rounded up (the buyer is owed it). The
// shares are cumulative, so the refund that completes the payment gets
// exactly what remains and the shares over a payment's life add up to C, F
// and S.
func (p Payment) RefundedSell() (converted, fee, spread int64) {
	r, m := p.RefundedMinor, p.AmountMinor
	return ShareUp(p.ConvertedMinor, r, m), ShareUp(p.FeeMinor, r, m), ShareUp(p.SpreadMinor, r, m)
}

// fxRefundLegs gives amount (M_r, buy currency) back from escrow to the FX
// provider, which converts it back at rate (sell per 1 buy, fresh) into C′ =
// RoundDown(M_r × rate) for the buyer's bank; the payment's FX result bearer
// (the operator's fx_result account, or the merchant's bank) makes up the
// difference to the locked share C_r either way — fx_result when it pays a
// shortfall, fx_result_gain when it keeps an excess — and the fee and spread
// shares F_r and S_r come back by their own legs. The buyer's bank thus gets
// exactly C_r + F_r + S_r.
func (p Payment) fxRefundLegs(amount int64, rate decimal.Decimal) ([]Posting, error) {
	if rate.Sign() <= 0 {
		return nil, Errorf(Refused, "fx_rate_required", "rate", "refunding cross-currency payment %s needs a fresh %s/%s rate", p.ID, p.Currency, p.SellCurrency)
	}
	sell := fx.MustCurrency(p.SellCurrency)
	back, err := fx.ConvertAt(fx.MustCurrency(p.Currency).FromMinor(amount), sell, rate, true)
	if err != nil {
		return nil, Errorf(Invalid, "invalid_rate", "rate", "%v", err)
	}
	c0, f0, s0 := p.RefundedSell()
	after := p
	after.RefundedMinor += amount
	c1, f1, s1 := after.RefundedSell()
	cr, fr, sr := c1-c0, f1-f0, s1-s0
	buyer, provider, bearer := p.BuyerBankID, p.FXProviderID, p.FXResultBearer()
	legs := []Posting{
		{PaymentID: p.ID, Kind: PostFXGiveBack, Currency: p.Currency, Debit: EscrowAccount, Credit: provider, AmountMinor: amount},
		{PaymentID: p.ID, Kind: PostFXConvertBack, Currency: sell.Code, Debit: provider, Credit: buyer, AmountMinor: back.Minor},
	}
	if d := cr - back.Minor; d >= 0 {
		legs = append(legs, Posting{PaymentID: p.ID, Kind: PostFXResult, Currency: sell.Code, Debit: bearer, Credit: buyer, AmountMinor: d})
	} else {
		legs = append(legs, Posting{PaymentID: p.ID, Kind: PostFXResultGain, Currency: sell.Code, Debit: buyer, Credit: bearer, AmountMinor: -d})
	}
	legs = append(legs,
		Posting{PaymentID: p.ID, Kind: PostFeeBack, Currency: sell.Code, Debit: FeesAccount, Credit: buyer, AmountMinor: fr},
		Posting{PaymentID: p.ID, Kind: PostFXSpreadBack, Currency: sell.Code, Debit: provider, Credit: buyer, AmountMinor: sr},
	)
	return nonZero(legs), nil
}

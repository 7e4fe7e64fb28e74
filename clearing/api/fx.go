package api

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
)

// Rates and quotes: docs/fx.md. FX providers (or the operator for them)
// post bid/ask rates; the operator uploads the ECB's reference rates; banks
// ask for quotes and hold payments at them.

// MaxRatesPerPost bounds one POST /v1/rates.
const MaxRatesPerPost = 1000

type postRatesRequest struct {
	Source string   `json:"source"` // the FX provider whose rates these are; a provider's own key may omit it
	Rates  []rateIn `json:"rates"`
}

type rateIn struct {
	Pair       string `json:"pair"` // "EUR/USD": 1 EUR = bid USD when the provider buys EUR
	Bid        string `json:"bid"`
	Ask        string `json:"ask"`
	ValidUntil string `json:"valid_until"`
}

// plainRate is how a rate is written: digits with an optional fraction, no
// sign, no exponent (decimal.NewFromString would accept "1e3").
var plainRate = regexp.MustCompile(`^[0-9]{1,13}(\.[0-9]{1,40})?$`)

func (h *handlers) postRates(c *fiber.Ctx) error {
	var req postRatesRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	a := actor(c)
	if a.Role == clearing.RoleFXProvider {
		if req.Source == "" {
			req.Source = a.Subject
		}
		if req.Source != a.Subject {
			return clearing.Errorf(clearing.Forbidden, "forbidden", "source", "FX provider %s posts only its own rates", a.Subject)
		}
	}
	if req.Source == "" {
		return required("source")
	}
	p, err := h.st.Participant(c.UserContext(), req.Source)
	if err != nil {
		if ce, ok := clearing.AsError(err); ok && ce.Kind == clearing.NotFound {
			return clearing.Errorf(clearing.Invalid, "unknown_participant", "source", "no FX provider %q", req.Source)
		}
		return err
	}
	if p.Kind != clearing.FXProvider {
		return clearing.Errorf(clearing.Invalid, "not_an_fx_provider", "source", "%s is %s, not an FX provider", p.ID, clearing.WithArticle(string(p.Kind)))
	}
	if len(req.Rates) == 0 {
		return required("rates")
	}
	if len(req.Rates) > MaxRatesPerPost {
		return clearing.Errorf(clearing.Invalid, "too_many_rates", "rates", "at most %d per request, got %d", MaxRatesPerPost, len(req.Rates))
	}
	now := h.st.Now()
	rates := make([]fx.Rate, len(req.Rates))
	for i, in := range req.Rates {
		r, err := toRate(in, fmt.Sprintf("rates[%d].", i), req.Source, now)
		if err != nil {
			return err
		}
		rates[i] = r
	}
	if err := h.st.PostRates(c.UserContext(), rates, a); err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(toRates(rates))
}

// toRate checks one posted rate, naming the field at fault (prefix is
// "rates[i].").
func toRate(in rateIn, prefix, source string, now time.Time) (fx.Rate, error) {
	pair, err := fx.ParsePair(in.Pair)
	if err != nil {
		return fx.Rate{}, clearing.Errorf(clearing.Invalid, "invalid_pair", prefix+"pair", "%v", err)
	}
	side := func(name, v string) (decimal.Decimal, error) {
		if v == "" {
			return decimal.Decimal{}, required(prefix + name)
		}
		if !plainRate.MatchString(v) {
			return decimal.Decimal{}, clearing.Errorf(clearing.Invalid, "invalid_rate", prefix+name, "must be a positive decimal string like 1.0835, got %q", v)
		}
		d := decimal.RequireFromString(v)
		if d.Sign() <= 0 {
			return decimal.Decimal{}, clearing.Errorf(clearing.Invalid, "invalid_rate", prefix+name, "must be positive, got %q", v)
		}
		if !d.Truncate(fx.MaxRatePlaces).Equal(d) {
			return decimal.Decimal{}, clearing.Errorf(clearing.Invalid, "invalid_rate", prefix+name, "at most %d decimal places, got %q", fx.MaxRatePlaces, v)
		}
		return d, nil
	}
	bid, err := side("bid", in.Bid)
	if err != nil {
		return fx.Rate{}, err
	}
	ask, err := side("ask", in.Ask)
	if err != nil {
		return fx.Rate{}, err
	}
	if bid.GreaterThan(ask) {
		return fx.Rate{}, clearing.Errorf(clearing.Invalid, "invalid_rate", prefix+"ask", "ask %s is below bid %s", ask, bid)
	}
	if in.ValidUntil == "" {
		return fx.Rate{}, required(prefix + "valid_until")
	}
	until, err := time.Parse(time.RFC3339, in.ValidUntil)
	if err != nil {
		return fx.Rate{}, clearing.Errorf(clearing.Invalid, "invalid_time", prefix+"valid_until", "must be an RFC 3339 time like 2026-11-20T16:00:00Z, got %q", in.ValidUntil)
	}
	if !until.After(now) {
		return fx.Rate{}, clearing.Errorf(clearing.Invalid, "invalid_time", prefix+"valid_until", "%s is not in the future", in.ValidUntil)
	}
	r := fx.Rate{Pair: pair, Bid: bid, Ask: ask, Source: source, AsOf: now, ValidUntil: until.UTC()}
	if err := r.Validate(); err != nil {
		return fx.Rate{}, clearing.Errorf(clearing.Invalid, "invalid_rate", prefix+"bid", "%v", err)
	}
	return r, nil
}

// postECB loads the ECB's euro reference rates from an eurofxref-daily.xml
// body (or a history file): each is a EUR-based rate with bid = ask, valid
// for the store's ECB validity after its publication.
func (h *handlers) postECB(c *fiber.Ctx) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return clearing.Errorf(clearing.Invalid, "required", "body", "send the ECB's eurofxref-daily.xml as the request body")
	}
	rates, err := fx.ParseECB(bytes.NewReader(body), h.st.FX().ECBValidity)
	if err != nil {
		return clearing.Errorf(clearing.Invalid, "invalid_ecb", "body", "%v", err)
	}
	now := h.st.Now()
	var fresh []fx.Rate
	for _, r := range rates {
		if r.ValidUntil.After(now) {
			fresh = append(fresh, r)
		}
	}
	if len(fresh) == 0 {
		return clearing.Errorf(clearing.Refused, "stale_rates", "body", "the newest rates in the file are of %s and expired at %s",
			rates[len(rates)-1].AsOf.Format(time.DateOnly), rates[len(rates)-1].ValidUntil.UTC().Format(time.RFC3339))
	}
	if err := h.st.PostRates(c.UserContext(), fresh, actor(c)); err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(toRates(fresh))
}

// listRates shows the rates in the book, stale ones included (each with
// its valid_until): what quotes are priced from.
func (h *handlers) listRates(c *fiber.Ctx) error {
	var rates []fx.Rate
	if b := h.st.FX().Book; b != nil {
		rates = b.Rates()
	}
	return c.JSON(toRates(rates))
}

type createQuoteRequest struct {
	BankID       string `json:"bank_id"`
	SellAmount   string `json:"sell_amount"`
	SellCurrency string `json:"sell_currency"`
	BuyCurrency  string `json:"buy_currency"`
}

func (h *handlers) createQuote(c *fiber.Ctx) error {
	var req createQuoteRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	a := actor(c)
	if a.Role == clearing.RoleBank {
		if req.BankID == "" {
			req.BankID = a.Subject
		}
		if req.BankID != a.Subject {
			return clearing.Errorf(clearing.Forbidden, "forbidden", "bank_id", "bank %s may ask for quotes only for itself", a.Subject)
		}
	}
	if req.BankID == "" {
		return required("bank_id")
	}
	sell, err := fx.ParsePositiveAmount(req.SellAmount, req.SellCurrency)
	if err != nil {
		return amountError(err, "sell_amount", "sell_currency")
	}
	if req.BuyCurrency == "" {
		return required("buy_currency")
	}
	q, err := h.st.CreateQuote(c.UserContext(), store.QuoteRequest{BankID: req.BankID, Sell: sell, Buy: req.BuyCurrency})
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(toQuote(q))
}

// getQuote shows a quote to the operator, the bank it was issued to and
// the provider that gave it; anyone else is told it does not exist.
func (h *handlers) getQuote(c *fiber.Ctx) error {
	id := c.Params("id")
	q, err := h.st.Quote(c.UserContext(), id)
	if err != nil {
		return err
	}
	a := actor(c)
	visible := a.Role == clearing.RoleOperator ||
		(a.Role == clearing.RoleBank && a.Subject == q.Bank) ||
		(a.Role == clearing.RoleFXProvider && a.Subject == q.Provider)
	if !visible {
		return clearing.Errorf(clearing.NotFound, "quote_not_found", "id", "no quote %s", id)
	}
	return c.JSON(toQuote(q))
}

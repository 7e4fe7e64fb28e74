package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/fx"
)

// FXOptions price cross-currency payments (docs/fx.md). Quotes come from
// Book: the rates Provider posted itself (source = its participant id)
// first, else the ECB's reference rates. Without a Book, or without a
// Provider, cross-currency holds are refused.
type FXOptions struct {
	Book        *fx.Book
	Provider    string        // participant id (BIC) of the FX provider that converts
	FeeBps      int           // the scheme fee, charged in the sell currency
	SpreadBps   int           // the provider's spread, charged in the sell currency
	MaxRateAge  time.Duration // rates older than this are stale; 0: only their valid_until counts
	QuoteTTL    time.Duration // how long a quote may be used; default DefaultQuoteTTL
	ECBValidity time.Duration // how long ECB reference rates are used; default DefaultECBValidity
	// ResultChargedTo says who bears the FX result of cross-currency
	// refunds: clearing.ChargeOperator (default) or clearing.ChargeMerchant.
	ResultChargedTo clearing.FXResultCharge
	// ReportingCurrency is what exposure is converted into, and the
	// currency of new multi-currency net debit caps; default
	// DefaultReportingCurrency.
	ReportingCurrency string
}

// Defaults of FXOptions.
const (
	DefaultQuoteTTL          = 2 * time.Minute
	DefaultECBValidity       = 96 * time.Hour // a Friday's rates still price Monday morning
	DefaultReportingCurrency = "USD"
)

func (o FXOptions) withDefaults() FXOptions {
	if o.QuoteTTL <= 0 {
		o.QuoteTTL = DefaultQuoteTTL
	}
	if o.ECBValidity <= 0 {
		o.ECBValidity = DefaultECBValidity
	}
	if o.ResultChargedTo == "" {
		o.ResultChargedTo = clearing.ChargeOperator
	}
	if o.ReportingCurrency == "" {
		o.ReportingCurrency = DefaultReportingCurrency
	}
	return o
}

func (o FXOptions) validate() error {
	if o.FeeBps < 0 || o.SpreadBps < 0 || o.FeeBps+o.SpreadBps >= clearing.MaxBps {
		return fmt.Errorf("fx: fee %d bps and spread %d bps must be non-negative and add up to less than %d", o.FeeBps, o.SpreadBps, clearing.MaxBps)
	}
	if o.MaxRateAge < 0 {
		return fmt.Errorf("fx: max rate age %s is negative", o.MaxRateAge)
	}
	if !o.ResultChargedTo.Valid() {
		return fmt.Errorf("fx: the FX result is charged to %q: want %q or %q", o.ResultChargedTo, clearing.ChargeOperator, clearing.ChargeMerchant)
	}
	if _, err := fx.LookupCurrency(o.ReportingCurrency); err != nil {
		return fmt.Errorf("fx: reporting currency: %w", err)
	}
	return nil
}

// FX returns the FX options the store prices with.
func (s *Store) FX() FXOptions { return s.fx }

// errNoFX refuses a cross-currency operation when FX is not configured.
func (s *Store) errNoFX(code, field string) error {
	what := "no FX rate book is configured"
	if s.fx.Book != nil {
		what = "no FX provider is configured"
	}
	return clearing.Errorf(clearing.Refused, code, field, "cross-currency payments are not available: %s", what)
}

func (s *Store) fxReady() bool { return s.fx.Book != nil && s.fx.Provider != "" }

// conversion finds a fresh rate for pair: provider's own first, else the
// ECB's. Errors name field and say why each source failed.
func (s *Store) conversion(pair fx.Pair, provider string, now time.Time, field string) (fx.Conversion, error) {
	if s.fx.Book == nil {
		return fx.Conversion{}, s.errNoFX("fx_not_configured", field)
	}
	c, err := s.fx.Book.Lookup(pair, provider, now, s.fx.MaxRateAge)
	if err == nil {
		return c, nil
	}
	c, errECB := s.fx.Book.Lookup(pair, fx.SourceECB, now, s.fx.MaxRateAge)
	if errECB == nil {
		return c, nil
	}
	code := "no_rate"
	if errors.Is(err, fx.ErrStaleRate) || errors.Is(errECB, fx.ErrStaleRate) {
		code = "stale_rate"
	}
	return fx.Conversion{}, clearing.Errorf(clearing.Refused, code, field, "no usable %s rate: %v; %v", pair, err, errECB)
}

// PostRates stores rates (all or none) and puts them into the book, where
// quotes find them at once. Each is validated first (fx.Rate.Validate).
func (s *Store) PostRates(ctx context.Context, rates []fx.Rate, by clearing.Actor) error {
	if s.fx.Book == nil {
		return s.errNoFX("fx_not_configured", "")
	}
	if len(rates) == 0 {
		return clearing.Errorf(clearing.Invalid, "required", "rates", "is required")
	}
	for i, r := range rates {
		if err := r.Validate(); err != nil {
			return clearing.Errorf(clearing.Invalid, "invalid_rate", fmt.Sprintf("rates[%d]", i), "%v", err)
		}
	}
	err := s.inTx(ctx, func(tx bun.Tx) error {
		now := s.now()
		rows := make([]rateRow, len(rates))
		for i, r := range rates {
			rows[i] = rateRow{Source: r.Source, BaseCurrency: r.Base, QuoteCurrency: r.Quote, Bid: r.Bid.String(), Ask: r.Ask.String(),
				AsOf: r.AsOf.UTC(), ValidUntil: r.ValidUntil.UTC(), PostedBy: by.String(), PostedAt: now}
		}
		if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
			return fmt.Errorf("insert rates: %w", err)
		}
		return s.audit(ctx, tx, by, "rates.post", rates[0].Source, fmt.Sprintf("%d rates", len(rates)))
	})
	if err != nil {
		return err
	}
	return s.fx.Book.Put(rates...)
}

// LoadRates puts the stored rates that are still valid into the book, in
// the order they were posted, so that a restarted process quotes as the
// last one did. It returns how many it loaded.
func (s *Store) LoadRates(ctx context.Context) (int, error) { return s.loadRates(ctx, false) }

// RateReloadOverlap is how far before the previous load ReloadRates looks
// again: a rate posted by another process whose transaction committed
// after that load, or whose clock runs up to this much behind ours, is
// still picked up. Loading a rate twice changes nothing (fx.Book.Put).
const RateReloadOverlap = 5 * time.Minute

// ReloadRates puts into the book the valid rates posted (by any process
// sharing the database) since the previous load, less RateReloadOverlap;
// the first call loads them all, like LoadRates. serve calls it on a timer
// (fx_rates_reload_interval), so that every process quotes from the rates
// posted to any of them. It returns how many rates it read.
func (s *Store) ReloadRates(ctx context.Context) (int, error) { return s.loadRates(ctx, true) }

func (s *Store) loadRates(ctx context.Context, incremental bool) (int, error) {
	if s.fx.Book == nil {
		return 0, nil
	}
	s.ratesMu.Lock()
	defer s.ratesMu.Unlock()
	now := s.now()
	var rows []rateRow
	q := s.conn(ctx).NewSelect().Model(&rows).Where("valid_until > ?", now).OrderExpr("id")
	if incremental && !s.ratesLoaded.IsZero() {
		q.Where("posted_at > ?", s.ratesLoaded.Add(-RateReloadOverlap))
	}
	if err := q.Scan(ctx); err != nil {
		return 0, fmt.Errorf("load rates: %w", err)
	}
	s.ratesLoaded = now
	rates := make([]fx.Rate, 0, len(rows))
	for _, r := range rows {
		bid, err1 := decimal.NewFromString(r.Bid)
		ask, err2 := decimal.NewFromString(r.Ask)
		if err := errors.Join(err1, err2); err != nil {
			return 0, fmt.Errorf("rate %d: %w", r.ID, err)
		}
		rates = append(rates, fx.Rate{Pair: fx.Pair{Base: r.BaseCurrency, Quote: r.QuoteCurrency}, Bid: bid, Ask: ask, Source: r.Source,
			AsOf: r.AsOf.UTC(), ValidUntil: r.ValidUntil.UTC()})
	}
	if len(rates) == 0 {
		return 0, nil
	}
	return len(rates), s.fx.Book.Put(rates...)
}

// RefreshECB loads the ECB's euro reference rates from source (an http(s)
// URL or a file in the eurofxref-daily.xml format) and posts those newer
// than the book's ECB rates, so that every process sharing the database
// quotes from them after its next reload. It returns how many it posted: 0
// when the book already has that day's rates. A source whose rates have all
// expired is an error, so that a stuck feed is noticed.
func (s *Store) RefreshECB(ctx context.Context, source string, client *http.Client) (int, error) {
	if s.fx.Book == nil {
		return 0, s.errNoFX("fx_not_configured", "")
	}
	rates, err := fx.LoadECB(ctx, source, client, s.fx.ECBValidity)
	if err != nil {
		return 0, err
	}
	now := s.now()
	have := map[fx.Pair]time.Time{}
	for _, r := range s.fx.Book.Rates() {
		if r.Source == fx.SourceECB {
			have[r.Pair] = r.AsOf
		}
	}
	newest := map[fx.Pair]fx.Rate{}
	var latest time.Time
	for _, r := range rates {
		if r.ValidUntil.After(latest) {
			latest = r.ValidUntil
		}
		if !r.ValidUntil.After(now) {
			continue
		}
		if n, ok := newest[r.Pair]; ok && !r.AsOf.After(n.AsOf) {
			continue
		}
		newest[r.Pair] = r
	}
	if len(newest) == 0 {
		return 0, fmt.Errorf("ECB rates from %s: all %d have expired (the newest were valid until %s)", source, len(rates), latest.UTC().Format(time.RFC3339))
	}
	var fresh []fx.Rate
	for _, r := range newest {
		if t, ok := have[r.Pair]; ok && !r.AsOf.After(t) {
			continue
		}
		fresh = append(fresh, r)
	}
	if len(fresh) == 0 {
		return 0, nil
	}
	slices.SortFunc(fresh, func(a, b fx.Rate) int { return strings.Compare(a.Pair.String(), b.Pair.String()) })
	return len(fresh), s.PostRates(ctx, fresh, clearing.ECBRefresh)
}

// midRates looks up mid rates for exposure at now, from the configured
// provider's rates first, else the ECB's, like quotes; each pair is looked
// up once per call of the returned function's owner (a batch, a report).
func (s *Store) midRates(now time.Time) clearing.MidRates {
	type found struct {
		m   clearing.MidRate
		err error
	}
	cache := map[fx.Pair]found{}
	return func(from, to string) (clearing.MidRate, error) {
		pair := fx.Pair{Base: from, Quote: to}
		if f, ok := cache[pair]; ok {
			return f.m, f.err
		}
		m, err := s.midRate(pair, now)
		cache[pair] = found{m, err}
		return m, err
	}
}

func (s *Store) midRate(pair fx.Pair, now time.Time) (clearing.MidRate, error) {
	if s.fx.Book == nil {
		return clearing.MidRate{}, fmt.Errorf("no %s rate: no FX rate book is configured", pair)
	}
	var whys []string
	for _, source := range []string{s.fx.Provider, fx.SourceECB} {
		if source == "" {
			continue
		}
		c, err := s.fx.Book.Lookup(pair, source, now, s.fx.MaxRateAge)
		if err == nil {
			return clearing.MidRate{Mid: c.Mid(), Path: c.Path}, nil
		}
		whys = append(whys, err.Error())
	}
	return clearing.MidRate{}, fmt.Errorf("no usable %s rate: %s", pair, strings.Join(whys, "; "))
}

// QuoteRequest asks for a quote: Bank pays Sell, the merchant side gets Buy.
type QuoteRequest struct {
	BankID string
	Sell   fx.Amount
	Buy    string
}

// CreateQuote prices a cross-currency payment for a bank at the configured
// provider's fresh rate, fee and spread, and stores the quote for one hold
// before it expires.
func (s *Store) CreateQuote(ctx context.Context, req QuoteRequest) (clearing.FXQuote, error) {
	if !s.fxReady() {
		return clearing.FXQuote{}, s.errNoFX("fx_not_configured", "")
	}
	if _, err := fx.LookupCurrency(req.Buy); err != nil {
		return clearing.FXQuote{}, clearing.Errorf(clearing.Invalid, "unknown_currency", "buy_currency", "%v", err)
	}
	if req.Buy == req.Sell.Currency.Code {
		return clearing.FXQuote{}, clearing.Errorf(clearing.Invalid, "same_currency", "buy_currency", "selling and buying %s is no conversion", req.Buy)
	}
	if req.Sell.Minor <= 0 {
		return clearing.FXQuote{}, clearing.Errorf(clearing.Invalid, "amount_not_positive", "sell_amount", "must be greater than zero")
	}
	var q clearing.FXQuote
	err := s.inTx(ctx, func(tx bun.Tx) error {
		now := s.now()
		ps, err := loadParticipants(ctx, tx, []string{req.BankID, s.fx.Provider}, noLock)
		if err != nil {
			return err
		}
		bank, ok := ps[req.BankID]
		switch {
		case !ok:
			return clearing.Errorf(clearing.Invalid, "unknown_participant", "bank_id", "no bank %q", req.BankID)
		case bank.Kind != clearing.Bank:
			return clearing.Errorf(clearing.Invalid, "not_a_bank", "bank_id", "%s is %s, not a bank", bank.ID, clearing.WithArticle(string(bank.Kind)))
		case bank.Status != clearing.Active:
			return clearing.Errorf(clearing.Refused, "participant_suspended", "bank_id", "bank %s is suspended", bank.ID)
		}
		if _, ok := bank.Settles(req.Sell.Currency.Code); !ok {
			return clearing.Errorf(clearing.Invalid, "currency_not_settled", "sell_currency", "bank %s does not settle %s", bank.ID, req.Sell.Currency.Code)
		}
		if err := s.checkProvider(ps, req.Sell.Currency.Code, req.Buy, "buy_currency"); err != nil {
			return err
		}
		if q, err = s.newQuote(req.Sell, req.Buy, bank.ID, now, "buy_currency", "sell_amount"); err != nil {
			return err
		}
		row, err := toQuoteRow(q)
		if err != nil {
			return err
		}
		_, err = tx.NewInsert().Model(&row).Exec(ctx)
		return err
	})
	return q, err
}

// checkProvider refuses when the configured provider cannot convert
// between sell and buy: it must be an active FX provider settling both.
func (s *Store) checkProvider(ps map[string]clearing.Participant, sell, buy, field string) error {
	p, ok := ps[s.fx.Provider]
	if !ok || p.Kind != clearing.FXProvider {
		return clearing.Errorf(clearing.Refused, "fx_provider_unavailable", field, "the configured FX provider %q is not an FX provider participant", s.fx.Provider)
	}
	if p.Status != clearing.Active {
		return clearing.Errorf(clearing.Refused, "fx_provider_unavailable", field, "FX provider %s is suspended", p.ID)
	}
	for _, ccy := range []string{sell, buy} {
		if _, ok := p.Settles(ccy); !ok {
			return clearing.Errorf(clearing.Refused, "fx_provider_unavailable", field, "FX provider %s does not settle %s", p.ID, ccy)
		}
	}
	return nil
}

// newQuote prices sell into buy for bank now, at the configured provider's
// rate, fee and spread.
func (s *Store) newQuote(sell fx.Amount, buy, bank string, now time.Time, rateField, amountField string) (clearing.FXQuote, error) {
	conv, err := s.conversion(fx.Pair{Base: sell.Currency.Code, Quote: buy}, s.fx.Provider, now, rateField)
	if err != nil {
		return clearing.FXQuote{}, err
	}
	q, err := clearing.NewFXQuote(conv, sell, s.fx.FeeBps, s.fx.SpreadBps, s.fx.Provider, bank, now, s.fx.QuoteTTL)
	if errors.Is(err, fx.ErrNotPositive) {
		return clearing.FXQuote{}, clearing.Errorf(clearing.Invalid, "amount_too_small", amountField, "%v", err)
	}
	if err != nil {
		return clearing.FXQuote{}, fmt.Errorf("quote %s into %s: %w", sell, buy, err)
	}
	return q, nil
}

// Quote loads a quote.
func (s *Store) Quote(ctx context.Context, id string) (clearing.FXQuote, error) {
	qs, err := loadQuotes(ctx, s.conn(ctx), []string{id})
	if err != nil {
		return clearing.FXQuote{}, err
	}
	q, ok := qs[id]
	if !ok {
		return clearing.FXQuote{}, notFound("quote", "id", id)
	}
	return q, nil
}

func loadQuotes(ctx context.Context, db bun.IDB, ids []string) (map[string]clearing.FXQuote, error) {
	out := map[string]clearing.FXQuote{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []quoteRow
	if err := db.NewSelect().Model(&rows).Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load quotes: %w", err)
	}
	for _, r := range rows {
		q, err := r.domain()
		if err != nil {
			return nil, err
		}
		out[q.ID] = q
	}
	return out, nil
}

func toQuoteRow(q clearing.FXQuote) (quoteRow, error) {
	path, err := json.Marshal(q.Path)
	if err != nil {
		return quoteRow{}, fmt.Errorf("encode quote path: %w", err)
	}
	row := quoteRow{ID: q.ID, ProviderID: q.Provider, BankID: q.Bank, SellCurrency: q.Sell, BuyCurrency: q.Buy,
		TotalMinor: q.TotalMinor, FeeMinor: q.FeeMinor, SpreadMinor: q.SpreadMinor, ConvertedMinor: q.ConvertedMinor, BuyMinor: q.BuyMinor,
		Rate: q.Rate.String(), Mid: q.Mid.String(), FeeBps: q.FeeBps, SpreadBps: q.SpreadBps, Path: string(path),
		IssuedAt: q.IssuedAt.UTC(), ExpiresAt: q.ExpiresAt.UTC()}
	if q.PaymentID != "" {
		row.PaymentID = sql.NullString{String: q.PaymentID, Valid: true}
	}
	return row, nil
}

func (r quoteRow) domain() (clearing.FXQuote, error) {
	rate, err1 := decimal.NewFromString(r.Rate)
	mid, err2 := decimal.NewFromString(r.Mid)
	var path []string
	err3 := json.Unmarshal([]byte(r.Path), &path)
	if err := errors.Join(err1, err2, err3); err != nil {
		return clearing.FXQuote{}, fmt.Errorf("quote %s: %w", r.ID, err)
	}
	return clearing.FXQuote{ID: r.ID, Provider: r.ProviderID, Bank: r.BankID, Sell: r.SellCurrency, Buy: r.BuyCurrency,
		TotalMinor: r.TotalMinor, FeeMinor: r.FeeMinor, SpreadMinor: r.SpreadMinor, ConvertedMinor: r.ConvertedMinor, BuyMinor: r.BuyMinor,
		Rate: rate, Mid: mid, FeeBps: r.FeeBps, SpreadBps: r.SpreadBps, Path: path,
		IssuedAt: r.IssuedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), PaymentID: r.PaymentID.String}, nil
}

// claimQuote marks a quote used by payment in the hold's transaction. The
// condition makes the claim single: of two holds racing for one quote, the
// second finds payment_id set (PostgreSQL re-checks it once the first
// commits; SQLite runs one writer at a time) and is refused.
func claimQuote(ctx context.Context, tx bun.Tx, quoteID, paymentID string) error {
	res, err := tx.ExecContext(ctx, "UPDATE quotes SET payment_id = ? WHERE id = ? AND payment_id IS NULL", paymentID, quoteID)
	if err != nil {
		return fmt.Errorf("claim quote %s: %w", quoteID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return quoteUsed(quoteID)
	}
	return nil
}

func quoteUsed(id string) error {
	return clearing.QuoteError(fmt.Errorf("%w: quote %s was used by another payment", fx.ErrQuoteUsed, id), id)
}

// Leg is one posting of a payment as booked: its transition (Seq), its
// place in it (Leg) and the cycle it belongs to.
type Leg struct {
	clearing.Posting
	Seq, Leg int
	CycleID  int64
	At       time.Time
}

// PaymentLegs lists every posting of a payment in booking order.
func (s *Store) PaymentLegs(ctx context.Context, id string) ([]Leg, error) {
	var rows []postingRow
	if err := s.conn(ctx).NewSelect().Model(&rows).Where("payment_id = ?", id).OrderExpr("seq, leg").Scan(ctx); err != nil {
		return nil, fmt.Errorf("load postings of %s: %w", id, err)
	}
	out := make([]Leg, len(rows))
	for i, r := range rows {
		out[i] = Leg{Posting: clearing.Posting{PaymentID: r.PaymentID, Kind: clearing.PostingKind(r.Kind), Currency: r.Currency, Debit: r.Debit,
			Credit: r.Credit, AmountMinor: r.AmountMinor}, Seq: r.Seq, Leg: r.Leg, CycleID: r.CycleID, At: r.At.UTC()}
	}
	return out, nil
}

package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/access"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
)

// The wire types. Money is always a decimal string with exactly the
// currency's minor units next to a currency code, never a JSON number:
// most JSON clients parse numbers as binary floats. Times are RFC 3339 in
// UTC; optional times are omitted while they have not happened.

// money formats minor units of ccy. Every stored currency code came through
// fx, so a failed lookup is a broken invariant, shown as the raw minor
// count rather than a panic in the middle of a response.
func money(minor int64, ccy string) string {
	c, err := fx.LookupCurrency(ccy)
	if err != nil {
		return fx.Currency{Code: ccy}.FromMinor(minor).Value()
	}
	return c.FromMinor(minor).Value()
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// optTS is nil for the zero time so that omitempty drops it.
func optTS(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ts(t)
	return &s
}

type participantJSON struct {
	ID           string         `json:"id"`
	Kind         string         `json:"kind"`
	BIC          string         `json:"bic"`
	Name         string         `json:"name"`
	Country      string         `json:"country"`
	Jurisdiction string         `json:"jurisdiction"`
	Currencies   []currencyJSON `json:"currencies"`
	Status       string         `json:"status"`
	CreatedAt    string         `json:"created_at"`
	// The multi-currency net debit cap, when the participant has one.
	NetDebitCapTotal         *string `json:"net_debit_cap_total,omitempty"`
	NetDebitCapTotalCurrency *string `json:"net_debit_cap_total_currency,omitempty"`
	// RequireSignedFiles refuses the bank's unsigned uploads.
	RequireSignedFiles bool `json:"require_signed_files"`
	// AlarmThresholdPct raises the cap alarm at that percentage of a cap; 0 is off.
	AlarmThresholdPct int `json:"alarm_threshold_pct"`
	// One participant's view (GET /v1/participants/{id}, the limits
	// answer): the open cycle, each position against its cap, the alarms
	// raised and what the operator must know (caps below positions).
	CycleID  *int64       `json:"cycle_id,omitempty"`
	Limits   *[]limitJSON `json:"limits,omitempty"`
	Alarms   *[]alarmJSON `json:"alarms,omitempty"`
	Warnings *[]string    `json:"warnings,omitempty"`
}

type currencyJSON struct {
	Currency    string `json:"currency"`
	NetDebitCap string `json:"net_debit_cap"`
}

func toParticipant(p clearing.Participant) participantJSON {
	out := participantJSON{ID: p.ID, Kind: string(p.Kind), BIC: p.BIC, Name: p.Name, Country: p.Country,
		Jurisdiction: p.Jurisdiction, Status: string(p.Status), CreatedAt: ts(p.CreatedAt), Currencies: []currencyJSON{},
		RequireSignedFiles: p.RequireSignedFiles, AlarmThresholdPct: p.AlarmThresholdPct}
	for _, c := range p.Currencies {
		out.Currencies = append(out.Currencies, currencyJSON{Currency: c.Currency, NetDebitCap: money(c.NetDebitCapMinor, c.Currency)})
	}
	if t := p.NetDebitCapTotal; t.Set() {
		amount, ccy := money(t.Minor, t.Currency), t.Currency
		out.NetDebitCapTotal, out.NetDebitCapTotalCurrency = &amount, &ccy
	}
	return out
}

type merchantJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Country   string `json:"country"`
	Currency  string `json:"currency"`
	Account   string `json:"account"`
	BankID    string `json:"bank_id"`
	Status    string `json:"status"`
	CreatedAt string `json:"created_at"`
}

func toMerchant(m clearing.Merchant) merchantJSON {
	return merchantJSON{ID: m.ID, Name: m.Name, Country: m.Country, Currency: m.Currency, Account: m.Account,
		BankID: m.BankID, Status: string(m.Status), CreatedAt: ts(m.CreatedAt)}
}

type paymentJSON struct {
	ID             string      `json:"id"`
	UETR           string      `json:"uetr"`
	EndToEndID     string      `json:"end_to_end_id"`
	Reference      string      `json:"reference"`
	BuyerBankID    string      `json:"buyer_bank_id"`
	MerchantID     string      `json:"merchant_id"`
	MerchantBankID string      `json:"merchant_bank_id"`
	Currency       string      `json:"currency"`
	Amount         string      `json:"amount"`
	Released       string      `json:"released"`
	Refunded       string      `json:"refunded"`
	Held           string      `json:"held"`
	State          string      `json:"state"`
	ReleaseAt      *string     `json:"release_at,omitempty"`
	HoldCycleID    int64       `json:"hold_cycle_id"`
	Version        int64       `json:"version"`
	CreatedAt      string      `json:"created_at"`
	UpdatedAt      string      `json:"updated_at"`
	FX             *fxJSON     `json:"fx,omitempty"`     // cross-currency payments only
	Events         []eventJSON `json:"events,omitempty"` // GET /v1/payments/{id} only
	Legs           []legJSON   `json:"legs,omitempty"`   // GET /v1/payments/{id} only
}

// fxJSON is how a cross-currency payment was converted: the buyer's bank
// paid sell_amount = fee + spread + converted in sell_currency, and the
// provider delivered amount (in currency) into escrow at rate.
type fxJSON struct {
	SellCurrency string `json:"sell_currency"`
	SellAmount   string `json:"sell_amount"`
	Fee          string `json:"fee"`
	Spread       string `json:"spread"`
	Converted    string `json:"converted"`
	Rate         string `json:"rate"`
	Provider     string `json:"provider"`
	QuoteID      string `json:"quote_id"`
	Refunded     string `json:"refunded"`          // given back to the buyer's bank, in sell_currency
	ResultOwner  string `json:"fx_result_account"` // who bears the FX result of refunds: fx_result or the merchant's bank
}

// legJSON is one posting of a payment.
type legJSON struct {
	Seq      int    `json:"seq"`
	Leg      int    `json:"leg"`
	Kind     string `json:"kind"`
	Debit    string `json:"debit"`
	Credit   string `json:"credit"`
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
	CycleID  int64  `json:"cycle_id"`
	At       string `json:"at"`
}

func toLegs(ls []store.Leg) []legJSON {
	out := make([]legJSON, len(ls))
	for i, l := range ls {
		out[i] = legJSON{Seq: l.Seq, Leg: l.Leg, Kind: string(l.Kind), Debit: l.Debit, Credit: l.Credit, Currency: l.Currency,
			Amount: money(l.AmountMinor, l.Currency), CycleID: l.CycleID, At: ts(l.At)}
	}
	return out
}

func toPayment(p clearing.Payment) paymentJSON {
	return paymentJSON{
		ID: p.ID, UETR: p.ID, EndToEndID: p.EndToEndID, Reference: p.Reference,
		BuyerBankID: p.BuyerBankID, MerchantID: p.MerchantID, MerchantBankID: p.MerchantBankID,
		Currency: p.Currency, Amount: money(p.AmountMinor, p.Currency), Released: money(p.ReleasedMinor, p.Currency),
		Refunded: money(p.RefundedMinor, p.Currency), Held: money(p.HeldMinor(), p.Currency),
		State: string(p.State), ReleaseAt: optTS(p.ReleaseAt), HoldCycleID: p.HoldCycleID, Version: p.Version,
		CreatedAt: ts(p.CreatedAt), UpdatedAt: ts(p.UpdatedAt), FX: toFX(p),
	}
}

func toFX(p clearing.Payment) *fxJSON {
	if !p.IsFX() {
		return nil
	}
	c, f, s := p.RefundedSell()
	ccy := p.SellCurrency
	return &fxJSON{SellCurrency: ccy, SellAmount: money(p.SellMinor, ccy), Fee: money(p.FeeMinor, ccy), Spread: money(p.SpreadMinor, ccy),
		Converted: money(p.ConvertedMinor, ccy), Rate: p.Rate, Provider: p.FXProviderID, QuoteID: p.QuoteID, Refunded: money(c+f+s, ccy),
		ResultOwner: p.FXResultBearer()}
}

type eventJSON struct {
	Seq    int    `json:"seq"`
	Type   string `json:"type"`
	From   string `json:"from,omitempty"` // empty for the first event: nothing came before
	To     string `json:"to"`
	Amount string `json:"amount"`
	Actor  string `json:"actor"`
	Reason string `json:"reason"`
	At     string `json:"at"`
}

func toEvents(ccy string, es []clearing.Event) []eventJSON {
	out := make([]eventJSON, len(es))
	for i, e := range es {
		out[i] = eventJSON{Seq: e.Seq, Type: string(e.Type), From: string(e.From), To: string(e.To),
			Amount: money(e.AmountMinor, ccy), Actor: e.Actor, Reason: e.Reason, At: ts(e.At)}
	}
	return out
}

// batchItemJSON is one item of a batch answer: the held payment, the
// review it waits in, or why this item (and only this item) was refused.
type batchItemJSON struct {
	Index   int                `json:"index"`
	Status  int                `json:"status"`
	Payment *paymentJSON       `json:"payment,omitempty"`
	Review  *pendingReviewJSON `json:"review,omitempty"` // held for compliance review (202)
	Error   *errorDetail       `json:"error,omitempty"`
}

type payoutJSON struct {
	PaymentID  string `json:"payment_id"`
	MerchantID string `json:"merchant_id"`
	Currency   string `json:"currency"`
	Amount     string `json:"amount"`
	CycleID    int64  `json:"cycle_id"`
	At         string `json:"at"`
}

func toPayout(p store.Payout) payoutJSON {
	return payoutJSON{PaymentID: p.PaymentID, MerchantID: p.MerchantID, Currency: p.Currency,
		Amount: money(p.AmountMinor, p.Currency), CycleID: p.CycleID, At: ts(p.At)}
}

type cycleJSON struct {
	ID         int64             `json:"id"`
	State      string            `json:"state"`
	OpenedAt   string            `json:"opened_at"`
	ClosedAt   *string           `json:"closed_at,omitempty"`
	SettledAt  *string           `json:"settled_at,omitempty"`
	ClosedBy   string            `json:"closed_by,omitempty"`
	Currencies []totalsJSON      `json:"currencies,omitempty"` // scheme totals: operators and regulators only
	Positions  []netPositionJSON `json:"positions,omitempty"`  // net positions the caller may see
	FXResults  []fxResultJSON    `json:"fx_results,omitempty"` // FX results of refunds, by bearer, of the bearers the caller may see
}

// fxResultJSON is what one bearer made up (paid) or kept (received) on the
// cross-currency refunds of a cycle, in one sell currency.
type fxResultJSON struct {
	Bearer   string `json:"bearer"`
	Currency string `json:"currency"`
	Paid     string `json:"paid"`
	Received string `json:"received"`
	Net      string `json:"net"`
	Legs     int    `json:"legs"`
}

type totalsJSON struct {
	Currency          string `json:"currency"`
	Gross             string `json:"gross"`
	Settlement        string `json:"settlement"`
	Holds             int    `json:"holds"`
	Releases          int    `json:"releases"`
	Refunds           int    `json:"refunds"`
	FXLegs            int    `json:"fx_legs"`
	NettingEfficiency string `json:"netting_efficiency"`
}

type netPositionJSON struct {
	Participant string  `json:"participant"`
	Currency    string  `json:"currency"`
	Paid        string  `json:"paid"`
	Received    string  `json:"received"`
	Net         string  `json:"net"`
	SettledAt   *string `json:"settled_at,omitempty"`
	SettledBy   string  `json:"settled_by,omitempty"`
}

// toCycle renders c as v may see it: scheme totals only when v allows,
// net positions only of the accounts v may see.
func toCycle(c clearing.Cycle, v access.View) cycleJSON {
	out := cycleJSON{ID: c.ID, State: string(c.State), OpenedAt: ts(c.OpenedAt), ClosedAt: optTS(c.ClosedAt),
		SettledAt: optTS(c.SettledAt), ClosedBy: c.ClosedBy}
	if c.Result == nil {
		return out
	}
	if v.Totals {
		for _, t := range c.Result.Currencies {
			out.Currencies = append(out.Currencies, totalsJSON{Currency: t.Currency, Gross: money(t.GrossMinor, t.Currency),
				Settlement: money(t.SettlementMinor, t.Currency), Holds: t.Holds, Releases: t.Releases, Refunds: t.Refunds, FXLegs: t.FXLegs,
				NettingEfficiency: t.NettingEfficiency.StringFixed(6)})
		}
	}
	for _, p := range c.Result.Positions {
		if !v.Owner(p.Participant) {
			continue
		}
		out.Positions = append(out.Positions, netPositionJSON{Participant: p.Participant, Currency: p.Currency,
			Paid: money(p.PaidMinor, p.Currency), Received: money(p.ReceivedMinor, p.Currency), Net: money(p.NetMinor, p.Currency),
			SettledAt: optTS(p.SettledAt), SettledBy: p.SettledBy})
	}
	for _, r := range c.Result.FXResults {
		if !v.Owner(r.Bearer) {
			continue
		}
		out.FXResults = append(out.FXResults, fxResultJSON{Bearer: r.Bearer, Currency: r.Currency, Paid: money(r.PaidMinor, r.Currency),
			Received: money(r.ReceivedMinor, r.Currency), Net: money(r.NetMinor, r.Currency), Legs: r.Legs})
	}
	return out
}

// exposureReportJSON is GET /v1/exposure: the open cycle's positions of the
// participants the caller may see, converted into the reporting currency.
type exposureReportJSON struct {
	ReportingCurrency string         `json:"reporting_currency"`
	CycleID           int64          `json:"cycle_id"`
	At                string         `json:"at"`
	Participants      []exposureJSON `json:"participants"`
}

// exposureJSON is one participant's exposure. Totals are in the reporting
// currency and absent when a position they need could not be converted.
type exposureJSON struct {
	Participant              string             `json:"participant"`
	Positions                []exposureLineJSON `json:"positions"`
	TotalDebit               *string            `json:"total_debit,omitempty"`
	Net                      *string            `json:"net,omitempty"`
	Complete                 bool               `json:"complete"`
	NetDebitCapTotal         *string            `json:"net_debit_cap_total,omitempty"`
	NetDebitCapTotalCurrency *string            `json:"net_debit_cap_total_currency,omitempty"`
	Headroom                 *string            `json:"headroom,omitempty"`
}

// exposureLineJSON is one currency position converted: net × rate =
// converted (in the reporting currency), rounded once against the
// participant; or, without a usable rate, missing_rate says why.
type exposureLineJSON struct {
	Currency    string   `json:"currency"`
	Net         string   `json:"net"`
	Rate        *string  `json:"rate,omitempty"`
	Path        []string `json:"path,omitempty"`
	Converted   *string  `json:"converted,omitempty"`
	MissingRate string   `json:"missing_rate,omitempty"`
}

func toExposure(r store.ExposureReport) exposureReportJSON {
	out := exposureReportJSON{ReportingCurrency: r.Currency, CycleID: r.CycleID, At: ts(r.At), Participants: make([]exposureJSON, 0, len(r.Participants))}
	opt := func(minor int64, ccy string, ok bool) *string {
		if !ok {
			return nil
		}
		s := money(minor, ccy)
		return &s
	}
	for _, e := range r.Participants {
		x := exposureJSON{Participant: e.Participant, Positions: make([]exposureLineJSON, 0, len(e.Lines)), Complete: e.NetKnown,
			TotalDebit: opt(e.DebitMinor, e.Currency, e.DebitKnown), Net: opt(e.NetMinor, e.Currency, e.NetKnown)}
		for _, l := range e.Lines {
			line := exposureLineJSON{Currency: l.Currency, Net: money(l.NetMinor, l.Currency), MissingRate: l.Missing}
			if l.Converted {
				line.Converted = opt(l.ConvertedMinor, e.Currency, true)
				if l.Rate.Sign() > 0 {
					rate := l.Rate.String()
					line.Rate, line.Path = &rate, l.Path
				}
			}
			x.Positions = append(x.Positions, line)
		}
		if e.Cap.Set() {
			ccy := e.Cap.Currency
			x.NetDebitCapTotal, x.NetDebitCapTotalCurrency = opt(e.Cap.Minor, ccy, true), &ccy
			h, ok := e.Headroom()
			x.Headroom = opt(h, ccy, ok)
		}
		out.Participants = append(out.Participants, x)
	}
	return out
}

// positionJSON is a live position in the open cycle. The operator's
// accounts (escrow, fees, fx_result) have no cap, so they have neither
// net_debit_cap nor headroom.
type positionJSON struct {
	Participant string  `json:"participant"`
	Currency    string  `json:"currency"`
	CycleID     int64   `json:"cycle_id"`
	Paid        string  `json:"paid"`
	Received    string  `json:"received"`
	Net         string  `json:"net"`
	NetDebitCap *string `json:"net_debit_cap,omitempty"`
	Headroom    *string `json:"headroom,omitempty"` // how much more the participant may be debited this cycle
	// The debit as a fraction of the cap (absent for the operator's
	// accounts and for a debit against a cap of zero); alarm at the
	// participant's alarm threshold; cap_below_position when the cap was
	// lowered below the debit (further debits are refused).
	CapUsage         *float64 `json:"cap_usage,omitempty"`
	Alarm            *bool    `json:"alarm,omitempty"`
	CapBelowPosition *bool    `json:"cap_below_position,omitempty"`
}

func toPosition(p store.Position) positionJSON {
	out := positionJSON{Participant: p.Participant, Currency: p.Currency, CycleID: p.CycleID,
		Paid: money(p.PaidMinor, p.Currency), Received: money(p.ReceivedMinor, p.Currency), Net: money(p.NetMinor, p.Currency)}
	if !clearing.OperatorAccount(p.Participant) {
		limit, headroom := money(p.NetDebitCapMinor, p.Currency), money(p.NetDebitCapMinor+p.NetMinor, p.Currency)
		out.NetDebitCap, out.Headroom = &limit, &headroom
		u := p.Usage()
		alarm, below := u.Alarm(p.AlarmThresholdPct), u.BelowPosition()
		out.CapUsage, out.Alarm, out.CapBelowPosition = usageRatio(u), &alarm, &below
	}
	return out
}

type ledgerJSON struct {
	OK         bool                 `json:"ok"`
	Currencies []ledgerCurrencyJSON `json:"currencies"`
	Problems   []string             `json:"problems"`
}

type ledgerCurrencyJSON struct {
	Currency      string `json:"currency"`
	Sum           string `json:"sum"`
	EscrowBalance string `json:"escrow_balance"`
	Held          string `json:"held"`
	Postings      string `json:"postings"`
}

func toLedger(l clearing.LedgerCheck) ledgerJSON {
	out := ledgerJSON{OK: l.OK, Currencies: []ledgerCurrencyJSON{}, Problems: l.Problems}
	if out.Problems == nil {
		out.Problems = []string{}
	}
	for _, c := range l.Currencies {
		out.Currencies = append(out.Currencies, ledgerCurrencyJSON{Currency: c.Currency, Sum: money(c.SumMinor, c.Currency),
			EscrowBalance: money(c.EscrowBalanceMinor, c.Currency), Held: money(c.HeldMinor, c.Currency), Postings: money(c.PostingsMinor, c.Currency)})
	}
	return out
}

type apiKeyJSON struct {
	ID        string  `json:"id"`
	Role      string  `json:"role"`
	Subject   string  `json:"subject"`
	Name      string  `json:"name"`
	CreatedBy string  `json:"created_by"`
	CreatedAt string  `json:"created_at"`
	RevokedAt *string `json:"revoked_at,omitempty"`
	Secret    string  `json:"secret,omitempty"` // only in the answer to its creation
}

func toAPIKey(k store.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, Role: string(k.Role), Subject: k.Subject, Name: k.Name, CreatedBy: k.CreatedBy,
		CreatedAt: ts(k.CreatedAt), RevokedAt: optTS(k.RevokedAt)}
}

type rateJSON struct {
	Source     string `json:"source"`
	Pair       string `json:"pair"`
	Bid        string `json:"bid"`
	Ask        string `json:"ask"`
	Mid        string `json:"mid"`
	AsOf       string `json:"as_of"`
	ValidUntil string `json:"valid_until"`
}

func toRates(rs []fx.Rate) fiber.Map {
	out := make([]rateJSON, len(rs))
	for i, r := range rs {
		out[i] = rateJSON{Source: r.Source, Pair: r.Pair.String(), Bid: r.Bid.String(), Ask: r.Ask.String(), Mid: r.Mid().String(),
			AsOf: ts(r.AsOf), ValidUntil: ts(r.ValidUntil)}
	}
	return fiber.Map{"rates": out}
}

// quoteJSON is a quote: the bank pays sell_amount = fee + spread +
// converted in sell_currency; converted at rate buys buy_amount in
// buy_currency for the merchant.
type quoteJSON struct {
	ID           string   `json:"id"`
	Provider     string   `json:"provider"`
	BankID       string   `json:"bank_id"`
	SellCurrency string   `json:"sell_currency"`
	SellAmount   string   `json:"sell_amount"`
	Fee          string   `json:"fee"`
	Spread       string   `json:"spread"`
	Converted    string   `json:"converted"`
	BuyCurrency  string   `json:"buy_currency"`
	BuyAmount    string   `json:"buy_amount"`
	Rate         string   `json:"rate"`
	Mid          string   `json:"mid"`
	FeeBps       int      `json:"fee_bps"`
	SpreadBps    int      `json:"spread_bps"`
	Path         []string `json:"path"`
	IssuedAt     string   `json:"issued_at"`
	ExpiresAt    string   `json:"expires_at"`
	PaymentID    string   `json:"payment_id,omitempty"`
}

func toQuote(q clearing.FXQuote) quoteJSON {
	path := q.Path
	if path == nil {
		path = []string{}
	}
	return quoteJSON{ID: q.ID, Provider: q.Provider, BankID: q.Bank, SellCurrency: q.Sell, SellAmount: money(q.TotalMinor, q.Sell),
		Fee: money(q.FeeMinor, q.Sell), Spread: money(q.SpreadMinor, q.Sell), Converted: money(q.ConvertedMinor, q.Sell),
		BuyCurrency: q.Buy, BuyAmount: money(q.BuyMinor, q.Buy), Rate: q.Rate.String(), Mid: q.Mid.String(),
		FeeBps: q.FeeBps, SpreadBps: q.SpreadBps, Path: path, IssuedAt: ts(q.IssuedAt), ExpiresAt: ts(q.ExpiresAt), PaymentID: q.PaymentID}
}

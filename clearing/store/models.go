package store

import (
	"database/sql"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// Rows mirror the tables of migrate.go; conversions to and from the domain
// types live beside them so the rest of the package speaks clearing types.

type participantRow struct {
	bun.BaseModel `bun:"table:participants,alias:pt"`
	ID            string    `bun:"id,pk"`
	Kind          string    `bun:"kind"`
	BIC           string    `bun:"bic"`
	Name          string    `bun:"name"`
	Country       string    `bun:"country"`
	Jurisdiction  string    `bun:"jurisdiction"`
	Status        string    `bun:"status"`
	CreatedAt     time.Time `bun:"created_at"`
	CapTotalMinor int64     `bun:"net_debit_cap_total_minor"`
	CapTotalCcy   string    `bun:"net_debit_cap_total_currency"` // '' is no multi-currency cap
	RequireSigned bool      `bun:"require_signed_files"`
	AlarmPct      int       `bun:"alarm_threshold_pct"`
}

type participantCurrencyRow struct {
	bun.BaseModel    `bun:"table:participant_currencies,alias:pc"`
	ParticipantID    string `bun:"participant_id,pk"`
	Currency         string `bun:"currency,pk"`
	NetDebitCapMinor int64  `bun:"net_debit_cap_minor"`
}

func (r participantRow) domain(cs []participantCurrencyRow) clearing.Participant {
	p := clearing.Participant{
		ID: r.ID, Kind: clearing.ParticipantKind(r.Kind), BIC: r.BIC, Name: r.Name, Country: r.Country,
		Jurisdiction: r.Jurisdiction, Status: clearing.Status(r.Status), CreatedAt: r.CreatedAt.UTC(),
		NetDebitCapTotal:   clearing.TotalCap{Currency: r.CapTotalCcy, Minor: r.CapTotalMinor},
		RequireSignedFiles: r.RequireSigned,
		AlarmThresholdPct:  r.AlarmPct,
	}
	for _, c := range cs {
		if c.ParticipantID == r.ID {
			p.Currencies = append(p.Currencies, clearing.SettlementCurrency{Currency: c.Currency, NetDebitCapMinor: c.NetDebitCapMinor})
		}
	}
	clearing.SortCurrencies(p.Currencies)
	return p
}

type merchantRow struct {
	bun.BaseModel `bun:"table:merchants,alias:m"`
	ID            string    `bun:"id,pk"`
	Name          string    `bun:"name"`
	Country       string    `bun:"country"`
	Currency      string    `bun:"currency"`
	Account       string    `bun:"account"`
	BankID        string    `bun:"bank_id"`
	Status        string    `bun:"status"`
	CreatedAt     time.Time `bun:"created_at"`
}

func (r merchantRow) domain() clearing.Merchant {
	return clearing.Merchant{
		ID: r.ID, Name: r.Name, Country: r.Country, Currency: r.Currency, Account: r.Account,
		BankID: r.BankID, Status: clearing.Status(r.Status), CreatedAt: r.CreatedAt.UTC(),
	}
}

type paymentRow struct {
	bun.BaseModel        `bun:"table:payments,alias:p"`
	ID                   string       `bun:"id,pk"`
	EndToEndID           string       `bun:"end_to_end_id"`
	Reference            string       `bun:"reference"`
	BuyerBankID          string       `bun:"buyer_bank_id"`
	MerchantID           string       `bun:"merchant_id"`
	MerchantBankID       string       `bun:"merchant_bank_id"`
	BuyerJurisdiction    string       `bun:"buyer_jurisdiction"`
	MerchantJurisdiction string       `bun:"merchant_jurisdiction"`
	Currency             string       `bun:"currency"`
	AmountMinor          int64        `bun:"amount_minor"`
	ReleasedMinor        int64        `bun:"released_minor"`
	RefundedMinor        int64        `bun:"refunded_minor"`
	State                string       `bun:"state"`
	ReleaseAt            bun.NullTime `bun:"release_at"`
	HoldCycleID          int64        `bun:"hold_cycle_id"`
	Version              int64        `bun:"version"`
	CreatedAt            time.Time    `bun:"created_at"`
	UpdatedAt            time.Time    `bun:"updated_at"`
	SellCurrency         string       `bun:"sell_currency"`
	SellMinor            int64        `bun:"sell_minor"`
	FeeMinor             int64        `bun:"fee_minor"`
	SpreadMinor          int64        `bun:"spread_minor"`
	ConvertedMinor       int64        `bun:"converted_minor"`
	FXProviderID         string       `bun:"fx_provider_id"`
	QuoteID              string       `bun:"quote_id"`
	FXRate               string       `bun:"fx_rate"`
	FXResultOwner        string       `bun:"fx_result_owner"`
}

func toPaymentRow(p clearing.Payment) paymentRow {
	return paymentRow{
		ID: p.ID, EndToEndID: p.EndToEndID, Reference: p.Reference, BuyerBankID: p.BuyerBankID,
		MerchantID: p.MerchantID, MerchantBankID: p.MerchantBankID, BuyerJurisdiction: p.BuyerJurisdiction,
		MerchantJurisdiction: p.MerchantJurisdiction, Currency: p.Currency, AmountMinor: p.AmountMinor,
		ReleasedMinor: p.ReleasedMinor, RefundedMinor: p.RefundedMinor, State: string(p.State),
		ReleaseAt: nullTime(p.ReleaseAt), HoldCycleID: p.HoldCycleID, Version: p.Version,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		SellCurrency: p.SellCurrency, SellMinor: p.SellMinor, FeeMinor: p.FeeMinor, SpreadMinor: p.SpreadMinor,
		ConvertedMinor: p.ConvertedMinor, FXProviderID: p.FXProviderID, QuoteID: p.QuoteID, FXRate: p.Rate,
		FXResultOwner: p.FXResultOwner,
	}
}

func (r paymentRow) domain() clearing.Payment {
	p := clearing.Payment{
		ID: r.ID, EndToEndID: r.EndToEndID, Reference: r.Reference, BuyerBankID: r.BuyerBankID,
		MerchantID: r.MerchantID, MerchantBankID: r.MerchantBankID, BuyerJurisdiction: r.BuyerJurisdiction,
		MerchantJurisdiction: r.MerchantJurisdiction, Currency: r.Currency, AmountMinor: r.AmountMinor,
		ReleasedMinor: r.ReleasedMinor, RefundedMinor: r.RefundedMinor, State: clearing.State(r.State),
		HoldCycleID: r.HoldCycleID, Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		SellCurrency: r.SellCurrency, SellMinor: r.SellMinor, FeeMinor: r.FeeMinor, SpreadMinor: r.SpreadMinor,
		ConvertedMinor: r.ConvertedMinor, FXProviderID: r.FXProviderID, QuoteID: r.QuoteID, Rate: r.FXRate,
		FXResultOwner: r.FXResultOwner,
	}
	if !r.ReleaseAt.IsZero() {
		p.ReleaseAt = r.ReleaseAt.Time.UTC()
	}
	return p
}

type eventRow struct {
	bun.BaseModel `bun:"table:payment_events,alias:e"`
	PaymentID     string    `bun:"payment_id,pk"`
	Seq           int       `bun:"seq,pk"`
	Type          string    `bun:"type"`
	FromState     string    `bun:"from_state"`
	ToState       string    `bun:"to_state"`
	AmountMinor   int64     `bun:"amount_minor"`
	Actor         string    `bun:"actor"`
	Reason        string    `bun:"reason"`
	At            time.Time `bun:"at"`
}

func toEventRow(e clearing.Event) eventRow {
	return eventRow{PaymentID: e.PaymentID, Seq: e.Seq, Type: string(e.Type), FromState: string(e.From), ToState: string(e.To),
		AmountMinor: e.AmountMinor, Actor: e.Actor, Reason: e.Reason, At: e.At}
}

func (r eventRow) domain() clearing.Event {
	return clearing.Event{PaymentID: r.PaymentID, Seq: r.Seq, Type: clearing.EventType(r.Type), From: clearing.State(r.FromState),
		To: clearing.State(r.ToState), AmountMinor: r.AmountMinor, Actor: r.Actor, Reason: r.Reason, At: r.At.UTC()}
}

type postingRow struct {
	bun.BaseModel `bun:"table:postings,alias:po"`
	PaymentID     string    `bun:"payment_id,pk"`
	Seq           int       `bun:"seq,pk"`
	Leg           int       `bun:"leg,pk"` // 0, 1, … within one transition
	CycleID       int64     `bun:"cycle_id"`
	Kind          string    `bun:"kind"`
	Currency      string    `bun:"currency"`
	Debit         string    `bun:"debit"`
	Credit        string    `bun:"credit"`
	AmountMinor   int64     `bun:"amount_minor"`
	At            time.Time `bun:"at"`
}

type positionRow struct {
	bun.BaseModel `bun:"table:positions,alias:pos"`
	CycleID       int64  `bun:"cycle_id,pk"`
	Owner         string `bun:"owner,pk"`
	Currency      string `bun:"currency,pk"`
	PaidMinor     int64  `bun:"paid_minor"`
	ReceivedMinor int64  `bun:"received_minor"`
}

type cycleRow struct {
	bun.BaseModel `bun:"table:cycles,alias:c"`
	ID            int64        `bun:"id,pk"`
	State         string       `bun:"state"`
	OpenedAt      time.Time    `bun:"opened_at"`
	ClosedAt      bun.NullTime `bun:"closed_at"`
	SettledAt     bun.NullTime `bun:"settled_at"`
	ClosedBy      string       `bun:"closed_by"`
	Totals        string       `bun:"totals"`     // JSON of []clearing.CurrencyTotals once closed
	FXResults     string       `bun:"fx_results"` // JSON of []clearing.FXResult once closed ('' before migration 3 or without any)
}

type netPositionRow struct {
	bun.BaseModel `bun:"table:net_positions,alias:np"`
	CycleID       int64        `bun:"cycle_id,pk"`
	Owner         string       `bun:"owner,pk"`
	Currency      string       `bun:"currency,pk"`
	PaidMinor     int64        `bun:"paid_minor"`
	ReceivedMinor int64        `bun:"received_minor"`
	NetMinor      int64        `bun:"net_minor"`
	SettledAt     bun.NullTime `bun:"settled_at"`
	SettledBy     string       `bun:"settled_by"`
}

func (r netPositionRow) domain() clearing.NetPosition {
	n := clearing.NetPosition{Participant: r.Owner, Currency: r.Currency, PaidMinor: r.PaidMinor,
		ReceivedMinor: r.ReceivedMinor, NetMinor: r.NetMinor, SettledBy: r.SettledBy}
	if !r.SettledAt.IsZero() {
		n.SettledAt = r.SettledAt.Time.UTC()
	}
	return n
}

type apiKeyRow struct {
	bun.BaseModel `bun:"table:api_keys,alias:k"`
	ID            string       `bun:"id,pk"`
	Hash          string       `bun:"hash"`
	Role          string       `bun:"role"`
	Subject       string       `bun:"subject"`
	Name          string       `bun:"name"`
	CreatedBy     string       `bun:"created_by"`
	CreatedAt     time.Time    `bun:"created_at"`
	RevokedAt     bun.NullTime `bun:"revoked_at"`
}

type idempotencyRow struct {
	bun.BaseModel `bun:"table:idempotency_keys,alias:ik"`
	Caller        string    `bun:"caller,pk"`
	Key           string    `bun:"key,pk"`
	RequestHash   string    `bun:"request_hash"`
	StatusCode    int       `bun:"status_code"`
	Response      string    `bun:"response"`
	Resource      string    `bun:"resource"`
	CreatedAt     time.Time `bun:"created_at"`
}

type auditRow struct {
	bun.BaseModel `bun:"table:audit_log,alias:a"`
	ID            int64     `bun:"id,pk,autoincrement"`
	Actor         string    `bun:"actor"`
	Action        string    `bun:"action"`
	Object        string    `bun:"object"`
	Detail        string    `bun:"detail"`
	At            time.Time `bun:"at"`
}

type quoteRow struct {
	bun.BaseModel  `bun:"table:quotes,alias:q"`
	ID             string         `bun:"id,pk"`
	ProviderID     string         `bun:"provider_id"`
	BankID         string         `bun:"bank_id"`
	SellCurrency   string         `bun:"sell_currency"`
	BuyCurrency    string         `bun:"buy_currency"`
	TotalMinor     int64          `bun:"total_minor"`
	FeeMinor       int64          `bun:"fee_minor"`
	SpreadMinor    int64          `bun:"spread_minor"`
	ConvertedMinor int64          `bun:"converted_minor"`
	BuyMinor       int64          `bun:"buy_minor"`
	Rate           string         `bun:"rate"` // decimals as text: never a float
	Mid            string         `bun:"mid"`
	FeeBps         int            `bun:"fee_bps"`
	SpreadBps      int            `bun:"spread_bps"`
	Path           string         `bun:"path"` // JSON array of the legs' labels
	IssuedAt       time.Time      `bun:"issued_at"`
	ExpiresAt      time.Time      `bun:"expires_at"`
	PaymentID      sql.NullString `bun:"payment_id"`
}

type rateRow struct {
	bun.BaseModel `bun:"table:rates,alias:r"`
	ID            int64     `bun:"id,pk,autoincrement"`
	Source        string    `bun:"source"`
	BaseCurrency  string    `bun:"base_currency"`
	QuoteCurrency string    `bun:"quote_currency"`
	Bid           string    `bun:"bid"`
	Ask           string    `bun:"ask"`
	AsOf          time.Time `bun:"as_of"`
	ValidUntil    time.Time `bun:"valid_until"`
	PostedBy      string    `bun:"posted_by"`
	PostedAt      time.Time `bun:"posted_at"`
}

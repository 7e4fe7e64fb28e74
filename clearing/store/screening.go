package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/fx"
)

// Compliance screening runs inside the hold's transaction, before the
// hold: every request of a batch (API payments, each transaction of an
// ISO 20022 file) is screened against the lists and the AML rules, and
// only those that pass go on to the normal hold path. A payment held for
// review is not a payment yet: no row in payments, no posting, nothing
// against its bank's cap. Its hold request waits in the screening row and
// runs through the same hold path when a compliance officer approves it.
// Every decision is kept, passes included, with the lists' hashes.

// Screening statuses.
const (
	ScreeningHeld            = "held"             // passed and held in escrow
	ScreeningRefused         = "refused"          // passed, but the hold itself was refused (cap, suspension…): nothing held
	ScreeningPending         = "pending"          // held for review: not in escrow
	ScreeningApproved        = "approved"         // approved by a compliance officer and held
	ScreeningApprovalRefused = "approval_refused" // approved, but the hold was then refused (cap…): nothing held
	ScreeningRejected        = "rejected"         // rejected by screening or by a compliance officer
)

// historyStatuses are the screenings the AML rules count: payments held
// or waiting for review.
var historyStatuses = []string{ScreeningHeld, ScreeningPending, ScreeningApproved}

// Instruction is what an instruction says about one hold beyond the
// scheme's own records: the parties as the file or the API request names
// them (debtor, ultimate debtor and creditor, a file's creditor's name as
// written) and where it came from, to answer the bank once a review is
// resolved. Its parties are screened with the hold and kept with the
// decision, so that the review queue shows them.
type Instruction struct {
	Parties []compliance.Party
	Origin  Origin
}

// Origin is where a payment came from.
type Origin struct {
	Channel        string `json:"channel"` // "api" or "file"
	FileID         string `json:"file_id,omitempty"`
	Sender         string `json:"sender,omitempty"`
	MsgID          string `json:"msg_id,omitempty"`
	Message        string `json:"message,omitempty"` // "pacs.008.001.08"
	InstrID        string `json:"instr_id,omitempty"`
	EndToEndID     string `json:"end_to_end_id,omitempty"`
	TxID           string `json:"tx_id,omitempty"`
	Amount         string `json:"amount,omitempty"` // as written in the file
	Currency       string `json:"currency,omitempty"`
	SettlementDate string `json:"settlement_date,omitempty"`
}

// Screening is one screening decision and what became of it.
type Screening struct {
	ID                   string
	PaymentID            string // the UETR
	Status               string
	Outcome              compliance.Outcome
	BuyerBankID          string
	MerchantID           string
	MerchantBankID       string
	BuyerJurisdiction    string
	MerchantJurisdiction string
	Amount               fx.Amount
	Base                 fx.Amount // in the AML base currency; zero without AML rules or a rate
	Score                float64
	Flags                []string
	ISOReason            string
	Lists                []compliance.ListInfo
	Parties              []compliance.Party
	Matches              []compliance.Match
	Reasons              []compliance.Reason
	Origin               Origin
	RequestedBy          string // who asked for the hold
	ScreenedAt           time.Time
	ResolvedBy           string // the compliance officer, "" until resolved (and for automatic decisions)
	ResolvedAt           time.Time
	Comment              string
	HoldError            string // why the hold was refused after passing or approval

	hold clearing.HoldRequest // for a pending review: what approval holds
}

// ScreeningError answers a hold that screening kept out of escrow: held
// for review (Pending) or rejected. It wraps the clearing error the API
// shows; inbound files answer it with PDNG or RJCT and ISOReason.
type ScreeningError struct {
	ScreeningID string
	PaymentID   string // the UETR: the payment's id once approved
	Pending     bool
	ISOReason   string
	err         *clearing.Error
}

func (e *ScreeningError) Error() string { return e.err.Error() }
func (e *ScreeningError) Unwrap() error { return e.err }

// AsScreeningError finds a ScreeningError in err's chain.
func AsScreeningError(err error) (*ScreeningError, bool) {
	var se *ScreeningError
	ok := errors.As(err, &se)
	return se, ok
}

func pendingError(uetr, id, iso string) *ScreeningError {
	return &ScreeningError{ScreeningID: id, PaymentID: uetr, Pending: true, ISOReason: iso, err: clearing.Errorf(clearing.Refused, "pending_review", "",
		"payment %s is held for compliance review (screening %s, ISO reason %s): it is not in escrow until a compliance officer approves it; GET /v1/payments/%s/screening tells the outcome",
		uetr, id, iso, uetr)}
}

// rejectedError tells the bank why screening rejected a payment. Only
// what the bank can fix is spelt out (missing travel-rule data, an amount
// that cannot be converted); sanctions and suspicion are not, so that the
// bank's customer is not tipped off.
func rejectedError(uetr, id string, d compliance.Decision) *ScreeningError {
	var fix []string
	for _, r := range d.Reasons {
		if r.Outcome == compliance.Reject && (r.Code == compliance.CodeTravelRule || r.Code == compliance.CodeRateUnavailable) {
			fix = append(fix, r.Message)
		}
	}
	msg := fmt.Sprintf("payment %s was rejected by compliance screening (screening %s, ISO reason %s)", uetr, id, d.ISOReason())
	if len(fix) > 0 {
		msg += ": " + strings.Join(fix, "; ")
	}
	return &ScreeningError{ScreeningID: id, PaymentID: uetr, ISOReason: d.ISOReason(), err: clearing.Errorf(clearing.Refused, "screening_rejected", "", "%s", msg)}
}

// Screener is the screener holds go through, nil when there is none.
func (s *Store) Screener() *compliance.Screener { return s.screener }

// SetScreener makes every later hold go through sc. serve sets it once,
// before serving: loading lists is slow and only serve needs them, so the
// commands that open the store for other work do not load them.
func (s *Store) SetScreener(sc *compliance.Screener) { s.screener = sc }

// screenedHoldBatchTx is holdBatchTx behind compliance screening (when a
// screener is configured): the requests that pass are held in order, the
// others answered with a ScreeningError; every decision is recorded. The
// results match reqs. instr may give, by UETR, what a file says about a
// hold's parties.
func (s *Store) screenedHoldBatchTx(ctx context.Context, tx bun.Tx, reqs []clearing.HoldRequest, instr map[string]Instruction, by actors) ([]Result, error) {
	if s.screener == nil || len(reqs) == 0 {
		return s.holdBatchTx(ctx, tx, reqs, nil, by)
	}
	now := s.now()
	b, err := s.prepareScreening(ctx, tx, reqs, instr, now)
	if err != nil {
		return nil, err
	}
	decisions, err := s.screener.Screen(ctx, b.payments, screeningHistory{db: tx, postgres: s.postgres}, s.amlRates(now))
	if err != nil {
		return nil, fmt.Errorf("screen %d payments: %w", len(b.payments), err)
	}
	results := make([]Result, len(reqs))
	rows := make([]screeningRow, 0, len(b.payments))
	var rowBy []clearing.Actor // rowBy[j]: who asked for rows[j]
	var passed []clearing.HoldRequest
	var passedAt []int     // passedAt[k]: the request of passed[k]
	rowOf := map[int]int{} // request → its row, for passes whose hold result fills the status
	for i, r := range reqs {
		k := b.screened[i]
		switch {
		case b.answer[i] != nil:
			results[i].Err = b.answer[i]
			continue
		case b.dupOf[i] >= 0:
			if first := b.screened[b.dupOf[i]]; first >= 0 && decisions[first].Outcome != compliance.Pass {
				results[i].Err = clearing.Errorf(clearing.Conflict, "duplicate_uetr", "uetr", "UETR %s is already in this batch", r.UETR)
				continue
			}
		case k >= 0:
			d := decisions[k]
			row, err := s.screeningRow(newID("scr"), r, b.meta[k], b.payments[k], d, by.of(i), now)
			if err != nil {
				return nil, err
			}
			switch d.Outcome {
			case compliance.Review:
				row.Status = ScreeningPending
				results[i].Err = pendingError(r.UETR, row.ID, d.ISOReason())
			case compliance.Reject:
				row.Status = ScreeningRejected
				results[i].Err = rejectedError(r.UETR, row.ID, d)
			default:
				row.HoldRequest, row.Origin = "", ""
				rowOf[i] = len(rows)
			}
			rows, rowBy = append(rows, row), append(rowBy, by.of(i))
			if d.Outcome != compliance.Pass {
				continue
			}
		}
		passed = append(passed, r)
		passedAt = append(passedAt, i)
	}
	held, err := s.holdBatchTx(ctx, tx, passed, b.merchants, by.pick(passedAt))
	if err != nil {
		return nil, err
	}
	for k, res := range held {
		i := passedAt[k]
		results[i] = res
		if j, ok := rowOf[i]; ok {
			rows[j].Status = ScreeningHeld
			if res.Err != nil {
				rows[j].Status, rows[j].HoldError = ScreeningRefused, res.Err.Error()
			}
		}
	}
	if len(rows) > 0 {
		if err := insertRows(ctx, s, tx, rows); err != nil {
			if isUniqueViolation(err) {
				return nil, clearing.Errorf(clearing.Conflict, "concurrent_update", "uetr", "another request is screening one of these payments; retry")
			}
			return nil, fmt.Errorf("insert screenings: %w", err)
		}
	}
	for j, row := range rows {
		if row.Status == ScreeningPending || row.Status == ScreeningRejected {
			action := map[string]string{ScreeningPending: "screening.review", ScreeningRejected: "screening.reject"}[row.Status]
			if err := s.audit(ctx, tx, rowBy[j], action, row.ID, fmt.Sprintf("payment %s: %s (%s)", row.PaymentID, strings.Trim(row.Flags, ","), row.ISOReason)); err != nil {
				return nil, err
			}
		}
	}
	return results, nil
}

// screeningBatch is a batch of holds ready for the screener.
type screeningBatch struct {
	merchants map[string]clearing.Merchant // every request's, by id
	payments  []compliance.Payment
	meta      []holdParties // with payments
	screened  []int         // request → its payment, -1 when not screened
	dupOf     []int         // request → an earlier request of the batch with its UETR, -1 when none
	answer    []error       // request → an answer given without screening (a review already pending)
}

// holdParties are the scheme's records of a hold's parties.
type holdParties struct {
	buyer, merchantBank clearing.Participant
	merchant            clearing.Merchant
	origin              Origin
}

// prepareScreening builds what the screener needs of each request. A
// request that cannot be held anyway (unknown parties, an invalid or
// already held UETR) is not screened: the hold path refuses it with its
// own error. A UETR with a review pending is answered with it again.
func (s *Store) prepareScreening(ctx context.Context, tx bun.Tx, reqs []clearing.HoldRequest, instr map[string]Instruction, now time.Time) (*screeningBatch, error) {
	merchants, err := loadMerchants(ctx, tx, reqs)
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, r := range reqs {
		ids[r.BuyerBankID] = true
		if m, ok := merchants[r.MerchantID]; ok {
			ids[m.BankID] = true
		}
	}
	participants, err := loadParticipants(ctx, tx, keys(ids), noLock)
	if err != nil {
		return nil, err
	}
	existing, err := existingPayments(ctx, tx, reqs)
	if err != nil {
		return nil, err
	}
	pending, err := pendingScreenings(ctx, tx, reqs)
	if err != nil {
		return nil, err
	}
	b := &screeningBatch{merchants: merchants, screened: make([]int, len(reqs)), dupOf: make([]int, len(reqs)), answer: make([]error, len(reqs))}
	first := map[string]int{}
	for i, r := range reqs {
		b.screened[i], b.dupOf[i] = -1, -1
		if j, seen := first[r.UETR]; seen {
			b.dupOf[i] = j
			continue
		}
		first[r.UETR] = i
		if p, ok := pending[r.UETR]; ok {
			b.answer[i] = pendingError(r.UETR, p.ID, p.ISOReason)
			continue
		}
		m, okM := merchants[r.MerchantID]
		buyer, okB := participants[r.BuyerBankID]
		bank, okMB := participants[m.BankID]
		_, held := existing[r.UETR]
		if !okM || !okB || !okMB || held || !clearing.ValidUETR(r.UETR) || r.Amount.Currency.Code == "" {
			continue
		}
		in := instr[r.UETR]
		if in.Origin.Channel == "" {
			in.Origin.Channel = "api"
		}
		parties := []compliance.Party{{Role: compliance.Creditor, Name: m.Name, Country: m.Country, Account: m.Account}}
		for _, p := range in.Parties {
			if p.Role == compliance.Creditor && compliance.NameKey(p.Name) == compliance.NameKey(m.Name) {
				continue // the merchant's own name, screened above
			}
			if strings.TrimSpace(p.Name) != "" || p.Role == compliance.Debtor {
				parties = append(parties, p)
			}
		}
		parties = append(parties,
			compliance.Party{Role: compliance.DebtorAgent, Name: buyer.Name, Country: buyer.Country, ID: buyer.BIC},
			compliance.Party{Role: compliance.CreditorAgent, Name: bank.Name, Country: bank.Country, ID: bank.BIC})
		p := compliance.Payment{ID: r.UETR, At: now, Amount: r.Amount, Jurisdictions: []string{buyer.Jurisdiction, bank.Jurisdiction}, Parties: parties,
			Keys: map[compliance.KeyKind]string{compliance.PayeeKey: m.ID, compliance.BankKey: buyer.ID}}
		if d, ok := p.Party(compliance.Debtor); ok {
			p.Keys[compliance.PayerKey] = compliance.PayerKeyOf(d)
		}
		b.screened[i] = len(b.payments)
		b.payments = append(b.payments, p)
		b.meta = append(b.meta, holdParties{buyer: buyer, merchantBank: bank, merchant: m, origin: in.Origin})
	}
	return b, nil
}

// pendingScreenings are the reviews pending for the batch's UETRs.
func pendingScreenings(ctx context.Context, tx bun.Tx, reqs []clearing.HoldRequest) (map[string]Screening, error) {
	ids := make([]string, len(reqs))
	for i, r := range reqs {
		ids[i] = r.UETR
	}
	var rows []screeningRow
	if err := tx.NewSelect().Model(&rows).Column("id", "payment_id", "iso_reason").Where("payment_id IN (?)", bun.In(ids)).Where("status = ?", ScreeningPending).Scan(ctx); err != nil {
		return nil, fmt.Errorf("look up pending reviews: %w", err)
	}
	out := make(map[string]Screening, len(rows))
	for _, r := range rows {
		out[r.PaymentID] = Screening{ID: r.ID, PaymentID: r.PaymentID, ISOReason: r.ISOReason}
	}
	return out, nil
}

// amlRates converts for the AML thresholds at the rate book's mid rates,
// as exposure does.
func (s *Store) amlRates(now time.Time) compliance.Rates {
	mids := s.midRates(now)
	return func(from, to string) (decimal.Decimal, error) {
		m, err := mids(from, to)
		return m.Mid, err
	}
}

// screeningHistory answers the AML rules from the recorded decisions.
type screeningHistory struct {
	db       bun.IDB
	postgres bool
}

var historyColumn = map[compliance.KeyKind]string{compliance.PayerKey: "payer_key", compliance.PayeeKey: "payee_key", compliance.BankKey: "bank_key"}

// historyGroup is the keys of one kind asking about one window and band.
type historyGroup struct {
	kind    compliance.KeyKind
	since   time.Time
	lo, hi  int64
	keys    []string
	answers map[string][]int // key → queries it answers
}

// lockKeys serialises, on PostgreSQL, the batches that count the same
// payer, payee or bank: each takes a transaction-scoped advisory lock per
// key, all in one order, before counting, so that of two concurrent
// batches the second counts the first's payments once it commits. (The
// counted rows are only inserted later in the transaction: a plain read
// would let both pass a velocity limit they exceed together.) SQLite
// writers are serial already.
func (h screeningHistory) lockKeys(ctx context.Context, groups ...*historyGroup) error {
	if !h.postgres {
		return nil
	}
	var keys []string
	for _, g := range groups {
		for _, k := range g.keys {
			keys = append(keys, string(g.kind)+":"+k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	_, err := h.db.NewRaw(`SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 7243011) AS h FROM unnest(?::text[]) AS k ORDER BY h) AS keys`,
		pgdialect.Array(keys)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("lock the payment history of %d parties: %w", len(keys), err)
	}
	return nil
}

// Activity runs one query per window and band, for all the keys asking
// it at once.
func (h screeningHistory) Activity(ctx context.Context, qs []compliance.HistoryQuery) ([]compliance.Activity, error) {
	var groups []*historyGroup
	for i, q := range qs {
		k := slices.IndexFunc(groups, func(g *historyGroup) bool {
			return g.kind == q.Kind && g.since.Equal(q.Since) && g.lo == q.BandLow && g.hi == q.BandHigh
		})
		if k < 0 {
			groups = append(groups, &historyGroup{kind: q.Kind, since: q.Since, lo: q.BandLow, hi: q.BandHigh, answers: map[string][]int{}})
			k = len(groups) - 1
		}
		g := groups[k]
		if _, ok := g.answers[q.Key]; !ok {
			g.keys = append(g.keys, q.Key)
		}
		g.answers[q.Key] = append(g.answers[q.Key], i)
	}
	if err := h.lockKeys(ctx, groups...); err != nil {
		return nil, err
	}
	out := make([]compliance.Activity, len(qs))
	for _, g := range groups {
		col, ok := historyColumn[g.kind]
		if !ok {
			return nil, fmt.Errorf("%w: no history by %q", clearing.ErrInvariant, g.kind)
		}
		var rows []struct {
			Key    string `bun:"key"`
			N      int    `bun:"n"`
			Total  int64  `bun:"total"`
			InBand int    `bun:"in_band"`
		}
		err := h.db.NewSelect().Model((*screeningRow)(nil)).
			ColumnExpr("? AS key, COUNT(*) AS n, COALESCE(SUM(base_minor), 0) AS total", bun.Ident(col)).
			ColumnExpr("COALESCE(SUM(CASE WHEN base_minor >= ? AND base_minor < ? THEN 1 ELSE 0 END), 0) AS in_band", g.lo, g.hi).
			Where("? IN (?)", bun.Ident(col), bun.In(g.keys)).Where("screened_at >= ?", g.since).Where("status IN (?)", bun.In(historyStatuses)).
			GroupExpr("?", bun.Ident(col)).Scan(ctx, &rows)
		if err != nil {
			return nil, fmt.Errorf("payment history by %s: %w", g.kind, err)
		}
		for _, r := range rows {
			for _, i := range g.answers[r.Key] {
				out[i] = compliance.Activity{Count: r.N, BaseMinor: r.Total, InBand: r.InBand}
			}
		}
	}
	return out, nil
}

// holdJSON is a hold request as a review keeps it until approval.
type holdJSON struct {
	UETR        string `json:"uetr"`
	EndToEndID  string `json:"end_to_end_id,omitempty"`
	Reference   string `json:"reference,omitempty"`
	BuyerBankID string `json:"buyer_bank_id"`
	MerchantID  string `json:"merchant_id"`
	Amount      string `json:"amount"`
	Currency    string `json:"currency"`
	QuoteID     string `json:"quote_id,omitempty"`
}

func (h holdJSON) request() (clearing.HoldRequest, error) {
	amount, err := fx.ParsePositiveAmount(h.Amount, h.Currency)
	if err != nil {
		return clearing.HoldRequest{}, fmt.Errorf("stored hold of %s: %w", h.UETR, err)
	}
	return clearing.HoldRequest{UETR: h.UETR, EndToEndID: h.EndToEndID, Reference: h.Reference, BuyerBankID: h.BuyerBankID,
		MerchantID: h.MerchantID, Amount: amount, QuoteID: h.QuoteID}, nil
}

func (s *Store) screeningRow(id string, r clearing.HoldRequest, hp holdParties, p compliance.Payment, d compliance.Decision, by clearing.Actor, now time.Time) (screeningRow, error) {
	hold, err := json.Marshal(holdJSON{UETR: r.UETR, EndToEndID: r.EndToEndID, Reference: r.Reference, BuyerBankID: r.BuyerBankID, MerchantID: r.MerchantID,
		Amount: r.Amount.Value(), Currency: r.Amount.Currency.Code, QuoteID: r.QuoteID})
	if err != nil {
		return screeningRow{}, err
	}
	row := screeningRow{ID: id, PaymentID: r.UETR, Outcome: string(d.Outcome), BuyerBankID: hp.buyer.ID, MerchantID: hp.merchant.ID, MerchantBankID: hp.merchantBank.ID,
		BuyerJurisdiction: hp.buyer.Jurisdiction, MerchantJurisdiction: hp.merchantBank.Jurisdiction, Currency: r.Amount.Currency.Code, AmountMinor: r.Amount.Minor,
		BaseCurrency: d.Base.Currency.Code, BaseMinor: d.Base.Minor, PayerKey: p.Keys[compliance.PayerKey], PayeeKey: p.Keys[compliance.PayeeKey],
		BankKey: p.Keys[compliance.BankKey], Score: d.Score, Flags: flagsColumn(d.Flags()), ISOReason: d.ISOReason(), HoldRequest: string(hold),
		RequestedBy: by.String(), ScreenedAt: now}
	for _, c := range []struct {
		dst *string
		v   any
	}{{&row.Lists, d.Lists}, {&row.Parties, p.Parties}, {&row.Matches, d.Matches}, {&row.Reasons, d.Reasons}, {&row.Origin, hp.origin}} {
		raw, err := json.Marshal(c.v)
		if err != nil {
			return screeningRow{}, fmt.Errorf("encode screening: %w", err)
		}
		*c.dst = string(raw)
	}
	return row, nil
}

// flagsColumn writes flags as ",a,b," so that one flag is found with LIKE
// '%,a,%' on both engines; "" for none.
func flagsColumn(flags []string) string {
	if len(flags) == 0 {
		return ""
	}
	return "," + strings.Join(flags, ",") + ","
}

type screeningRow struct {
	bun.BaseModel        `bun:"table:screenings,alias:sc"`
	ID                   string       `bun:"id,pk"`
	PaymentID            string       `bun:"payment_id"`
	Status               string       `bun:"status"`
	Outcome              string       `bun:"outcome"`
	BuyerBankID          string       `bun:"buyer_bank_id"`
	MerchantID           string       `bun:"merchant_id"`
	MerchantBankID       string       `bun:"merchant_bank_id"`
	BuyerJurisdiction    string       `bun:"buyer_jurisdiction"`
	MerchantJurisdiction string       `bun:"merchant_jurisdiction"`
	Currency             string       `bun:"currency"`
	AmountMinor          int64        `bun:"amount_minor"`
	BaseCurrency         string       `bun:"base_currency"`
	BaseMinor            int64        `bun:"base_minor"`
	PayerKey             string       `bun:"payer_key"`
	PayeeKey             string       `bun:"payee_key"`
	BankKey              string       `bun:"bank_key"`
	Score                float64      `bun:"score"`
	Flags                string       `bun:"flags"`
	ISOReason            string       `bun:"iso_reason"`
	Lists                string       `bun:"lists"`
	Parties              string       `bun:"parties"`
	Matches              string       `bun:"matches"`
	Reasons              string       `bun:"reasons"`
	HoldRequest          string       `bun:"hold_request"`
	Origin               string       `bun:"origin"`
	RequestedBy          string       `bun:"requested_by"`
	ScreenedAt           time.Time    `bun:"screened_at"`
	ResolvedBy           string       `bun:"resolved_by"`
	ResolvedAt           bun.NullTime `bun:"resolved_at"`
	Comment              string       `bun:"comment"`
	HoldError            string       `bun:"hold_error"`
}

func (r screeningRow) domain() (Screening, error) {
	out := Screening{ID: r.ID, PaymentID: r.PaymentID, Status: r.Status, Outcome: compliance.Outcome(r.Outcome), BuyerBankID: r.BuyerBankID,
		MerchantID: r.MerchantID, MerchantBankID: r.MerchantBankID, BuyerJurisdiction: r.BuyerJurisdiction, MerchantJurisdiction: r.MerchantJurisdiction,
		Score: r.Score, ISOReason: r.ISOReason, RequestedBy: r.RequestedBy, ScreenedAt: r.ScreenedAt.UTC(), ResolvedBy: r.ResolvedBy,
		Comment: r.Comment, HoldError: r.HoldError}
	if !r.ResolvedAt.IsZero() {
		out.ResolvedAt = r.ResolvedAt.Time.UTC()
	}
	if r.Flags != "" {
		out.Flags = strings.Split(strings.Trim(r.Flags, ","), ",")
	}
	c, err := fx.LookupCurrency(r.Currency)
	if err != nil {
		return Screening{}, fmt.Errorf("screening %s: %w", r.ID, err)
	}
	out.Amount = c.FromMinor(r.AmountMinor)
	if r.BaseCurrency != "" {
		if bc, err := fx.LookupCurrency(r.BaseCurrency); err == nil {
			out.Base = bc.FromMinor(r.BaseMinor)
		}
	}
	for _, c := range []struct {
		raw string
		dst any
	}{{r.Lists, &out.Lists}, {r.Parties, &out.Parties}, {r.Matches, &out.Matches}, {r.Reasons, &out.Reasons}, {r.Origin, &out.Origin}} {
		if c.raw == "" {
			continue
		}
		if err := json.Unmarshal([]byte(c.raw), c.dst); err != nil {
			return Screening{}, fmt.Errorf("screening %s: %w", r.ID, err)
		}
	}
	if r.HoldRequest != "" {
		var h holdJSON
		if err := json.Unmarshal([]byte(r.HoldRequest), &h); err != nil {
			return Screening{}, fmt.Errorf("screening %s: %w", r.ID, err)
		}
		req, err := h.request()
		if err != nil {
			return Screening{}, err
		}
		out.hold = req
	}
	return out, nil
}

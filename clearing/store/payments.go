package store

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/fx"
)

// MaxBatch bounds one batch of holds or actions: one transaction's worth.
const MaxBatch = 10_000

// Result is the outcome of one item of a batch: the payment after it, or
// why it was refused. Refusals do not stop the rest of the batch.
type Result struct {
	Payment clearing.Payment
	Err     error
	// Same marks a hold refused as duplicate_uetr whose UETR names the
	// same instruction already held (clearing.Payment.SameInstruction):
	// Payment is that payment, and a caller retrying may take it as the
	// answer instead of the refusal.
	Same bool
}

// Hold holds one new payment in escrow.
func (s *Store) Hold(ctx context.Context, req clearing.HoldRequest, by clearing.Actor) (clearing.Payment, error) {
	res, err := s.HoldBatch(ctx, []clearing.HoldRequest{req}, by)
	if err != nil {
		return clearing.Payment{}, err
	}
	return res[0].Payment, res[0].Err
}

// HoldBatch holds many payments in one transaction. Each request is checked
// on its own (parties, currency, duplicate UETR, the buyer's bank's net
// debit cap, in order, so earlier holds in the batch count against the cap);
// the accepted ones are written together. The returned slice matches reqs.
func (s *Store) HoldBatch(ctx context.Context, reqs []clearing.HoldRequest, by clearing.Actor) ([]Result, error) {
	return s.HoldInstructed(ctx, reqs, nil, by)
}

// HoldInstructed is HoldBatch with what the caller says about each
// request's parties beyond the scheme's records (instr[i] for reqs[i], or
// nil): an API payment's debtor and ultimate parties, screened with the
// hold and kept with its screening.
func (s *Store) HoldInstructed(ctx context.Context, reqs []clearing.HoldRequest, instr []Instruction, by clearing.Actor) ([]Result, error) {
	return s.holdInstructed(ctx, reqs, instr, allBy(by))
}

// holdInstructed is HoldInstructed with each request's own actor (a commit
// group's holds come from many banks).
func (s *Store) holdInstructed(ctx context.Context, reqs []clearing.HoldRequest, instr []Instruction, by actors) ([]Result, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	if len(reqs) > MaxBatch {
		return nil, clearing.Errorf(clearing.Invalid, "batch_too_large", "payments", "at most %d per batch, got %d", MaxBatch, len(reqs))
	}
	if instr != nil && len(instr) != len(reqs) {
		return nil, fmt.Errorf("%w: %d instructions for %d holds", clearing.ErrInvariant, len(instr), len(reqs))
	}
	for i := range reqs {
		if reqs[i].UETR == "" {
			reqs[i].UETR = uuid.NewString()
		}
	}
	uetrs := make([]string, len(reqs))
	for i, r := range reqs {
		uetrs[i] = r.UETR
	}
	traceUETRs(ctx, uetrs)
	byUETR := map[string]Instruction{}
	for i, in := range instr {
		if _, seen := byUETR[reqs[i].UETR]; !seen { // a repeated UETR is refused as a duplicate: the first one's parties are screened
			byUETR[reqs[i].UETR] = in
		}
	}
	var results []Result
	err := s.inTx(ctx, func(tx bun.Tx) error {
		var err error
		results, err = s.screenedHoldBatchTx(ctx, tx, reqs, byUETR, by)
		return err
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// holdBatchTx is HoldBatch inside the caller's transaction: every request
// has its UETR. merchants, when not nil, are the requests' merchants as
// the caller read them in this transaction (screening did), not read again.
func (s *Store) holdBatchTx(ctx context.Context, tx bun.Tx, reqs []clearing.HoldRequest, merchants map[string]clearing.Merchant, by actors) ([]Result, error) {
	results := make([]Result, len(reqs))
	if len(reqs) == 0 {
		return results, nil
	}
	err := func() error {
		now := s.now()
		cycleID, err := s.openCycleID(ctx, tx)
		if err != nil {
			return err
		}
		if merchants == nil {
			if merchants, err = loadMerchants(ctx, tx, reqs); err != nil {
				return err
			}
		}
		var quoteIDs []string
		for _, r := range reqs {
			if r.QuoteID != "" {
				quoteIDs = append(quoteIDs, r.QuoteID)
			}
		}
		quotes, err := loadQuotes(ctx, tx, quoteIDs)
		if err != nil {
			return err
		}
		parties := map[string]bool{}
		for _, r := range reqs {
			parties[r.BuyerBankID] = true
			m, known := merchants[r.MerchantID]
			if known {
				parties[m.BankID] = true
			}
			if q, ok := quotes[r.QuoteID]; ok {
				parties[q.Provider] = true
			} else if known && r.QuoteID == "" && m.Currency != r.Amount.Currency.Code && s.fx.Provider != "" {
				parties[s.fx.Provider] = true
			}
		}
		// Locking every party in id order makes concurrent batches queue on
		// the same bank instead of both passing its cap, without deadlocks.
		participants, err := s.lockParticipants(ctx, tx, keys(parties))
		if err != nil {
			return err
		}
		existing, err := existingPayments(ctx, tx, reqs)
		if err != nil {
			return err
		}
		ledger, err := loadPositions(ctx, tx, cycleID, reqs)
		if err != nil {
			return err
		}
		h := &holding{s: s, ctx: ctx, tx: tx, existing: existing, merchants: merchants, participants: participants, quotes: quotes, ledger: ledger, now: now}
		var accepted []clearing.Transition
		for i, r := range reqs {
			t, err := h.one(r, by.of(i))
			if err != nil {
				results[i].Err = err
				if p, dup := existing[r.UETR]; dup && p.SameInstruction(r) {
					results[i].Payment, results[i].Same = p, true
				}
				continue
			}
			existing[r.UETR] = t.Payment
			t.Payment.HoldCycleID = cycleID
			results[i].Payment = t.Payment
			accepted = append(accepted, t)
		}
		if len(accepted) == 0 {
			return nil
		}
		rows := make([]paymentRow, len(accepted))
		for i, t := range accepted {
			rows[i] = toPaymentRow(t.Payment)
		}
		if err := insertRows(ctx, s, tx, rows); err != nil {
			return fmt.Errorf("insert payments: %w", err)
		}
		if len(h.made) > 0 {
			if _, err := tx.NewInsert().Model(&h.made).Exec(ctx); err != nil {
				return fmt.Errorf("insert quotes: %w", err)
			}
		}
		if err := s.book(ctx, tx, cycleID, now, accepted); err != nil {
			return err
		}
		if err := s.emit(ctx, tx, now, h.capAlarmEvents(accepted)); err != nil {
			return err
		}
		h.observeCaps(accepted)
		return nil
	}()
	if err != nil {
		return nil, err
	}
	return results, nil
}

// holding is one batch of holds in its transaction: what was loaded and
// locked, and the quotes made at hold time, written with the payments.
type holding struct {
	s            *Store
	ctx          context.Context
	tx           bun.Tx
	existing     map[string]clearing.Payment
	merchants    map[string]clearing.Merchant
	participants map[string]clearing.Participant
	quotes       map[string]clearing.FXQuote
	ledger       positions
	now          time.Time
	made         []quoteRow
	mids         clearing.MidRates // mid rates for multi-currency caps, looked up once per batch
}

// one checks and books one hold: same-currency (clearing.Hold), or
// cross-currency at the request's quote or at a quote made now from the
// book (clearing.HoldFX). The buyer's bank's cap is checked in the currency
// it pays, and a quote is claimed last, only for a hold that is accepted.
func (h *holding) one(r clearing.HoldRequest, by clearing.Actor) (clearing.Transition, error) {
	if _, dup := h.existing[r.UETR]; dup {
		return clearing.Transition{}, clearing.Errorf(clearing.Conflict, "duplicate_uetr", "uetr", "a payment with UETR %s already exists", r.UETR)
	}
	buyer, ok := h.participants[r.BuyerBankID]
	if !ok {
		return clearing.Transition{}, clearing.Errorf(clearing.Invalid, "unknown_participant", "buyer_bank_id", "no bank %q", r.BuyerBankID)
	}
	m, ok := h.merchants[r.MerchantID]
	if !ok {
		return clearing.Transition{}, clearing.Errorf(clearing.Invalid, "unknown_merchant", "merchant_id", "no merchant %q", r.MerchantID)
	}
	ccy := r.Amount.Currency.Code
	var (
		t     clearing.Transition
		err   error
		claim func() error
	)
	switch {
	case r.QuoteID == "" && m.Currency == ccy:
		t, err = clearing.Hold(r, buyer, m, h.participants[m.BankID], by, h.now, h.s.releaseAfter)
	case r.QuoteID != "":
		q, ok := h.quotes[r.QuoteID]
		if !ok {
			return clearing.Transition{}, clearing.UnknownQuote(r.QuoteID)
		}
		t, err = clearing.HoldFX(r, q, h.participants[q.Provider], buyer, m, h.participants[m.BankID], h.s.fx.ResultChargedTo, by, h.now, h.s.releaseAfter)
		if err == nil && q.PaymentID != "" {
			err = quoteUsed(q.ID)
		}
		claim = func() error { return claimQuote(h.ctx, h.tx, q.ID, r.UETR) }
	default:
		if !h.s.fxReady() {
			return clearing.Transition{}, clearing.Errorf(clearing.Invalid, "currency_mismatch", "currency",
				"merchant %s settles in %s, payment is in %s, and cross-currency payments are not available here (no FX rate book or provider is configured)", m.ID, m.Currency, ccy)
		}
		if err := h.s.checkProvider(h.participants, ccy, m.Currency, "currency"); err != nil {
			return clearing.Transition{}, err
		}
		q, err := h.s.newQuote(r.Amount, m.Currency, buyer.ID, h.now, "currency", "amount")
		if err != nil {
			return clearing.Transition{}, err
		}
		if t, err = clearing.HoldFX(r, q, h.participants[q.Provider], buyer, m, h.participants[m.BankID], h.s.fx.ResultChargedTo, by, h.now, h.s.releaseAfter); err != nil {
			return clearing.Transition{}, err
		}
		q.PaymentID = r.UETR
		row, err := toQuoteRow(q)
		if err != nil {
			return clearing.Transition{}, err
		}
		claim = func() error { h.made = append(h.made, row); return nil }
	}
	if err != nil {
		return clearing.Transition{}, err
	}
	settles, _ := buyer.Settles(ccy)
	k := positionKey{buyer.ID, ccy}
	if err := clearing.CheckNetDebitCap(buyer.ID, settles, h.ledger[k].net(), r.Amount.Minor); err != nil {
		return clearing.Transition{}, err
	}
	if err := h.checkTotalCap(buyer, r.Amount, t.Postings); err != nil {
		return clearing.Transition{}, err
	}
	if claim != nil {
		if err := claim(); err != nil {
			return clearing.Transition{}, err
		}
	}
	h.ledger.apply(t.Postings)
	return t, nil
}

// checkTotalCap checks the buyer's bank's multi-currency net debit cap, if
// it has one: its positions in every currency (the batch's earlier holds
// included) are converted into the cap's currency at the book's mid rates
// without and with the hold's postings. The bank's row is locked, so racing
// holds queue here as they do for the per-currency caps.
func (h *holding) checkTotalCap(bank clearing.Participant, amount fx.Amount, postings []clearing.Posting) error {
	if !bank.NetDebitCapTotal.Set() {
		return nil
	}
	before := map[string]int64{}
	for k, f := range h.ledger {
		if k.owner == bank.ID {
			before[k.currency] = f.net()
		}
	}
	after := maps.Clone(before)
	for _, p := range postings {
		if p.Debit == bank.ID {
			after[p.Currency] -= p.AmountMinor
		}
		if p.Credit == bank.ID {
			after[p.Currency] += p.AmountMinor
		}
	}
	if h.mids == nil {
		h.mids = h.s.midRates(h.now)
	}
	ccy := bank.NetDebitCapTotal.Currency
	return clearing.CheckNetDebitCapTotal(bank, amount, clearing.NewExposure(bank.ID, ccy, before, h.mids), clearing.NewExposure(bank.ID, ccy, after, h.mids))
}

// Act runs one action on one payment.
func (s *Store) Act(ctx context.Context, id string, a clearing.Action, by clearing.Actor) (clearing.Payment, error) {
	res, err := s.ActBatch(ctx, []ActRequest{{PaymentID: id, Action: a, By: by}})
	if err != nil {
		return clearing.Payment{}, err
	}
	return res[0].Payment, res[0].Err
}

// ActRequest is one action in a batch.
type ActRequest struct {
	PaymentID string
	Action    clearing.Action
	By        clearing.Actor
}

// ActBatch applies actions in order in one transaction; actions on the
// same payment see each other. Each refusal is reported on its own item and
// changes nothing; the accepted ones are written together. On PostgreSQL
// the payments are locked, so when two requests race on one payment the
// second sees the first's outcome: exactly one wins.
func (s *Store) ActBatch(ctx context.Context, reqs []ActRequest) ([]Result, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	if len(reqs) > MaxBatch {
		return nil, clearing.Errorf(clearing.Invalid, "batch_too_large", "actions", "at most %d per batch, got %d", MaxBatch, len(reqs))
	}
	var results []Result
	err := s.inTx(ctx, func(tx bun.Tx) error {
		var err error
		results, _, err = s.actBatchTx(ctx, tx, reqs, s.refundFile)
		return err
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// actBatchTx is ActBatch inside the caller's transaction. Every refund it
// makes puts refundFile's file (the pacs.004) into the buyer's bank's
// mailbox in the same transaction; it returns those files by payment.
func (s *Store) actBatchTx(ctx context.Context, tx bun.Tx, reqs []ActRequest, refundFile RefundFile) ([]Result, map[string]MailboxFile, error) {
	results := make([]Result, len(reqs))
	now := s.now()
	cycleID, err := s.openCycleID(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	ids := make(map[string]bool, len(reqs))
	for _, r := range reqs {
		ids[r.PaymentID] = true
	}
	current, err := s.lockPayments(ctx, tx, s.forUpdate(tx.NewSelect()).Where("id IN (?)", bun.In(keys(ids))))
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[string]clearing.Payment, len(current))
	uetrs := make([]string, 0, len(current))
	for _, p := range current {
		byID[p.ID] = p
		uetrs = append(uetrs, p.ID) // a payment's id is its UETR
	}
	traceUETRs(ctx, uetrs)
	var changes []clearing.Transition
	for i, r := range reqs {
		p, ok := byID[r.PaymentID]
		if !ok {
			results[i].Err = notFound("payment", "id", r.PaymentID)
			continue
		}
		if err := r.By.Permit(p, r.Action.Kind); err != nil {
			results[i].Err = err
			continue
		}
		a := r.Action
		if p.NeedsFreshRate(a) {
			// The provider converts the refund back at its rate now.
			conv, err := s.conversion(fx.Pair{Base: p.Currency, Quote: p.SellCurrency}, p.FXProviderID, now, "")
			if err != nil {
				results[i].Err = err
				continue
			}
			a.FreshRate = conv.Bid
		}
		t, err := p.Apply(a, r.By, now)
		if err != nil {
			results[i].Err = err
			continue
		}
		byID[p.ID] = t.Payment
		results[i].Payment = t.Payment
		changes = append(changes, t)
	}
	if err := s.writeChanges(ctx, tx, cycleID, now, current, byID, changes); err != nil {
		return nil, nil, err
	}
	files, err := s.putRefundFiles(ctx, tx, changes, refundFile)
	if err != nil {
		return nil, nil, err
	}
	return results, files, nil
}

// ReleaseDue releases up to limit held payments whose deadline has passed,
// oldest deadline first, and returns how many it released. Several workers
// may run it at once: on PostgreSQL each skips the payments another holds.
func (s *Store) ReleaseDue(ctx context.Context, limit int) (int, error) {
	released := 0
	err := s.inTx(ctx, func(tx bun.Tx) error {
		released = 0
		now := s.now()
		cycleID, err := s.openCycleID(ctx, tx)
		if err != nil {
			return err
		}
		q := tx.NewSelect().Where("state = ?", clearing.Held).Where("release_at <= ?", now).OrderExpr("release_at, id").Limit(int64(limit))
		if s.postgres {
			q.For("UPDATE SKIP LOCKED")
		}
		due, err := s.lockPayments(ctx, tx, q)
		if err != nil {
			return err
		}
		byID := make(map[string]clearing.Payment, len(due))
		changes := make([]clearing.Transition, 0, len(due))
		for _, p := range due {
			t, err := p.AutoRelease(now)
			if err != nil {
				return fmt.Errorf("auto-release %s: %w", p.ID, err) // the query selected only due payments
			}
			byID[p.ID] = t.Payment
			changes = append(changes, t)
		}
		released = len(changes)
		return s.writeChanges(ctx, tx, cycleID, now, due, byID, changes)
	})
	return released, err
}

// lockPayments runs q (a select on payments, locked by the caller's choice)
// and returns the payments in id order.
func (s *Store) lockPayments(ctx context.Context, tx bun.Tx, q *bun.SelectQuery) ([]clearing.Payment, error) {
	var rows []paymentRow
	if err := q.Model(&rows).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load payments: %w", err)
	}
	out := make([]clearing.Payment, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// writeChanges stores the final state of every changed payment (checking
// its version did not move underneath) and books the transitions.
func (s *Store) writeChanges(ctx context.Context, tx bun.Tx, cycleID int64, now time.Time, before []clearing.Payment, after map[string]clearing.Payment, changes []clearing.Transition) error {
	if len(changes) == 0 {
		return nil
	}
	var changed []clearing.Payment
	var versions []int64
	for _, old := range before {
		if p := after[old.ID]; p.Version != old.Version {
			changed = append(changed, p)
			versions = append(versions, old.Version)
		}
	}
	if err := s.updatePayments(ctx, tx, changed, versions); err != nil {
		return err
	}
	return s.book(ctx, tx, cycleID, now, changes)
}

// updatePayments writes the mutable columns of many payments in one
// statement (a VALUES list joined on id), each only if its version is still
// the one read: a round trip per batch instead of per payment.
func (s *Store) updatePayments(ctx context.Context, tx bun.Tx, ps []clearing.Payment, versions []int64) error {
	if len(ps) == 0 {
		return nil
	}
	releaseAt := "v.release_at"
	if s.postgres {
		releaseAt = "CAST(v.release_at AS TIMESTAMPTZ)" // VALUES of literals are text to PostgreSQL
	}
	rows := make([][]any, len(ps))
	for i, p := range ps {
		rows[i] = []any{p.ID, versions[i], p.Version, p.State, p.ReleasedMinor, p.RefundedMinor, nullTime(p.ReleaseAt)}
	}
	var sb strings.Builder
	args := withValues(&sb, "v (id, old_version, version, state, released_minor, refunded_minor, release_at)", rows)
	sb.WriteString(" UPDATE payments SET version = v.version, state = v.state, released_minor = v.released_minor, refunded_minor = v.refunded_minor, ")
	sb.WriteString("release_at = " + releaseAt + ", updated_at = ? FROM v WHERE payments.id = v.id AND payments.version = v.old_version")
	args = append(args, ps[0].UpdatedAt)
	res, err := tx.NewRaw(sb.String(), args...).Exec(ctx)
	if err != nil {
		return fmt.Errorf("update %d payments: %w", len(ps), err)
	}
	if n, _ := res.RowsAffected(); n != int64(len(ps)) {
		return clearing.Errorf(clearing.Conflict, "concurrent_update", "id", "%d of %d payments changed while this request ran; retry", int64(len(ps))-n, len(ps))
	}
	return nil
}

// book appends the events and postings of transitions, moves the cycle
// positions by the same postings, in the open cycle, and queues the
// webhook events they cause.
func (s *Store) book(ctx context.Context, tx bun.Tx, cycleID int64, now time.Time, ts []clearing.Transition) error {
	var events []eventRow
	var postings []postingRow
	deltas := positions{}
	for _, t := range ts {
		for _, e := range t.Events {
			events = append(events, toEventRow(e))
		}
		seq := t.Events[len(t.Events)-1].Seq
		for leg, p := range t.Postings {
			postings = append(postings, postingRow{PaymentID: p.PaymentID, Seq: seq, Leg: leg, CycleID: cycleID, Kind: string(p.Kind), Currency: p.Currency,
				Debit: p.Debit, Credit: p.Credit, AmountMinor: p.AmountMinor, At: now})
		}
		deltas.apply(t.Postings)
	}
	if err := insertRows(ctx, s, tx, events); err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	if err := insertRows(ctx, s, tx, postings); err != nil {
		return fmt.Errorf("insert postings: %w", err)
	}
	if err := upsertPositions(ctx, tx, cycleID, deltas); err != nil {
		return err
	}
	return s.emit(ctx, tx, now, paymentWebhookEvents(ts)) // webhooks (webhooks.go), in the same transaction
}

// positionKey is one ledger account: (owner, currency).
type positionKey struct{ owner, currency string }

// flow is what an account paid and received within a cycle, minor units.
type flow struct{ paid, received int64 }

// net is received − paid: negative means the account owes.
func (f flow) net() int64 { return f.received - f.paid }

// positions maps accounts to their flows: either a cycle's running
// positions, or the deltas a transaction adds to them.
type positions map[positionKey]flow

func (ps positions) apply(postings []clearing.Posting) {
	for _, p := range postings {
		d := ps[positionKey{p.Debit, p.Currency}]
		d.paid += p.AmountMinor
		ps[positionKey{p.Debit, p.Currency}] = d
		c := ps[positionKey{p.Credit, p.Currency}]
		c.received += p.AmountMinor
		ps[positionKey{p.Credit, p.Currency}] = c
	}
}

// upsertPositions adds the deltas to the cycle's position rows, in key
// order so that concurrent transactions lock rows in the same order.
func upsertPositions(ctx context.Context, tx bun.Tx, cycleID int64, deltas positions) error {
	if len(deltas) == 0 {
		return nil
	}
	ks := make([]positionKey, 0, len(deltas))
	for k := range deltas {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].owner != ks[j].owner {
			return ks[i].owner < ks[j].owner
		}
		return ks[i].currency < ks[j].currency
	})
	var sb strings.Builder
	args := make([]any, 0, len(ks)*5)
	sb.WriteString("INSERT INTO positions (cycle_id, owner, currency, paid_minor, received_minor) VALUES ")
	for i, k := range ks {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(?, ?, ?, ?, ?)")
		d := deltas[k]
		args = append(args, cycleID, k.owner, k.currency, d.paid, d.received)
	}
	sb.WriteString(" ON CONFLICT (cycle_id, owner, currency) DO UPDATE SET paid_minor = positions.paid_minor + excluded.paid_minor, received_minor = positions.received_minor + excluded.received_minor")
	if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
		return fmt.Errorf("update positions: %w", err)
	}
	return nil
}

// withValues writes "WITH name AS (VALUES (?, …), …)" for rows (each of the
// same width) into sb, for an UPDATE … FROM name of many rows in one
// statement, and returns the rows' values as the statement's arguments.
func withValues(sb *strings.Builder, name string, rows [][]any) []any {
	args := make([]any, 0, len(rows)*len(rows[0]))
	placeholders := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(rows[0])), ", ") + ")"
	sb.WriteString("WITH " + name + " AS (VALUES ")
	for i, row := range rows {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(placeholders)
		args = append(args, row...)
	}
	sb.WriteString(")")
	return args
}

// actors says who made each request of a batch: one actor for all (a batch
// request, a file) or one each (a commit group's holds).
type actors struct {
	all  clearing.Actor
	each []clearing.Actor // when not nil: request i's is each[i]
}

func allBy(a clearing.Actor) actors { return actors{all: a} }

func (a actors) of(i int) clearing.Actor {
	if a.each != nil {
		return a.each[i]
	}
	return a.all
}

// pick is the actors of the requests at idx, in that order.
func (a actors) pick(idx []int) actors {
	if a.each == nil {
		return a
	}
	each := make([]clearing.Actor, len(idx))
	for k, i := range idx {
		each[k] = a.each[i]
	}
	return actors{each: each}
}

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/fx"
)

// LimitsChange changes a participant's caps, the currencies it settles and
// its cap alarm threshold. Fields left nil (or empty) stay as they are.
type LimitsChange struct {
	// Set adds currencies, or changes the cap of those already settled.
	Set []clearing.SettlementCurrency
	// Remove stops settling currencies; refused for a currency still in use.
	Remove []string
	// Total replaces the multi-currency net debit cap; a zero TotalCap
	// removes it.
	Total *clearing.TotalCap
	// AlarmThresholdPct replaces the alarm threshold; 0 turns it off.
	AlarmThresholdPct *int
	// Reason is why, required: it is audited with the old and new values.
	Reason string
}

// empty reports a change that changes nothing.
func (c LimitsChange) empty() bool {
	return len(c.Set) == 0 && len(c.Remove) == 0 && c.Total == nil && c.AlarmThresholdPct == nil
}

// Limits is a participant with its caps and where its open-cycle positions
// stand against them: one CapUsage per settled currency, in code order,
// then any open position in a currency it no longer settles.
type Limits struct {
	Participant clearing.Participant
	CycleID     int64 // the open cycle
	Usage       []clearing.CapUsage
}

// Warnings says what an operator must know about the caps: every cap below
// its current debit (further debits in that currency are refused).
func (l Limits) Warnings() []string {
	var out []string
	for _, u := range l.Usage {
		if u.BelowPosition() {
			c := fx.MustCurrency(u.Currency)
			out = append(out, fmt.Sprintf("the net debit cap of %s %s is below the current debit of %s %s: further debits in %s are refused until the position is back within the cap",
				c.FromMinor(u.CapMinor).Value(), u.Currency, c.FromMinor(u.DebitMinor()).Value(), u.Currency, u.Currency))
		}
	}
	return out
}

// limitsAudit is what the audit log keeps of a limits change: old and new
// values as decimal strings with their currency, and why.
type limitsAudit struct {
	Reason string       `json:"reason"`
	Old    limitsRecord `json:"old"`
	New    limitsRecord `json:"new"`
}

type limitsRecord struct {
	Currencies        map[string]string `json:"currencies"`          // currency → net debit cap
	NetDebitCapTotal  string            `json:"net_debit_cap_total"` // "" is none; else "2000000.00 USD"
	AlarmThresholdPct int               `json:"alarm_threshold_pct"`
}

func recordLimits(p clearing.Participant) limitsRecord {
	r := limitsRecord{Currencies: map[string]string{}, AlarmThresholdPct: p.AlarmThresholdPct}
	for _, c := range p.Currencies {
		r.Currencies[c.Currency] = fx.MustCurrency(c.Currency).FromMinor(c.NetDebitCapMinor).Value()
	}
	if p.NetDebitCapTotal.Set() {
		r.NetDebitCapTotal = p.NetDebitCapTotal.Amount().Value() + " " + p.NetDebitCapTotal.Currency
	}
	return r
}

// UpdateParticipantLimits changes a participant's per-currency caps, the
// currencies it settles, its multi-currency cap and its alarm threshold in
// one transaction that locks the participant's row as holds do, so the
// next hold sees the new caps. Lowering a cap below the current debit is
// allowed: it blocks further debits in that currency, and the answer's
// Warnings say so. Removing a currency is refused while the participant
// has a non-zero position in it (open, or closed and not yet settled),
// held or disputed payments in it, or active merchants settling in it.
// The change is audited as participant.limits with the old and new values
// and the reason.
func (s *Store) UpdateParticipantLimits(ctx context.Context, id string, ch LimitsChange, by clearing.Actor) (Limits, error) {
	if ch.Reason == "" {
		return Limits{}, clearing.Errorf(clearing.Invalid, "reason_required", "reason", "say why the limits change (it is audited)")
	}
	if len(ch.Reason) > clearing.MaxReasonLen {
		return Limits{}, clearing.Errorf(clearing.Invalid, "invalid_reason", "reason", "at most %d characters", clearing.MaxReasonLen)
	}
	if ch.empty() {
		return Limits{}, clearing.Errorf(clearing.Invalid, "nothing_to_change", "", "give currencies, remove_currencies, net_debit_cap_total or alarm_threshold_pct")
	}
	if err := ch.validate(); err != nil {
		return Limits{}, err
	}
	var out Limits
	err := s.inTx(ctx, func(tx bun.Tx) error {
		var err error
		if id, err = participantID(ctx, tx, id); err != nil {
			return err
		}
		ps, err := s.lockParticipants(ctx, tx, []string{id})
		if err != nil {
			return err
		}
		old, ok := ps[id]
		if !ok {
			return notFound("participant", "id", id)
		}
		next, err := ch.apply(old)
		if err != nil {
			return err
		}
		cycleID, err := s.openCycleID(ctx, tx)
		if err != nil {
			return err
		}
		before, err := limitsOf(ctx, tx, old, cycleID)
		if err != nil {
			return err
		}
		for i, ccy := range ch.Remove {
			if err := s.checkRemovable(ctx, tx, id, ccy, fmt.Sprintf("remove_currencies[%d]", i)); err != nil {
				return err
			}
		}
		if len(ch.Remove) > 0 {
			if _, err := tx.NewDelete().Model((*participantCurrencyRow)(nil)).Where("participant_id = ?", id).Where("currency IN (?)", bun.In(ch.Remove)).Exec(ctx); err != nil {
				return fmt.Errorf("remove participant currencies: %w", err)
			}
		}
		for _, c := range ch.Set {
			if _, had := old.Settles(c.Currency); had {
				if _, err := tx.NewUpdate().Model((*participantCurrencyRow)(nil)).Set("net_debit_cap_minor = ?", c.NetDebitCapMinor).
					Where("participant_id = ?", id).Where("currency = ?", c.Currency).Exec(ctx); err != nil {
					return fmt.Errorf("update net debit cap: %w", err)
				}
				continue
			}
			row := participantCurrencyRow{ParticipantID: id, Currency: c.Currency, NetDebitCapMinor: c.NetDebitCapMinor}
			if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
				return fmt.Errorf("add participant currency: %w", err)
			}
		}
		if _, err := tx.NewUpdate().Model((*participantRow)(nil)).
			Set("net_debit_cap_total_minor = ?", next.NetDebitCapTotal.Minor).
			Set("net_debit_cap_total_currency = ?", next.NetDebitCapTotal.Currency).
			Set("alarm_threshold_pct = ?", next.AlarmThresholdPct).
			Where("id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("update participant limits: %w", err)
		}
		detail, err := json.Marshal(limitsAudit{Reason: ch.Reason, Old: recordLimits(old), New: recordLimits(next)})
		if err != nil {
			return err
		}
		if err := s.audit(ctx, tx, by, "participant.limits", id, string(detail)); err != nil {
			return err
		}
		if out, err = limitsOf(ctx, tx, next, cycleID); err != nil {
			return err
		}
		return s.emit(ctx, tx, s.now(), limitAlarmEvents(next.ID, before, out))
	})
	if err != nil {
		return Limits{}, err
	}
	return out, nil
}

// validate checks what a change says on its own, naming the field at fault.
func (ch LimitsChange) validate() error {
	set := map[string]bool{}
	for i, c := range ch.Set {
		field := fmt.Sprintf("currencies[%d]", i)
		if _, err := fx.LookupCurrency(c.Currency); err != nil {
			return clearing.Errorf(clearing.Invalid, "unknown_currency", field+".currency", "%v", err)
		}
		if set[c.Currency] {
			return clearing.Errorf(clearing.Invalid, "duplicate_currency", field+".currency", "%s listed twice", c.Currency)
		}
		set[c.Currency] = true
		if c.NetDebitCapMinor < 0 || c.NetDebitCapMinor > fx.MaxMinor {
			return clearing.Errorf(clearing.Invalid, "invalid_net_debit_cap", field+".net_debit_cap", "must be between 0 and %d minor units", fx.MaxMinor)
		}
	}
	removed := map[string]bool{}
	for i, ccy := range ch.Remove {
		field := fmt.Sprintf("remove_currencies[%d]", i)
		if _, err := fx.LookupCurrency(ccy); err != nil {
			return clearing.Errorf(clearing.Invalid, "unknown_currency", field, "%v", err)
		}
		if set[ccy] {
			return clearing.Errorf(clearing.Invalid, "conflicting_change", field, "%s is both given a cap and removed", ccy)
		}
		if removed[ccy] {
			return clearing.Errorf(clearing.Invalid, "duplicate_currency", field, "%s listed twice", ccy)
		}
		removed[ccy] = true
	}
	if t := ch.Total; t != nil {
		if t.Set() {
			if _, err := fx.LookupCurrency(t.Currency); err != nil {
				return clearing.Errorf(clearing.Invalid, "unknown_currency", "net_debit_cap_total", "%v", err)
			}
			if t.Minor < 0 || t.Minor > fx.MaxMinor {
				return clearing.Errorf(clearing.Invalid, "invalid_net_debit_cap", "net_debit_cap_total", "must be between 0 and %d minor units", fx.MaxMinor)
			}
		} else if t.Minor != 0 {
			return clearing.Errorf(clearing.Invalid, "invalid_net_debit_cap", "net_debit_cap_total", "a cap of %d minor units needs a currency", t.Minor)
		}
	}
	if ch.AlarmThresholdPct != nil {
		return clearing.ValidateAlarmThreshold(*ch.AlarmThresholdPct)
	}
	return nil
}

// apply is p with the change made, checked against what p settles.
func (ch LimitsChange) apply(p clearing.Participant) (clearing.Participant, error) {
	next := p
	next.Currencies = nil
	for _, c := range p.Currencies {
		if !slices.Contains(ch.Remove, c.Currency) {
			next.Currencies = append(next.Currencies, c)
		}
	}
	for i, ccy := range ch.Remove {
		if _, ok := p.Settles(ccy); !ok {
			return p, clearing.Errorf(clearing.Invalid, "currency_not_settled", fmt.Sprintf("remove_currencies[%d]", i), "%s does not settle %s", p.ID, ccy)
		}
	}
	for _, c := range ch.Set {
		if i := slices.IndexFunc(next.Currencies, func(x clearing.SettlementCurrency) bool { return x.Currency == c.Currency }); i >= 0 {
			next.Currencies[i] = c
		} else {
			next.Currencies = append(next.Currencies, c)
		}
	}
	clearing.SortCurrencies(next.Currencies)
	if len(next.Currencies) == 0 {
		return p, clearing.Errorf(clearing.Invalid, "no_currencies", "remove_currencies", "a participant settles at least one currency")
	}
	if len(next.Currencies) > clearing.MaxCurrencies {
		return p, clearing.Errorf(clearing.Invalid, "too_many_currencies", "currencies", "at most %d currencies, got %d", clearing.MaxCurrencies, len(next.Currencies))
	}
	if ch.Total != nil {
		next.NetDebitCapTotal = *ch.Total
	}
	if ch.AlarmThresholdPct != nil {
		next.AlarmThresholdPct = *ch.AlarmThresholdPct
	}
	return next, nil
}

// checkRemovable refuses to stop settling ccy while id still uses it.
func (s *Store) checkRemovable(ctx context.Context, tx bun.Tx, id, ccy, field string) error {
	c := fx.MustCurrency(ccy)
	var open []positionRow
	if err := tx.NewSelect().Model(&open).
		Where("owner = ? AND currency = ? AND paid_minor <> received_minor", id, ccy).
		Where("cycle_id IN (SELECT id FROM cycles WHERE state = ?)", clearing.CycleOpen).Scan(ctx); err != nil {
		return fmt.Errorf("look up positions: %w", err)
	}
	if len(open) > 0 {
		return clearing.Errorf(clearing.Refused, "currency_in_use", field, "cannot remove %s: %s has an open position of %s %s in cycle %d",
			ccy, id, c.FromMinor(open[0].ReceivedMinor-open[0].PaidMinor).Value(), ccy, open[0].CycleID)
	}
	var unsettled []netPositionRow
	if err := tx.NewSelect().Model(&unsettled).
		Where("owner = ? AND currency = ? AND net_minor <> 0 AND settled_at IS NULL", id, ccy).Limit(1).Scan(ctx); err != nil {
		return fmt.Errorf("look up net positions: %w", err)
	}
	if len(unsettled) > 0 {
		return clearing.Errorf(clearing.Refused, "currency_in_use", field, "cannot remove %s: %s's net position of %s %s in cycle %d is not settled yet",
			ccy, id, c.FromMinor(unsettled[0].NetMinor).Value(), ccy, unsettled[0].CycleID)
	}
	held, err := tx.NewSelect().Model((*paymentRow)(nil)).
		Where("state IN (?)", bun.In([]clearing.State{clearing.Held, clearing.Disputed})).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("buyer_bank_id = ? AND (currency = ? OR sell_currency = ?)", id, ccy, ccy).
				WhereOr("merchant_bank_id = ? AND currency = ?", id, ccy)
		}).Count(ctx)
	if err != nil {
		return fmt.Errorf("count held payments: %w", err)
	}
	if held > 0 {
		return clearing.Errorf(clearing.Refused, "currency_in_use", field, "cannot remove %s: %s has %d held or disputed payment(s) in %s", ccy, id, held, ccy)
	}
	merchants, err := tx.NewSelect().Model((*merchantRow)(nil)).
		Where("bank_id = ? AND currency = ? AND status = ?", id, ccy, clearing.Active).Count(ctx)
	if err != nil {
		return fmt.Errorf("count merchants: %w", err)
	}
	if merchants > 0 {
		return clearing.Errorf(clearing.Refused, "currency_in_use", field, "cannot remove %s: %d active merchant(s) of %s settle in %s (suspend them first)", ccy, merchants, id, ccy)
	}
	return nil
}

// ParticipantLimits is a participant with where its open-cycle positions
// stand against its caps (GET /v1/participants/{id}).
func (s *Store) ParticipantLimits(ctx context.Context, id string) (Limits, error) {
	p, err := s.Participant(ctx, id)
	if err != nil {
		return Limits{}, err
	}
	var cycleID int64
	if err := s.conn(ctx).NewSelect().Model((*cycleRow)(nil)).Column("id").Where("state = ?", clearing.CycleOpen).
		OrderExpr("id DESC").Limit(1).Scan(ctx, &cycleID); err != nil && !isNoRows(err) {
		return Limits{}, fmt.Errorf("find open cycle: %w", err)
	}
	return limitsOf(ctx, s.conn(ctx), p, cycleID)
}

// limitsOf reads p's positions in the open cycle against its caps.
func limitsOf(ctx context.Context, db bun.IDB, p clearing.Participant, cycleID int64) (Limits, error) {
	var rows []positionRow
	if err := db.NewSelect().Model(&rows).Where("cycle_id = ? AND owner = ?", cycleID, p.ID).Scan(ctx); err != nil {
		return Limits{}, fmt.Errorf("load positions: %w", err)
	}
	l := Limits{Participant: p, CycleID: cycleID}
	nets := map[string]int64{}
	for _, r := range rows {
		nets[r.Currency] = r.ReceivedMinor - r.PaidMinor
	}
	for _, c := range p.Currencies {
		l.Usage = append(l.Usage, clearing.CapUsage{Currency: c.Currency, CapMinor: c.NetDebitCapMinor, NetMinor: nets[c.Currency]})
		delete(nets, c.Currency)
	}
	var rest []string
	for ccy, net := range nets {
		if net != 0 {
			rest = append(rest, ccy)
		}
	}
	sort.Strings(rest)
	for _, ccy := range rest {
		l.Usage = append(l.Usage, clearing.CapUsage{Currency: ccy, NetMinor: nets[ccy]})
	}
	return l, nil
}

// CapObserver is told where a participant's position in one currency
// stands against its cap, with its alarm threshold, whenever the store has
// both at hand anyway: after every accepted batch of holds, for the buyers'
// banks in the currencies they paid (the metrics of the API use it).
type CapObserver func(participant string, alarmPct int, u clearing.CapUsage)

// ObserveCaps installs fn (nil removes it).
func (s *Store) ObserveCaps(fn CapObserver) {
	if fn == nil {
		s.capObserver.Store(nil)
		return
	}
	s.capObserver.Store(&fn)
}

// debitedCap is a buyer's bank's position in one currency after a batch.
type debitedCap struct {
	bank  clearing.Participant
	usage clearing.CapUsage
}

// debitedCaps are the positions a batch of holds debited, once each, from
// what the batch loaded and booked.
func (h *holding) debitedCaps(accepted []clearing.Transition) []debitedCap {
	var out []debitedCap
	seen := map[positionKey]bool{}
	for _, t := range accepted {
		buyer, ok := h.participants[t.Payment.BuyerBankID]
		if !ok {
			continue
		}
		for _, p := range t.Postings {
			k := positionKey{buyer.ID, p.Currency}
			if p.Debit != buyer.ID || seen[k] {
				continue
			}
			seen[k] = true
			c, _ := buyer.Settles(p.Currency)
			out = append(out, debitedCap{bank: buyer, usage: clearing.CapUsage{Currency: p.Currency, CapMinor: c.NetDebitCapMinor, NetMinor: h.ledger[k].net()}})
		}
	}
	return out
}

// observeCaps reports the buyers' banks' positions after a batch of holds
// from what the batch loaded and booked: no extra query.
func (h *holding) observeCaps(accepted []clearing.Transition) {
	fn := h.s.capObserver.Load()
	if fn == nil {
		return
	}
	for _, d := range h.debitedCaps(accepted) {
		(*fn)(d.bank.ID, d.bank.AlarmThresholdPct, d.usage)
	}
}

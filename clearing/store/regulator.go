package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// The regulator reports' read model: what a closed cycle did, aggregated
// in the database and keyed by the jurisdictions of both sides of each
// payment, so that one query serves every regulator (package
// regulator/reports keeps the groups that touch a jurisdiction). Every
// figure is fixed once the cycle is closed — postings by their cycle,
// escrow as it stood at the close — so a report built late, or built
// again, says the same.

// Sides are the jurisdictions a payment touches: its buyer's bank's and
// its merchant's bank's.
type Sides struct {
	BuyerJurisdiction    string
	MerchantJurisdiction string
}

// Touches reports whether j is either side.
func (s Sides) Touches(j string) bool { return s.BuyerJurisdiction == j || s.MerchantJurisdiction == j }

// CorridorVolume is what was held in the cycle between two banks in one
// currency (the currency escrow holds: the merchant's).
type CorridorVolume struct {
	Sides
	BuyerBank    string
	MerchantBank string
	Currency     string
	Count        int64
	AmountMinor  int64
}

// FXVolume is what cross-currency holds of the cycle converted at one
// locked rate.
type FXVolume struct {
	Sides
	SellCurrency string
	BuyCurrency  string
	Rate         string // as quoted: a decimal, never a float
	Provider     string
	Count        int64
	SellMinor    int64 // what the buyers' banks paid, fee and spread included
	BuyMinor     int64 // what escrow received
}

// FlowVolume is the postings of one kind in one currency in the cycle.
type FlowVolume struct {
	Sides
	Kind        clearing.PostingKind
	Currency    string
	Payments    int64 // distinct payments
	AmountMinor int64
}

// EscrowVolume is what escrow still held at the close for payments of one
// age bucket (see CycleActivity's ageing).
type EscrowVolume struct {
	Sides
	Currency    string
	Bucket      int // index into the ageing limits; len(limits) for older
	Count       int64
	AmountMinor int64
}

// DisputeVolume counts dispute events of the cycle's window: from its
// opening (included) to its close (excluded), which partitions time
// between cycles like the postings.
type DisputeVolume struct {
	Sides
	Currency    string
	Type        clearing.EventType // disputed, dispute_resolved_release, dispute_resolved_refund
	Count       int64
	AmountMinor int64 // opened: the payments' amounts; resolved: what was released or refunded
}

// CycleActivity is the read model of one closed cycle.
type CycleActivity struct {
	Cycle     clearing.Cycle // with its net positions
	Corridors []CorridorVolume
	FX        []FXVolume
	Flows     []FlowVolume
	Escrow    []EscrowVolume
	Disputes  []DisputeVolume
}

// escrowOut are the postings that take money out of escrow for a payment:
// a release, a refund, a cross-currency refund's give-back.
var escrowOut = []clearing.PostingKind{clearing.PostRelease, clearing.PostRefund, clearing.PostFXGiveBack}

// CycleActivity loads what closed cycle id did, for the regulator reports.
// ageing are the upper limits of escrow's age buckets (a payment's age is
// the close time minus its hold time), ascending.
func (s *Store) CycleActivity(ctx context.Context, id int64, ageing []time.Duration) (CycleActivity, error) {
	c, err := s.Cycle(ctx, id)
	if err != nil {
		return CycleActivity{}, err
	}
	if c.State == clearing.CycleOpen {
		return CycleActivity{}, clearing.Errorf(clearing.Refused, "cycle_not_closed", "cycle_id", "cycle %d is still open", id)
	}
	a := CycleActivity{Cycle: c}
	if a.Corridors, err = s.CycleCorridors(ctx, id); err != nil {
		return CycleActivity{}, err
	}
	err = s.conn(ctx).NewRaw(`SELECT p.buyer_jurisdiction, p.merchant_jurisdiction, p.sell_currency, p.currency AS buy_currency,
		p.fx_rate AS rate, p.fx_provider_id AS provider, COUNT(*) AS count, SUM(p.sell_minor) AS sell_minor, SUM(po.amount_minor) AS buy_minor
		FROM postings po JOIN payments p ON p.id = po.payment_id
		WHERE po.cycle_id = ? AND po.kind = ?
		GROUP BY p.buyer_jurisdiction, p.merchant_jurisdiction, p.sell_currency, p.currency, p.fx_rate, p.fx_provider_id
		ORDER BY p.sell_currency, p.currency, p.fx_rate, p.fx_provider_id`, id, clearing.PostFXDelivery).Scan(ctx, &a.FX)
	if err != nil {
		return CycleActivity{}, fmt.Errorf("FX of cycle %d: %w", id, err)
	}
	err = s.conn(ctx).NewRaw(`SELECT p.buyer_jurisdiction, p.merchant_jurisdiction, po.kind, po.currency,
		COUNT(DISTINCT po.payment_id) AS payments, SUM(po.amount_minor) AS amount_minor
		FROM postings po JOIN payments p ON p.id = po.payment_id
		WHERE po.cycle_id = ?
		GROUP BY p.buyer_jurisdiction, p.merchant_jurisdiction, po.kind, po.currency
		ORDER BY po.kind, po.currency`, id).Scan(ctx, &a.Flows)
	if err != nil {
		return CycleActivity{}, fmt.Errorf("flows of cycle %d: %w", id, err)
	}
	if a.Escrow, err = s.escrowAtClose(ctx, c, ageing); err != nil {
		return CycleActivity{}, err
	}
	disputes := []clearing.EventType{clearing.EventDisputed, clearing.EventResolvedRelease, clearing.EventResolvedRefund}
	err = s.conn(ctx).NewRaw(`SELECT p.buyer_jurisdiction, p.merchant_jurisdiction, p.currency, e.type, COUNT(*) AS count,
		SUM(CASE WHEN e.amount_minor > 0 THEN e.amount_minor ELSE p.amount_minor END) AS amount_minor
		FROM payment_events e JOIN payments p ON p.id = e.payment_id
		WHERE e.at >= ? AND e.at < ? AND e.type IN (?)
		GROUP BY p.buyer_jurisdiction, p.merchant_jurisdiction, p.currency, e.type
		ORDER BY e.type, p.currency`, c.OpenedAt, c.ClosedAt, bun.In(disputes)).Scan(ctx, &a.Disputes)
	if err != nil {
		return CycleActivity{}, fmt.Errorf("disputes of cycle %d: %w", id, err)
	}
	return a, nil
}

// CycleCorridors is what was held in cycle id between each pair of banks,
// per currency: the gross obligations that netting collapses. Every hold
// books exactly one posting into escrow: "hold", or "fx_delivery" for a
// cross-currency one; reading holds through the cycle's postings uses the
// postings_cycle index.
func (s *Store) CycleCorridors(ctx context.Context, id int64) ([]CorridorVolume, error) {
	into := []clearing.PostingKind{clearing.PostHold, clearing.PostFXDelivery}
	var out []CorridorVolume
	err := s.conn(ctx).NewRaw(`SELECT p.buyer_jurisdiction, p.merchant_jurisdiction, p.buyer_bank_id AS buyer_bank, p.merchant_bank_id AS merchant_bank,
		p.currency, COUNT(*) AS count, SUM(po.amount_minor) AS amount_minor
		FROM postings po JOIN payments p ON p.id = po.payment_id
		WHERE po.cycle_id = ? AND po.kind IN (?)
		GROUP BY p.buyer_jurisdiction, p.merchant_jurisdiction, p.buyer_bank_id, p.merchant_bank_id, p.currency
		ORDER BY p.buyer_bank_id, p.merchant_bank_id, p.currency`, id, bun.In(into)).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("corridors of cycle %d: %w", id, err)
	}
	return out, nil
}

// escrowAtClose is what escrow held when cycle c closed: payments held in
// c or before, less what left escrow by postings of c or before. Only
// payments still in escrow now, or with postings after c, can have held
// anything then; both sets come from indexes.
func (s *Store) escrowAtClose(ctx context.Context, c clearing.Cycle, ageing []time.Duration) ([]EscrowVolume, error) {
	var bucket strings.Builder
	args := []any{}
	bucket.WriteString("CASE")
	for i, limit := range ageing {
		if i > 0 && limit <= ageing[i-1] {
			return nil, fmt.Errorf("escrow ageing limits must ascend: %v", ageing)
		}
		fmt.Fprintf(&bucket, " WHEN p.created_at > ? THEN %d", i)
		args = append(args, c.ClosedAt.Add(-limit))
	}
	fmt.Fprintf(&bucket, " ELSE %d END", len(ageing))
	args = append(args, c.ID, bun.In(escrowOut), c.ID, clearing.Held, clearing.Disputed, c.ID)
	var out []EscrowVolume
	err := s.conn(ctx).NewRaw(`SELECT buyer_jurisdiction, merchant_jurisdiction, currency, bucket, COUNT(*) AS count, SUM(remaining) AS amount_minor FROM (
		SELECT p.buyer_jurisdiction, p.merchant_jurisdiction, p.currency, `+bucket.String()+` AS bucket,
			p.amount_minor - COALESCE((SELECT SUM(po.amount_minor) FROM postings po
				WHERE po.payment_id = p.id AND po.cycle_id <= ? AND po.kind IN (?)), 0) AS remaining
		FROM payments p
		WHERE p.hold_cycle_id <= ? AND p.id IN (
			SELECT id FROM payments WHERE state IN (?, ?)
			UNION SELECT payment_id FROM postings WHERE cycle_id > ?)
	) t WHERE remaining > 0
	GROUP BY buyer_jurisdiction, merchant_jurisdiction, currency, bucket
	ORDER BY currency, bucket`, args...).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("escrow at the close of cycle %d: %w", c.ID, err)
	}
	return out, nil
}

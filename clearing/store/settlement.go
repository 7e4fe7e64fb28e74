package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// Settlement confirmations: the settlement bank (or the operator) says
// which of the pacs.009s sent for a closed cycle's net positions were
// paid. messages/inbound matches each confirmation to a position from
// SettlementCandidates and marks them with SettlePositions, all of one
// file in one transaction.

// PositionKey names one net position of a closed cycle.
type PositionKey struct {
	CycleID  int64
	Owner    string // the participant
	Currency string
}

// CyclePosition is a net position with its cycle.
type CyclePosition struct {
	CycleID int64
	clearing.NetPosition
}

// Key names the position.
func (p CyclePosition) Key() PositionKey {
	return PositionKey{CycleID: p.CycleID, Owner: p.Participant, Currency: p.Currency}
}

// maxCandidateCycles bounds the settled cycles a confirmation may name
// (by the cycle in its pacs.009 ids) besides the unsettled ones.
const maxCandidateCycles = 1000

// SettlementCandidates lists the net positions a settlement confirmation
// may be about: the participants' non-zero positions of every closed cycle
// not yet settled, and of the cycles given (so that a confirmation of a
// position settled before is recognised). crossclear's own accounts
// (escrow, fees, FX results) get no pacs.009 and are left out.
func (s *Store) SettlementCandidates(ctx context.Context, cycles []int64) ([]CyclePosition, error) {
	if len(cycles) > maxCandidateCycles {
		return nil, clearing.Errorf(clearing.Invalid, "too_many_cycles", "cycles", "at most %d cycles, got %d", maxCandidateCycles, len(cycles))
	}
	var rows []netPositionRow
	q := s.db.NewSelect().Model(&rows).
		Join("JOIN cycles AS c ON c.id = np.cycle_id").
		Join("JOIN participants AS pt ON pt.id = np.owner").
		Where("np.net_minor <> 0").
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			q.Where("c.state = ?", clearing.CycleClosed)
			if len(cycles) > 0 {
				q.WhereOr("np.cycle_id IN (?)", bun.In(cycles))
			}
			return q
		}).
		OrderExpr("np.cycle_id, np.owner, np.currency")
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list positions to settle: %w", err)
	}
	out := make([]CyclePosition, len(rows))
	for i, r := range rows {
		out[i] = CyclePosition{CycleID: r.CycleID, NetPosition: r.domain()}
	}
	return out, nil
}

// SettleResult is what became of one position SettlePositions was given.
type SettleResult struct {
	Position   CyclePosition       // as it is now: when and by whom it was settled
	CycleState clearing.CycleState // its cycle's state once the whole batch is applied
	// Err says why nothing changed: cycle_not_found, cycle_not_closed,
	// position_not_found, or already_settled (before, or by an earlier
	// key of the same batch; Position says when and by whom).
	Err error
}

// SettlePositions marks net positions of closed cycles settled, in order,
// in one transaction; a cycle whose last unsettled position is marked
// becomes settled. note says where the news came from (the audit trail
// keeps it beside every position marked).
func (s *Store) SettlePositions(ctx context.Context, keys []PositionKey, by clearing.Actor, note string) ([]SettleResult, error) {
	if len(keys) > MaxBatch {
		return nil, clearing.Errorf(clearing.Invalid, "batch_too_large", "positions", "at most %d per batch, got %d", MaxBatch, len(keys))
	}
	var results []SettleResult
	err := s.inTx(ctx, func(tx bun.Tx) error {
		results = make([]SettleResult, len(keys))
		now := s.now()
		cycles, err := s.lockCycles(ctx, tx, keys)
		if err != nil {
			return err
		}
		touched := map[int64]bool{}
		for i, k := range keys {
			r := &results[i]
			c, ok := cycles[k.CycleID]
			if !ok {
				r.Err = notFound("cycle", "cycle_id", fmt.Sprint(k.CycleID))
				continue
			}
			if c.State == string(clearing.CycleOpen) {
				r.Err = clearing.Errorf(clearing.Refused, "cycle_not_closed", "cycle_id", "cycle %d is still open: close it first", k.CycleID)
				continue
			}
			var np netPositionRow
			err := tx.NewSelect().Model(&np).Where("cycle_id = ? AND owner = ? AND currency = ?", k.CycleID, k.Owner, k.Currency).Limit(1).Scan(ctx)
			if isNoRows(err) {
				r.Err = clearing.Errorf(clearing.NotFound, "position_not_found", "participant", "cycle %d has no %s position for %s", k.CycleID, k.Currency, k.Owner)
				continue
			}
			if err != nil {
				return fmt.Errorf("load net position: %w", err)
			}
			if !np.SettledAt.IsZero() {
				r.Position = CyclePosition{CycleID: k.CycleID, NetPosition: np.domain()}
				r.Err = clearing.Errorf(clearing.Conflict, "already_settled", "participant", "the %s position of %s in cycle %d was settled at %s by %s",
					k.Currency, k.Owner, k.CycleID, np.SettledAt.Time.UTC().Format("2006-01-02T15:04:05Z"), np.SettledBy)
				continue
			}
			if _, err := tx.NewUpdate().Model((*netPositionRow)(nil)).Set("settled_at = ?", now).Set("settled_by = ?", by.String()).
				Where("cycle_id = ? AND owner = ? AND currency = ?", k.CycleID, k.Owner, k.Currency).Exec(ctx); err != nil {
				return fmt.Errorf("settle position: %w", err)
			}
			np.SettledAt, np.SettledBy = nullTime(now), by.String()
			r.Position = CyclePosition{CycleID: k.CycleID, NetPosition: np.domain()}
			touched[k.CycleID] = true
			if err := s.audit(ctx, tx, by, "cycle.settle_position", fmt.Sprint(k.CycleID), k.Owner+" "+k.Currency+": "+note); err != nil {
				return err
			}
		}
		for id := range touched {
			open, err := tx.NewSelect().Model((*netPositionRow)(nil)).Where("cycle_id = ? AND settled_at IS NULL AND net_minor <> 0", id).Count(ctx)
			if err != nil {
				return fmt.Errorf("count unsettled positions: %w", err)
			}
			if open > 0 {
				continue
			}
			if _, err := tx.NewUpdate().Model((*cycleRow)(nil)).Set("state = ?", clearing.CycleSettled).Set("settled_at = ?", now).Where("id = ?", id).Exec(ctx); err != nil {
				return fmt.Errorf("mark cycle %d settled: %w", id, err)
			}
			c := cycles[id]
			c.State = string(clearing.CycleSettled)
			cycles[id] = c
		}
		for i, k := range keys {
			if c, ok := cycles[k.CycleID]; ok {
				results[i].CycleState = clearing.CycleState(c.State)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// lockCycles loads the cycles keys name, locked on PostgreSQL in id order
// (as SettlePosition locks one), so that settling races queue.
func (s *Store) lockCycles(ctx context.Context, tx bun.Tx, keys []PositionKey) (map[int64]cycleRow, error) {
	ids := make([]int64, 0, len(keys))
	for _, k := range keys {
		ids = append(ids, k.CycleID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make(map[int64]cycleRow, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []cycleRow
	q := tx.NewSelect().Model(&rows).Where("id IN (?)", bun.In(ids)).OrderExpr("id")
	if s.postgres {
		q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("lock cycles: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

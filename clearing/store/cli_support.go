package store

// Additive support for cmd/crossclear and clearing/worker. Nothing here
// changes existing behaviour; the lead may fold it into cycles.go.

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// CloseCycleIfOpen closes cycle id, opens the next and nets id exactly like
// CloseCycle, but only while id is still the open cycle. A caller that
// decided to close from a read that is now stale (a scheduler in another
// process closed id a moment earlier) gets a Conflict "cycle_already_closed"
// instead of closing the cycle that has just opened. CloseCycle cannot give
// that guarantee: it closes whichever cycle is open when it runs.
func (s *Store) CloseCycleIfOpen(ctx context.Context, id int64, by clearing.Actor) (clearing.Cycle, error) {
	err := s.inTx(ctx, func(tx bun.Tx) error {
		now := s.now()
		var open cycleRow
		// Select by id, not by state: on PostgreSQL a transaction that waited
		// for the lock then re-reads the row and sees it closed.
		q := tx.NewSelect().Model(&open).Where("id = ?", id).Limit(1)
		if s.postgres {
			q.For("UPDATE")
		}
		if err := q.Scan(ctx); err != nil {
			if isNoRows(err) {
				return notFound("cycle", "id", fmt.Sprint(id))
			}
			return fmt.Errorf("load cycle %d: %w", id, err)
		}
		if open.State != string(clearing.CycleOpen) {
			return clearing.Errorf(clearing.Conflict, "cycle_already_closed", "", "cycle %d is already %s (closed by %s)", id, open.State, open.ClosedBy)
		}
		res, err := tx.NewUpdate().Model((*cycleRow)(nil)).
			Set("state = ?", clearing.CycleClosed).Set("closed_at = ?", now).Set("closed_by = ?", by.String()).
			Where("id = ?", open.ID).Where("state = ?", clearing.CycleOpen).Exec(ctx)
		if err != nil {
			return fmt.Errorf("close cycle %d: %w", open.ID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return clearing.Errorf(clearing.Conflict, "cycle_already_closed", "", "cycle %d was closed by someone else", open.ID)
		}
		if _, err := tx.NewInsert().Model(&cycleRow{ID: open.ID + 1, State: string(clearing.CycleOpen), OpenedAt: now}).Exec(ctx); err != nil {
			return fmt.Errorf("open cycle %d: %w", open.ID+1, err)
		}
		result, err := netCycle(ctx, tx, open.ID)
		if err != nil {
			return err
		}
		if err := storeResult(ctx, tx, open.ID, result, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, "cycle.close", fmt.Sprint(open.ID), fmt.Sprintf("%d currencies, %d positions", len(result.Currencies), len(result.Positions)))
	})
	if err != nil {
		return clearing.Cycle{}, err
	}
	return s.Cycle(ctx, id)
}

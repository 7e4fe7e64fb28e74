package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// openCycleID returns the open cycle. On PostgreSQL it takes a share lock on
// the cycle row, so a cycle cannot close under a transaction that is
// booking into it: closing waits for the bookings, later bookings see the
// next cycle. If the cycle closed while we waited, the re-read finds the
// next one.
func (s *Store) openCycleID(ctx context.Context, tx bun.Tx) (int64, error) {
	for attempt := 0; attempt < 3; attempt++ {
		var ids []int64
		q := tx.NewSelect().Model((*cycleRow)(nil)).Column("id").Where("state = ?", clearing.CycleOpen)
		if s.postgres {
			q.For("SHARE")
		}
		if err := q.Scan(ctx, &ids); err != nil {
			return 0, fmt.Errorf("find open cycle: %w", err)
		}
		if len(ids) == 1 {
			return ids[0], nil
		}
	}
	return 0, fmt.Errorf("%w: no open settlement cycle (run crossclear migrate)", clearing.ErrInvariant)
}

// lockParticipants loads participants, locked on PostgreSQL in id order.
func (s *Store) lockParticipants(ctx context.Context, tx bun.Tx, ids []string) (map[string]clearing.Participant, error) {
	return loadParticipants(ctx, tx, ids, lockForUpdate)
}

func loadMerchants(ctx context.Context, tx bun.Tx, reqs []clearing.HoldRequest) (map[string]clearing.Merchant, error) {
	ids := map[string]bool{}
	for _, r := range reqs {
		ids[r.MerchantID] = true
	}
	var rows []merchantRow
	if err := tx.NewSelect().Model(&rows).Where("id IN (?)", bun.In(keys(ids))).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load merchants: %w", err)
	}
	out := make(map[string]clearing.Merchant, len(rows))
	for _, r := range rows {
		out[r.ID] = r.domain()
	}
	return out, nil
}

func existingPayments(ctx context.Context, tx bun.Tx, reqs []clearing.HoldRequest) (map[string]clearing.Payment, error) {
	ids := make([]string, len(reqs))
	for i, r := range reqs {
		ids[i] = r.UETR
	}
	var rows []paymentRow
	if err := tx.NewSelect().Model(&rows).Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("look up UETRs: %w", err)
	}
	out := make(map[string]clearing.Payment, len(rows))
	for _, row := range rows {
		out[row.ID] = row.domain()
	}
	return out, nil
}

// loadPositions reads the open cycle's positions of the buyers' banks in
// the currencies of the batch (the accounts whose caps are checked).
func loadPositions(ctx context.Context, tx bun.Tx, cycleID int64, reqs []clearing.HoldRequest) (positions, error) {
	banks := map[string]bool{}
	for _, r := range reqs {
		banks[r.BuyerBankID] = true
	}
	var rows []positionRow
	if err := tx.NewSelect().Model(&rows).Where("cycle_id = ?", cycleID).Where("owner IN (?)", bun.In(keys(banks))).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load positions: %w", err)
	}
	out := make(positions, len(rows))
	for _, r := range rows {
		out[positionKey{r.Owner, r.Currency}] = flow{paid: r.PaidMinor, received: r.ReceivedMinor}
	}
	return out, nil
}

// keys returns a set's members in order.
func keys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

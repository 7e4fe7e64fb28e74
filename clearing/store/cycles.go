package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// CloseCycle closes the open cycle, opens the next and nets the closed one,
// in one transaction. The nets are recomputed from every posting of the
// cycle and must agree with the running positions, and Σ net = 0 per
// currency (clearing.Net checks). It closes whichever cycle is open when it
// runs: what an operator asking "close now" means.
func (s *Store) CloseCycle(ctx context.Context, by clearing.Actor) (clearing.Cycle, error) {
	return s.closeCycle(ctx, 0, by)
}

// CloseCycleIfOpen is CloseCycle for callers that decided to close from an
// earlier read (a scheduler: "cycle 5 is a day old"): it closes cycle id
// only while id is still the open cycle, and otherwise returns Conflict
// "cycle_already_closed" rather than closing the cycle that just opened.
func (s *Store) CloseCycleIfOpen(ctx context.Context, id int64, by clearing.Actor) (clearing.Cycle, error) {
	if id <= 0 {
		return clearing.Cycle{}, notFound("cycle", "id", fmt.Sprint(id))
	}
	return s.closeCycle(ctx, id, by)
}

// CloseCycleByID closes cycle id if it is open and answers with the closed
// cycle either way: closing by id is idempotent by nature, so a close
// retried after a lost answer gets the netting it made and never closes the
// cycle that opened next.
func (s *Store) CloseCycleByID(ctx context.Context, id int64, by clearing.Actor) (clearing.Cycle, error) {
	cy, err := s.CloseCycleIfOpen(ctx, id, by)
	if ce, ok := clearing.AsError(err); ok && ce.Code == "cycle_already_closed" {
		return s.Cycle(ctx, id)
	}
	return cy, err
}

// closeCycle closes cycle id, or the open cycle when id is 0. Only one
// closer can win: the row is locked (PostgreSQL) or the database is
// (SQLite), and the conditional update lets exactly one transaction
// through, so several serve processes may try at once safely.
func (s *Store) closeCycle(ctx context.Context, id int64, by clearing.Actor) (clearing.Cycle, error) {
	var closedID int64
	err := s.inTx(ctx, func(tx bun.Tx) error {
		now := s.now()
		var open cycleRow
		q := tx.NewSelect().Model(&open).Limit(1)
		if id == 0 {
			q.Where("state = ?", clearing.CycleOpen)
		} else {
			// By id, not by state: on PostgreSQL a transaction that waited
			// for the lock re-reads the row and sees it closed.
			q.Where("id = ?", id)
		}
		if s.postgres {
			q.For("UPDATE")
		}
		if err := q.Scan(ctx); err != nil {
			switch {
			case isNoRows(err) && id == 0: // PostgreSQL: another close committed while we waited
				return clearing.Errorf(clearing.Conflict, "cycle_already_closed", "", "the open cycle was closed by someone else")
			case isNoRows(err):
				return notFound("cycle", "id", fmt.Sprint(id))
			}
			return fmt.Errorf("find cycle to close: %w", err)
		}
		if open.State != string(clearing.CycleOpen) {
			return clearing.Errorf(clearing.Conflict, "cycle_already_closed", "", "cycle %d is already %s (closed by %s)", open.ID, open.State, open.ClosedBy)
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
		closedID = open.ID
		return s.audit(ctx, tx, by, "cycle.close", fmt.Sprint(open.ID), fmt.Sprintf("%d currencies, %d positions", len(result.Currencies), len(result.Positions)))
	})
	if err != nil {
		return clearing.Cycle{}, err
	}
	return s.Cycle(ctx, closedID)
}

// netCycle streams the cycle's postings through clearing.Netting and checks
// the nets against the positions kept while booking.
func netCycle(ctx context.Context, tx bun.Tx, cycleID int64) (clearing.NettingResult, error) {
	rows, err := tx.QueryContext(ctx, "SELECT payment_id, kind, currency, debit, credit, amount_minor FROM postings WHERE cycle_id = ?", cycleID)
	if err != nil {
		return clearing.NettingResult{}, fmt.Errorf("read postings of cycle %d: %w", cycleID, err)
	}
	defer rows.Close()
	n := clearing.NewNetting()
	var p clearing.Posting
	for rows.Next() {
		if err := rows.Scan(&p.PaymentID, &p.Kind, &p.Currency, &p.Debit, &p.Credit, &p.AmountMinor); err != nil {
			return clearing.NettingResult{}, fmt.Errorf("scan posting: %w", err)
		}
		if err := n.Add(p); err != nil {
			return clearing.NettingResult{}, err
		}
	}
	if err := rows.Err(); err != nil {
		return clearing.NettingResult{}, fmt.Errorf("read postings of cycle %d: %w", cycleID, err)
	}
	result, err := n.Result()
	if err != nil {
		return clearing.NettingResult{}, fmt.Errorf("net cycle %d: %w", cycleID, err)
	}
	var kept []positionRow
	if err := tx.NewSelect().Model(&kept).Where("cycle_id = ?", cycleID).Scan(ctx); err != nil {
		return clearing.NettingResult{}, fmt.Errorf("read positions of cycle %d: %w", cycleID, err)
	}
	want := make(map[positionKey]flow, len(kept))
	for _, k := range kept {
		want[positionKey{k.Owner, k.Currency}] = flow{paid: k.PaidMinor, received: k.ReceivedMinor}
	}
	for _, np := range result.Positions {
		k := positionKey{np.Participant, np.Currency}
		if got := (flow{paid: np.PaidMinor, received: np.ReceivedMinor}); want[k] != got {
			return clearing.NettingResult{}, fmt.Errorf("%w: cycle %d %s %s: postings give %+v, positions %+v", clearing.ErrInvariant, cycleID, k.owner, k.currency, got, want[k])
		}
		delete(want, k)
	}
	if len(want) > 0 {
		return clearing.NettingResult{}, fmt.Errorf("%w: cycle %d has positions without postings: %v", clearing.ErrInvariant, cycleID, want)
	}
	return result, nil
}

func storeResult(ctx context.Context, tx bun.Tx, cycleID int64, r clearing.NettingResult, now time.Time) error {
	totals, err := json.Marshal(r.Currencies)
	if err != nil {
		return fmt.Errorf("encode totals: %w", err)
	}
	var fxResults []byte
	if len(r.FXResults) > 0 {
		if fxResults, err = json.Marshal(r.FXResults); err != nil {
			return fmt.Errorf("encode FX results: %w", err)
		}
	}
	q := tx.NewUpdate().Model((*cycleRow)(nil)).Set("totals = ?", string(totals)).Set("fx_results = ?", string(fxResults)).Where("id = ?", cycleID)
	if len(r.Positions) == 0 {
		q.Set("state = ?", clearing.CycleSettled).Set("settled_at = ?", now) // nothing to settle
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("store cycle %d totals: %w", cycleID, err)
	}
	if len(r.Positions) == 0 {
		return nil
	}
	rows := make([]netPositionRow, len(r.Positions))
	for i, p := range r.Positions {
		rows[i] = netPositionRow{CycleID: cycleID, Owner: p.Participant, Currency: p.Currency, PaidMinor: p.PaidMinor,
			ReceivedMinor: p.ReceivedMinor, NetMinor: p.NetMinor}
	}
	for start := 0; start < len(rows); start += 1000 {
		chunk := rows[start:min(start+1000, len(rows))]
		if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
			return fmt.Errorf("store net positions of cycle %d: %w", cycleID, err)
		}
	}
	return nil
}

// Cycle loads a cycle with its result once closed.
func (s *Store) Cycle(ctx context.Context, id int64) (clearing.Cycle, error) {
	var row cycleRow
	err := s.conn(ctx).NewSelect().Model(&row).Where("id = ?", id).Limit(1).Scan(ctx)
	if isNoRows(err) {
		return clearing.Cycle{}, notFound("cycle", "id", fmt.Sprint(id))
	}
	if err != nil {
		return clearing.Cycle{}, fmt.Errorf("load cycle %d: %w", id, err)
	}
	return s.cycle(ctx, row)
}

// CurrentCycle is the open cycle.
func (s *Store) CurrentCycle(ctx context.Context) (clearing.Cycle, error) {
	var row cycleRow
	if err := s.conn(ctx).NewSelect().Model(&row).Where("state = ?", clearing.CycleOpen).Limit(1).Scan(ctx); err != nil {
		return clearing.Cycle{}, fmt.Errorf("load open cycle: %w", err)
	}
	return s.cycle(ctx, row)
}

// Cycles lists the most recent cycles, newest first, without net positions.
func (s *Store) Cycles(ctx context.Context, limit int) ([]clearing.Cycle, error) {
	if limit <= 0 || limit > MaxPage {
		limit = 100
	}
	var rows []cycleRow
	if err := s.conn(ctx).NewSelect().Model(&rows).OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list cycles: %w", err)
	}
	out := make([]clearing.Cycle, len(rows))
	for i, r := range rows {
		c, err := cycleHeader(r)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

func cycleHeader(row cycleRow) (clearing.Cycle, error) {
	c := clearing.Cycle{ID: row.ID, State: clearing.CycleState(row.State), OpenedAt: row.OpenedAt.UTC(), ClosedBy: row.ClosedBy}
	if !row.ClosedAt.IsZero() {
		c.ClosedAt = row.ClosedAt.Time.UTC()
	}
	if !row.SettledAt.IsZero() {
		c.SettledAt = row.SettledAt.Time.UTC()
	}
	if row.Totals != "" {
		c.Result = &clearing.NettingResult{}
		if err := json.Unmarshal([]byte(row.Totals), &c.Result.Currencies); err != nil {
			return clearing.Cycle{}, fmt.Errorf("decode cycle %d totals: %w", row.ID, err)
		}
		if row.FXResults != "" {
			if err := json.Unmarshal([]byte(row.FXResults), &c.Result.FXResults); err != nil {
				return clearing.Cycle{}, fmt.Errorf("decode cycle %d FX results: %w", row.ID, err)
			}
		}
	}
	return c, nil
}

func (s *Store) cycle(ctx context.Context, row cycleRow) (clearing.Cycle, error) {
	c, err := cycleHeader(row)
	if err != nil || c.Result == nil {
		return c, err
	}
	var nps []netPositionRow
	if err := s.conn(ctx).NewSelect().Model(&nps).Where("cycle_id = ?", row.ID).OrderExpr("currency, owner").Scan(ctx); err != nil {
		return clearing.Cycle{}, fmt.Errorf("load net positions of cycle %d: %w", row.ID, err)
	}
	c.Result.Positions = make([]clearing.NetPosition, len(nps))
	for i, np := range nps {
		c.Result.Positions[i] = np.domain()
	}
	return c, nil
}

// Position is a participant's standing in the open cycle in one currency.
type Position struct {
	Participant      string
	Currency         string
	PaidMinor        int64
	ReceivedMinor    int64
	NetMinor         int64
	NetDebitCapMinor int64 // 0 for accounts without a cap (the escrow)
	CycleID          int64
	// AlarmThresholdPct is the participant's cap alarm threshold (0: off,
	// and for the operator's accounts).
	AlarmThresholdPct int
}

// Usage is where the position stands against its cap.
func (p Position) Usage() clearing.CapUsage {
	return clearing.CapUsage{Currency: p.Currency, CapMinor: p.NetDebitCapMinor, NetMinor: p.NetMinor}
}

// OpenPositions lists the open cycle's positions of one participant (or of
// every account when participant is empty), with their caps.
func (s *Store) OpenPositions(ctx context.Context, participant string) ([]Position, error) {
	var out []Position
	q := s.conn(ctx).NewSelect().TableExpr("positions AS pos").
		Join("JOIN cycles AS c ON c.id = pos.cycle_id AND c.state = ?", clearing.CycleOpen).
		Join("LEFT JOIN participant_currencies AS pc ON pc.participant_id = pos.owner AND pc.currency = pos.currency").
		ColumnExpr("pos.owner AS participant, pos.currency, pos.paid_minor, pos.received_minor, pos.received_minor - pos.paid_minor AS net_minor").
		Join("LEFT JOIN participants AS pt ON pt.id = pos.owner").
		ColumnExpr("COALESCE(pc.net_debit_cap_minor, 0) AS net_debit_cap_minor, pos.cycle_id").
		ColumnExpr("COALESCE(pt.alarm_threshold_pct, 0) AS alarm_threshold_pct").
		OrderExpr("pos.owner, pos.currency")
	if participant != "" {
		q.Where("pos.owner = ?", participant)
	}
	if err := q.Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("list positions: %w", err)
	}
	return out, nil
}

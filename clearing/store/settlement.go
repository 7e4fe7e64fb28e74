package store

import (
	"context"
	"fmt"
	"slices"
	"time"

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
	q := s.conn(ctx).NewSelect().Model(&rows).
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
	err := s.inTx(ctx, func(tx bun.Tx) (err error) {
		results, err = s.settlePositionsTx(ctx, tx, keys, by, note)
		return err
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// SettlePosition marks one net position of a closed cycle settled (the
// operator's POST /v1/cycles/{id}/settle); unlike a confirmation's items, a
// position settled before is an error (already_settled).
func (s *Store) SettlePosition(ctx context.Context, cycleID int64, owner, currency string, by clearing.Actor) (clearing.Cycle, error) {
	results, err := s.SettlePositions(ctx, []PositionKey{{CycleID: cycleID, Owner: owner, Currency: currency}}, by, "")
	if err != nil {
		return clearing.Cycle{}, err
	}
	if results[0].Err != nil {
		return clearing.Cycle{}, results[0].Err
	}
	return s.Cycle(ctx, cycleID)
}

func (s *Store) settlePositionsTx(ctx context.Context, tx bun.Tx, keys []PositionKey, by clearing.Actor, note string) ([]SettleResult, error) {
	results := make([]SettleResult, len(keys))
	now := s.now()
	cycles, err := s.lockCycles(ctx, tx, keys)
	if err != nil {
		return nil, err
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
			return nil, fmt.Errorf("load net position: %w", err)
		}
		if !np.SettledAt.IsZero() {
			r.Position = CyclePosition{CycleID: k.CycleID, NetPosition: np.domain()}
			r.Err = clearing.Errorf(clearing.Conflict, "already_settled", "participant", "the %s position of %s in cycle %d was settled at %s by %s",
				k.Currency, k.Owner, k.CycleID, np.SettledAt.Time.UTC().Format("2006-01-02T15:04:05Z"), np.SettledBy)
			continue
		}
		if _, err := tx.NewUpdate().Model((*netPositionRow)(nil)).Set("settled_at = ?", now).Set("settled_by = ?", by.String()).
			Where("cycle_id = ? AND owner = ? AND currency = ?", k.CycleID, k.Owner, k.Currency).Exec(ctx); err != nil {
			return nil, fmt.Errorf("settle position: %w", err)
		}
		np.SettledAt, np.SettledBy = nullTime(now), by.String()
		r.Position = CyclePosition{CycleID: k.CycleID, NetPosition: np.domain()}
		touched[k.CycleID] = true
		detail := k.Owner + " " + k.Currency
		if note != "" {
			detail += ": " + note
		}
		if err := s.audit(ctx, tx, by, "cycle.settle_position", fmt.Sprint(k.CycleID), detail); err != nil {
			return nil, err
		}
		if err := s.emitPayouts(ctx, tx, k.CycleID, k.Owner, k.Currency, now); err != nil {
			return nil, err
		}
	}
	for id := range touched {
		open, err := tx.NewSelect().Model((*netPositionRow)(nil)).Where("cycle_id = ? AND settled_at IS NULL AND net_minor <> 0", id).Count(ctx)
		if err != nil {
			return nil, fmt.Errorf("count unsettled positions: %w", err)
		}
		if open > 0 {
			continue
		}
		if _, err := tx.NewUpdate().Model((*cycleRow)(nil)).Set("state = ?", clearing.CycleSettled).Set("settled_at = ?", now).Where("id = ?", id).Exec(ctx); err != nil {
			return nil, fmt.Errorf("mark cycle %d settled: %w", id, err)
		}
		// Banks whose net was zero had nothing to pay: their merchants'
		// payouts are settled with the cycle.
		var zero []netPositionRow
		if err := tx.NewSelect().Model(&zero).Where("cycle_id = ? AND net_minor = 0", id).OrderExpr("owner, currency").Scan(ctx); err != nil {
			return nil, fmt.Errorf("zero positions of cycle %d: %w", id, err)
		}
		for _, np := range zero {
			if err := s.emitPayouts(ctx, tx, id, np.Owner, np.Currency, now); err != nil {
				return nil, err
			}
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
	return results, nil
}

// SettlementFile is a settlement confirmation as received: claimed on
// (sender, MsgId) like a bank's payment file, so that the same file again
// replays its answer and another file reusing the MsgId is refused.
type SettlementFile struct {
	ID         string
	Sender     string // the settlement bank's participant id, or "operator"
	UploadedBy string // the API key's actor
	MsgID      string
	Message    string // "pacs.002.001.10", "camt.054.001.08"
	SHA256     string
	Size       int64
	Status     string // ACSP, PART or RJCT over its items
	Accepted   int
	Rejected   int
	Result     []byte // the API's answer, replayed for the same file
	ReceivedAt time.Time
	// Reply, set by a SettlementAnswer, goes into a bank's mailbox in the
	// same transaction (a funding pacs.009's pacs.002); not stored on the
	// row: the answer in Result names it.
	Reply *MailboxFile
}

type settlementFileRow struct {
	bun.BaseModel `bun:"table:settlement_files,alias:sf"`
	ID            string    `bun:"id,pk"`
	Sender        string    `bun:"sender"`
	UploadedBy    string    `bun:"uploaded_by"`
	MsgID         string    `bun:"msg_id"`
	Message       string    `bun:"message"`
	SHA256        string    `bun:"sha256"`
	Size          int64     `bun:"size"`
	Status        string    `bun:"status"`
	Accepted      int       `bun:"accepted"`
	Rejected      int       `bun:"rejected"`
	Result        string    `bun:"result"`
	ReceivedAt    time.Time `bun:"received_at"`
}

func (r settlementFileRow) domain() SettlementFile {
	return SettlementFile{ID: r.ID, Sender: r.Sender, UploadedBy: r.UploadedBy, MsgID: r.MsgID, Message: r.Message, SHA256: r.SHA256, Size: r.Size,
		Status: r.Status, Accepted: r.Accepted, Rejected: r.Rejected, Result: []byte(r.Result), ReceivedAt: r.ReceivedAt.UTC()}
}

// SettlementFileByMsgID finds the confirmation sender sent under msgID.
func (s *Store) SettlementFileByMsgID(ctx context.Context, sender, msgID string) (SettlementFile, bool, error) {
	var row settlementFileRow
	err := s.conn(ctx).NewSelect().Model(&row).Where("sender = ? AND msg_id = ?", sender, msgID).Limit(1).Scan(ctx)
	if isNoRows(err) {
		return SettlementFile{}, false, nil
	}
	if err != nil {
		return SettlementFile{}, false, fmt.Errorf("load settlement file: %w", err)
	}
	return row.domain(), true, nil
}

// SettlementAnswer builds, inside ReceiveSettlement's transaction, the
// file's final fields (Status, Accepted, Rejected, Result) from what
// became of its positions.
type SettlementAnswer func(results []SettleResult) (SettlementFile, error)

// ReceiveSettlement records a settlement confirmation (or a net debtor's
// funding pacs.009, with its pacs.002 answer as the answer's Reply) and
// marks its positions settled in one transaction. The (sender, MsgId) claim comes
// first: of two concurrent uploads of one MsgId one runs, the other gets
// ErrDuplicateMessage and looks the first up.
func (s *Store) ReceiveSettlement(ctx context.Context, f SettlementFile, keys []PositionKey, by clearing.Actor, note string, answer SettlementAnswer) (SettlementFile, error) {
	if len(keys) > MaxBatch {
		return SettlementFile{}, clearing.Errorf(clearing.Invalid, "batch_too_large", "positions", "at most %d per file, got %d", MaxBatch, len(keys))
	}
	var out SettlementFile
	err := s.inTx(ctx, func(tx bun.Tx) error {
		row := settlementFileRow{ID: f.ID, Sender: f.Sender, UploadedBy: by.String(), MsgID: f.MsgID, Message: f.Message, SHA256: f.SHA256, Size: f.Size,
			Status: "processing", ReceivedAt: s.now()}
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			if isUniqueViolation(err) {
				return ErrDuplicateMessage
			}
			return fmt.Errorf("insert settlement file: %w", err)
		}
		results, err := s.settlePositionsTx(ctx, tx, keys, by, note)
		if err != nil {
			return err
		}
		fin, err := answer(results)
		if err != nil {
			return err
		}
		row.Status, row.Accepted, row.Rejected, row.Result = fin.Status, fin.Accepted, fin.Rejected, string(fin.Result)
		if _, err := tx.NewUpdate().Model(&row).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("update settlement file: %w", err)
		}
		out = row.domain()
		if fin.Reply != nil {
			reply := *fin.Reply
			reply.InReplyTo = f.ID
			written, err := s.putMailboxFiles(ctx, tx, reply)
			if err != nil {
				return err
			}
			out.Reply = &written[0]
		}
		return s.audit(ctx, tx, by, "file.receive", f.ID, fmt.Sprintf("%s %s %s: %d settled, %d not", f.Message, f.Sender, f.MsgID, fin.Accepted, fin.Rejected))
	})
	if err != nil {
		return SettlementFile{}, err
	}
	return out, nil
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

// emitPayouts queues the payout.settled webhooks of a settled position.
func (s *Store) emitPayouts(ctx context.Context, tx bun.Tx, cycleID int64, bank, currency string, at time.Time) error {
	evs, err := payoutWebhookEvents(ctx, tx, cycleID, bank, currency, at)
	if err != nil {
		return err
	}
	return s.emit(ctx, tx, at, evs)
}

package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// The review queue: payments screening held for review wait here, outside
// escrow, until a compliance officer approves (the hold then runs, and may
// still be refused, e.g. at the cap) or rejects them. Either way the
// decision, who made it and why are recorded on the screening and in the
// audit log, and a payment that came in a file gets a pacs.002 answering
// it in its bank's mailbox.

// ReviewFilter narrows the review queue.
type ReviewFilter struct {
	Status string // ScreeningPending when empty; "all" for every status but passes
	Limit  int
}

// Reviews lists payments screening held for review, oldest first: the
// queue in the order it is worked.
func (s *Store) Reviews(ctx context.Context, f ReviewFilter) ([]Screening, error) {
	var rows []screeningRow
	q := s.conn(ctx).NewSelect().Model(&rows).OrderExpr("screened_at, id")
	switch f.Status {
	case "":
		q.Where("status = ?", ScreeningPending)
	case "all":
		q.Where("outcome <> ?", "pass")
	case ScreeningPending, ScreeningApproved, ScreeningApprovalRefused, ScreeningRejected:
		q.Where("status = ?", f.Status).Where("outcome <> ?", "pass")
	default:
		return nil, clearing.Errorf(clearing.Invalid, "invalid_status", "status", "must be pending, approved, approval_refused, rejected or all, got %q", f.Status)
	}
	if f.Limit <= 0 || f.Limit > MaxPage {
		f.Limit = MaxPage
	}
	if err := q.Limit(int64(f.Limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list reviews: %w", err)
	}
	return screenings(rows)
}

func screenings(rows []screeningRow) ([]Screening, error) {
	out := make([]Screening, len(rows))
	for i, r := range rows {
		var err error
		if out[i], err = r.domain(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Screening loads one screening decision.
func (s *Store) Screening(ctx context.Context, id string) (Screening, error) {
	var row screeningRow
	err := s.conn(ctx).NewSelect().Model(&row).Where("id = ?", id).Limit(1).Scan(ctx)
	if isNoRows(err) {
		return Screening{}, notFound("screening", "id", id)
	}
	if err != nil {
		return Screening{}, fmt.Errorf("load screening: %w", err)
	}
	return row.domain()
}

// PaymentScreening is the latest screening of a payment (by UETR): what a
// bank asks after a hold answered pending_review.
func (s *Store) PaymentScreening(ctx context.Context, uetr string) (Screening, error) {
	var row screeningRow
	err := s.conn(ctx).NewSelect().Model(&row).Where("payment_id = ?", uetr).OrderExpr("screened_at DESC, id DESC").Limit(1).Scan(ctx)
	if isNoRows(err) {
		return Screening{}, notFound("screening", "id", uetr)
	}
	if err != nil {
		return Screening{}, fmt.Errorf("load screening: %w", err)
	}
	return row.domain()
}

// ReviewAnswer builds, inside the resolving transaction, the file that
// answers the bank of a resolved review that came in a file (a pacs.002
// for its transaction): sc is the review as resolved; holdErr why the
// hold was refused after approval, nil when it was held or rejected.
type ReviewAnswer func(sc Screening, holdErr error) (MailboxFile, error)

// ApproveReview approves a pending review and holds the payment through
// the normal hold path, in one transaction. The hold may still be
// refused (the bank's cap, a suspended party, an expired quote): the
// review is then closed as approval_refused and holdErr says why; the
// approval itself is recorded either way. The hold is made on behalf of
// whoever asked for it.
func (s *Store) ApproveReview(ctx context.Context, id, comment string, by clearing.Actor, answer ReviewAnswer) (sc Screening, p clearing.Payment, holdErr error, err error) {
	err = s.resolveReview(ctx, id, comment, by, answer, func(tx bun.Tx, sc *Screening) (error, error) {
		requester, err := parseActor(sc.RequestedBy)
		if err != nil {
			return nil, err
		}
		res, err := s.holdBatchTx(ctx, tx, []clearing.HoldRequest{sc.hold}, nil, allBy(requester))
		if err != nil {
			return nil, err
		}
		if holdErr = res[0].Err; holdErr != nil {
			sc.Status, sc.HoldError = ScreeningApprovalRefused, holdErr.Error()
			return holdErr, nil
		}
		sc.Status, p = ScreeningApproved, res[0].Payment
		return nil, nil
	}, &sc)
	if err != nil {
		return Screening{}, clearing.Payment{}, nil, err
	}
	return sc, p, holdErr, nil
}

// RejectReview rejects a pending review: nothing is ever held for it.
func (s *Store) RejectReview(ctx context.Context, id, comment string, by clearing.Actor, answer ReviewAnswer) (Screening, error) {
	var sc Screening
	err := s.resolveReview(ctx, id, comment, by, answer, func(_ bun.Tx, sc *Screening) (error, error) {
		sc.Status = ScreeningRejected
		return nil, nil
	}, &sc)
	return sc, err
}

// resolveReview locks a pending review, lets decide set its new status
// (and say why a hold was refused), records who and why, and answers the
// bank of a file.
func (s *Store) resolveReview(ctx context.Context, id, comment string, by clearing.Actor, answer ReviewAnswer, decide func(bun.Tx, *Screening) (holdErr, err error), out *Screening) error {
	comment = strings.TrimSpace(comment)
	if comment == "" {
		return clearing.Errorf(clearing.Invalid, "comment_required", "comment", "say why: the decision and its reason go into the audit trail")
	}
	if len(comment) > clearing.MaxReasonLen {
		return clearing.Errorf(clearing.Invalid, "invalid_comment", "comment", "at most %d characters", clearing.MaxReasonLen)
	}
	return s.inTx(ctx, func(tx bun.Tx) error {
		var row screeningRow
		err := s.forUpdate(tx.NewSelect().Model(&row).Where("id = ?", id)).Limit(1).Scan(ctx)
		if isNoRows(err) || (err == nil && row.Outcome == "pass") {
			return notFound("review", "id", id)
		}
		if err != nil {
			return fmt.Errorf("load review: %w", err)
		}
		if row.Status != ScreeningPending {
			return clearing.Errorf(clearing.Conflict, "review_resolved", "id", "review %s is already %s (by %s)", id, row.Status, resolver(row))
		}
		sc, err := row.domain()
		if err != nil {
			return err
		}
		holdErr, err := decide(tx, &sc)
		if err != nil {
			return err
		}
		now := s.now()
		sc.ResolvedBy, sc.ResolvedAt, sc.Comment = by.String(), now, comment
		res, err := tx.NewUpdate().Model((*screeningRow)(nil)).Set("status = ?", sc.Status).Set("resolved_by = ?", sc.ResolvedBy).
			Set("resolved_at = ?", now).Set("comment = ?", comment).Set("hold_error = ?", sc.HoldError).
			Where("id = ? AND status = ?", id, ScreeningPending).Exec(ctx)
		if err != nil {
			return fmt.Errorf("resolve review: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return clearing.Errorf(clearing.Conflict, "concurrent_update", "id", "review %s changed while this request ran; retry", id)
		}
		detail := fmt.Sprintf("payment %s %s: %s", sc.PaymentID, sc.Status, comment)
		if sc.HoldError != "" {
			detail += "; the hold was refused: " + sc.HoldError
		}
		action := "screening.approve"
		if sc.Status == ScreeningRejected {
			action = "screening.reject"
		}
		if err := s.audit(ctx, tx, by, action, id, detail); err != nil {
			return err
		}
		if err := s.emit(ctx, tx, now, []webhookEvent{reviewWebhookEvent(sc)}); err != nil {
			return err
		}
		if sc.Origin.Channel == "file" && answer != nil {
			m, err := answer(sc, holdErr)
			if err != nil {
				return fmt.Errorf("answer review %s: %w", id, err)
			}
			m.InReplyTo = sc.Origin.FileID
			if _, err := s.putMailboxFiles(ctx, tx, m); err != nil {
				return err
			}
		}
		*out = sc
		return nil
	})
}

func resolver(r screeningRow) string {
	if r.ResolvedBy == "" {
		return "screening"
	}
	return r.ResolvedBy + " at " + r.ResolvedAt.Time.UTC().Format(time.RFC3339)
}

// parseActor reads back Actor.String.
func parseActor(s string) (clearing.Actor, error) {
	role, subject, ok := strings.Cut(s, ":")
	if !ok {
		return clearing.Actor{}, fmt.Errorf("%w: recorded actor %q", clearing.ErrInvariant, s)
	}
	return clearing.Actor{Role: clearing.Role(role), Subject: subject}, nil
}

// ReviewQueue is how many screenings wait for a compliance officer, and
// since when the oldest has waited (zero when none).
func (s *Store) ReviewQueue(ctx context.Context) (int, time.Time, error) {
	var row struct {
		N      int          `bun:"n"`
		Oldest bun.NullTime `bun:"oldest"`
	}
	err := s.conn(ctx).NewRaw("SELECT COUNT(*) AS n, MIN(screened_at) AS oldest FROM screenings WHERE status = ?", ScreeningPending).Scan(ctx, &row)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("review queue: %w", err)
	}
	return row.N, row.Oldest.Time, nil
}

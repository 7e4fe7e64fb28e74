package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/fx"
)

// Every refund tells the buyer's bank with a file in its mailbox (a
// pacs.004), written in the refund's transaction: a refund is never booked
// without its file, nor a file written for a refund that rolled back. The
// store does not encode ISO 20022 itself; it is given a RefundFile
// (Options.Refunds, messages/inbound builds it) so that the persistence
// layer does not depend on the message formats.

// RefundCause says why a payment was refunded.
type RefundCause string

const (
	RefundRequested    RefundCause = "requested"    // the merchant, its bank or the operator gave the money back
	RefundDispute      RefundCause = "dispute"      // the operator resolved a dispute with a refund
	RefundCancellation RefundCause = "cancellation" // the buyer's bank cancelled it (a camt.056)
)

// Refund is a payment given back to its buyer's bank, as the file telling
// that bank needs it.
type Refund struct {
	Payment  clearing.Payment // after the refund
	Paid     fx.Amount        // what the buyer's bank paid: a cross-currency payment's sell amount
	Returned fx.Amount        // what it gets back now, in the same currency
	At       time.Time
	Cause    RefundCause
	Reason   string // the refund event's reason, for a person
}

// RefundFile builds the file for the buyer's bank's mailbox (BankID, Kind
// and Content set) that reports a refund.
type RefundFile func(Refund) (MailboxFile, error)

// refundOf reads a refund out of a transition; ok is false for anything
// else.
func refundOf(t clearing.Transition) (r Refund, ok bool) {
	last := t.Events[len(t.Events)-1]
	switch last.Type {
	case clearing.EventRefunded:
		r.Cause = RefundRequested
	case clearing.EventResolvedRefund:
		r.Cause = RefundDispute
	default:
		return Refund{}, false
	}
	p := t.Payment
	ccy, paid := p.Currency, p.AmountMinor
	if p.IsFX() {
		ccy, paid = p.SellCurrency, p.SellMinor
	}
	// What the buyer's bank gets back is what the refund's legs credit it
	// in the currency it paid, less what they debit it (an FX gain kept
	// by the bearer of the FX result).
	var returned int64
	for _, leg := range t.Postings {
		if leg.Currency != ccy {
			continue
		}
		if leg.Credit == p.BuyerBankID {
			returned += leg.AmountMinor
		}
		if leg.Debit == p.BuyerBankID {
			returned -= leg.AmountMinor
		}
	}
	c := fx.MustCurrency(ccy)
	r.Payment, r.Paid, r.Returned, r.At, r.Reason = p, c.FromMinor(paid), c.FromMinor(returned), last.At, last.Reason
	return r, true
}

// putRefundFiles writes the file of every refund among changes, built by
// file (none when file is nil), and returns them by payment.
func (s *Store) putRefundFiles(ctx context.Context, tx bun.Tx, changes []clearing.Transition, file RefundFile) (map[string]MailboxFile, error) {
	var files []MailboxFile
	var paymentIDs []string
	for _, t := range changes {
		r, ok := refundOf(t)
		if !ok {
			continue
		}
		if file == nil {
			// Fail closed: a refund the buyer's bank is never told of would
			// leave its books and ours apart.
			return nil, fmt.Errorf("%w: refund of %s: the store was opened without Options.Refunds, so no pacs.004 could tell %s", clearing.ErrInvariant, r.Payment.ID, r.Payment.BuyerBankID)
		}
		if r.Returned.Minor <= 0 {
			return nil, fmt.Errorf("%w: refund of %s returns %s to %s", clearing.ErrInvariant, r.Payment.ID, r.Returned, r.Payment.BuyerBankID)
		}
		f, err := file(r)
		if err != nil {
			return nil, fmt.Errorf("refund file for %s: %w", r.Payment.ID, err)
		}
		files = append(files, f)
		paymentIDs = append(paymentIDs, r.Payment.ID)
	}
	written, err := s.putMailboxFiles(ctx, tx, files...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]MailboxFile, len(written))
	for i, f := range written {
		out[paymentIDs[i]] = f
	}
	return out, nil
}

// Cancellation is one payment a bank asks to cancel: a camt.056 names it
// by its UETR.
type Cancellation struct {
	PaymentID string // the UETR
	Reason    string // recorded on the refund's event
}

// CancellationAnswer builds, inside ReceiveCancellation's transaction,
// the answers to a cancellation request (camt.029s, each with the ID it
// will have chosen with NewFileID("mbx"), so that fin.Result can name
// them) from what became of each payment: results match the
// cancellations, refunds holds the refund file written for each payment
// refunded. fin carries the inbound file's final Status, Accepted,
// Rejected and Result.
type CancellationAnswer func(results []Result, refunds map[string]MailboxFile) (answers []MailboxFile, fin InboundFile, err error)

// cancellationActor refunds what a buyer's bank cancels. Through the API
// only the merchant's side may give money back; a camt.056 from the bank
// that paid is honoured while the money is still in escrow, by crossclear
// on the bank's behalf (the event's reason names the request).
var cancellationActor = clearing.Actor{Role: clearing.RoleSystem, Subject: "cancellation"}

// ReceiveCancellation records a cancellation request in.Sender uploaded
// and answers every payment it names, all in one transaction: a payment
// of the sender still held (or disputed) is refunded, with refundFile's
// file in the sender's mailbox; one released, already refunded, unknown or
// not the sender's is refused (codes already_released, already_refunded,
// payment_not_found). The answers from answer go into the sender's
// mailbox. Like ReceiveFile it claims (sender, MsgId) first and returns
// ErrDuplicateMessage when the MsgId is taken.
func (s *Store) ReceiveCancellation(ctx context.Context, in InboundFile, cs []Cancellation, by clearing.Actor, refundFile RefundFile, answer CancellationAnswer) (InboundFile, error) {
	if len(cs) > MaxBatch {
		return InboundFile{}, clearing.Errorf(clearing.Invalid, "batch_too_large", "TxInf", "at most %d payments per request, got %d", MaxBatch, len(cs))
	}
	if refundFile == nil {
		return InboundFile{}, fmt.Errorf("%w: a cancellation needs the file of its refunds", clearing.ErrInvariant)
	}
	var out InboundFile
	err := s.inTx(ctx, func(tx bun.Tx) error {
		row, err := s.claimInboundFile(ctx, tx, in)
		if err != nil {
			return err
		}
		results, refunds, err := s.cancelTx(ctx, tx, in, cs, refundFile)
		if err != nil {
			return err
		}
		answers, fin, err := answer(results, refunds)
		if err != nil {
			return err
		}
		for i := range answers {
			answers[i].InReplyTo = in.ID
		}
		if answers, err = s.putMailboxFiles(ctx, tx, answers...); err != nil {
			return err
		}
		if len(answers) > 0 {
			row.ReplyID = answers[0].ID
		}
		row.Status, row.Accepted, row.Rejected, row.Result = fin.Status, fin.Accepted, fin.Rejected, string(fin.Result)
		if _, err := tx.NewUpdate().Model(&row).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("update inbound file: %w", err)
		}
		out = row.domain()
		return s.audit(ctx, tx, by, "file.receive", in.ID, fmt.Sprintf("%s %s %s: %d cancelled, %d refused", in.Message, in.Sender, in.MsgID, fin.Accepted, fin.Rejected))
	})
	if err != nil {
		return InboundFile{}, err
	}
	return out, nil
}

// cancelTx decides each cancellation on the locked payments and refunds
// the ones still in escrow through actBatchTx, the one write path of
// escrow actions.
func (s *Store) cancelTx(ctx context.Context, tx bun.Tx, in InboundFile, cs []Cancellation, refundFile RefundFile) ([]Result, map[string]MailboxFile, error) {
	results := make([]Result, len(cs))
	if len(cs) == 0 {
		return results, nil, nil
	}
	ids := make(map[string]bool, len(cs))
	for _, c := range cs {
		ids[c.PaymentID] = true
	}
	current, err := s.lockPayments(ctx, tx, s.forUpdate(tx.NewSelect()).Where("id IN (?)", bun.In(keys(ids))))
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[string]clearing.Payment, len(current))
	for _, p := range current {
		byID[p.ID] = p
	}
	var reqs []ActRequest
	var at []int // at[k]: the cancellation of reqs[k]
	for i, c := range cs {
		p, ok := byID[c.PaymentID]
		switch {
		case !ok || p.BuyerBankID != in.Sender:
			// Another bank's payment reads as none, as on the API.
			results[i].Err = clearing.Errorf(clearing.NotFound, "payment_not_found", "uetr", "%s sent no payment with UETR %s", in.Sender, c.PaymentID)
		case p.State == clearing.Released:
			results[i] = Result{Payment: p, Err: clearing.Errorf(clearing.Refused, "already_released", "uetr",
				"payment %s was released to the merchant on %s", p.ID, p.UpdatedAt.Format(time.RFC3339))}
		case p.State == clearing.Refunded:
			results[i] = Result{Payment: p, Err: clearing.Errorf(clearing.Refused, "already_refunded", "uetr",
				"payment %s was refunded on %s", p.ID, p.UpdatedAt.Format(time.RFC3339))}
		default:
			a := clearing.Action{Kind: clearing.ActionRefund, Reason: c.Reason}
			if p.State == clearing.Disputed {
				a = clearing.Action{Kind: clearing.ActionResolve, Decision: clearing.DecideRefund, Reason: c.Reason}
			}
			results[i].Payment = p
			reqs = append(reqs, ActRequest{PaymentID: p.ID, Action: a, By: cancellationActor})
			at = append(at, i)
		}
	}
	if len(reqs) == 0 {
		return results, nil, nil
	}
	file := func(r Refund) (MailboxFile, error) {
		r.Cause = RefundCancellation
		f, err := refundFile(r)
		f.InReplyTo = in.ID
		return f, err
	}
	acted, refunds, err := s.actBatchTx(ctx, tx, reqs, file)
	if err != nil {
		return nil, nil, err
	}
	for k, r := range acted {
		if r.Err != nil {
			results[at[k]].Err = r.Err // the payment as found stays beside why it was not refunded
			continue
		}
		results[at[k]] = r
	}
	return results, refunds, nil
}

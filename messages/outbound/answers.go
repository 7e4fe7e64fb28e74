package outbound

import (
	"fmt"
	"time"

	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/iso"
)

// Refund is a payment held in escrow going back to the buyer's bank. A
// payment is refunded at most once (a refund ends its escrow), so the
// pacs.004's ids come from its UETR.
type Refund struct {
	Operator string    // crossclear's BIC
	Bank     string    // the buyer's bank: the pacs.004 goes there
	At       time.Time // when it was refunded: CreDtTm, and its day the settlement date

	// The payment as the buyer's bank sent it: its pacs.008's MsgId and
	// message name, EndToEndId, UETR (required), the amount it paid and
	// its settlement date.
	Payment     iso.Original
	PaidAmount  fx.Amount // required
	PaidOn      string    // "2025-03-10", optional
	Amount      fx.Amount
	Reason      string // iso.ReturnCancellation, iso.ReturnRegulatory…
	Explanation string // for a person, at most 500 characters
}

// BuildRefund builds the pacs.004 of a refund.
func BuildRefund(r Refund) (File, error) {
	if r.Payment.UETR == "" {
		return File{}, fmt.Errorf("refund to %s: the payment's UETR is required", r.Bank)
	}
	msgID := id("RF", compact(r.Payment.UETR))
	paid := iso.AmountOf(r.PaidAmount)
	m := &iso.PaymentReturn{
		Header: iso.AppHdr{From: r.Operator, To: r.Bank, BizMsgIdr: msgID, CreDt: iso.DateTime(r.At)},
		MsgID:  msgID, CreDtTm: iso.DateTime(r.At), SettlementMethod: iso.SettleByClearing,
		InstructingAgent: r.Operator, InstructedAgent: r.Bank,
		Returns: []iso.ReturnTx{{
			ReturnID: msgID, Original: r.Payment, OriginalAmount: &paid, OriginalSettlementDate: r.PaidOn,
			Amount: iso.AmountOf(r.Amount), SettlementDate: iso.Date(r.At), Reason: r.Reason, Info: r.Explanation,
		}},
	}
	content, err := m.Encode()
	if err != nil {
		return File{}, fmt.Errorf("pacs.004 refunding %s: %w", r.Payment.UETR, err)
	}
	return File{BankID: r.Bank, Kind: iso.Pacs004v09, Name: msgID + ".xml", Content: content}, nil
}

// Answer is crossclear's answer to one payment of a camt.056: accepted
// (the payment was still held, and is refunded with a pacs.004) or
// refused with a reason (it was released, already refunded, or unknown).
// A camt.056 naming several payments gets an answer for each (SWIFT
// CBPR+ requests name one).
type Answer struct {
	Operator string    // crossclear's BIC
	Bank     string    // the bank that asked (the camt.056's assigner): the camt.029 goes there
	At       time.Time // CreDtTm

	Request *iso.CancellationRequest // the camt.056: its Assgnmt/Id and Case
	Payment iso.CancellationTx       // the payment answered: one of Request.Transactions

	Accepted    bool
	Reason      string // when refused: iso.CancelRefusedByAgent, iso.CancelAlreadyReturned, iso.CancelNoOriginal
	Explanation string // for a person, at most 500 characters
}

// BuildAnswer builds the camt.029 answering one payment of a camt.056.
// Its ids come from the request's assigner, assignment and the payment's
// UETR, so answering the same request again gives the same file.
func BuildAnswer(a Answer) (File, error) {
	if a.Request == nil {
		return File{}, fmt.Errorf("answer to %s: the cancellation request is required", a.Bank)
	}
	msgID := id("CA", compact(uetr("camt.029", a.Bank, a.Request.AssignmentID, a.Payment.Original.UETR)))
	st := echo(a.Payment)
	status := iso.ResolutionCancelled
	if !a.Accepted {
		st.Status, st.Reason, st.Info, status = iso.CancellationRejected, a.Reason, a.Explanation, iso.ResolutionRejected
	}
	m := &iso.Resolution{
		Header:       iso.AppHdr{From: a.Operator, To: a.Bank, BizMsgIdr: msgID, CreDt: iso.DateTime(a.At)},
		AssignmentID: msgID, Assigner: a.Operator, Assignee: a.Bank, CreDtTm: iso.DateTime(a.At),
		Status: status, Transactions: []iso.CancellationStatus{st},
	}
	if a.Request.CaseID != "" && a.Request.CaseCreator != nil && a.Request.CaseCreator.BIC != "" {
		m.CaseID, m.CaseCreator = a.Request.CaseID, a.Request.CaseCreator.BIC
	}
	content, err := m.Encode()
	if err != nil {
		return File{}, fmt.Errorf("camt.029 answering %s of %s: %w", a.Payment.Original.UETR, a.Request.AssignmentID, err)
	}
	return File{BankID: a.Bank, Kind: iso.Camt029v09, Name: msgID + ".xml", Content: content}, nil
}

// echo repeats what the request said about the payment, leaving out what
// the bank wrote in a form the schema refuses (a date-time without an
// offset, an amount with too many decimals, half of OrgnlGrpInf) rather
// than failing the answer.
func echo(t iso.CancellationTx) iso.CancellationStatus {
	st := iso.CancellationStatus{CancellationID: t.CancellationID, Original: t.Original, Status: iso.CancellationAccepted}
	if o := &st.Original; o.MsgID == "" || o.MsgNameID == "" {
		o.MsgID, o.MsgNameID, o.CreDtTm = "", "", "" // OrgnlGrpInf needs both
	} else if _, err := time.Parse(time.RFC3339Nano, o.CreDtTm); err != nil {
		o.CreDtTm = ""
	}
	if t.Amount != nil {
		if amt, err := t.Amount.Parse(); err == nil && amt.Minor > 0 {
			a := iso.AmountOf(amt)
			st.OriginalAmount = &a
		}
	}
	if _, err := time.Parse("2006-01-02", t.SettlementDate); err == nil {
		st.OriginalSettlementDate = t.SettlementDate
	}
	return st
}

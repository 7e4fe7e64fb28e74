package inbound

import (
	"strings"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/messages/iso"
)

// Compliance screening of files: each transaction's parties as the file
// names them go to screening with its hold; a transaction held for review
// is answered PDNG, one rejected RJCT, with the ISO reason screening gave
// (RR04 for sanctions and AML, RR01–RR03 for missing travel-rule data).
// Once a compliance officer resolves the review, ReviewAnswer puts a
// second pacs.002 about that transaction into the bank's mailbox.

// instructions are what the file says about each hold's parties, by UETR.
func instructions(m *iso.Message, in store.InboundFile, holds []clearing.HoldRequest, at []int) map[string]store.Instruction {
	out := make(map[string]store.Instruction, len(holds))
	for k, h := range holds {
		t := &m.Transactions[at[k]]
		var parties []compliance.Party
		add := func(role compliance.Role, p *iso.Party, acct *iso.Account) {
			if p == nil {
				return
			}
			parties = append(parties, compliance.Party{Role: role, Name: p.Name, Country: strings.ToUpper(p.Country), Account: acct.ID(),
				Address: p.Address, BirthDate: p.BirthDate, BirthPlace: p.BirthPlace, ID: p.ID})
		}
		add(compliance.Debtor, t.Debtor, t.DebtorAccount)
		add(compliance.UltimateDebtor, t.UltimateDebtor, nil)
		add(compliance.Creditor, t.Creditor, t.CreditorAccount)
		add(compliance.UltimateCreditor, t.UltimateCreditor, nil)
		out[h.UETR] = store.Instruction{Parties: parties, Origin: store.Origin{Channel: "file", FileID: in.ID, Sender: in.Sender, MsgID: m.MsgID,
			Message: m.Name, InstrID: t.InstrID, EndToEndID: t.EndToEndID, TxID: t.TxID, Amount: t.Amount.Value, Currency: t.Amount.Currency,
			SettlementDate: t.SettlementDate}}
	}
	return out
}

// screened answers a transaction screening kept out of escrow.
func screened(se *store.ScreeningError, tx TxJSON) (iso.TxOutcome, TxJSON) {
	status := iso.StatusRejected
	if se.Pending {
		status = iso.StatusPending
	}
	tx.Status, tx.ScreeningID = status, se.ScreeningID
	tx.Error = &ErrorJSON{Reason: se.ISOReason, Message: se.Error()}
	return iso.TxOutcome{Status: status, Reason: iso.Reason(se.ISOReason), Info: se.Error()}, tx
}

// markPending corrects iso.Reply's report for transactions held for
// review: PDNG with their reason rather than accepted, and the group PDNG
// when nothing was accepted, PART when some were.
func markPending(rep *iso.StatusReport, outcomes []iso.TxOutcome) {
	accepted, pending := 0, 0
	for i := range rep.Transactions {
		switch o := outcomes[i]; o.Status {
		case iso.StatusAccepted:
			accepted++
		case iso.StatusPending:
			pending++
			t := &rep.Transactions[i]
			t.AcceptedAt, t.Reasons = "", []iso.StatusReason{{Code: o.Reason, Info: o.Info}}
		}
	}
	switch {
	case pending == 0:
	case accepted == 0:
		rep.Original.Status = iso.StatusPending
	default:
		rep.Original.Status = iso.StatusPartial
	}
}

// ReviewAnswer answers the bank of a resolved review that came in a file:
// a pacs.002 about that one transaction of the original file — ACSP when
// approval held it, RJCT with the screening's reason when a compliance
// officer rejected it, RJCT with the hold's reason (AM14 at the cap…)
// when approval's hold was refused.
func ReviewAnswer(cfg Config) store.ReviewAnswer {
	if cfg.OperatorBIC == "" {
		cfg.OperatorBIC = DefaultOperatorBIC
	}
	return func(sc store.Screening, holdErr error) (store.MailboxFile, error) {
		o := sc.Origin
		m := &iso.Message{Name: o.Message, MsgID: o.MsgID, Transactions: []iso.Transaction{{InstrID: o.InstrID, EndToEndID: o.EndToEndID, TxID: o.TxID,
			UETR: sc.PaymentID, Amount: iso.Amount{Value: o.Amount, Currency: o.Currency}, SettlementDate: o.SettlementDate}}}
		out := iso.TxOutcome{Status: iso.StatusAccepted}
		switch {
		case sc.Status == store.ScreeningRejected:
			out = iso.TxOutcome{Status: iso.StatusRejected, Reason: iso.Reason(sc.ISOReason),
				Info: "rejected after compliance review (screening " + sc.ID + ")"}
		case holdErr != nil:
			e := holdError(o.Message, &m.Transactions[0], holdErr, clearing.HoldRequest{}, nil)
			out = iso.TxOutcome{Status: iso.StatusRejected, Reason: e.Reason, Info: "approved after compliance review, but the hold was refused: " + e.Error()}
		}
		rep := iso.Reply(m, nil, []iso.TxOutcome{out}, iso.ReplyParams{From: cfg.OperatorBIC, To: o.Sender, MsgID: replyMsgID(sc.ResolvedAt), Now: sc.ResolvedAt})
		content, err := rep.Encode()
		if err != nil {
			return store.MailboxFile{}, err
		}
		return store.MailboxFile{BankID: o.Sender, Kind: iso.Pacs002v10, Content: content}, nil
	}
}

package inbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/outbound"
)

// A camt.056 asks to cancel payments the bank sent. Each payment still in
// escrow (held, partly released, or disputed) is refunded: a pacs.004 and
// a camt.029 accepting the cancellation (ACCR) go into the bank's mailbox.
// Each one that cannot be is refused in a camt.029 (RJCR) with the reason:
// AGNT released to the merchant, ARDT already refunded, NOOR no such
// payment of the bank's. The claim on (bank, Assgnmt/Id), the refunds and
// every answer are one transaction; the same request again gets the first
// answer.
//
// A request that breaks a rule as a whole (no Assgnmt/Id, an assigner or
// AppHdr sender that is not the uploading bank, a whole-group
// cancellation, no payment named) is refused before anything is recorded
// (422 invalid_cancellation). A transaction that breaks one (no or a
// malformed OrgnlUETR, one named twice, a malformed amount) is refused in
// the API's answer with its reason and gets no camt.029: it names no
// payment crossclear can answer for.

// cancelled is the API status of a transaction whose cancellation was
// accepted, refused the one of any other.
const (
	cancelled = iso.CancellationAccepted // ACCR
	refused   = iso.CancellationRejected // RJCR
)

func receiveCancellation(ctx context.Context, st *store.Store, bank string, r *iso.CancellationRequest, raw, sig []byte, cfg Config, by clearing.Actor) (*Result, error) {
	sum := store.SHA256Hex(raw)
	if r.AssignmentID != "" {
		if prev, ok, err := st.InboundFileByMsgID(ctx, bank, r.AssignmentID); err != nil {
			return nil, err
		} else if ok {
			return replayCancellation(prev, sum)
		}
	}
	report := iso.ValidateCancellation(r, iso.Context{Sender: bank})
	if report.Group != nil {
		return nil, &FileError{Code: "invalid_cancellation", Err: report.Group}
	}
	var cs []store.Cancellation
	var at []int // at[k]: the transaction of cs[k]
	byUETR := map[string]iso.CancellationTx{}
	for i, t := range r.Transactions {
		if report.Txs[i] != nil {
			continue
		}
		why := fmt.Sprintf("camt.056 %s from %s", r.AssignmentID, bank)
		if t.Reason != "" {
			why += ": " + t.Reason
		}
		if t.Info != "" {
			why += " " + t.Info
		}
		cs = append(cs, store.Cancellation{PaymentID: t.Original.UETR, Reason: clip(why, maxInfo)})
		at = append(at, i)
		byUETR[t.Original.UETR] = t
	}
	in := store.InboundFile{ID: store.NewFileID("fil"), Sender: bank, MsgID: r.AssignmentID, Message: r.Name, SHA256: sum, Size: int64(len(raw)), Signature: sig}
	refund := func(rf store.Refund) (store.MailboxFile, error) {
		return refundFile(cfg.OperatorBIC, rf, byUETR[rf.Payment.ID].Original)
	}
	var res *Result
	answer := func(results []store.Result, refunds map[string]store.MailboxFile) ([]store.MailboxFile, store.InboundFile, error) {
		now := st.Now()
		txs := make([]TxJSON, len(r.Transactions))
		for i, t := range r.Transactions {
			txs[i] = TxJSON{Index: i, UETR: t.Original.UETR, EndToEndID: t.Original.EndToEndID, Status: refused}
			if e := report.Txs[i]; e != nil {
				txs[i].Error = errJSON(e)
			}
		}
		answers := make([]store.MailboxFile, 0, len(results))
		accepted := 0
		for k, out := range results {
			i := at[k]
			t := r.Transactions[i]
			a := outbound.Answer{Operator: cfg.OperatorBIC, Bank: bank, At: now, Request: r, Payment: t}
			if out.Err == nil {
				a.Accepted = true
				accepted++
				txs[i].Status, txs[i].PaymentID = cancelled, out.Payment.ID
				if f, ok := refunds[out.Payment.ID]; ok {
					txs[i].Refund = &ReplyRef{ID: f.ID, Kind: f.Kind, SHA256: f.SHA256}
				}
			} else {
				e, err := refusal(t, out.Err)
				if err != nil {
					return nil, store.InboundFile{}, err
				}
				a.Reason, a.Explanation = string(e.Reason), clip(e.Msg, maxInfo)
				txs[i].Error = errJSON(e)
			}
			f, err := outbound.BuildAnswer(a)
			if err != nil {
				return nil, store.InboundFile{}, fmt.Errorf("camt.029 for %s: %w", t.Original.UETR, err)
			}
			m := store.MailboxFile{ID: store.NewFileID("mbx"), BankID: bank, Kind: f.Kind, Content: f.Content}
			txs[i].Answer = &ReplyRef{ID: m.ID, Kind: m.Kind, SHA256: store.SHA256Hex(m.Content)}
			answers = append(answers, m)
		}
		status := groupStatus(accepted, len(txs))
		res = &Result{
			File: FileJSON{ID: in.ID, Sender: bank, Kind: iso.KindCancellation, Message: r.Name, MsgID: r.AssignmentID, SHA256: sum, Size: in.Size,
				Status: status, Accepted: accepted, Rejected: len(txs) - accepted, ReceivedAt: now.Format(time.RFC3339Nano)},
			Transactions: txs,
		}
		stored, err := json.Marshal(res)
		if err != nil {
			return nil, store.InboundFile{}, err
		}
		return answers, store.InboundFile{Status: status, Accepted: accepted, Rejected: len(txs) - accepted, Result: stored}, nil
	}
	file, err := st.ReceiveCancellation(ctx, in, cs, by, refund, answer)
	if errors.Is(err, store.ErrDuplicateMessage) {
		prev, ok, lerr := st.InboundFileByMsgID(ctx, bank, r.AssignmentID)
		if lerr != nil || !ok {
			return nil, err
		}
		return replayCancellation(prev, sum)
	}
	if err != nil {
		return nil, err
	}
	res.File.ReceivedAt = file.ReceivedAt.Format(time.RFC3339Nano)
	return res, nil
}

// replayCancellation is replay for a request, whose MsgId is its
// Assgnmt/Id.
func replayCancellation(prev store.InboundFile, sum string) (*Result, error) {
	res, err := replay(prev, sum)
	var fe *FileError
	if errors.As(err, &fe) {
		fe.Err.Element = "Assgnmt/Id"
	}
	return res, err
}

// refusal turns the store's reason for not refunding a payment into the
// camt.029's (ExternalPaymentCancellationRejection1Code).
func refusal(t iso.CancellationTx, err error) (*iso.Error, error) {
	ce, ok := clearing.AsError(err)
	if !ok {
		return nil, err
	}
	reason := iso.CancelRefusedByAgent // a refund the rules refuse now (an FX rate missing…) is crossclear's decision
	switch ce.Code {
	case "payment_not_found":
		reason = iso.CancelNoOriginal
	case "already_refunded":
		reason = iso.CancelAlreadyReturned
	}
	return t.Errorf(iso.Reason(reason), "OrgnlUETR", "%s", ce.Msg), nil
}

// groupStatus sums up a file's answer as a pacs.002 group status would:
// ACSP when every item was accepted, RJCT when none was, PART otherwise.
func groupStatus(accepted, total int) string {
	switch {
	case total > 0 && accepted == total:
		return iso.StatusAccepted
	case accepted == 0:
		return iso.StatusRejected
	}
	return iso.StatusPartial
}

// Package inbound takes in the ISO 20022 files partner banks upload:
// split, decode and validate (messages/iso), hold every valid transaction
// in escrow and answer with a pacs.002 in the bank's mailbox, all in one
// store transaction (store.ReceiveFile). It is idempotent per file on the
// sender's MsgId and per transaction on the UETR.
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
)

// DefaultOperatorBIC is the BIC crossclear signs its files with (From of
// every AppHdr it writes) unless configured otherwise. It is invented.
const DefaultOperatorBIC = "XCLRGB2L"

// Config tunes the inbound path.
type Config struct {
	OperatorBIC string     // default DefaultOperatorBIC
	Limits      iso.Limits // default iso.DefaultLimits
	Signature   []byte     // the upload's detached signature (FILE.sig JSON); nil for none
	// SettlementBankBIC is the bank whose settlement confirmations (a
	// pacs.002 or camt.054 about crossclear's pacs.009s) mark net positions
	// settled; "" lets only the operator upload them.
	SettlementBankBIC string
}

// Result is the answer to an upload, as the API shows it (and replays it
// for an identical re-upload).
type Result struct {
	File         FileJSON  `json:"file"`
	Reply        *ReplyRef `json:"reply,omitempty"` // the pacs.002 answering a payment file or a funding pacs.009
	Transactions []TxJSON  `json:"transactions"`    // a payment file's or a cancellation request's
	// Settlements are a settlement confirmation's items (settlement.go).
	Settlements []SettlementJSON `json:"settlements,omitempty"`
	Replayed    bool             `json:"-"`
}

// FileJSON describes an inbound file.
type FileJSON struct {
	ID         string     `json:"id"`
	Sender     string     `json:"sender"`
	Kind       iso.Kind   `json:"kind"`
	Message    string     `json:"message"`
	MsgID      string     `json:"msg_id"`
	SHA256     string     `json:"sha256"`
	Size       int64      `json:"size"`
	Status     string     `json:"status"` // ACSP, PART, PDNG or RJCT (the pacs.002 group status)
	Accepted   int        `json:"accepted"`
	Rejected   int        `json:"rejected"`
	Pending    int        `json:"pending,omitempty"` // held for compliance review, not in escrow
	Reason     *ErrorJSON `json:"reason,omitempty"`  // why the whole file was refused
	ReceivedAt string     `json:"received_at"`
}

// ReplyRef names the pacs.002 in the mailbox.
type ReplyRef struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	SHA256 string `json:"sha256"`
}

// TxJSON is one transaction's outcome.
type TxJSON struct {
	Index      int    `json:"index"`
	UETR       string `json:"uetr"`
	EndToEndID string `json:"end_to_end_id"`
	Status     string `json:"status"` // ACSP (held in escrow), PDNG (held for compliance review) or RJCT
	PaymentID  string `json:"payment_id,omitempty"`
	// ScreeningID names the compliance decision that keeps a PDNG or RJCT
	// transaction out of escrow.
	ScreeningID string     `json:"screening_id,omitempty"`
	Error       *ErrorJSON `json:"error,omitempty"`
	// Answer (a camt.029) and Refund (a pacs.004) answer a cancellation
	// request's transaction (cancellation.go).
	Answer *ReplyRef `json:"answer,omitempty"`
	Refund *ReplyRef `json:"refund,omitempty"`
}

// ErrorJSON is an ISO reason with where it applies.
type ErrorJSON struct {
	Reason  string `json:"reason"`
	Element string `json:"element,omitempty"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func errJSON(e *iso.Error) *ErrorJSON {
	return &ErrorJSON{Reason: string(e.Reason), Element: e.Element, Line: e.Line, Message: e.Msg}
}

// FileError is a file refused before anything is recorded: it does not
// split or decode, its message is not one crossclear takes in, or its
// MsgId was used for another file. The API answers it with a 4xx naming
// the line and element.
type FileError struct {
	Code string // "malformed_file", "unsupported_message", "duplicate_message", "file_too_large", "signature_required", "bad_signature", "forbidden", "wrong_sender", "invalid_cancellation"
	Err  *iso.Error
}

func (e *FileError) Error() string { return e.Err.Error() }

// Receive takes in one file uploaded by bank (a participant id), or by
// the operator (by.Role; bank is then ignored): a payment file, a
// cancellation request (cancellation.go), a settlement confirmation
// (settlement.go) or a net debtor's funding pacs.009 (funding.go).
func Receive(ctx context.Context, st *store.Store, bank string, raw []byte, cfg Config, by clearing.Actor) (*Result, error) {
	if cfg.OperatorBIC == "" {
		cfg.OperatorBIC = DefaultOperatorBIC
	}
	var sig []byte
	if by.Role != clearing.RoleOperator { // the operator has no registered keys: its API key vouches for it
		var err error
		if sig, err = verifySignature(ctx, st, bank, raw, cfg.Signature); err != nil {
			return nil, err
		}
	}
	f, err := iso.DecodeFileBytes(raw, cfg.Limits)
	if err != nil {
		e, ok := iso.AsError(err)
		if !ok {
			return nil, err
		}
		code := "malformed_file"
		if errors.Is(err, iso.ErrUnsupported) {
			code = "unsupported_message"
		}
		return nil, &FileError{Code: code, Err: e}
	}
	if err := mayUpload(f, bank, cfg, by); err != nil {
		return nil, err
	}
	switch f.Kind {
	case iso.KindCancellation:
		return receiveCancellation(ctx, st, bank, f.Cancellation, raw, sig, cfg, by)
	case iso.KindSettlement:
		return receiveSettlement(ctx, st, bank, f.Settlement, raw, cfg, by)
	case iso.KindFunding:
		return receiveFunding(ctx, st, bank, f.Funding, raw, cfg, by)
	}
	m := f.Payment
	sum := store.SHA256Hex(raw)
	if m.MsgID != "" {
		if prev, ok, err := st.InboundFileByMsgID(ctx, bank, m.MsgID); err != nil {
			return nil, err
		} else if ok {
			return replay(prev, sum)
		}
	}
	dir, err := newDirectory(ctx, st)
	if err != nil {
		return nil, err
	}
	report := iso.Validate(m, iso.Context{Sender: bank, Directory: dir})
	if dir.err != nil {
		return nil, dir.err
	}
	if report.Group != nil && report.Group.Reason == iso.ReasonMissing && m.MsgID == "" {
		// Without a MsgId there is nothing to answer to.
		return nil, &FileError{Code: "malformed_file", Err: report.Group}
	}
	var holds []clearing.HoldRequest
	var at []int // at[k]: the transaction of holds[k]
	if report.Group == nil {
		for i, r := range report.Txs {
			if r.Err != nil {
				continue
			}
			t := &m.Transactions[i]
			holds = append(holds, clearing.HoldRequest{UETR: t.UETR, EndToEndID: t.EndToEndID, Reference: t.Reference(),
				BuyerBankID: r.BuyerBank, MerchantID: r.Merchant, Amount: r.Amount})
			at = append(at, i)
		}
	}
	in := store.InboundFile{ID: store.NewFileID("fil"), Sender: bank, MsgID: m.MsgID, Message: m.Name, SHA256: sum, Size: int64(len(raw)), Signature: sig}
	in.Screening = instructions(m, in, holds, at)
	var res *Result
	reply := func(results []store.Result, existing map[string]clearing.Payment) (store.MailboxFile, store.InboundFile, error) {
		outcomes := make([]iso.TxOutcome, len(m.Transactions))
		txs := make([]TxJSON, len(m.Transactions))
		for i := range m.Transactions {
			t := &m.Transactions[i]
			txs[i] = TxJSON{Index: i, UETR: t.UETR, EndToEndID: t.EndToEndID, Status: iso.StatusRejected}
			if report.Group != nil {
				txs[i].Error = errJSON(report.Group)
				continue
			}
			if e := report.Txs[i].Err; e != nil {
				outcomes[i] = iso.TxOutcome{Status: iso.StatusRejected, Reason: e.Reason, Info: e.Error()}
				txs[i].Error = errJSON(e)
			}
		}
		for k, r := range results {
			i := at[k]
			t := &m.Transactions[i]
			if se, ok := store.AsScreeningError(r.Err); ok {
				outcomes[i], txs[i] = screened(se, txs[i])
				continue
			}
			e := holdError(m.Name, t, r.Err, holds[k], existing)
			if e == nil {
				outcomes[i] = iso.TxOutcome{Status: iso.StatusAccepted}
				txs[i].Status, txs[i].PaymentID = iso.StatusAccepted, t.UETR
				continue
			}
			outcomes[i] = iso.TxOutcome{Status: iso.StatusRejected, Reason: e.Reason, Info: e.Error()}
			txs[i].Error = errJSON(e)
		}
		now := st.Now()
		rep := iso.Reply(m, report.Group, outcomes, iso.ReplyParams{From: cfg.OperatorBIC, To: bank, MsgID: replyMsgID(now), Now: now})
		if report.Group == nil {
			markPending(rep, outcomes)
		}
		content, err := rep.Encode()
		if err != nil {
			return store.MailboxFile{}, store.InboundFile{}, fmt.Errorf("encode pacs.002: %w", err)
		}
		accepted, pending := 0, 0
		for _, t := range txs {
			switch t.Status {
			case iso.StatusAccepted:
				accepted++
			case iso.StatusPending:
				pending++
			}
		}
		res = &Result{
			File: FileJSON{ID: in.ID, Sender: bank, Kind: iso.KindPayment, Message: m.Name, MsgID: m.MsgID, SHA256: sum, Size: in.Size, Status: rep.Original.Status,
				Accepted: accepted, Rejected: len(txs) - accepted - pending, Pending: pending, ReceivedAt: now.Format(time.RFC3339Nano)},
			Transactions: txs,
		}
		if report.Group != nil {
			res.File.Reason = errJSON(report.Group)
		}
		mail := store.MailboxFile{BankID: bank, Kind: iso.Pacs002v10, Content: content}
		res.Reply = &ReplyRef{Kind: iso.Pacs002v10, SHA256: store.SHA256Hex(content)}
		return mail, store.InboundFile{Status: rep.Original.Status, Accepted: accepted, Rejected: len(txs) - accepted - pending}, nil
	}
	// The stored answer needs the mailbox id, known only inside the
	// transaction: wrap reply to fill it in before it is written.
	wrapped := func(results []store.Result, existing map[string]clearing.Payment) (store.MailboxFile, store.InboundFile, error) {
		mail, fin, err := reply(results, existing)
		if err != nil {
			return mail, fin, err
		}
		fin.Result, err = json.Marshal(res)
		return mail, fin, err
	}
	file, mail, _, err := st.ReceiveFile(ctx, in, holds, by, wrapped)
	if errors.Is(err, store.ErrDuplicateMessage) {
		prev, ok, lerr := st.InboundFileByMsgID(ctx, bank, m.MsgID)
		if lerr != nil || !ok {
			return nil, err
		}
		return replay(prev, sum)
	}
	if err != nil {
		return nil, err
	}
	res.Reply.ID = mail.ID
	res.File.ReceivedAt = file.ReceivedAt.Format(time.RFC3339Nano)
	return res, nil
}

func replyMsgID(now time.Time) string {
	return "XC" + now.UTC().Format("20060102") + store.NewFileID("")[1:13]
}

// replay answers a re-upload of a MsgId: the same bytes get the first
// answer again (nothing is held twice); other bytes are a different file
// reusing the MsgId, refused with DU01.
func replay(prev store.InboundFile, sum string) (*Result, error) {
	if prev.SHA256 != sum {
		return nil, &FileError{Code: "duplicate_message", Err: &iso.Error{Reason: iso.ReasonDuplicateMsg, Element: "GrpHdr/MsgId",
			Msg: fmt.Sprintf("MsgId %s was used for file %s (received %s) with other content; a new file needs a new MsgId", prev.MsgID, prev.ID, prev.ReceivedAt.Format(time.RFC3339))}}
	}
	var r Result
	if err := json.Unmarshal(prev.Result, &r); err != nil {
		return nil, fmt.Errorf("stored answer of file %s: %w", prev.ID, err)
	}
	if r.Reply != nil && prev.ReplyID != "" { // a funding's answer names its reply itself
		r.Reply.ID = prev.ReplyID
	}
	r.Replayed = true
	return &r, nil
}

// holdError turns the store's refusal of a hold into an ISO reason naming
// the element to fix. A UETR already held for the same payment (same
// buyer's bank, merchant and amount) is not an error: the transaction was
// sent before, and is reported held again without holding twice.
func holdError(msg string, t *iso.Transaction, err error, h clearing.HoldRequest, existing map[string]clearing.Payment) *iso.Error {
	if err == nil {
		return nil
	}
	ce, ok := clearing.AsError(err)
	if !ok {
		return t.Errorf(iso.ReasonNotSpecified, "", "internal error")
	}
	elem, reason := "", iso.ReasonNotSpecified
	switch ce.Code {
	case "duplicate_uetr":
		if p, ok := existing[h.UETR]; ok && p.BuyerBankID == h.BuyerBankID && p.MerchantID == h.MerchantID && sameAmount(p, h) {
			return nil
		}
		return t.Errorf(iso.ReasonDuplicate, "PmtId/UETR", "UETR %s belongs to another payment", h.UETR)
	case "net_debit_cap_exceeded", "net_debit_cap_total_exceeded":
		elem, reason = "IntrBkSttlmAmt", iso.ReasonCapExceeded
	case "participant_suspended":
		elem, reason = "CdtrAgt", iso.ReasonAgentSuspended
		if ce.Field == "buyer_bank_id" {
			elem = "InstgAgt"
		}
	case "merchant_suspended":
		elem, reason = "Cdtr", iso.ReasonForbidden
	case "currency_not_settled", "currency_mismatch", "unknown_currency", "fx_provider_unavailable", "fx_rate_required", "fx_result_currency_not_settled", "same_currency", "exposure_rate_unavailable":
		elem, reason = "IntrBkSttlmAmt", iso.ReasonCurrency
	case "unknown_merchant":
		elem, reason = "CdtrAcct", iso.ReasonCreditorAccount
	case "unknown_participant", "not_a_bank":
		elem, reason = "InstgAgt", iso.ReasonBankIdentifier
	case "invalid_uetr":
		elem, reason = "PmtId/UETR", iso.ReasonFormallyWrong
	case "invalid_end_to_end_id":
		elem, reason = "PmtId/EndToEndId", iso.ReasonFormallyWrong
	case "invalid_reference":
		elem, reason = "RmtInf/Ustrd", iso.ReasonFormallyWrong
	case "amount_not_positive", "amount_too_small":
		elem, reason = "IntrBkSttlmAmt", iso.ReasonInvalidAmount
	}
	if iso.IsPain001(msg) {
		switch elem {
		case "IntrBkSttlmAmt":
			elem = "Amt/InstdAmt"
		case "InstgAgt":
			elem = "../DbtrAgt"
		}
	}
	return t.Errorf(reason, elem, "%s", ce.Msg)
}

func sameAmount(p clearing.Payment, h clearing.HoldRequest) bool {
	if p.IsFX() {
		return p.SellCurrency == h.Amount.Currency.Code && p.SellMinor == h.Amount.Minor
	}
	return p.Currency == h.Amount.Currency.Code && p.AmountMinor == h.Amount.Minor
}

package iso

import (
	"encoding/xml"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/moov-io/iso20022/pkg/camt_v08"
	"github.com/moov-io/iso20022/pkg/camt_v09"
)

// CancellationRequest is a camt.056 (FIToFIPmtCxlReq, .001.08 as SWIFT
// CBPR+ sends it, or .001.09): a bank asks crossclear to cancel payments
// it sent. crossclear refunds a payment still held in escrow (a pacs.004)
// and refuses to cancel one already released; either way it answers with
// a camt.029. Payments are named one by one (Undrlyg/TxInf), each by its
// UETR.
type CancellationRequest struct {
	Name         string           `json:"message"` // camt.056.001.08 or .09
	Header       *AppHdr          `json:"app_hdr,omitempty"`
	AssignmentID string           `json:"assgnmt"` // Assgnmt/Id
	Assigner     *Agent           `json:"assgnr,omitempty"`
	Assignee     *Agent           `json:"assgne,omitempty"`
	CreDtTm      string           `json:"cre_dt_tm,omitempty"`
	CaseID       string           `json:"case,omitempty"`
	CaseCreator  *Agent           `json:"case_cretr,omitempty"`
	Transactions []CancellationTx `json:"transactions"`

	groupCancel []int          // lines of OrgnlGrpInfAndCxl blocks asking to cancel a whole group
	lines       map[string]int // "Assgnmt/Id" → line
}

// CancellationTx is one payment to cancel (TxInf).
type CancellationTx struct {
	Index          int      `json:"index"` // 0-based, in file order
	Line           int      `json:"line"`
	CancellationID string   `json:"cxl_id,omitempty"`
	Original       Original `json:"orgnl"`
	Amount         *Amount  `json:"orgnl_intr_bk_sttlm_amt,omitempty"`
	SettlementDate string   `json:"orgnl_intr_bk_sttlm_dt,omitempty"`
	Reason         string   `json:"rsn,omitempty"` // CxlRsnInf/Rsn: Cd (DUPL, CUST, FRAD…) or Prtry
	Info           string   `json:"addtl_inf,omitempty"`

	prefix string         // "Undrlyg[0]/TxInf[2]"
	lines  map[string]int // element (relative to TxInf) → line
}

// Path names an element of the transaction from the message root.
func (t *CancellationTx) Path(elem string) string {
	if elem == "" {
		return t.prefix
	}
	return t.prefix + "/" + elem
}

// Errorf builds an error about elem of t.
func (t *CancellationTx) Errorf(r Reason, elem, format string, args ...any) *Error {
	line, ok := t.lines[elem]
	if !ok {
		line = t.Line
	}
	return &Error{Reason: r, Element: t.Path(elem), Line: line, Msg: fmt.Sprintf(format, args...)}
}

// DecodeCancellationRequest reads a camt.056.001.08 or .09 with
// moov-io/iso20022, amounts and date-times from the text. A TxInf moov
// cannot decode fails the file: the request is answered as a whole.
func DecodeCancellationRequest(env *Envelope) (*CancellationRequest, error) {
	name := env.MessageName()
	if name != Camt056v08 && name != Camt056v09 {
		return nil, unsupported("Document", env.Line, "%s is not a %s or a %s", name, Camt056v08, Camt056v09)
	}
	r := &CancellationRequest{Name: name, lines: map[string]int{}}
	if env.HeaderXML != nil {
		h, err := decodeHeader(env)
		if err != nil {
			return nil, err
		}
		r.Header = h
	}
	parts, root, err := cut(env.Document, "FIToFIPmtCxlReq", func(p []string) bool {
		return (len(p) == 1 && (p[0] == "Assgnmt" || p[0] == "Case" || p[0] == "Undrlyg")) ||
			(len(p) == 2 && p[0] == "Undrlyg" && p[1] == "TxInf")
	})
	if err != nil {
		return nil, err
	}
	blocks := blocksOf(name)
	undrlyg, inBlock := -1, 0
	for _, p := range parts {
		if err := unmarshalPart(p, name, blocks[p.name]()); err != nil {
			return nil, err
		}
		switch p.name {
		case "Assgnmt":
			r.AssignmentID, r.CreDtTm = p.text("Id"), p.text("CreDtTm")
			r.Assigner, r.Assignee = agentAt(p, "Assgnr"), agentAt(p, "Assgne")
			for k, e := range p.elems {
				r.lines["Assgnmt/"+k] = e.line
			}
			r.lines["Assgnmt"] = p.line
		case "Case":
			r.CaseID, r.CaseCreator = p.text("Id"), agentAt(p, "Cretr")
		case "Undrlyg":
			undrlyg, inBlock = undrlyg+1, 0
			if g := p.text("OrgnlGrpInfAndCxl/GrpCxl"); g == "true" || g == "1" {
				r.groupCancel = append(r.groupCancel, p.elems["OrgnlGrpInfAndCxl/GrpCxl"].line)
			}
		case "TxInf":
			t := CancellationTx{
				Index: len(r.Transactions), Line: p.line, prefix: fmt.Sprintf("Undrlyg[%d]/TxInf[%d]", undrlyg, inBlock), lines: p.lines(),
				CancellationID: p.text("CxlId"), Original: originalAt(p), Amount: optAmount(p, "OrgnlIntrBkSttlmAmt"),
				SettlementDate: p.text("OrgnlIntrBkSttlmDt"), Reason: code(p, "CxlRsnInf/Rsn"), Info: cancellationInfo(p),
			}
			inBlock++
			r.Transactions = append(r.Transactions, t)
		}
	}
	if _, ok := r.lines["Assgnmt"]; !ok {
		return nil, errorf(ReasonFileFormat, "FIToFIPmtCxlReq/Assgnmt", root, "the message has no Assgnmt")
	}
	return r, nil
}

// cancellationInfo joins the AddtlInf lines of the first CxlRsnInf (the
// part already decoded, so this cannot fail on what moov accepted).
func cancellationInfo(p *part) string {
	var x struct {
		Reasons []struct {
			Lines []string `xml:"AddtlInf"`
		} `xml:"CxlRsnInf"`
	}
	if xml.Unmarshal(p.xml, &x) != nil || len(x.Reasons) == 0 {
		return ""
	}
	return strings.Join(x.Reasons[0].Lines, "")
}

// blocksOf are moov-io/iso20022's types for the blocks of a camt.056,
// which check the block's structure as they decode it.
func blocksOf(name string) map[string]func() any {
	if name == Camt056v08 {
		return map[string]func() any{
			"Assgnmt": func() any { return &camt_v08.CaseAssignment5{} }, "Case": func() any { return &camt_v08.Case5{} },
			"Undrlyg": func() any { return &camt_v08.UnderlyingTransaction23{} }, "TxInf": func() any { return &camt_v08.PaymentTransaction106{} },
		}
	}
	return map[string]func() any{
		"Assgnmt": func() any { return &camt_v09.CaseAssignment5{} }, "Case": func() any { return &camt_v09.Case5{} },
		"Undrlyg": func() any { return &camt_v09.UnderlyingTransaction26{} }, "TxInf": func() any { return &camt_v09.PaymentTransaction120{} },
	}
}

// CancellationReport is the outcome of validating a cancellation request:
// a reason the whole request is refused, or one error (nil: the payment
// may be looked up) per transaction, in file order.
type CancellationReport struct {
	Group *Error
	Txs   []*Error
}

// ValidateCancellation applies crossclear's rules to a decoded request:
// the uploading bank (ctx.Sender) is the one that assigns it, and every
// transaction names its payment by a well-formed UETR, once. Whether the
// payment exists, is the sender's and is still held is for the store.
func ValidateCancellation(r *CancellationRequest, ctx Context) CancellationReport {
	rep := CancellationReport{Txs: make([]*Error, len(r.Transactions))}
	grp := func(reason Reason, elem, format string, args ...any) *Error {
		return &Error{Reason: reason, Element: elem, Line: r.lines[elem], Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case r.AssignmentID == "":
		rep.Group = grp(ReasonMissing, "Assgnmt/Id", "the request has no Assgnmt/Id: the answer refers to it")
	case utf8.RuneCountInString(r.AssignmentID) > 35:
		rep.Group = grp(ReasonFormallyWrong, "Assgnmt/Id", "Assgnmt/Id is longer than 35 characters")
	case ctx.Sender != "" && r.Header != nil && !sameBIC(r.Header.From, ctx.Sender):
		rep.Group = &Error{Reason: ReasonBankIdentifier, Element: "AppHdr/Fr/FIId/FinInstnId/BICFI", Msg: fmt.Sprintf("the AppHdr is from %q, but the file was uploaded by %s", r.Header.From, ctx.Sender)}
	case ctx.Sender != "" && (r.Assigner == nil || !sameBIC(r.Assigner.BIC, ctx.Sender)):
		rep.Group = grp(ReasonBankIdentifier, "Assgnmt/Assgnr", "the assigner is %s, but the file was uploaded by %s: a bank cancels only its own payments, naming itself by its BIC in Assgnmt/Assgnr/Agt", r.Assigner, ctx.Sender)
	case len(r.groupCancel) > 0:
		rep.Group = &Error{Reason: ReasonFormallyWrong, Element: "Undrlyg/OrgnlGrpInfAndCxl/GrpCxl", Line: r.groupCancel[0],
			Msg: "crossclear cancels payments one by one, not whole groups: list each payment in Undrlyg/TxInf with its OrgnlUETR"}
	case len(r.Transactions) == 0:
		rep.Group = grp(ReasonMissing, "Assgnmt", "the request names no payment: list each in Undrlyg/TxInf with its OrgnlUETR")
	}
	seen := map[string]int{}
	for i := range r.Transactions {
		t := &r.Transactions[i]
		rep.Txs[i] = validateCancellationTx(t)
		if rep.Txs[i] != nil {
			continue
		}
		if j, dup := seen[t.Original.UETR]; dup {
			rep.Txs[i] = t.Errorf(ReasonDuplicate, "OrgnlUETR", "UETR %s is also the UETR of transaction %d of this request", t.Original.UETR, j)
			continue
		}
		seen[t.Original.UETR] = i
	}
	return rep
}

func validateCancellationTx(t *CancellationTx) *Error {
	o := t.Original
	switch {
	case o.UETR == "":
		return t.Errorf(ReasonMissing, "OrgnlUETR", "OrgnlUETR is required: crossclear finds the payment to cancel by its UETR")
	case !validUETR(o.UETR):
		return t.Errorf(ReasonFormallyWrong, "OrgnlUETR", "%q is not a UETR: a lower-case UUID v4 like 3f2b6c1e-8a4d-4e5f-9b7a-1c2d3e4f5a03", o.UETR)
	}
	for _, f := range []struct{ elem, v string }{
		{"CxlId", t.CancellationID}, {"OrgnlGrpInf/OrgnlMsgId", o.MsgID}, {"OrgnlInstrId", o.InstrID}, {"OrgnlEndToEndId", o.EndToEndID}, {"OrgnlTxId", o.TxID},
	} {
		if utf8.RuneCountInString(f.v) > 35 {
			return t.Errorf(ReasonFormallyWrong, f.elem, "%s is longer than 35 characters", f.elem)
		}
	}
	if a := t.Amount; a != nil {
		if _, err := a.Parse(); err != nil {
			return t.Errorf(ReasonInvalidAmount, "OrgnlIntrBkSttlmAmt", "%v", err)
		}
	}
	return nil
}

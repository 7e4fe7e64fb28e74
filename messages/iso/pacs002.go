package iso

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/moov-io/iso20022/pkg/pacs_v10"

	"github.com/crossclear/crossclear/fx"
)

// Payment statuses of a pacs.002 (ExternalPaymentTransactionStatus1Code,
// ExternalPaymentGroupStatus1Code).
const (
	StatusAccepted = "ACSP" // AcceptedSettlementInProcess: held in escrow
	StatusPending  = "PDNG" // Pending
	StatusRejected = "RJCT"
	StatusPartial  = "PART" // group: some accepted, some rejected
)

// StatusReport is a pacs.002.001.10 (FIToFIPmtStsRpt) answering one
// inbound file, with its head.001.001.02 header: crossclear's own encoder
// type, which the encoder writes with decimal amounts in the currency's
// minor units and never an exponent, date-times with their offset, and no
// element for what is empty.
type StatusReport struct {
	Header           AppHdr        `json:"app_hdr"` // From, To, BizMsgIdr, CreDt; MsgDefIdr is pacs.002.001.10
	MsgID            string        `json:"msg_id"`
	CreDtTm          string        `json:"cre_dt_tm"`           // see DateTime
	InstructingAgent string        `json:"instg_agt,omitempty"` // BIC: crossclear
	InstructedAgent  string        `json:"instd_agt,omitempty"` // BIC: the bank the report goes to
	Original         OriginalGroup `json:"orgnl_grp_inf_and_sts"`
	Transactions     []TxStatus    `json:"tx_inf_and_sts"`
}

// OriginalGroup is the file answered and its status as a whole.
type OriginalGroup struct {
	MsgID     string         `json:"orgnl_msg_id"`
	MsgNameID string         `json:"orgnl_msg_nm_id"`           // "pacs.008.001.08"
	CreDtTm   string         `json:"orgnl_cre_dt_tm,omitempty"` // as the file wrote it
	NbOfTxs   string         `json:"orgnl_nb_of_txs,omitempty"`
	CtrlSum   string         `json:"orgnl_ctrl_sum,omitempty"` // as the file wrote it
	Status    string         `json:"grp_sts,omitempty"`        // ACSP, PART, RJCT, PDNG
	Reasons   []StatusReason `json:"sts_rsn_inf,omitempty"`
}

// StatusReason is an ISO reason code with an explanation (AddtlInf, cut
// into lines of at most 105 characters on the wire).
type StatusReason struct {
	Code Reason `json:"cd"`
	Info string `json:"addtl_inf,omitempty"`
}

// TxStatus is one transaction's status.
type TxStatus struct {
	InstrID        string         `json:"orgnl_instr_id,omitempty"`
	EndToEndID     string         `json:"orgnl_end_to_end_id,omitempty"`
	TxID           string         `json:"orgnl_tx_id,omitempty"`
	UETR           string         `json:"orgnl_uetr,omitempty"`
	Status         string         `json:"tx_sts"`
	Reasons        []StatusReason `json:"sts_rsn_inf,omitempty"`
	AcceptedAt     string         `json:"accptnc_dt_tm,omitempty"`     // see DateTime
	Amount         *Amount        `json:"intr_bk_sttlm_amt,omitempty"` // OrgnlTxRef/IntrBkSttlmAmt
	SettlementDate string         `json:"intr_bk_sttlm_dt,omitempty"`  // OrgnlTxRef/IntrBkSttlmDt
}

// DateTime formats t as an ISO 20022 date-time that keeps its offset:
// 2025-03-10T09:15:00.000+08:00 (UTC is +00:00, never a bare local time).
func DateTime(t time.Time) string { return t.Format("2006-01-02T15:04:05.000-07:00") }

var (
	bicRe    = regexp.MustCompile(`^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$`)
	dateRe   = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	offsetRe = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`)
)

// EncodeError is a StatusReport the encoder refuses to write: it would not
// be schema-valid (or would lose information).
type EncodeError struct{ Field, Msg string }

func (e *EncodeError) Error() string { return "pacs.002: " + e.Field + ": " + e.Msg }

func encErr(field, format string, args ...any) error {
	return &EncodeError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func checkText(field, s string, max int, required bool) error {
	if s == "" {
		if required {
			return encErr(field, "is required")
		}
		return nil
	}
	if n := utf8.RuneCountInString(s); n > max {
		return encErr(field, "is %d characters, at most %d", n, max)
	}
	return nil
}

func checkBIC(field, s string, required bool) error {
	if s == "" && !required {
		return nil
	}
	if !bicRe.MatchString(s) {
		return encErr(field, "%q is not a BIC", s)
	}
	return nil
}

func checkDateTime(field, s string, required bool) error {
	if s == "" && !required {
		return nil
	}
	if !offsetRe.MatchString(s) {
		return encErr(field, "%q is not a date-time with an offset", s)
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		return encErr(field, "%q: %v", s, err)
	}
	return nil
}

func (r *StatusReport) check() error {
	h := r.Header
	for _, c := range []error{
		checkBIC("Header.From", h.From, true), checkBIC("Header.To", h.To, true),
		checkText("Header.BizMsgIdr", h.BizMsgIdr, 35, true), checkDateTime("Header.CreDt", h.CreDt, true),
		checkText("MsgID", r.MsgID, 35, true), checkDateTime("CreDtTm", r.CreDtTm, true),
		checkBIC("InstructingAgent", r.InstructingAgent, false), checkBIC("InstructedAgent", r.InstructedAgent, false),
		checkText("Original.MsgID", r.Original.MsgID, 35, true), checkText("Original.MsgNameID", r.Original.MsgNameID, 35, true),
		checkDateTime("Original.CreDtTm", r.Original.CreDtTm, false), checkText("Original.Status", r.Original.Status, 4, false),
	} {
		if c != nil {
			return c
		}
	}
	if h.MsgDefIdr != "" && h.MsgDefIdr != Pacs002v10 {
		return encErr("Header.MsgDefIdr", "must be %s, got %q", Pacs002v10, h.MsgDefIdr)
	}
	if n := r.Original.NbOfTxs; n != "" && !numeric.MatchString(n) {
		return encErr("Original.NbOfTxs", "%q is not a number", n)
	}
	if s := r.Original.CtrlSum; s != "" {
		if _, err := plainDecimal(s); err != nil || len(s) > 19 {
			return encErr("Original.CtrlSum", "%q is not a decimal of at most 18 digits", s)
		}
	}
	if err := checkReasons("Original.Reasons", r.Original.Reasons); err != nil {
		return err
	}
	for i, t := range r.Transactions {
		f := func(s string) string { return fmt.Sprintf("Transactions[%d].%s", i, s) }
		for _, c := range []error{
			checkText(f("InstrID"), t.InstrID, 35, false), checkText(f("EndToEndID"), t.EndToEndID, 35, false), checkText(f("TxID"), t.TxID, 35, false),
			checkText(f("Status"), t.Status, 4, true), checkDateTime(f("AcceptedAt"), t.AcceptedAt, false), checkReasons(f("Reasons"), t.Reasons),
		} {
			if c != nil {
				return c
			}
		}
		if t.UETR != "" && !validUETR(t.UETR) {
			return encErr(f("UETR"), "%q is not a lower-case UUID v4", t.UETR)
		}
		if t.SettlementDate != "" && !dateRe.MatchString(t.SettlementDate) {
			return encErr(f("SettlementDate"), "%q is not a date", t.SettlementDate)
		}
		if a := t.Amount; a != nil {
			if _, err := wireAmount(*a); err != nil {
				return encErr(f("Amount"), "%v", err)
			}
		}
	}
	return nil
}

func checkReasons(field string, rs []StatusReason) error {
	for i, r := range rs {
		if err := checkText(fmt.Sprintf("%s[%d].Code", field, i), string(r.Code), 4, true); err != nil {
			return err
		}
	}
	return nil
}

// wireAmount is an amount as the schema wants it: exactly the currency's
// minor units, no exponent, no sign.
func wireAmount(a Amount) (string, error) {
	amt, err := fx.ParseAmount(a.Value, a.Currency)
	if err != nil {
		return "", err
	}
	if amt.Minor < 0 {
		return "", fmt.Errorf("%s is negative", a)
	}
	return amt.Value(), nil
}

// Encode writes the report as one file: a BusinessMessage element holding
// the AppHdr and the Document, each in its own namespace.
func (r *StatusReport) Encode() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	w := &xmlWriter{}
	w.buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.open("BusinessMessage")
	writeAppHdr(w, r.Header, Pacs002v10)
	r.writeDocument(w)
	w.close("BusinessMessage")
	return w.buf.Bytes(), nil
}

func writeAppHdr(w *xmlWriter, h AppHdr, msgDef string) {
	w.open("AppHdr", "xmlns", NamespacePrefix+Head001v02)
	w.open("Fr")
	w.agent("FIId", h.From)
	w.close("Fr")
	w.open("To")
	w.agent("FIId", h.To)
	w.close("To")
	w.leaf("BizMsgIdr", h.BizMsgIdr)
	w.leaf("MsgDefIdr", msgDef)
	w.leaf("BizSvc", h.BizSvc)
	w.leaf("CreDt", h.CreDt)
	if h.PssblDplct {
		w.leaf("PssblDplct", "true")
	}
	w.close("AppHdr")
}

func writeReasons(w *xmlWriter, rs []StatusReason) {
	for _, r := range rs {
		w.open("StsRsnInf")
		w.open("Rsn")
		w.leaf("Cd", string(r.Code))
		w.close("Rsn")
		for _, line := range cutRunes(r.Info, 105) {
			w.leaf("AddtlInf", line)
		}
		w.close("StsRsnInf")
	}
}

// cutRunes cuts s into pieces of at most n characters.
func cutRunes(s string, n int) []string {
	var out []string
	for s != "" {
		i, k := 0, 0
		for i < len(s) && k < n {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			k++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

func (r *StatusReport) writeDocument(w *xmlWriter) {
	w.open("Document", "xmlns", NamespacePrefix+Pacs002v10)
	w.open("FIToFIPmtStsRpt")
	w.open("GrpHdr")
	w.leaf("MsgId", r.MsgID)
	w.leaf("CreDtTm", r.CreDtTm)
	w.agent("InstgAgt", r.InstructingAgent)
	w.agent("InstdAgt", r.InstructedAgent)
	w.close("GrpHdr")
	o := r.Original
	w.open("OrgnlGrpInfAndSts")
	w.leaf("OrgnlMsgId", o.MsgID)
	w.leaf("OrgnlMsgNmId", o.MsgNameID)
	w.leaf("OrgnlCreDtTm", o.CreDtTm)
	w.leaf("OrgnlNbOfTxs", o.NbOfTxs)
	w.leaf("OrgnlCtrlSum", o.CtrlSum)
	w.leaf("GrpSts", o.Status)
	writeReasons(w, o.Reasons)
	w.close("OrgnlGrpInfAndSts")
	for _, t := range r.Transactions {
		w.open("TxInfAndSts")
		w.leaf("OrgnlInstrId", t.InstrID)
		w.leaf("OrgnlEndToEndId", t.EndToEndID)
		w.leaf("OrgnlTxId", t.TxID)
		w.leaf("OrgnlUETR", t.UETR)
		w.leaf("TxSts", t.Status)
		writeReasons(w, t.Reasons)
		w.leaf("AccptncDtTm", t.AcceptedAt)
		if t.Amount != nil || t.SettlementDate != "" {
			w.open("OrgnlTxRef")
			if t.Amount != nil {
				v, _ := wireAmount(*t.Amount) // checked
				w.leaf("IntrBkSttlmAmt", v, "Ccy", t.Amount.Currency)
			}
			w.leaf("IntrBkSttlmDt", t.SettlementDate)
			w.close("OrgnlTxRef")
		}
		w.close("TxInfAndSts")
	}
	w.close("FIToFIPmtStsRpt")
	w.close("Document")
}

// DecodeStatusReport reads a pacs.002.001.10 with moov-io/iso20022 (the
// amounts and the control sum from the text): what banks receive from
// crossclear, read back for tests and for `crossclear iso inspect`.
func DecodeStatusReport(env *Envelope) (*StatusReport, error) {
	if env.MessageName() != Pacs002v10 {
		return nil, unsupported("Document", env.Line, "%s is not a %s", env.MessageName(), Pacs002v10)
	}
	r := &StatusReport{}
	if env.HeaderXML != nil {
		h, err := decodeHeader(env)
		if err != nil {
			return nil, err
		}
		r.Header = *h
	}
	parts, _, err := cut(env.Document, "FIToFIPmtStsRpt", func(p []string) bool {
		return len(p) == 1 && (p[0] == "GrpHdr" || p[0] == "OrgnlGrpInfAndSts" || p[0] == "TxInfAndSts")
	})
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		fail := func(err error) error {
			return errorf(ReasonFileFormat, p.name, p.line, "does not decode as %s: %v", Pacs002v10, err)
		}
		switch p.name {
		case "GrpHdr":
			var g pacs_v10.GroupHeader91
			if err := xml.Unmarshal(p.xml, &g); err != nil {
				return nil, fail(err)
			}
			r.MsgID, r.CreDtTm = string(g.MsgId), p.text("CreDtTm")
			if g.InstgAgt != nil {
				r.InstructingAgent = sp(g.InstgAgt.FinInstnId.BICFI)
			}
			if g.InstdAgt != nil {
				r.InstructedAgent = sp(g.InstdAgt.FinInstnId.BICFI)
			}
		case "OrgnlGrpInfAndSts":
			var o pacs_v10.OriginalGroupHeader17
			if err := xml.Unmarshal(p.xml, &o); err != nil {
				return nil, fail(err)
			}
			r.Original = OriginalGroup{MsgID: string(o.OrgnlMsgId), MsgNameID: string(o.OrgnlMsgNmId), CreDtTm: p.text("OrgnlCreDtTm"),
				NbOfTxs: sp(o.OrgnlNbOfTxs), CtrlSum: p.text("OrgnlCtrlSum"), Status: sp(o.GrpSts), Reasons: reasonsV10(o.StsRsnInf)}
		case "TxInfAndSts":
			var x pacs_v10.PaymentTransaction110
			if err := xml.Unmarshal(p.xml, &x); err != nil {
				return nil, fail(err)
			}
			t := TxStatus{InstrID: sp(x.OrgnlInstrId), EndToEndID: sp(x.OrgnlEndToEndId), TxID: sp(x.OrgnlTxId), UETR: sp(x.OrgnlUETR),
				Status: sp(x.TxSts), Reasons: reasonsV10(x.StsRsnInf), AcceptedAt: p.text("AccptncDtTm"),
				Amount: optAmount(p, "OrgnlTxRef/IntrBkSttlmAmt"), SettlementDate: p.text("OrgnlTxRef/IntrBkSttlmDt")}
			r.Transactions = append(r.Transactions, t)
		}
	}
	return r, nil
}

func reasonsV10(rs []pacs_v10.StatusReasonInformation12) []StatusReason {
	var out []StatusReason
	for _, r := range rs {
		var sr StatusReason
		if r.Rsn != nil {
			sr.Code = Reason(sp(r.Rsn.Cd))
		}
		for _, l := range r.AddtlInf {
			sr.Info += string(l)
		}
		out = append(out, sr)
	}
	return out
}

// TxOutcome is what became of one transaction of an inbound file.
type TxOutcome struct {
	Status string // ACSP, PDNG or RJCT
	Reason Reason // for RJCT
	Info   string // for a person: what was wrong, and where
}

// ReplyParams are the report's own identifiers.
type ReplyParams struct {
	From, To string    // BICs: crossclear, the bank
	MsgID    string    // the report's MsgId and BizMsgIdr
	Now      time.Time // CreDt, CreDtTm and AccptncDtTm
}

// Reply builds the pacs.002 answering m: the group refused for group, or
// each transaction with its outcome; the group status is ACSP when all
// are accepted, RJCT when none is, PART otherwise.
func Reply(m *Message, group *Error, outcomes []TxOutcome, p ReplyParams) *StatusReport {
	now := DateTime(p.Now)
	r := &StatusReport{
		Header:  AppHdr{From: p.From, To: p.To, BizMsgIdr: p.MsgID, MsgDefIdr: Pacs002v10, CreDt: now},
		MsgID:   p.MsgID,
		CreDtTm: now, InstructingAgent: p.From, InstructedAgent: p.To,
		Original: OriginalGroup{MsgID: m.MsgID, MsgNameID: m.Name, NbOfTxs: m.NbOfTxs},
	}
	if checkDateTime("", m.CreDtTm, true) == nil {
		r.Original.CreDtTm = m.CreDtTm
	}
	if !numeric.MatchString(m.NbOfTxs) {
		r.Original.NbOfTxs = ""
	}
	if _, err := plainDecimal(m.CtrlSum); err == nil && len(m.CtrlSum) <= 19 {
		r.Original.CtrlSum = m.CtrlSum
	}
	if group != nil {
		r.Original.Status = StatusRejected
		r.Original.Reasons = []StatusReason{{Code: group.Reason, Info: group.Error()}}
		return r
	}
	accepted := 0
	for i := range m.Transactions {
		t, o := &m.Transactions[i], outcomes[i]
		s := TxStatus{InstrID: t.InstrID, EndToEndID: t.EndToEndID, TxID: t.TxID, Status: o.Status}
		if validUETR(t.UETR) {
			s.UETR = t.UETR
		}
		for _, id := range []*string{&s.InstrID, &s.EndToEndID, &s.TxID} {
			if utf8.RuneCountInString(*id) > 35 {
				*id = ""
			}
		}
		if _, err := wireAmount(t.Amount); err == nil {
			a := t.Amount
			s.Amount = &a
		}
		if dateRe.MatchString(t.SettlementDate) {
			s.SettlementDate = t.SettlementDate
		}
		if o.Status == StatusRejected {
			s.Reasons = []StatusReason{{Code: o.Reason, Info: o.Info}}
		} else {
			accepted++
			s.AcceptedAt = now
		}
		r.Transactions = append(r.Transactions, s)
	}
	switch accepted {
	case len(m.Transactions):
		r.Original.Status = StatusAccepted
	case 0:
		r.Original.Status = StatusRejected
	default:
		r.Original.Status = StatusPartial
	}
	return r
}

package iso

import (
	"encoding/xml"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/moov-io/iso20022/pkg/pacs_v10"
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

func (r *StatusReport) check() error {
	c := &checker{message: Pacs002v10}
	c.header(r.Header, Pacs002v10)
	c.text("MsgID", r.MsgID, 35, true)
	c.dateTime("CreDtTm", r.CreDtTm, true)
	c.bic("InstructingAgent", r.InstructingAgent, false)
	c.bic("InstructedAgent", r.InstructedAgent, false)
	o := r.Original
	c.text("Original.MsgID", o.MsgID, 35, true)
	c.text("Original.MsgNameID", o.MsgNameID, 35, true)
	c.dateTime("Original.CreDtTm", o.CreDtTm, false)
	c.text("Original.Status", o.Status, 4, false)
	if n := o.NbOfTxs; n != "" && !numeric.MatchString(n) {
		c.fail("Original.NbOfTxs", "%q is not a number", n)
	}
	if s := o.CtrlSum; s != "" {
		if _, err := plainDecimal(s); err != nil || len(s) > 19 {
			c.fail("Original.CtrlSum", "%q is not a decimal of at most 18 digits", s)
		}
	}
	c.reasons("Original.Reasons", o.Reasons)
	for i, t := range r.Transactions {
		c.in("Transactions[%d].", i)
		c.text("InstrID", t.InstrID, 35, false)
		c.text("EndToEndID", t.EndToEndID, 35, false)
		c.text("TxID", t.TxID, 35, false)
		c.uetr("UETR", t.UETR, false)
		c.text("Status", t.Status, 4, true)
		c.dateTime("AcceptedAt", t.AcceptedAt, false)
		c.reasons("Reasons", t.Reasons)
		c.date("SettlementDate", t.SettlementDate, false)
		if a := t.Amount; a != nil {
			if _, err := wireAmount(*a); err != nil {
				c.fail("Amount", "%v", err)
			}
		}
	}
	return c.result()
}

func (c *checker) reasons(field string, rs []StatusReason) {
	for i, r := range rs {
		if n := len(r.Code); n == 0 || n > 4 {
			c.fail(fmt.Sprintf("%s[%d].Code", field, i), "must be 1 to 4 characters, got %q", r.Code)
		}
	}
}

// Encode writes the report as one file: a BusinessMessage element holding
// the AppHdr and the Document, each in its own namespace.
func (r *StatusReport) Encode() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	w := begin(r.Header, Pacs002v10, "FIToFIPmtStsRpt", 2048+1024*len(r.Transactions))
	r.writeDocument(w)
	return w.end("FIToFIPmtStsRpt"), nil
}

func writeReasons(w *xmlWriter, rs []StatusReason) {
	for _, r := range rs {
		w.reasonInfo("StsRsnInf", string(r.Code), r.Info)
	}
}

func (r *StatusReport) writeDocument(w *xmlWriter) {
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
}

// DecodeStatusReport reads a pacs.002.001.10 with moov-io/iso20022 (the
// amounts and the control sum from the text): what banks receive from
// crossclear, read back for tests and for `crossclear iso inspect`.
func DecodeStatusReport(env *Envelope) (*StatusReport, error) {
	hdr, err := headerOf(env, Pacs002v10)
	if err != nil {
		return nil, err
	}
	r := &StatusReport{Header: hdr}
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
	if validDateTime(m.CreDtTm) {
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
		if validDate(t.SettlementDate) {
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

package iso

import (
	"github.com/moov-io/iso20022/pkg/pacs_v10"
)

// Return reasons (ExternalReturnReason1Code) crossclear gives.
const (
	ReturnCancellation = "FOCR" // FollowingCancellationRequest: a camt.056 was accepted
	ReturnRegulatory   = "RR04" // RegulatoryReason: screening refused the payment
	ReturnByCustomer   = "CUST" // RequestedByCustomer: the buyer's dispute was upheld
	ReturnAgent        = "MS03" // NotSpecifiedReasonAgentGenerated: any other refund (an expired quote…)
)

// PaymentReturn is a pacs.004.001.09 (PmtRtr): money held in escrow going
// back to the buyer's bank.
type PaymentReturn struct {
	Header           AppHdr     `json:"app_hdr"` // MsgDefIdr is pacs.004.001.09
	MsgID            string     `json:"msg_id"`
	CreDtTm          string     `json:"cre_dt_tm"`
	SettlementMethod string     `json:"sttlm_mtd"`           // CLRG…
	InstructingAgent string     `json:"instg_agt,omitempty"` // BIC
	InstructedAgent  string     `json:"instd_agt,omitempty"` // BIC
	Returns          []ReturnTx `json:"tx_inf"`
}

// ReturnTx is one returned payment (TxInf).
type ReturnTx struct {
	ReturnID               string   `json:"rtr_id,omitempty"`
	Original               Original `json:"orgnl"`
	OriginalAmount         *Amount  `json:"orgnl_intr_bk_sttlm_amt,omitempty"`
	OriginalSettlementDate string   `json:"orgnl_intr_bk_sttlm_dt,omitempty"`
	Amount                 Amount   `json:"rtrd_intr_bk_sttlm_amt"` // above zero
	SettlementDate         string   `json:"intr_bk_sttlm_dt,omitempty"`
	Reason                 string   `json:"rtr_rsn,omitempty"`   // ExternalReturnReason1Code: FOCR, RR04…
	Info                   string   `json:"addtl_inf,omitempty"` // at most 500 characters
}

func (m *PaymentReturn) check() error {
	c := &checker{message: Pacs004v09}
	c.header(m.Header, Pacs004v09)
	c.text("MsgID", m.MsgID, 35, true)
	c.dateTime("CreDtTm", m.CreDtTm, true)
	c.oneOf("SettlementMethod", m.SettlementMethod, SettleByClearing, SettleByInstructedAgent, SettleByInstructingAgent, SettleByCover)
	c.bic("InstructingAgent", m.InstructingAgent, false)
	c.bic("InstructedAgent", m.InstructedAgent, false)
	if len(m.Returns) == 0 {
		c.fail("Returns", "a pacs.004 returns at least one payment")
	}
	for i, r := range m.Returns {
		c.in("Returns[%d].", i)
		c.text("ReturnID", r.ReturnID, 35, false)
		c.original(r.Original)
		if r.OriginalAmount != nil {
			c.amount("OriginalAmount", *r.OriginalAmount, false)
		}
		c.date("OriginalSettlementDate", r.OriginalSettlementDate, false)
		c.amount("Amount", r.Amount, false)
		c.date("SettlementDate", r.SettlementDate, false)
		c.code("Reason", r.Reason, r.Info != "")
		c.text("Info", r.Info, 500, false)
	}
	return c.result()
}

// Encode writes the return as one file: the AppHdr and the Document.
func (m *PaymentReturn) Encode() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	w := begin(m.Header, Pacs004v09, "PmtRtr", 2048+1536*len(m.Returns))
	w.open("GrpHdr")
	w.leaf("MsgId", m.MsgID)
	w.leaf("CreDtTm", m.CreDtTm)
	w.leaf("NbOfTxs", itoa(len(m.Returns)))
	w.open("SttlmInf")
	w.leaf("SttlmMtd", m.SettlementMethod)
	w.close("SttlmInf")
	w.agent("InstgAgt", m.InstructingAgent)
	w.agent("InstdAgt", m.InstructedAgent)
	w.close("GrpHdr")
	for _, r := range m.Returns {
		w.open("TxInf")
		w.leaf("RtrId", r.ReturnID)
		w.originalTx(r.Original)
		if r.OriginalAmount != nil {
			w.money("OrgnlIntrBkSttlmAmt", *r.OriginalAmount)
		}
		w.leaf("OrgnlIntrBkSttlmDt", r.OriginalSettlementDate)
		w.money("RtrdIntrBkSttlmAmt", r.Amount)
		w.leaf("IntrBkSttlmDt", r.SettlementDate)
		w.reasonInfo("RtrRsnInf", r.Reason, r.Info)
		w.close("TxInf")
	}
	return w.end("PmtRtr"), nil
}

// originalTx writes the original group and the original transaction's
// identifications, in the order pacs.004 and camt.029 share.
func (w *xmlWriter) originalTx(o Original) {
	w.originalGroup(o)
	w.leaf("OrgnlInstrId", o.InstrID)
	w.leaf("OrgnlEndToEndId", o.EndToEndID)
	w.leaf("OrgnlTxId", o.TxID)
	w.leaf("OrgnlUETR", o.UETR)
}

// DecodePaymentReturn reads a pacs.004.001.09 with moov-io/iso20022's
// .001.10 types (a superset of the .09 blocks crossclear writes), amounts
// and dates from the text.
func DecodePaymentReturn(env *Envelope) (*PaymentReturn, error) {
	hdr, err := headerOf(env, Pacs004v09)
	if err != nil {
		return nil, err
	}
	parts, root, err := cut(env.Document, "PmtRtr", func(p []string) bool {
		return len(p) == 1 && (p[0] == "GrpHdr" || p[0] == "TxInf")
	})
	if err != nil {
		return nil, err
	}
	m := &PaymentReturn{Header: hdr}
	sawGroup := false
	for _, p := range parts {
		switch p.name {
		case "GrpHdr":
			var g pacs_v10.GroupHeader90
			if err := unmarshalPart(p, Pacs004v09, &g); err != nil {
				return nil, err
			}
			sawGroup = true
			m.MsgID, m.CreDtTm, m.SettlementMethod = string(g.MsgId), p.text("CreDtTm"), string(g.SttlmInf.SttlmMtd)
			m.InstructingAgent, m.InstructedAgent = p.text("InstgAgt/FinInstnId/BICFI"), p.text("InstdAgt/FinInstnId/BICFI")
		case "TxInf":
			var x pacs_v10.PaymentTransaction118
			if err := unmarshalPart(p, Pacs004v09, &x); err != nil {
				return nil, err
			}
			r := ReturnTx{
				ReturnID: sp(x.RtrId), Original: originalAt(p), OriginalAmount: optAmount(p, "OrgnlIntrBkSttlmAmt"),
				OriginalSettlementDate: p.text("OrgnlIntrBkSttlmDt"), SettlementDate: p.text("IntrBkSttlmDt"),
			}
			r.Amount, _ = amountAt(p, "RtrdIntrBkSttlmAmt")
			if len(x.RtrRsnInf) > 0 {
				ri := x.RtrRsnInf[0]
				if ri.Rsn != nil {
					r.Reason = string(ri.Rsn.Cd)
				}
				for _, l := range ri.AddtlInf {
					r.Info += string(l)
				}
			}
			m.Returns = append(m.Returns, r)
		}
	}
	if !sawGroup {
		return nil, errorf(ReasonFileFormat, "PmtRtr/GrpHdr", root, "the message has no GrpHdr")
	}
	return m, nil
}

// originalAt reads the original group and transaction identifications of
// a part (pacs.004 TxInf, camt.029 TxInfAndSts, camt.056 TxInf).
func originalAt(p *part) Original {
	return Original{
		MsgID: p.text("OrgnlGrpInf/OrgnlMsgId"), MsgNameID: p.text("OrgnlGrpInf/OrgnlMsgNmId"), CreDtTm: p.text("OrgnlGrpInf/OrgnlCreDtTm"),
		InstrID: p.text("OrgnlInstrId"), EndToEndID: p.text("OrgnlEndToEndId"), TxID: p.text("OrgnlTxId"), UETR: p.text("OrgnlUETR"),
	}
}

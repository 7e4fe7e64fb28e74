package iso

import (
	"github.com/moov-io/iso20022/pkg/camt_v09"
)

// What a camt.029 says about a cancellation request: the investigation's
// status (Sts/Conf, ExternalInvestigationExecutionConfirmation1Code) and
// each transaction's (TxCxlSts, CancellationIndividualStatus1Code).
const (
	ResolutionCancelled = "CNCL" // CancelledAsPerRequest: the payment is refunded
	ResolutionRejected  = "RJCR" // RejectedCancellationRequest

	CancellationAccepted = "ACCR" // AcceptedCancellationRequest
	CancellationRejected = "RJCR"
)

// Reasons a cancellation is refused (ExternalPaymentCancellationRejection1Code).
const (
	CancelRefusedByAgent  = "AGNT" // AgentDecision: crossclear released the payment to the merchant
	CancelAlreadyReturned = "ARDT" // AlreadyReturned: the payment was refunded before
	CancelNoOriginal      = "NOOR" // NoOriginalTransactionReceived: no payment with that UETR
)

// Resolution is a camt.029.001.09 (RsltnOfInvstgtn): crossclear's answer
// to a camt.056 cancellation request.
type Resolution struct {
	Header       AppHdr               `json:"app_hdr"`   // MsgDefIdr is camt.029.001.09
	AssignmentID string               `json:"assgnmt"`   // Assgnmt/Id: this answer's own id
	Assigner     string               `json:"assgnr"`    // BIC: crossclear
	Assignee     string               `json:"assgne"`    // BIC: the bank that asked
	CreDtTm      string               `json:"cre_dt_tm"` // Assgnmt/CreDtTm
	CaseID       string               `json:"rslvd_case,omitempty"`
	CaseCreator  string               `json:"rslvd_case_cretr,omitempty"` // BIC; both or neither with CaseID
	Status       string               `json:"sts"`                        // CNCL or RJCR
	Transactions []CancellationStatus `json:"cxl_dtls"`
}

// CancellationStatus is the answer about one payment (CxlDtls/TxInfAndSts).
type CancellationStatus struct {
	CancellationID         string   `json:"cxl_sts_id,omitempty"`
	Original               Original `json:"orgnl"`
	Status                 string   `json:"tx_cxl_sts"`          // ACCR or RJCR
	Reason                 string   `json:"rsn,omitempty"`       // why it is refused: AGNT, ARDT, NOOR…
	Info                   string   `json:"addtl_inf,omitempty"` // at most 500 characters
	OriginalAmount         *Amount  `json:"orgnl_intr_bk_sttlm_amt,omitempty"`
	OriginalSettlementDate string   `json:"orgnl_intr_bk_sttlm_dt,omitempty"`
}

func (m *Resolution) check() error {
	c := &checker{message: Camt029v09}
	c.header(m.Header, Camt029v09)
	c.text("AssignmentID", m.AssignmentID, 35, true)
	c.bic("Assigner", m.Assigner, true)
	c.bic("Assignee", m.Assignee, true)
	c.dateTime("CreDtTm", m.CreDtTm, true)
	c.text("CaseID", m.CaseID, 35, m.CaseCreator != "")
	c.bic("CaseCreator", m.CaseCreator, m.CaseID != "")
	c.code("Status", m.Status, true)
	for i, t := range m.Transactions {
		c.in("Transactions[%d].", i)
		c.text("CancellationID", t.CancellationID, 35, false)
		c.original(t.Original)
		c.oneOf("Status", t.Status, CancellationAccepted, CancellationRejected, "PDCR")
		c.code("Reason", t.Reason, t.Info != "")
		c.text("Info", t.Info, 500, false)
		if t.OriginalAmount != nil {
			c.amount("OriginalAmount", *t.OriginalAmount, false)
		}
		c.date("OriginalSettlementDate", t.OriginalSettlementDate, false)
	}
	return c.result()
}

// Encode writes the answer as one file: the AppHdr and the Document.
func (m *Resolution) Encode() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	w := begin(m.Header, Camt029v09, "RsltnOfInvstgtn", 3072+1536*len(m.Transactions))
	w.open("Assgnmt")
	w.leaf("Id", m.AssignmentID)
	w.partyAgent("Assgnr", m.Assigner)
	w.partyAgent("Assgne", m.Assignee)
	w.leaf("CreDtTm", m.CreDtTm)
	w.close("Assgnmt")
	if m.CaseID != "" {
		w.open("RslvdCase")
		w.leaf("Id", m.CaseID)
		w.partyAgent("Cretr", m.CaseCreator)
		w.close("RslvdCase")
	}
	w.open("Sts")
	w.leaf("Conf", m.Status)
	w.close("Sts")
	if len(m.Transactions) > 0 {
		w.open("CxlDtls")
		for _, t := range m.Transactions {
			w.open("TxInfAndSts")
			w.leaf("CxlStsId", t.CancellationID)
			w.originalTx(t.Original)
			w.leaf("TxCxlSts", t.Status)
			w.reasonInfo("CxlStsRsnInf", t.Reason, t.Info)
			if t.OriginalAmount != nil {
				w.money("OrgnlIntrBkSttlmAmt", *t.OriginalAmount)
			}
			w.leaf("OrgnlIntrBkSttlmDt", t.OriginalSettlementDate)
			w.close("TxInfAndSts")
		}
		w.close("CxlDtls")
	}
	return w.end("RsltnOfInvstgtn"), nil
}

// DecodeResolution reads a camt.029.001.09 with moov-io/iso20022 (amounts,
// dates and date-times from the text).
func DecodeResolution(env *Envelope) (*Resolution, error) {
	hdr, err := headerOf(env, Camt029v09)
	if err != nil {
		return nil, err
	}
	parts, root, err := cut(env.Document, "RsltnOfInvstgtn", func(p []string) bool {
		return (len(p) == 1 && (p[0] == "Assgnmt" || p[0] == "RslvdCase" || p[0] == "Sts")) ||
			(len(p) == 2 && p[0] == "CxlDtls" && p[1] == "TxInfAndSts")
	})
	if err != nil {
		return nil, err
	}
	m := &Resolution{Header: hdr}
	sawAssignment := false
	for _, p := range parts {
		switch p.name {
		case "Assgnmt":
			if err := unmarshalPart(p, Camt029v09, &camt_v09.CaseAssignment5{}); err != nil {
				return nil, err
			}
			sawAssignment = true
			m.AssignmentID, m.CreDtTm = p.text("Id"), p.text("CreDtTm")
			m.Assigner, m.Assignee = p.text("Assgnr/Agt/FinInstnId/BICFI"), p.text("Assgne/Agt/FinInstnId/BICFI")
		case "RslvdCase":
			if err := unmarshalPart(p, Camt029v09, &camt_v09.Case5{}); err != nil {
				return nil, err
			}
			m.CaseID, m.CaseCreator = p.text("Id"), p.text("Cretr/Agt/FinInstnId/BICFI")
		case "Sts":
			m.Status = p.text("Conf")
		case "TxInfAndSts":
			var x camt_v09.PaymentTransaction102
			if err := unmarshalPart(p, Camt029v09, &x); err != nil {
				return nil, err
			}
			t := CancellationStatus{
				CancellationID: sp(x.CxlStsId), Original: originalAt(p), Status: p.text("TxCxlSts"),
				OriginalAmount: optAmount(p, "OrgnlIntrBkSttlmAmt"), OriginalSettlementDate: p.text("OrgnlIntrBkSttlmDt"),
			}
			if len(x.CxlStsRsnInf) > 0 {
				ri := x.CxlStsRsnInf[0]
				if ri.Rsn != nil {
					t.Reason = sp(ri.Rsn.Cd)
				}
				for _, l := range ri.AddtlInf {
					t.Info += string(l)
				}
			}
			m.Transactions = append(m.Transactions, t)
		}
	}
	if !sawAssignment {
		return nil, errorf(ReasonFileFormat, "RsltnOfInvstgtn/Assgnmt", root, "the message has no Assgnmt")
	}
	return m, nil
}

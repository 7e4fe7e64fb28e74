package iso

import (
	"encoding/xml"

	"github.com/moov-io/iso20022/pkg/pacs_v09"
)

// Settlement methods (SettlementMethod1Code).
const (
	SettleByInstructedAgent  = "INDA"
	SettleByInstructingAgent = "INGA"
	SettleByCover            = "COVE"
	SettleByClearing         = "CLRG" // through a clearing system: crossclear's net positions
)

// FICreditTransfer is a pacs.009.001.09 (FICdtTrf): money moved between
// financial institutions, which crossclear sends to settle a cycle's net
// positions.
type FICreditTransfer struct {
	Header           AppHdr       `json:"app_hdr"` // MsgDefIdr is pacs.009.001.09
	MsgID            string       `json:"msg_id"`
	CreDtTm          string       `json:"cre_dt_tm"`           // see DateTime
	SettlementMethod string       `json:"sttlm_mtd"`           // CLRG, INDA, INGA or COVE
	InstructingAgent string       `json:"instg_agt,omitempty"` // BIC
	InstructedAgent  string       `json:"instd_agt,omitempty"` // BIC
	Transfers        []FITransfer `json:"cdt_trf_tx_inf"`
}

// FITransfer is one CdtTrfTxInf: Debtor pays Creditor. Institutions are
// BICs; accounts an IBAN or another identification.
type FITransfer struct {
	InstrID         string `json:"instr_id,omitempty"`
	EndToEndID      string `json:"end_to_end_id"`
	TxID            string `json:"tx_id,omitempty"`
	UETR            string `json:"uetr,omitempty"`
	Amount          Amount `json:"intr_bk_sttlm_amt"`          // above zero, see AmountOf
	SettlementDate  string `json:"intr_bk_sttlm_dt,omitempty"` // 2025-03-10
	Debtor          string `json:"dbtr"`
	DebtorAccount   string `json:"dbtr_acct,omitempty"`
	DebtorAgent     string `json:"dbtr_agt,omitempty"`
	CreditorAgent   string `json:"cdtr_agt,omitempty"`
	Creditor        string `json:"cdtr"`
	CreditorAccount string `json:"cdtr_acct,omitempty"`
	Remittance      string `json:"ustrd,omitempty"` // RmtInf/Ustrd: what the transfer is for, at most 140 characters
}

func (m *FICreditTransfer) check() error {
	c := &checker{message: Pacs009v09}
	c.header(m.Header, Pacs009v09)
	c.text("MsgID", m.MsgID, 35, true)
	c.dateTime("CreDtTm", m.CreDtTm, true)
	c.oneOf("SettlementMethod", m.SettlementMethod, SettleByClearing, SettleByInstructedAgent, SettleByInstructingAgent, SettleByCover)
	c.bic("InstructingAgent", m.InstructingAgent, false)
	c.bic("InstructedAgent", m.InstructedAgent, false)
	if len(m.Transfers) == 0 {
		c.fail("Transfers", "a pacs.009 carries at least one transfer")
	}
	for i, t := range m.Transfers {
		c.in("Transfers[%d].", i)
		c.text("InstrID", t.InstrID, 35, false)
		c.text("EndToEndID", t.EndToEndID, 35, true)
		c.text("TxID", t.TxID, 35, false)
		c.uetr("UETR", t.UETR, false)
		c.amount("Amount", t.Amount, false)
		c.date("SettlementDate", t.SettlementDate, false)
		c.bic("Debtor", t.Debtor, true)
		c.text("DebtorAccount", t.DebtorAccount, 34, false)
		c.bic("DebtorAgent", t.DebtorAgent, false)
		c.bic("CreditorAgent", t.CreditorAgent, false)
		c.bic("Creditor", t.Creditor, true)
		c.text("CreditorAccount", t.CreditorAccount, 34, false)
		c.text("Remittance", t.Remittance, 140, false)
	}
	return c.result()
}

// Encode writes the transfer as one file: the AppHdr and the Document.
func (m *FICreditTransfer) Encode() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	w := begin(m.Header, Pacs009v09, "FICdtTrf", 1536+1024*len(m.Transfers))
	w.open("GrpHdr")
	w.leaf("MsgId", m.MsgID)
	w.leaf("CreDtTm", m.CreDtTm)
	w.leaf("NbOfTxs", itoa(len(m.Transfers)))
	w.open("SttlmInf")
	w.leaf("SttlmMtd", m.SettlementMethod)
	w.close("SttlmInf")
	w.agent("InstgAgt", m.InstructingAgent)
	w.agent("InstdAgt", m.InstructedAgent)
	w.close("GrpHdr")
	for _, t := range m.Transfers {
		w.open("CdtTrfTxInf")
		w.open("PmtId")
		w.leaf("InstrId", t.InstrID)
		w.leaf("EndToEndId", t.EndToEndID)
		w.leaf("TxId", t.TxID)
		w.leaf("UETR", t.UETR)
		w.close("PmtId")
		w.money("IntrBkSttlmAmt", t.Amount)
		w.leaf("IntrBkSttlmDt", t.SettlementDate)
		w.agent("Dbtr", t.Debtor)
		w.account("DbtrAcct", t.DebtorAccount)
		w.agent("DbtrAgt", t.DebtorAgent)
		w.agent("CdtrAgt", t.CreditorAgent)
		w.agent("Cdtr", t.Creditor)
		w.account("CdtrAcct", t.CreditorAccount)
		if t.Remittance != "" {
			w.open("RmtInf")
			w.leaf("Ustrd", t.Remittance)
			w.close("RmtInf")
		}
		w.close("CdtTrfTxInf")
	}
	return w.end("FICdtTrf"), nil
}

// DecodeFICreditTransfer reads a pacs.009.001.09 with moov-io/iso20022
// (amounts and dates from the text): what crossclear sent, read back.
func DecodeFICreditTransfer(env *Envelope) (*FICreditTransfer, error) {
	m, _, err := decodeFICdtTrf(env, Pacs009v09)
	return m, err
}

// decodeFICdtTrf reads a pacs.009 of version name (.08 blocks with the
// .09 types: the elements crossclear reads are named and placed alike)
// and returns its transfers' parts beside it, for their lines.
func decodeFICdtTrf(env *Envelope, name string) (*FICreditTransfer, []*part, error) {
	hdr, err := headerOf(env, name)
	if err != nil {
		return nil, nil, err
	}
	parts, root, err := cut(env.Document, "FICdtTrf", func(p []string) bool {
		return len(p) == 1 && (p[0] == "GrpHdr" || p[0] == "CdtTrfTxInf")
	})
	if err != nil {
		return nil, nil, err
	}
	m := &FICreditTransfer{Header: hdr}
	var txs []*part
	sawGroup := false
	for _, p := range parts {
		switch p.name {
		case "GrpHdr":
			var g pacs_v09.GroupHeader93
			if err := unmarshalPart(p, name, &g); err != nil {
				return nil, nil, err
			}
			sawGroup = true
			m.MsgID, m.CreDtTm, m.SettlementMethod = string(g.MsgId), p.text("CreDtTm"), string(g.SttlmInf.SttlmMtd)
			m.InstructingAgent, m.InstructedAgent = p.text("InstgAgt/FinInstnId/BICFI"), p.text("InstdAgt/FinInstnId/BICFI")
		case "CdtTrfTxInf":
			var x pacs_v09.CreditTransferTransaction44
			if err := unmarshalPart(p, name, &x); err != nil {
				return nil, nil, err
			}
			amt, _ := amountAt(p, "IntrBkSttlmAmt")
			t := FITransfer{
				InstrID: sp(x.PmtId.InstrId), EndToEndID: string(x.PmtId.EndToEndId), TxID: sp(x.PmtId.TxId), UETR: sp(x.PmtId.UETR),
				Amount: amt, SettlementDate: p.text("IntrBkSttlmDt"),
				Debtor: p.text("Dbtr/FinInstnId/BICFI"), DebtorAccount: accountAt(p, "DbtrAcct"), DebtorAgent: p.text("DbtrAgt/FinInstnId/BICFI"),
				CreditorAgent: p.text("CdtrAgt/FinInstnId/BICFI"), Creditor: p.text("Cdtr/FinInstnId/BICFI"), CreditorAccount: accountAt(p, "CdtrAcct"),
			}
			if x.RmtInf != nil && len(x.RmtInf.Ustrd) > 0 {
				t.Remittance = string(x.RmtInf.Ustrd[0])
			}
			m.Transfers = append(m.Transfers, t)
			txs = append(txs, p)
		}
	}
	if !sawGroup {
		return nil, nil, errorf(ReasonFileFormat, "FICdtTrf/GrpHdr", root, "the message has no GrpHdr")
	}
	return m, txs, nil
}

// headerOf checks the Document is msg and decodes the AppHdr (the zero
// AppHdr when the file has none).
func headerOf(env *Envelope, msg string) (AppHdr, error) {
	if env.MessageName() != msg {
		return AppHdr{}, unsupported("Document", env.Line, "%s is not a %s", env.MessageName(), msg)
	}
	if env.HeaderXML == nil {
		return AppHdr{}, nil
	}
	h, err := decodeHeader(env)
	if err != nil {
		return AppHdr{}, err
	}
	return *h, nil
}

// unmarshalPart decodes a part with moov-io/iso20022's type for it.
func unmarshalPart(p *part, msg string, v any) error {
	if err := xml.Unmarshal(p.xml, v); err != nil {
		return errorf(ReasonFileFormat, p.name, p.line, "does not decode as %s: %v", msg, err)
	}
	return nil
}

// accountAt reads a cash account's identification: its IBAN, else its
// Othr/Id.
func accountAt(p *part, path string) string {
	if iban := p.text(path + "/Id/IBAN"); iban != "" {
		return iban
	}
	return p.text(path + "/Id/Othr/Id")
}

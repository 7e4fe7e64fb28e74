package iso

import (
	"encoding/xml"

	"github.com/moov-io/iso20022/pkg/pacs_v08"
	"github.com/moov-io/iso20022/pkg/pacs_v09"
)

// pacs.008 (FIToFICstmrCdtTrf): GrpHdr, then CdtTrfTxInf+. Versions .08
// to .11 differ in moov-io/iso20022's Go types, not in what crossclear
// reads: each version decodes its blocks with its own types (a block that
// does not decode is rejected alone) and hands over the few values taken
// from them; everything else is read from the text, the same for both.

func cutPacs008(doc []byte) (grp *part, txs []*part, err error) {
	parts, rootLine, err := cut(doc, "FIToFICstmrCdtTrf", func(p []string) bool {
		return len(p) == 1 && (p[0] == "GrpHdr" || p[0] == "CdtTrfTxInf")
	})
	if err != nil {
		return nil, nil, err
	}
	for _, p := range parts {
		if p.name == "GrpHdr" {
			if grp != nil {
				return nil, nil, errorf(ReasonFileFormat, "FIToFICstmrCdtTrf/GrpHdr", p.line, "a second GrpHdr")
			}
			grp = p
		} else {
			txs = append(txs, p)
		}
	}
	if grp == nil {
		return nil, nil, errorf(ReasonFileFormat, "FIToFICstmrCdtTrf/GrpHdr", rootLine, "the message has no GrpHdr")
	}
	return grp, txs, nil
}

// groupPacs008 fills what crossclear reads from the group header's text.
func groupPacs008(grp *part) *Message {
	return &Message{
		MsgID: grp.text("MsgId"), CreDtTm: grp.text("CreDtTm"), NbOfTxs: grp.text("NbOfTxs"),
		CtrlSum: grp.text("CtrlSum"), TotalAmount: optAmount(grp, "TtlIntrBkSttlmAmt"),
		SettlementDate: grp.text("IntrBkSttlmDt"), SettlementMethod: grp.text("SttlmInf/SttlmMtd"),
		lines: prefixLines("GrpHdr", grp),
	}
}

func prefixLines(prefix string, p *part) map[string]int {
	out := map[string]int{prefix: p.line}
	for k, e := range p.elems {
		out[prefix+"/"+k] = e.line
	}
	return out
}

// txPacs008 fills what crossclear reads from a transaction's text.
func txPacs008(i int, p *part) Transaction {
	t := Transaction{Index: i, Line: p.line, prefix: indexed("CdtTrfTxInf", i), lines: p.lines()}
	t.Amount, _ = amountAt(p, "IntrBkSttlmAmt")
	t.InstructedAmount = optAmount(p, "InstdAmt")
	t.ExchangeRate = p.text("XchgRate")
	t.SettlementDate = p.text("IntrBkSttlmDt")
	return t
}

// pacs008Tx is what crossclear takes from moov-io/iso20022's decoding of
// one transaction; the agents, parties and accounts are read from the
// text (parties.go) like the amounts, the same for every version.
type pacs008Tx struct {
	InstrID, EndToEndID, TxID, UETR string
	ChargeBearer                    string
	Unstructured                    []string // RmtInf/Ustrd, each
}

func decodePacs008v08(doc []byte) (*Message, error) {
	return decodePacs008(doc, Pacs008v08, new(pacs_v08.GroupHeader93), func(raw []byte) (pacs008Tx, error) {
		var x pacs_v08.CreditTransferTransaction39
		if err := xml.Unmarshal(raw, &x); err != nil {
			return pacs008Tx{}, err
		}
		out := pacs008Tx{InstrID: sp(x.PmtId.InstrId), EndToEndID: string(x.PmtId.EndToEndId), TxID: sp(x.PmtId.TxId), UETR: sp(x.PmtId.UETR), ChargeBearer: string(x.ChrgBr)}
		if x.RmtInf != nil {
			for _, u := range x.RmtInf.Ustrd {
				out.Unstructured = append(out.Unstructured, string(u))
			}
		}
		return out, nil
	})
}

func decodePacs008v09(doc []byte) (*Message, error) {
	return decodePacs008(doc, Pacs008v09, new(pacs_v09.GroupHeader93), func(raw []byte) (pacs008Tx, error) {
		var x pacs_v09.CreditTransferTransaction43
		if err := xml.Unmarshal(raw, &x); err != nil {
			return pacs008Tx{}, err
		}
		out := pacs008Tx{InstrID: sp(x.PmtId.InstrId), EndToEndID: string(x.PmtId.EndToEndId), TxID: sp(x.PmtId.TxId), UETR: sp(x.PmtId.UETR), ChargeBearer: string(x.ChrgBr)}
		if x.RmtInf != nil {
			for _, u := range x.RmtInf.Ustrd {
				out.Unstructured = append(out.Unstructured, string(u))
			}
		}
		return out, nil
	})
}

// pacs008v10Tx reads a pacs.008.001.10 or .11 transaction with
// moov-io/iso20022's .09 types (it has none for later versions). ISO's
// schemas for .10 and .11 give every element crossclear reads the same
// name, place and type as .08 (only the account's Id became optional,
// beside a proxy); their additions are optional elements (MndtRltdInf,
// ChrgsInf/Tp) that the .09 types ignore. One change would make a valid
// transaction fail the .09 types: a tax period's year (Tax/Rcrd/Prd/Yr,
// RmtInf/Strd/TaxRmt/…/Yr) is an xs:gYear since .10, an xs:date before.
// So Tax and RmtInf are read here loosely, shadowing the .09 fields
// (encoding/xml takes the shallower field): the unstructured remittance
// lines are what crossclear reads of them.
type pacs008v10Tx struct {
	pacs_v09.CreditTransferTransaction43
	Tax    *struct{} `xml:"Tax"`
	RmtInf *struct {
		Ustrd []string `xml:"Ustrd"`
	} `xml:"RmtInf"`
}

// decodePacs008v10 reads pacs.008.001.10 and .11 (name says which).
func decodePacs008v10(doc []byte, name string) (*Message, error) {
	return decodePacs008(doc, name, new(pacs_v09.GroupHeader93), func(raw []byte) (pacs008Tx, error) {
		var x pacs008v10Tx
		if err := xml.Unmarshal(raw, &x); err != nil {
			return pacs008Tx{}, err
		}
		out := pacs008Tx{InstrID: sp(x.PmtId.InstrId), EndToEndID: string(x.PmtId.EndToEndId), TxID: sp(x.PmtId.TxId), UETR: sp(x.PmtId.UETR), ChargeBearer: string(x.ChrgBr)}
		if x.RmtInf != nil {
			out.Unstructured = append(out.Unstructured, x.RmtInf.Ustrd...)
		}
		return out, nil
	})
}

// decodePacs008 decodes the group header into header (the version's type:
// a header that does not decode refuses the file) and each transaction
// with decodeTx; a transaction that does not decode is kept with its
// problem, to be rejected alone.
func decodePacs008(doc []byte, name string, header any, decodeTx func([]byte) (pacs008Tx, error)) (*Message, error) {
	grp, txs, err := cutPacs008(doc)
	if err != nil {
		return nil, err
	}
	if err := xml.Unmarshal(grp.xml, header); err != nil {
		return nil, errorf(ReasonFileFormat, "FIToFICstmrCdtTrf/GrpHdr", grp.line, "the group header does not decode as %s: %v", name, err)
	}
	m := groupPacs008(grp)
	m.InstructingAgent, m.InstructedAgent = agentAt(grp, "InstgAgt"), agentAt(grp, "InstdAgt")
	for i, p := range txs {
		t := txPacs008(i, p)
		x, err := decodeTx(p.xml)
		if err != nil {
			decodeProblem(&t, name, err)
		} else {
			t.InstrID, t.EndToEndID, t.TxID, t.UETR = x.InstrID, x.EndToEndID, x.TxID, x.UETR
			t.ChargeBearer, t.Unstructured = x.ChargeBearer, x.Unstructured
			t.InstructingAgent, t.InstructedAgent = agentAt(p, "InstgAgt"), agentAt(p, "InstdAgt")
			t.DebtorAgent, t.CreditorAgent = agentAt(p, "DbtrAgt"), agentAt(p, "CdtrAgt")
			t.Debtor, t.Creditor = partyAt(p, "Dbtr"), partyAt(p, "Cdtr")
			t.DebtorAccount, t.CreditorAccount = cashAccountAt(p, "DbtrAcct"), cashAccountAt(p, "CdtrAcct")
			t.UltimateDebtor, t.UltimateCreditor = partyAt(p, "UltmtDbtr"), partyAt(p, "UltmtCdtr")
		}
		m.Transactions = append(m.Transactions, t)
	}
	return m, nil
}

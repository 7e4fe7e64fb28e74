package iso

import (
	"encoding/xml"

	"github.com/moov-io/iso20022/pkg/pacs_v08"
	"github.com/moov-io/iso20022/pkg/pacs_v09"
)

// pacs.008 (FIToFICstmrCdtTrf): GrpHdr, then CdtTrfTxInf+. Versions .08
// and .09 differ in moov-io/iso20022's Go types, not in what crossclear
// reads, so each has its own few converters below.

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

func decodePacs008v08(doc []byte) (*Message, error) {
	grp, txs, err := cutPacs008(doc)
	if err != nil {
		return nil, err
	}
	var g pacs_v08.GroupHeader93
	if err := xml.Unmarshal(grp.xml, &g); err != nil {
		return nil, errorf(ReasonFileFormat, "FIToFICstmrCdtTrf/GrpHdr", grp.line, "the group header does not decode as %s: %v", Pacs008v08, err)
	}
	m := groupPacs008(grp)
	m.InstructingAgent, m.InstructedAgent = agentV08(g.InstgAgt), agentV08(g.InstdAgt)
	for i, p := range txs {
		t := txPacs008(i, p)
		var x pacs_v08.CreditTransferTransaction39
		if err := xml.Unmarshal(p.xml, &x); err != nil {
			decodeProblem(&t, Pacs008v08, err)
		} else {
			t.InstrID, t.EndToEndID, t.TxID, t.UETR = sp(x.PmtId.InstrId), string(x.PmtId.EndToEndId), sp(x.PmtId.TxId), sp(x.PmtId.UETR)
			t.ChargeBearer = string(x.ChrgBr)
			t.InstructingAgent, t.InstructedAgent = agentV08(x.InstgAgt), agentV08(x.InstdAgt)
			t.DebtorAgent, t.CreditorAgent = agentV08(&x.DbtrAgt), agentV08(&x.CdtrAgt)
			t.Debtor, t.Creditor = partyV08(&x.Dbtr), partyV08(&x.Cdtr)
			t.DebtorAccount, t.CreditorAccount = accountV08(x.DbtrAcct), accountV08(x.CdtrAcct)
			if x.RmtInf != nil {
				for _, u := range x.RmtInf.Ustrd {
					t.Unstructured = append(t.Unstructured, string(u))
				}
			}
			dropAbsent(&t, p)
			addPartyDetails(&t, p)
		}
		m.Transactions = append(m.Transactions, t)
	}
	return m, nil
}

func agentV08(a *pacs_v08.BranchAndFinancialInstitutionIdentification6) *Agent {
	if a == nil {
		return nil
	}
	f := a.FinInstnId
	out := &Agent{BIC: sp(f.BICFI), LEI: sp(f.LEI), Name: sp(f.Nm)}
	if c := f.ClrSysMmbId; c != nil {
		out.MemberID = string(c.MmbId)
		if c.ClrSysId != nil {
			out.ClrSys = string(c.ClrSysId.Cd)
			if out.ClrSys == "" {
				out.ClrSys = sp(c.ClrSysId.Prtry)
			}
		}
	}
	return out
}

func partyV08(p *pacs_v08.PartyIdentification135) *Party {
	if p == nil {
		return nil
	}
	out := &Party{Name: sp(p.Nm), Country: sp(p.CtryOfRes)}
	if p.PstlAdr != nil && p.PstlAdr.Ctry != nil {
		out.Country = sp(p.PstlAdr.Ctry)
	}
	if id := p.Id; id != nil {
		switch o := id.OrgId; {
		case sp(o.AnyBIC) != "":
			out.ID = sp(o.AnyBIC)
		case sp(o.LEI) != "":
			out.ID = sp(o.LEI)
		case len(o.Othr) > 0:
			out.ID = string(o.Othr[0].Id)
		case len(id.PrvtId.Othr) > 0:
			out.ID = string(id.PrvtId.Othr[0].Id)
		}
	}
	return out
}

func accountV08(a *pacs_v08.CashAccount38) *Account {
	if a == nil {
		return nil
	}
	return &Account{IBAN: sp(a.Id.IBAN), Other: string(a.Id.Othr.Id), Currency: sp(a.Ccy)}
}

func decodePacs008v09(doc []byte) (*Message, error) {
	grp, txs, err := cutPacs008(doc)
	if err != nil {
		return nil, err
	}
	var g pacs_v09.GroupHeader93
	if err := xml.Unmarshal(grp.xml, &g); err != nil {
		return nil, errorf(ReasonFileFormat, "FIToFICstmrCdtTrf/GrpHdr", grp.line, "the group header does not decode as %s: %v", Pacs008v09, err)
	}
	m := groupPacs008(grp)
	m.InstructingAgent, m.InstructedAgent = agentV09(g.InstgAgt), agentV09(g.InstdAgt)
	for i, p := range txs {
		t := txPacs008(i, p)
		var x pacs_v09.CreditTransferTransaction43
		if err := xml.Unmarshal(p.xml, &x); err != nil {
			decodeProblem(&t, Pacs008v09, err)
		} else {
			t.InstrID, t.EndToEndID, t.TxID, t.UETR = sp(x.PmtId.InstrId), string(x.PmtId.EndToEndId), sp(x.PmtId.TxId), sp(x.PmtId.UETR)
			t.ChargeBearer = string(x.ChrgBr)
			t.InstructingAgent, t.InstructedAgent = agentV09(x.InstgAgt), agentV09(x.InstdAgt)
			t.DebtorAgent, t.CreditorAgent = agentV09(&x.DbtrAgt), agentV09(&x.CdtrAgt)
			t.Debtor, t.Creditor = partyV09(&x.Dbtr), partyV09(&x.Cdtr)
			t.DebtorAccount, t.CreditorAccount = accountV09(x.DbtrAcct), accountV09(x.CdtrAcct)
			if x.RmtInf != nil {
				for _, u := range x.RmtInf.Ustrd {
					t.Unstructured = append(t.Unstructured, string(u))
				}
			}
			dropAbsent(&t, p)
			addPartyDetails(&t, p)
		}
		m.Transactions = append(m.Transactions, t)
	}
	return m, nil
}

func agentV09(a *pacs_v09.BranchAndFinancialInstitutionIdentification6) *Agent {
	if a == nil {
		return nil
	}
	f := a.FinInstnId
	out := &Agent{BIC: sp(f.BICFI), LEI: sp(f.LEI), Name: sp(f.Nm)}
	if c := f.ClrSysMmbId; c != nil {
		out.MemberID = string(c.MmbId)
		if c.ClrSysId != nil {
			out.ClrSys = string(c.ClrSysId.Cd)
			if out.ClrSys == "" {
				out.ClrSys = string(c.ClrSysId.Prtry)
			}
		}
	}
	return out
}

func partyV09(p *pacs_v09.PartyIdentification135) *Party {
	if p == nil {
		return nil
	}
	out := &Party{Name: sp(p.Nm), Country: sp(p.CtryOfRes)}
	if p.PstlAdr != nil && p.PstlAdr.Ctry != nil {
		out.Country = sp(p.PstlAdr.Ctry)
	}
	if id := p.Id; id != nil {
		switch o := id.OrgId; {
		case sp(o.AnyBIC) != "":
			out.ID = sp(o.AnyBIC)
		case sp(o.LEI) != "":
			out.ID = sp(o.LEI)
		case len(o.Othr) > 0:
			out.ID = string(o.Othr[0].Id)
		case len(id.PrvtId.Othr) > 0:
			out.ID = string(id.PrvtId.Othr[0].Id)
		}
	}
	return out
}

func accountV09(a *pacs_v09.CashAccount38) *Account {
	if a == nil {
		return nil
	}
	return &Account{IBAN: string(a.Id.IBAN), Other: string(a.Id.Othr.Id), Currency: sp(a.Ccy)}
}

// dropAbsent forgets the parties moov filled in as empty structs (they are
// required in the schema, so its types hold them by value) when the file
// does not have them.
func dropAbsent(t *Transaction, p *part) {
	if _, ok := p.get("DbtrAgt"); !ok {
		t.DebtorAgent = nil
	}
	if _, ok := p.get("CdtrAgt"); !ok {
		t.CreditorAgent = nil
	}
	if _, ok := p.get("Dbtr"); !ok {
		t.Debtor = nil
	}
	if _, ok := p.get("Cdtr"); !ok {
		t.Creditor = nil
	}
}

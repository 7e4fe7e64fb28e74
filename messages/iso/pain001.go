package iso

import (
	"encoding/xml"

	"github.com/moov-io/iso20022/pkg/pain_v10"
)

// pain.001 (CstmrCdtTrfInitn): GrpHdr, then PmtInf+ each holding
// CdtTrfTxInf+. The debtor, its account and its agent (the bank that
// uploads the file) are on the PmtInf; every transaction gets them.
//
// Versions .001.09 (SWIFT CBPR+, most banks' guides) and .001.10 are read
// by the same code: every element crossclear reads (GrpHdr totals,
// PmtInfId, ReqdExctnDt Dt|DtTm, DbtrAgt/CdtrAgt FinInstnId/BICFI, Dbtr,
// Cdtr, their accounts, PmtId with UETR, Amt/InstdAmt, XchgRateInf,
// ChrgBr, RmtInf/Ustrd) has the same name, place and type in both.
// moov-io/iso20022 v0.2.1 has Go types for .10 only (its pain_v09 package
// is pain.008, direct debits), so a .09 block is checked against the .10
// types: they differ only in optional elements crossclear does not read
// (.10 turned the transaction's InstrForDbtrAgt into a structure), which
// encoding/xml decodes without complaint either way.

func decodePain001(doc []byte, name string) (*Message, error) {
	parts, rootLine, err := cut(doc, "CstmrCdtTrfInitn", func(p []string) bool {
		return (len(p) == 1 && (p[0] == "GrpHdr" || p[0] == "PmtInf")) || (len(p) == 2 && p[0] == "PmtInf" && p[1] == "CdtTrfTxInf")
	})
	if err != nil {
		return nil, err
	}
	var grp *part
	m := &Message{}
	type block struct {
		x   pain_v10.PaymentInstruction34
		err error
	}
	blocks := map[*part]*block{}
	pmtIdx := map[*part]int{}
	for _, p := range parts {
		switch {
		case p.name == "GrpHdr":
			if grp != nil {
				return nil, errorf(ReasonFileFormat, "CstmrCdtTrfInitn/GrpHdr", p.line, "a second GrpHdr")
			}
			grp = p
			if err := xml.Unmarshal(p.xml, new(pain_v10.GroupHeader95)); err != nil {
				return nil, errorf(ReasonFileFormat, "CstmrCdtTrfInitn/GrpHdr", p.line, "the group header does not decode as %s: %v", name, err)
			}
			m.MsgID, m.CreDtTm, m.NbOfTxs, m.CtrlSum = p.text("MsgId"), p.text("CreDtTm"), p.text("NbOfTxs"), p.text("CtrlSum")
			m.InitiatingParty = partyAt(p, "InitgPty")
			m.lines = prefixLines("GrpHdr", p)
		case p.name == "PmtInf":
			b := &block{}
			b.err = xml.Unmarshal(p.xml, &b.x)
			blocks[p] = b
			pmtIdx[p] = len(m.PaymentInfos)
			pi := PaymentInfo{ID: p.text("PmtInfId"), NbOfTxs: p.text("NbOfTxs"), CtrlSum: p.text("CtrlSum"), First: len(m.Transactions), Line: p.line, lines: p.lines()}
			m.PaymentInfos = append(m.PaymentInfos, pi)
		default: // a transaction of the last PmtInf
			pi := &m.PaymentInfos[pmtIdx[p.parent]]
			b := blocks[p.parent]
			i := len(m.Transactions)
			t := Transaction{Index: i, Line: p.line, PaymentInfoID: pi.ID, prefix: indexed("PmtInf", pmtIdx[p.parent]) + "/" + indexed("CdtTrfTxInf", pi.Count), lines: p.lines()}
			pi.Count++
			t.Amount, _ = amountAt(p, "Amt/InstdAmt")
			if _, eqvt := p.get("Amt/EqvtAmt"); eqvt {
				t.Amount = Amount{}
				t.lines["Amt/InstdAmt"] = p.elems["Amt/EqvtAmt"].line
			}
			t.ExchangeRate = p.text("XchgRateInf/XchgRate")
			t.SettlementDate = p.parent.text("ReqdExctnDt/Dt")
			if t.SettlementDate == "" {
				t.SettlementDate = p.parent.text("ReqdExctnDt/DtTm")
			}
			var x pain_v10.CreditTransferTransaction40
			switch err := xml.Unmarshal(p.xml, &x); {
			case b.err != nil:
				decodeProblem(&t, name, b.err)
			case err != nil:
				decodeProblem(&t, name, err)
			default:
				t.InstrID, t.EndToEndID, t.UETR = sp(x.PmtId.InstrId), string(x.PmtId.EndToEndId), sp(x.PmtId.UETR)
				t.ChargeBearer = sp(x.ChrgBr)
				if t.ChargeBearer == "" {
					t.ChargeBearer = sp(b.x.ChrgBr)
				}
				// The PmtInf's debtor, its account and agent are every transaction's.
				t.DebtorAgent, t.Debtor, t.DebtorAccount = agentAt(p, "DbtrAgt"), partyAt(p, "Dbtr"), cashAccountAt(p, "DbtrAcct")
				t.CreditorAgent, t.Creditor, t.CreditorAccount = agentAt(p, "CdtrAgt"), partyAt(p, "Cdtr"), cashAccountAt(p, "CdtrAcct")
				t.UltimateDebtor, t.UltimateCreditor = partyAt(p, "UltmtDbtr"), partyAt(p, "UltmtCdtr")
				if x.RmtInf != nil {
					for _, u := range x.RmtInf.Ustrd {
						t.Unstructured = append(t.Unstructured, string(u))
					}
				}
				// The debtor agent is the uploading bank: it instructs.
				t.InstructingAgent = t.DebtorAgent
			}
			// Lines of the PmtInf's elements serve the transaction's errors.
			for k, e := range p.parent.elems {
				if _, ok := t.lines["../"+k]; !ok {
					t.lines["../"+k] = e.line
				}
			}
			m.Transactions = append(m.Transactions, t)
		}
	}
	if grp == nil {
		return nil, errorf(ReasonFileFormat, "CstmrCdtTrfInitn/GrpHdr", rootLine, "the message has no GrpHdr")
	}
	return m, nil
}

package isotest

import (
	"bytes"
	"fmt"
)

// SettlementBank is the fixture settlement bank: it holds the settlement
// accounts and confirms the pacs.009s.
const SettlementBank = "ECBFDEFF"

// Camt056 is a camt.056 cancellation request, with an AppHdr, in an
// envelope. Empty fields take defaults; Omit leaves an element out.
type Camt056 struct {
	Version      string // "08" (default) or "09"
	From         string // AppHdr/Fr; defaults to Assigner
	Assigner     string // Assgnmt/Assgnr BIC; default Sender
	AssignmentID string // default "CXL-1"
	CaseID       string // default none
	GroupCancel  bool   // an OrgnlGrpInfAndCxl asking to cancel the whole group
	Txs          []CxlTx
}

// CxlTx is one TxInf.
type CxlTx struct {
	UETR       string // default UETR(i+1)
	EndToEndID string // default "E2E-<i+1>"
	MsgID      string // the original pacs.008's MsgId; default "MSG-1"
	Amount     string // OrgnlIntrBkSttlmAmt; default none
	Ccy        string // default EUR
	Reason     string // CxlRsnInf/Rsn/Cd; default CUST
	Info       string // AddtlInf, cut into lines of 105 characters
}

// Bytes writes the request.
func (c Camt056) Bytes() []byte {
	v := or(c.Version, "08")
	assigner := or(c.Assigner, Sender)
	var b bytes.Buffer
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Envelope>\n")
	appHdr(&b, or(c.From, assigner), Operator, or(c.AssignmentID, "CXL-1"), "camt.056.001."+v)
	fmt.Fprintf(&b, "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.056.001.%s\">\n<FIToFIPmtCxlReq>\n", v)
	fmt.Fprintf(&b, "<Assgnmt>\n<Id>%s</Id>\n", escape(or(c.AssignmentID, "CXL-1")))
	fmt.Fprintf(&b, "<Assgnr><Agt><FinInstnId><BICFI>%s</BICFI></FinInstnId></Agt></Assgnr>\n", assigner)
	fmt.Fprintf(&b, "<Assgne><Agt><FinInstnId><BICFI>%s</BICFI></FinInstnId></Agt></Assgne>\n", Operator)
	b.WriteString("<CreDtTm>2025-03-11T09:00:00+08:00</CreDtTm>\n</Assgnmt>\n")
	if c.CaseID != "" {
		fmt.Fprintf(&b, "<Case><Id>%s</Id><Cretr><Agt><FinInstnId><BICFI>%s</BICFI></FinInstnId></Agt></Cretr></Case>\n", escape(c.CaseID), assigner)
	}
	b.WriteString("<Undrlyg>\n")
	if c.GroupCancel {
		b.WriteString("<OrgnlGrpInfAndCxl><OrgnlMsgId>MSG-1</OrgnlMsgId><OrgnlMsgNmId>pacs.008.001.08</OrgnlMsgNmId><GrpCxl>true</GrpCxl></OrgnlGrpInfAndCxl>\n")
	}
	for i, t := range c.Txs {
		b.WriteString("<TxInf>\n")
		fmt.Fprintf(&b, "<CxlId>CXL-1-%d</CxlId>\n", i+1)
		if t.MsgID != Omit {
			fmt.Fprintf(&b, "<OrgnlGrpInf><OrgnlMsgId>%s</OrgnlMsgId><OrgnlMsgNmId>pacs.008.001.08</OrgnlMsgNmId></OrgnlGrpInf>\n", escape(or(t.MsgID, "MSG-1")))
		}
		if e := or(t.EndToEndID, fmt.Sprintf("E2E-%d", i+1)); e != Omit {
			fmt.Fprintf(&b, "<OrgnlEndToEndId>%s</OrgnlEndToEndId>\n", escape(e))
		}
		if u := or(t.UETR, UETR(i+1)); u != Omit {
			fmt.Fprintf(&b, "<OrgnlUETR>%s</OrgnlUETR>\n", escape(u))
		}
		if t.Amount != "" {
			fmt.Fprintf(&b, "<OrgnlIntrBkSttlmAmt Ccy=\"%s\">%s</OrgnlIntrBkSttlmAmt>\n", or(t.Ccy, "EUR"), t.Amount)
		}
		fmt.Fprintf(&b, "<CxlRsnInf><Rsn><Cd>%s</Cd></Rsn>", or(t.Reason, "CUST"))
		for r := []rune(t.Info); len(r) > 0; {
			n := min(len(r), 105)
			fmt.Fprintf(&b, "<AddtlInf>%s</AddtlInf>", escape(string(r[:n])))
			r = r[n:]
		}
		b.WriteString("</CxlRsnInf>\n</TxInf>\n")
	}
	b.WriteString("</Undrlyg>\n</FIToFIPmtCxlReq>\n</Document>\n</Envelope>\n")
	return b.Bytes()
}

func appHdr(b *bytes.Buffer, from, to, id, msg string) {
	fmt.Fprintf(b, "<AppHdr xmlns=\"urn:iso:std:iso:20022:tech:xsd:head.001.001.02\"><Fr><FIId><FinInstnId><BICFI>%s</BICFI></FinInstnId></FIId></Fr>", from)
	fmt.Fprintf(b, "<To><FIId><FinInstnId><BICFI>%s</BICFI></FinInstnId></FIId></To>", to)
	fmt.Fprintf(b, "<BizMsgIdr>%s</BizMsgIdr><MsgDefIdr>%s</MsgDefIdr><CreDt>2025-03-11T09:00:00+08:00</CreDt></AppHdr>\n", escape(id), msg)
}

// Status is the status of one pacs.009 in a pacs.002 from the settlement
// bank.
type Status struct {
	MsgID, EndToEndID, UETR string // of the pacs.009; Omit-free: empty is left out
	Status                  string // ACSC, RJCT…
	Reason                  string // StsRsnInf/Rsn/Cd of a RJCT
}

// Pacs002Settlement is a pacs.002.001.10 from the settlement bank about
// crossclear's pacs.009s, one TxInfAndSts per status.
func Pacs002Settlement(msgID string, sts ...Status) []byte {
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Envelope>\n")
	appHdr(&b, SettlementBank, Operator, msgID, "pacs.002.001.10")
	b.WriteString("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10\">\n<FIToFIPmtStsRpt>\n")
	fmt.Fprintf(&b, "<GrpHdr><MsgId>%s</MsgId><CreDtTm>2025-03-11T09:00:00+01:00</CreDtTm></GrpHdr>\n", escape(msgID))
	for _, s := range sts {
		b.WriteString("<TxInfAndSts>\n")
		if s.MsgID != "" {
			fmt.Fprintf(&b, "<OrgnlGrpInf><OrgnlMsgId>%s</OrgnlMsgId><OrgnlMsgNmId>pacs.009.001.09</OrgnlMsgNmId></OrgnlGrpInf>\n", escape(s.MsgID))
		}
		if s.EndToEndID != "" {
			fmt.Fprintf(&b, "<OrgnlEndToEndId>%s</OrgnlEndToEndId>\n", escape(s.EndToEndID))
		}
		if s.UETR != "" {
			fmt.Fprintf(&b, "<OrgnlUETR>%s</OrgnlUETR>\n", escape(s.UETR))
		}
		fmt.Fprintf(&b, "<TxSts>%s</TxSts>\n", s.Status)
		if s.Reason != "" {
			fmt.Fprintf(&b, "<StsRsnInf><Rsn><Cd>%s</Cd></Rsn></StsRsnInf>\n", s.Reason)
		}
		b.WriteString("<AccptncDtTm>2025-03-11T08:59:00+01:00</AccptncDtTm>\n</TxInfAndSts>\n")
	}
	b.WriteString("</FIToFIPmtStsRpt>\n</Document>\n</Envelope>\n")
	return b.Bytes()
}

// Booking is an entry on the settlement account in a camt.054 from the
// settlement bank, naming one pacs.009.
type Booking struct {
	MsgID, EndToEndID, UETR string
	Amount, Ccy             string // default 100.00 EUR
	Debit                   bool   // a payout to a net creditor
	Status                  string // default BOOK
}

// Camt054Settlement is a camt.054.001.08 from the settlement bank: the
// entries on crossclear's settlement account.
func Camt054Settlement(msgID string, bookings ...Booking) []byte {
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Envelope>\n")
	appHdr(&b, SettlementBank, Operator, msgID, "camt.054.001.08")
	b.WriteString("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\">\n<BkToCstmrDbtCdtNtfctn>\n")
	fmt.Fprintf(&b, "<GrpHdr><MsgId>%s</MsgId><CreDtTm>2025-03-11T09:00:00+01:00</CreDtTm></GrpHdr>\n", escape(msgID))
	b.WriteString("<Ntfctn>\n<Id>N-1</Id>\n<Acct><Id><Othr><Id>XCLR-SETTLEMENT</Id></Othr></Id></Acct>\n")
	for _, k := range bookings {
		ind := "CRDT"
		if k.Debit {
			ind = "DBIT"
		}
		fmt.Fprintf(&b, "<Ntry>\n<Amt Ccy=\"%s\">%s</Amt><CdtDbtInd>%s</CdtDbtInd><Sts><Cd>%s</Cd></Sts>\n", or(k.Ccy, "EUR"), or(k.Amount, "100.00"), ind, or(k.Status, "BOOK"))
		b.WriteString("<BookgDt><DtTm>2025-03-11T08:59:00+01:00</DtTm></BookgDt>\n<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>FICT</SubFmlyCd></Fmly></Domn></BkTxCd>\n")
		if k.MsgID != "" || k.EndToEndID != "" || k.UETR != "" {
			b.WriteString("<NtryDtls><TxDtls><Refs>")
			if k.MsgID != "" {
				fmt.Fprintf(&b, "<MsgId>%s</MsgId>", escape(k.MsgID))
			}
			if k.EndToEndID != "" {
				fmt.Fprintf(&b, "<EndToEndId>%s</EndToEndId>", escape(k.EndToEndID))
			}
			if k.UETR != "" {
				fmt.Fprintf(&b, "<UETR>%s</UETR>", escape(k.UETR))
			}
			b.WriteString("</Refs></TxDtls></NtryDtls>\n")
		}
		b.WriteString("</Ntry>\n")
	}
	b.WriteString("</Ntfctn>\n</BkToCstmrDbtCdtNtfctn>\n</Document>\n</Envelope>\n")
	return b.Bytes()
}

// FundingTx is one transfer of a net debit bank's pacs.009 paying its
// position into the settlement account.
type FundingTx struct {
	Debtor     string // Dbtr BIC; default From
	EndToEndID string // the position's id, C<cycle>-9-<bank>-<ccy>
	Amount     string
	Currency   string // default EUR
}

// Pacs009Funding is a pacs.009.001.<version> ("08" or "09") from bank
// from, with an AppHdr, one CdtTrfTxInf per transfer.
func Pacs009Funding(version, from, msgID string, txs ...FundingTx) []byte {
	var b bytes.Buffer
	msg := "pacs.009.001." + version
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Envelope>\n")
	appHdr(&b, from, Operator, msgID, msg)
	fmt.Fprintf(&b, "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:%s\"><FICdtTrf>\n", msg)
	fmt.Fprintf(&b, "<GrpHdr><MsgId>%s</MsgId><CreDtTm>2025-03-11T09:00:00+08:00</CreDtTm><NbOfTxs>%d</NbOfTxs><SttlmInf><SttlmMtd>INDA</SttlmMtd></SttlmInf></GrpHdr>\n", escape(msgID), len(txs))
	for i, t := range txs {
		fmt.Fprintf(&b, "<CdtTrfTxInf>\n<PmtId><InstrId>%s-%d</InstrId><EndToEndId>%s</EndToEndId><UETR>%s</UETR></PmtId>\n", escape(msgID), i, escape(t.EndToEndID), UETR(7000+i))
		fmt.Fprintf(&b, "<IntrBkSttlmAmt Ccy=\"%s\">%s</IntrBkSttlmAmt><IntrBkSttlmDt>2025-03-11</IntrBkSttlmDt>\n", or(t.Currency, "EUR"), t.Amount)
		fmt.Fprintf(&b, "<Dbtr><FinInstnId><BICFI>%s</BICFI></FinInstnId></Dbtr>\n", or(t.Debtor, from))
		fmt.Fprintf(&b, "<CdtrAgt><FinInstnId><BICFI>%s</BICFI></FinInstnId></CdtrAgt><Cdtr><FinInstnId><BICFI>%s</BICFI></FinInstnId></Cdtr>\n", SettlementBank, Operator)
		b.WriteString("</CdtTrfTxInf>\n")
	}
	b.WriteString("</FICdtTrf></Document>\n</Envelope>\n")
	return b.Bytes()
}

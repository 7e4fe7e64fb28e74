// Package isotest writes ISO 20022 files for tests: pacs.008 batches with
// an AppHdr, namespace prefixes and a wrapper, each field settable, so
// that a test states only what it varies. Defaults match the store's
// fixture world (storetest.Seed): DBSSSGSG pays Berlin Books at DEUTDEFF.
package isotest

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// Tx is one CdtTrfTxInf. Empty fields take the defaults of Pacs008.Bytes;
// the value Omit leaves the element out.
type Tx struct {
	UETR, EndToEndID   string
	Amount, Ccy        string // IntrBkSttlmAmt
	InstdAmt, InstdCcy string
	XchgRate           string
	SttlmDt            string
	InstgAgt, CdtrAgt  string // BICs
	CdtrIBAN, CdtrOthr string // the creditor account: an IBAN or another id
	Ustrd              string
	Extra              string // raw XML inserted after ChrgBr (for odd cases)
}

// Omit as a field's value leaves its element out.
const Omit = "-"

// Pacs008 is a pacs.008 file.
type Pacs008 struct {
	Version  string // "08" (default), "09", "10", "11"
	MsgID    string
	From, To string // AppHdr BICs; From defaults to the first transaction's InstgAgt
	Bare     bool   // a bare Document: no wrapper, no AppHdr, no prefixes
	NbOfTxs  string // default: the count
	CtrlSum  string // default: the sum; Omit for none
	Txs      []Tx
}

// Defaults of the fixture world.
const (
	Sender     = "DBSSSGSG"
	Operator   = "XCLRGB2L"
	Creditor   = "DEUTDEFF"
	CreditorAc = "DE89370400440532013000" // Berlin Books
)

// UETR makes a distinct, valid UETR from a number.
func UETR(n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n) }

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Bytes writes the file.
func (p Pacs008) Bytes() []byte {
	v := or(p.Version, "08")
	ns := "urn:iso:std:iso:20022:tech:xsd:pacs.008.001." + v
	pre := "pacs:"
	if p.Bare {
		pre = ""
	}
	var b bytes.Buffer
	el := func(name, text string, attrs ...string) {
		if text == Omit {
			return
		}
		fmt.Fprintf(&b, "<%s%s%s>%s</%s%s>\n", pre, name, strings.Join(attrs, ""), escape(text), pre, name)
	}
	agent := func(name, bic string) {
		if bic == Omit {
			return
		}
		fmt.Fprintf(&b, "<%s%s><%sFinInstnId><%sBICFI>%s</%sBICFI></%sFinInstnId></%s%s>\n", pre, name, pre, pre, bic, pre, pre, pre, name)
	}
	sum := decimal.Zero
	for _, t := range p.Txs {
		if d, err := decimal.NewFromString(or(t.Amount, "100.00")); err == nil && t.Amount != Omit {
			sum = sum.Add(d)
		}
	}
	msgID := or(p.MsgID, "MSG-1")
	from := or(p.From, Sender)
	if !p.Bare {
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
		fmt.Fprintf(&b, "<Envelope xmlns=\"urn:swift:xsd:envelope\" xmlns:head=\"urn:iso:std:iso:20022:tech:xsd:head.001.001.02\" xmlns:pacs=\"%s\">\n", ns)
		fmt.Fprintf(&b, "<head:AppHdr><head:Fr><head:FIId><head:FinInstnId><head:BICFI>%s</head:BICFI></head:FinInstnId></head:FIId></head:Fr>", from)
		fmt.Fprintf(&b, "<head:To><head:FIId><head:FinInstnId><head:BICFI>%s</head:BICFI></head:FinInstnId></head:FIId></head:To>", or(p.To, Operator))
		fmt.Fprintf(&b, "<head:BizMsgIdr>%s</head:BizMsgIdr><head:MsgDefIdr>pacs.008.001.%s</head:MsgDefIdr><head:CreDt>2025-03-10T09:00:00+08:00</head:CreDt></head:AppHdr>\n", escape(msgID), v)
		b.WriteString("<pacs:Document>\n")
	} else {
		fmt.Fprintf(&b, "<Document xmlns=\"%s\">\n", ns)
	}
	fmt.Fprintf(&b, "<%sFIToFICstmrCdtTrf>\n<%sGrpHdr>\n", pre, pre)
	el("MsgId", msgID)
	el("CreDtTm", "2025-03-10T09:00:00+08:00")
	el("NbOfTxs", or(p.NbOfTxs, fmt.Sprint(len(p.Txs))))
	el("CtrlSum", or(p.CtrlSum, sum.String()))
	fmt.Fprintf(&b, "<%sSttlmInf><%sSttlmMtd>CLRG</%sSttlmMtd></%sSttlmInf>\n</%sGrpHdr>\n", pre, pre, pre, pre, pre)
	for i, t := range p.Txs {
		fmt.Fprintf(&b, "<%sCdtTrfTxInf>\n<%sPmtId>\n", pre, pre)
		el("InstrId", fmt.Sprintf("INSTR-%d", i+1))
		el("EndToEndId", or(t.EndToEndID, fmt.Sprintf("E2E-%d", i+1)))
		el("UETR", or(t.UETR, UETR(i+1)))
		fmt.Fprintf(&b, "</%sPmtId>\n", pre)
		if t.Amount != Omit {
			el("IntrBkSttlmAmt", or(t.Amount, "100.00"), fmt.Sprintf(` Ccy="%s"`, or(t.Ccy, "EUR")))
		}
		el("IntrBkSttlmDt", or(t.SttlmDt, "2025-03-10"))
		if t.InstdAmt != "" {
			el("InstdAmt", t.InstdAmt, fmt.Sprintf(` Ccy="%s"`, or(t.InstdCcy, "EUR")))
		}
		if t.XchgRate != "" {
			el("XchgRate", t.XchgRate)
		}
		el("ChrgBr", "SHAR")
		b.WriteString(t.Extra)
		agent("InstgAgt", or(t.InstgAgt, Sender))
		agent("InstdAgt", Operator)
		fmt.Fprintf(&b, "<%sDbtr><%sNm>Buyer %d</%sNm></%sDbtr>\n", pre, pre, i+1, pre, pre)
		agent("DbtrAgt", or(t.InstgAgt, Sender))
		agent("CdtrAgt", or(t.CdtrAgt, Creditor))
		fmt.Fprintf(&b, "<%sCdtr><%sNm>Merchant</%sNm></%sCdtr>\n", pre, pre, pre, pre)
		switch {
		case t.CdtrIBAN == Omit:
		case t.CdtrOthr != "":
			fmt.Fprintf(&b, "<%sCdtrAcct><%sId><%sOthr><%sId>%s</%sId></%sOthr></%sId></%sCdtrAcct>\n", pre, pre, pre, pre, escape(t.CdtrOthr), pre, pre, pre, pre)
		default:
			fmt.Fprintf(&b, "<%sCdtrAcct><%sId><%sIBAN>%s</%sIBAN></%sId></%sCdtrAcct>\n", pre, pre, pre, or(t.CdtrIBAN, CreditorAc), pre, pre, pre)
		}
		if t.Ustrd != Omit {
			fmt.Fprintf(&b, "<%sRmtInf><%sUstrd>%s</%sUstrd></%sRmtInf>\n", pre, pre, escape(or(t.Ustrd, fmt.Sprintf("Order %d", i+1))), pre, pre)
		}
		fmt.Fprintf(&b, "</%sCdtTrfTxInf>\n", pre)
	}
	fmt.Fprintf(&b, "</%sFIToFICstmrCdtTrf>\n</%sDocument>\n", pre, pre)
	if !p.Bare {
		b.WriteString("</Envelope>\n")
	}
	return b.Bytes()
}

func escape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Pain001 writes a pain.001.001.10 with one PmtInf from the sender, each
// transaction paying amount EUR to the default creditor.
func Pain001(msgID string, amounts ...string) []byte {
	return Pain001Version("10", msgID, amounts...)
}

// Pain001Version writes Pain001's file as pain.001.001.<version> ("09",
// "10"): the elements it writes are the same in both.
func Pain001Version(version, msgID string, amounts ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.%s"><CstmrCdtTrfInitn><GrpHdr>`, version)
	sum := decimal.Zero
	for _, a := range amounts {
		d, _ := decimal.NewFromString(a)
		sum = sum.Add(d)
	}
	fmt.Fprintf(&b, "<MsgId>%s</MsgId><CreDtTm>2025-03-10T09:00:00Z</CreDtTm><NbOfTxs>%d</NbOfTxs><CtrlSum>%s</CtrlSum><InitgPty><Nm>Buyer Ltd</Nm></InitgPty></GrpHdr>\n", msgID, len(amounts), sum)
	fmt.Fprintf(&b, "<PmtInf><PmtInfId>PI-1</PmtInfId><PmtMtd>TRF</PmtMtd><NbOfTxs>%d</NbOfTxs><ReqdExctnDt><Dt>2025-03-11</Dt></ReqdExctnDt>", len(amounts))
	fmt.Fprintf(&b, "<Dbtr><Nm>Buyer Ltd</Nm></Dbtr><DbtrAcct><Id><Othr><Id>0011223344</Id></Othr></Id></DbtrAcct><DbtrAgt><FinInstnId><BICFI>%s</BICFI></FinInstnId></DbtrAgt>\n", Sender)
	for i, a := range amounts {
		fmt.Fprintf(&b, "<CdtTrfTxInf><PmtId><EndToEndId>E2E-%d</EndToEndId><UETR>%s</UETR></PmtId><Amt><InstdAmt Ccy=\"EUR\">%s</InstdAmt></Amt>", i+1, UETR(1000+i), a)
		fmt.Fprintf(&b, "<CdtrAgt><FinInstnId><BICFI>%s</BICFI></FinInstnId></CdtrAgt><Cdtr><Nm>Berlin Books</Nm></Cdtr><CdtrAcct><Id><IBAN>%s</IBAN></Id></CdtrAcct>", Creditor, CreditorAc)
		fmt.Fprintf(&b, "<RmtInf><Ustrd>Order P%d</Ustrd></RmtInf></CdtTrfTxInf>\n", i+1)
	}
	b.WriteString("</PmtInf></CstmrCdtTrfInitn></Document>\n")
	return b.Bytes()
}

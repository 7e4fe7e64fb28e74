package iso

import (
	"encoding/xml"
	"reflect"
	"strings"

	"github.com/moov-io/iso20022/pkg/pacs_v08"
	"github.com/moov-io/iso20022/pkg/pacs_v09"
)

// pacs.008 (FIToFICstmrCdtTrf): GrpHdr, then CdtTrfTxInf+. Versions .08
// to .11 differ in moov-io/iso20022's Go types, not in what crossclear
// reads: each version decodes its blocks with its own types (a block that
// does not decode is rejected alone) and hands over the few values taken
// from them; everything else is read from the text, the same for both.

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

// pacs008Version is how moov-io/iso20022 reads one version: its group
// header type, its transaction type, and the transaction decoded with it.
type pacs008Version struct {
	header   func() any
	txType   reflect.Type
	decodeTx func(raw []byte) (pacs008Tx, error)
}

var pacs008Versions = map[string]pacs008Version{
	Pacs008v08: {func() any { return new(pacs_v08.GroupHeader93) }, reflect.TypeFor[pacs_v08.CreditTransferTransaction39](), moovPacs008v08Tx},
	Pacs008v09: {func() any { return new(pacs_v09.GroupHeader93) }, reflect.TypeFor[pacs_v09.CreditTransferTransaction43](), moovPacs008v09Tx},
	Pacs008v10: {func() any { return new(pacs_v09.GroupHeader93) }, reflect.TypeFor[pacs008v10Tx](), moovPacs008v10Tx},
	Pacs008v11: {func() any { return new(pacs_v09.GroupHeader93) }, reflect.TypeFor[pacs008v10Tx](), moovPacs008v10Tx},
}

func moovPacs008v08Tx(raw []byte) (pacs008Tx, error) {
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
}

func moovPacs008v09Tx(raw []byte) (pacs008Tx, error) {
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

// moovPacs008v10Tx reads a pacs.008.001.10 or .11 transaction.
func moovPacs008v10Tx(raw []byte) (pacs008Tx, error) {
	var x pacs008v10Tx
	if err := xml.Unmarshal(raw, &x); err != nil {
		return pacs008Tx{}, err
	}
	out := pacs008Tx{InstrID: sp(x.PmtId.InstrId), EndToEndID: string(x.PmtId.EndToEndId), TxID: sp(x.PmtId.TxId), UETR: sp(x.PmtId.UETR), ChargeBearer: string(x.ChrgBr)}
	if x.RmtInf != nil {
		out.Unstructured = append(out.Unstructured, x.RmtInf.Ustrd...)
	}
	return out, nil
}

// decodePacs008 decodes the group header with the version's type (one
// that does not decode refuses the file) and each transaction; a
// transaction that does not decode is kept with its problem, to be
// rejected alone.
//
// A transaction is read while it is cut and dropped once read, so that
// memory holds the decoded transactions, not the file's parts. Its
// verdict is moov's type's, reached by checking its elements against the
// type's shape (shape.go) as they stream by, and the few values moov
// would hand over are taken from the same text with encoding/xml's
// semantics (the last occurrence, the text as written); only when the
// type has no shape is each block decoded with decodeTx.
// TestShapeAgreesWithMoov compares the two ways on every sample.
func decodePacs008(env *Envelope, name string) (*Message, error) {
	v := pacs008Versions[name]
	txShape, _ := shapeOf(v.txType)
	return decodePacs008With(env.Document, env.canonical, name, v.header(), txShape, v.decodeTx)
}

// pacs008Kept are the paths of a transaction whose text the shape path
// reads as moov's types would hand them over.
var pacs008Kept = []string{"PmtId/InstrId", "PmtId/EndToEndId", "PmtId/TxId", "PmtId/UETR", "ChrgBr", "RmtInf/Ustrd"}

// decodePacs008With decodes with txShape, or with decodeTx when it is nil.
func decodePacs008With(doc []byte, canonical bool, name string, header any, txShape *shape, decodeTx func([]byte) (pacs008Tx, error)) (*Message, error) {
	var (
		grp, second *part
		txs         []Transaction
	)
	c := cutter{canonical: canonical, root: "FIToFICstmrCdtTrf",
		at: func(p []string) bool { return len(p) == 1 && (p[0] == "GrpHdr" || p[0] == "CdtTrfTxInf") },
		open: func(p *part) (*shape, []string) {
			if p.name == "CdtTrfTxInf" && txShape != nil {
				return txShape, pacs008Kept
			}
			return nil, nil
		},
		done: func(p *part) {
			if p.name == "GrpHdr" {
				if grp == nil {
					grp = p
				} else if second == nil {
					second = p
				}
				return
			}
			txs = append(txs, readPacs008Tx(len(txs), p, name, txShape != nil, decodeTx))
		},
	}
	rootLine, err := c.run(doc)
	switch {
	case err != nil:
		return nil, err
	case second != nil:
		return nil, errorf(ReasonFileFormat, "FIToFICstmrCdtTrf/GrpHdr", second.line, "a second GrpHdr")
	case grp == nil:
		return nil, errorf(ReasonFileFormat, "FIToFICstmrCdtTrf/GrpHdr", rootLine, "the message has no GrpHdr")
	}
	if err := xml.Unmarshal(grp.xml, header); err != nil {
		return nil, errorf(ReasonFileFormat, "FIToFICstmrCdtTrf/GrpHdr", grp.line, "the group header does not decode as %s: %v", name, err)
	}
	m := groupPacs008(grp)
	m.InstructingAgent, m.InstructedAgent = agentAt(grp, "InstgAgt"), agentAt(grp, "InstdAgt")
	m.Transactions = txs
	return m, nil
}

// readPacs008Tx reads the i-th transaction from its part: checked against
// its type's shape when shaped, else decoded with decodeTx.
func readPacs008Tx(i int, p *part, name string, shaped bool, decodeTx func([]byte) (pacs008Tx, error)) Transaction {
	t := txPacs008(i, p)
	var (
		x   pacs008Tx
		err error
	)
	if shaped {
		x, err = shapedPacs008Tx(p), p.checkErr
	} else {
		x, err = decodeTx(p.xml)
	}
	if err != nil {
		decodeProblem(&t, name, err)
		return t
	}
	t.InstrID, t.EndToEndID, t.TxID, t.UETR = x.InstrID, x.EndToEndID, x.TxID, x.UETR
	t.ChargeBearer, t.Unstructured = x.ChargeBearer, x.Unstructured
	t.InstructingAgent, t.InstructedAgent = agentAt(p, "InstgAgt"), agentAt(p, "InstdAgt")
	t.DebtorAgent, t.CreditorAgent = agentAt(p, "DbtrAgt"), agentAt(p, "CdtrAgt")
	t.Debtor, t.Creditor = partyAt(p, "Dbtr"), partyAt(p, "Cdtr")
	t.DebtorAccount, t.CreditorAccount = cashAccountAt(p, "DbtrAcct"), cashAccountAt(p, "CdtrAcct")
	t.UltimateDebtor, t.UltimateCreditor = partyAt(p, "UltmtDbtr"), partyAt(p, "UltmtCdtr")
	return t
}

// shapedPacs008Tx is what moov's types would hand over, from the kept
// text: a repeated element's last occurrence (encoding/xml overwrites),
// optional strings trimmed (sp), required ones as written, every
// unstructured remittance line.
func shapedPacs008Tx(p *part) pacs008Tx {
	last := func(path string) string {
		if all := p.all[path]; len(all) > 0 {
			return all[len(all)-1]
		}
		return ""
	}
	return pacs008Tx{
		InstrID: strings.TrimSpace(last("PmtId/InstrId")), EndToEndID: last("PmtId/EndToEndId"),
		TxID: strings.TrimSpace(last("PmtId/TxId")), UETR: strings.TrimSpace(last("PmtId/UETR")),
		ChargeBearer: last("ChrgBr"), Unstructured: p.all["RmtInf/Ustrd"],
	}
}

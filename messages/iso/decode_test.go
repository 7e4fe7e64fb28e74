package iso_test

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

func TestDecodeSample(t *testing.T) {
	m, err := iso.DecodeBytes(readSample(t), iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := &iso.AppHdr{From: "MERLSGSGXXX", To: "XCLRGB2LXXX", BizMsgIdr: "MERL-20250310-0001", MsgDefIdr: "pacs.008.001.08", BizSvc: "swift.cbprplus.02", CreDt: "2025-03-10T09:15:00+08:00"}
	if !reflect.DeepEqual(m.Header, want) {
		t.Fatalf("header %+v", m.Header)
	}
	if m.Name != iso.Pacs008v08 || m.MsgID != "MERL-20250310-0001" || m.CreDtTm != "2025-03-10T09:15:00+08:00" || m.NbOfTxs != "3" || m.CtrlSum != "1694.40" || m.SettlementMethod != "CLRG" {
		t.Fatalf("group %+v", m)
	}
	if len(m.Transactions) != 3 {
		t.Fatalf("%d transactions", len(m.Transactions))
	}
	tx := m.Transactions[2]
	if tx.UETR != "3f2b6c1e-8a4d-4e5f-9b7a-1c2d3e4f5a03" || tx.EndToEndID != "ORDER-77122" || tx.InstrID != "MERL-0001-3" ||
		tx.Amount != (iso.Amount{Value: "354.50", Currency: "USD"}) || tx.SettlementDate != "2025-03-10" || tx.ChargeBearer != "SHAR" ||
		tx.InstructingAgent.BIC != "MERLSGSGXXX" || tx.CreditorAgent.BIC != "HUDSUS33XXX" || tx.DebtorAgent.BIC != "MERLSGSGXXX" ||
		tx.Creditor.Name != "Brooklyn Vinyl Co." || tx.CreditorAccount.ID() != "021000021-4400000001" || tx.Debtor.Name != "Lim Hui Ling" ||
		tx.Reference() != "Order 77122 two LPs" || tx.Index != 2 || tx.Line != 75 || tx.LineOf("PmtId/UETR") != 79 {
		t.Fatalf("transaction %+v", tx)
	}
	if m.Transactions[0].Debtor.Country != "SG" || m.Transactions[0].CreditorAccount.IBAN != "DE02120300000000202051" {
		t.Fatalf("first transaction %+v", m.Transactions[0])
	}
	r := iso.Validate(m, iso.Context{Sender: "MERLSGSG"})
	if r.Group != nil || r.Accepted() != 3 {
		t.Fatalf("%+v", r)
	}
	if got := r.Txs[1].Amount.String(); got != "89.90 EUR" {
		t.Fatal(got)
	}
}

// TestAmountsNeverThroughFloat: amounts and sums are exact decimals.
// 0.10 + 0.20 is 0.30 (in binary floating point it is not), and a large
// amount keeps its last cent.
func TestAmountsNeverThroughFloat(t *testing.T) {
	raw := isotest.Pacs008{CtrlSum: "9999999999999.29", Txs: []isotest.Tx{{Amount: "0.10"}, {Amount: "0.20"}, {Amount: "9999999999998.99"}}}.Bytes()
	m, err := iso.DecodeBytes(raw, iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	r := iso.Validate(m, iso.Context{})
	if r.Group != nil || r.Accepted() != 3 {
		t.Fatalf("%v %+v", r.Group, r.Txs)
	}
	if r.Txs[2].Amount.Minor != 999999999999899 || m.Transactions[2].Amount.Value != "9999999999998.99" {
		t.Fatalf("%+v %+v", r.Txs[2].Amount, m.Transactions[2].Amount)
	}
}

func TestDecodeVersion09AndPain001(t *testing.T) {
	m, err := iso.DecodeBytes(isotest.Pacs008{Version: "09", Txs: []isotest.Tx{{Amount: "12.34"}}}.Bytes(), iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != iso.Pacs008v09 || m.Transactions[0].Amount.Value != "12.34" || m.Transactions[0].CreditorAgent.BIC != isotest.Creditor {
		t.Fatalf("%+v", m)
	}
	if r := iso.Validate(m, iso.Context{Sender: isotest.Sender}); r.Accepted() != 1 {
		t.Fatalf("%v %+v", r.Group, r.Txs)
	}

	p, err := iso.DecodeBytes(isotest.Pain001("PAIN-1", "10.00", "20.50"), iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != iso.Pain001v10 || len(p.Transactions) != 2 || len(p.PaymentInfos) != 1 || p.InitiatingParty.Name != "Buyer Ltd" {
		t.Fatalf("%+v", p)
	}
	tx := p.Transactions[1]
	if tx.Amount != (iso.Amount{Value: "20.50", Currency: "EUR"}) || tx.DebtorAgent.BIC != isotest.Sender || tx.InstructingAgent.BIC != isotest.Sender ||
		tx.SettlementDate != "2025-03-11" || tx.PaymentInfoID != "PI-1" || tx.Reference() != "Order P2" || tx.Path("PmtId/UETR") != "PmtInf[0]/CdtTrfTxInf[1]/PmtId/UETR" {
		t.Fatalf("%+v", tx)
	}
	if r := iso.Validate(p, iso.Context{Sender: isotest.Sender}); r.Group != nil || r.Accepted() != 2 {
		t.Fatalf("%v %+v", r.Group, r.Txs)
	}
	// The debtor agent of a pain.001 must be the uploading bank.
	r := iso.Validate(p, iso.Context{Sender: "CHASUS33"})
	wantErr(t, r.Txs[0].Err, iso.ReasonBankIdentifier, "PmtInf[0]/DbtrAgt/FinInstnId/BICFI", 2, "debtor agent DBSSSGSG")
}

// TestOneBadTransactionDecodes: a transaction moov cannot decode (a date
// that is not one) is reported alone; the others decode.
func TestOneBadTransactionDecodes(t *testing.T) {
	raw := isotest.Pacs008{Txs: []isotest.Tx{{}, {Extra: "<pacs:AccptncDtTm>yesterday</pacs:AccptncDtTm>"}, {}}}.Bytes()
	raw = []byte(strings.Replace(string(raw), "<pacs:ChrgBr>SHAR</pacs:ChrgBr>\n<pacs:AccptncDtTm>", "<pacs:AccptncDtTm>", 1))
	m, err := iso.DecodeBytes(raw, iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	r := iso.Validate(m, iso.Context{})
	if r.Group != nil || r.Txs[0].Err != nil || r.Txs[2].Err != nil {
		t.Fatalf("%v %+v", r.Group, r.Txs)
	}
	wantErr(t, r.Txs[1].Err, iso.ReasonFileFormat, "CdtTrfTxInf[1]", 0, "does not decode as pacs.008.001.08")
}

// TestDecodePain001v09: pain.001.001.09 (SWIFT CBPR+) is read like .10,
// with the same rules and reason codes: a CBPR+-style file with an AppHdr
// and prefixes, and the generated file in both versions.
func TestDecodePain001v09(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/iso/pain001v09-cbpr.xml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := iso.DecodeBytes(raw, iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != iso.Pain001v09 || m.Header == nil || m.Header.MsgDefIdr != iso.Pain001v09 || m.MsgID != "DBS-P9-0001" || len(m.Transactions) != 2 {
		t.Fatalf("%+v", m)
	}
	tx := m.Transactions[0]
	if tx.Amount != (iso.Amount{Value: "100.00", Currency: "EUR"}) || tx.InstructingAgent.BIC != isotest.Sender || tx.CreditorAgent.BIC != isotest.Creditor ||
		tx.CreditorAccount.IBAN != isotest.CreditorAc || tx.SettlementDate != "2025-03-11" || tx.ChargeBearer != "SHAR" || tx.Reference() != "Order 9001" ||
		tx.Debtor.Country != "SG" || len(tx.Problems) != 0 {
		t.Fatalf("%+v", tx)
	}
	if r := iso.Validate(m, iso.Context{Sender: isotest.Sender}); r.Group != nil || r.Accepted() != 2 {
		t.Fatalf("%v %+v", r.Group, r.Txs)
	}
	if f, err := iso.DecodeFileBytes(raw, iso.Limits{}); err != nil || f.Kind != iso.KindPayment || f.Name != iso.Pain001v09 {
		t.Fatalf("%+v %v", f, err)
	}

	for _, v := range []string{"09", "10"} {
		p, err := iso.DecodeBytes(isotest.Pain001Version(v, "PAIN-"+v, "10.00", "20.50"), iso.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "pain.001.001."+v || len(p.Transactions) != 2 {
			t.Fatalf("%+v", p)
		}
		// Same rules, same reason codes and elements in both versions.
		r := iso.Validate(p, iso.Context{Sender: "CHASUS33"})
		wantErr(t, r.Txs[0].Err, iso.ReasonBankIdentifier, "PmtInf[0]/DbtrAgt/FinInstnId/BICFI", 2, "debtor agent DBSSSGSG")
		p.CtrlSum = "99.00"
		r = iso.Validate(p, iso.Context{Sender: isotest.Sender})
		if r.Group == nil || r.Group.Reason != iso.ReasonControlSum {
			t.Fatalf("%s: %v", v, r.Group)
		}
		p.CtrlSum = "30.50"
		p.Transactions[1].SettlementDate = "11/03/2025"
		r = iso.Validate(p, iso.Context{Sender: isotest.Sender})
		if r.Group != nil || r.Txs[0].Err != nil || r.Txs[1].Err == nil || r.Txs[1].Err.Reason != iso.ReasonInvalidDate {
			t.Fatalf("%s: %v %+v", v, r.Group, r.Txs)
		}
	}
}

// TestPacs008VersionsMatrix: pacs.008.001.10 and .11 are read like .08
// (the elements crossclear reads are the same in ISO's schemas), a tax
// period year written as the xs:gYear those versions use still decodes;
// pacs.008.001.12/.13 and camt.056.001.10/.11 are refused as unsupported,
// naming the versions crossclear takes.
func TestPacs008VersionsMatrix(t *testing.T) {
	for _, v := range []string{"10", "11"} {
		tax := "<pacs:Tax><pacs:Rcrd><pacs:Prd><pacs:Yr>2024</pacs:Yr></pacs:Prd></pacs:Rcrd></pacs:Tax>"
		raw := isotest.Pacs008{Version: v, Txs: []isotest.Tx{{Amount: "12.34", Ustrd: "Order 7"}, {Amount: "1.00", Extra: tax}}}.Bytes()
		f, err := iso.DecodeFileBytes(raw, iso.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		m := f.Payment
		if f.Kind != iso.KindPayment || m.Name != "pacs.008.001."+v || m.Transactions[0].Amount.Value != "12.34" || m.Transactions[0].Reference() != "Order 7" ||
			m.Transactions[0].CreditorAgent.BIC != isotest.Creditor || m.Transactions[0].UETR != isotest.UETR(1) || m.Transactions[0].ChargeBearer != "SHAR" {
			t.Fatalf("%s: %+v", v, m)
		}
		if r := iso.Validate(m, iso.Context{Sender: isotest.Sender}); r.Group != nil || r.Accepted() != 2 {
			t.Fatalf("%s: %v %+v", v, r.Group, r.Txs)
		}
		r := iso.Validate(m, iso.Context{Sender: "CHASUS33"})
		wantErr(t, r.Txs[0].Err, iso.ReasonBankIdentifier, "CdtTrfTxInf[0]/InstgAgt", 0, "instructing agent DBSSSGSG")
	}
	for _, name := range []string{"pacs.008.001.12", "pacs.008.001.13", "camt.056.001.10", "camt.056.001.11", "pacs.008.001.07"} {
		raw := strings.ReplaceAll(string(isotest.Pacs008{Bare: true, Txs: []isotest.Tx{{}}}.Bytes()), iso.Pacs008v08, name)
		_, err := iso.DecodeFileBytes([]byte(raw), iso.Limits{})
		if !errors.Is(err, iso.ErrUnsupported) {
			t.Fatalf("%s: %v", name, err)
		}
		family := name[:8]
		want := "send pacs.008.001.08 or pacs.008.001.09 or pacs.008.001.10 or pacs.008.001.11"
		if family == "camt.056" {
			want = "send camt.056.001.08 or camt.056.001.09"
		}
		e := wantErr(t, err, iso.ReasonFileFormat, "Document", 0, name+" is not a message crossclear takes in: an unsupported version of "+family)
		if !strings.Contains(e.Msg, want) || !strings.Contains(e.Msg, "it takes "+strings.Join(iso.TakenIn(), ", ")) {
			t.Fatalf("%s: %v", name, e)
		}
		// Decode (payments only) says the same.
		if _, err := iso.DecodeBytes([]byte(raw), iso.Limits{}); !errors.Is(err, iso.ErrUnsupported) || !strings.Contains(err.Error(), "an unsupported version of "+family) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

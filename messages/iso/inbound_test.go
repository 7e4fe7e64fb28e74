package iso_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

func decodeFile(t *testing.T, raw []byte) *iso.File {
	t.Helper()
	f, err := iso.DecodeFileBytes(raw, iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCancellationRequest: a camt.056 in either version decodes to the
// payments to cancel, each with its UETR, reason and explanation; the
// fixture is schema-valid (.09, the version whose XSD is at hand).
func TestCancellationRequest(t *testing.T) {
	info := strings.Repeat("the buyer changed their mind about the order; ", 4)
	for _, v := range []string{"08", "09"} {
		raw := isotest.Camt056{Version: v, CaseID: "CASE-7", Txs: []isotest.CxlTx{{Amount: "100.00", Info: info}, {Reason: "DUPL", EndToEndID: isotest.Omit}}}.Bytes()
		if v == "09" {
			isotest.SchemaValid(t, iso.Camt056v09, raw)
		}
		f := decodeFile(t, raw)
		r := f.Cancellation
		if f.Kind != iso.KindCancellation || f.Payment != nil || r == nil || r.Name != "camt.056.001."+v {
			t.Fatalf("%+v", f)
		}
		if r.AssignmentID != "CXL-1" || r.Assigner.BIC != isotest.Sender || r.Assignee.BIC != isotest.Operator || r.CaseID != "CASE-7" ||
			r.CaseCreator.BIC != isotest.Sender || r.CreDtTm != "2025-03-11T09:00:00+08:00" || r.Header.BizMsgIdr != "CXL-1" || len(r.Transactions) != 2 {
			t.Fatalf("%+v", r)
		}
		t0, t1 := r.Transactions[0], r.Transactions[1]
		if t0.Original != (iso.Original{MsgID: "MSG-1", MsgNameID: iso.Pacs008v08, EndToEndID: "E2E-1", UETR: isotest.UETR(1)}) ||
			*t0.Amount != (iso.Amount{Value: "100.00", Currency: "EUR"}) || t0.Reason != "CUST" || t0.Info != info || t0.CancellationID != "CXL-1-1" {
			t.Fatalf("%+v", t0)
		}
		if t1.Index != 1 || t1.Original.UETR != isotest.UETR(2) || t1.Original.EndToEndID != "" || t1.Reason != "DUPL" || t1.Path("OrgnlUETR") != "Undrlyg[0]/TxInf[1]/OrgnlUETR" {
			t.Fatalf("%+v", t1)
		}
		rep := iso.ValidateCancellation(r, iso.Context{Sender: isotest.Sender})
		if rep.Group != nil || rep.Txs[0] != nil || rep.Txs[1] != nil {
			t.Fatalf("%+v", rep)
		}
	}
}

// TestCancellationRequestErrors: what is wrong is named by element, line
// and ISO reason; one bad transaction does not hide the others.
func TestCancellationRequestErrors(t *testing.T) {
	r := decodeFile(t, isotest.Camt056{Txs: []isotest.CxlTx{
		{UETR: isotest.Omit}, {UETR: "3F2B6C1E-8A4D-4E5F-9B7A-1C2D3E4F5A03"}, {Amount: "1.005"}, {}, {UETR: isotest.UETR(4)},
	}}.Bytes()).Cancellation
	rep := iso.ValidateCancellation(r, iso.Context{Sender: isotest.Sender})
	if rep.Group != nil {
		t.Fatal(rep.Group)
	}
	wantErr(t, rep.Txs[0], iso.ReasonMissing, "Undrlyg[0]/TxInf[0]/OrgnlUETR", 0, "OrgnlUETR is required")
	wantErr(t, rep.Txs[1], iso.ReasonFormallyWrong, "Undrlyg[0]/TxInf[1]/OrgnlUETR", 0, "lower-case UUID v4")
	wantErr(t, rep.Txs[2], iso.ReasonInvalidAmount, "TxInf[2]/OrgnlIntrBkSttlmAmt", 0, "EUR allows 2 decimal(s)")
	if rep.Txs[3] != nil {
		t.Fatal(rep.Txs[3])
	}
	wantErr(t, rep.Txs[4], iso.ReasonDuplicate, "TxInf[4]/OrgnlUETR", 0, "also the UETR of transaction 3")
	if rep.Txs[0].Line == 0 || rep.Txs[1].Line <= rep.Txs[0].Line {
		t.Fatalf("lines %d %d", rep.Txs[0].Line, rep.Txs[1].Line)
	}

	for name, c := range map[string]struct {
		req    isotest.Camt056
		reason iso.Reason
		elem   string
		msg    string
	}{
		"another bank's request": {isotest.Camt056{Assigner: isotest.Creditor, From: isotest.Sender, Txs: []isotest.CxlTx{{}}}, iso.ReasonBankIdentifier, "Assgnmt/Assgnr", "uploaded by DBSSSGSG"},
		"header from elsewhere":  {isotest.Camt056{From: isotest.Creditor, Txs: []isotest.CxlTx{{}}}, iso.ReasonBankIdentifier, "AppHdr/Fr", "uploaded by DBSSSGSG"},
		"group cancellation":     {isotest.Camt056{GroupCancel: true}, iso.ReasonFormallyWrong, "GrpCxl", "one by one"},
		"nothing to cancel":      {isotest.Camt056{}, iso.ReasonMissing, "Assgnmt", "names no payment"},
	} {
		r := decodeFile(t, c.req.Bytes()).Cancellation
		rep := iso.ValidateCancellation(r, iso.Context{Sender: isotest.Sender})
		if rep.Group == nil {
			t.Fatalf("%s: accepted", name)
		}
		wantErr(t, rep.Group, c.reason, c.elem, 0, c.msg)
	}
}

// TestDecodeFileRefuses: an unknown version, a namespace that is not ISO
// 20022's, an AppHdr announcing another message, and a camt.056 that is
// not one are refused with FF01 naming the line.
func TestDecodeFileRefuses(t *testing.T) {
	good := string(isotest.Camt056{Txs: []isotest.CxlTx{{}}}.Bytes())
	for name, c := range map[string]struct {
		raw         string
		unsupported bool
		msg         string
	}{
		"unknown version":  {strings.ReplaceAll(good, "camt.056.001.08", "camt.056.001.07"), true, "camt.056.001.07 is not a message crossclear takes in: an unsupported version of camt.056, send camt.056.001.08 or camt.056.001.09 (it takes camt.054.001.08, camt.056.001.08"},
		"wrong namespace":  {strings.Replace(good, `xmlns="urn:iso:std:iso:20022:tech:xsd:camt.056.001.08"`, `xmlns="urn:example:camt.056"`, 1), false, "announces camt.056.001.08"},
		"header disagrees": {strings.Replace(good, "<MsgDefIdr>camt.056.001.08", "<MsgDefIdr>camt.056.001.09", 1), false, "announces camt.056.001.09"},
		"not a camt.056":   {strings.Replace(strings.Replace(good, "<FIToFIPmtCxlReq>", "<RsltnOfInvstgtn>", 1), "</FIToFIPmtCxlReq>", "</RsltnOfInvstgtn>", 1), false, "holds RsltnOfInvstgtn, not FIToFIPmtCxlReq"},
		"no assignment":    {good[:strings.Index(good, "<Assgnmt>")] + good[strings.Index(good, "</Assgnmt>")+len("</Assgnmt>"):], false, "the message has no Assgnmt"},
	} {
		_, err := iso.DecodeFileBytes([]byte(c.raw), iso.Limits{})
		e, ok := iso.AsError(err)
		if !ok || e.Reason != iso.ReasonFileFormat || !strings.Contains(e.Msg, c.msg) || errors.Is(err, iso.ErrUnsupported) != c.unsupported {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSettlementConfirmations: a pacs.002 and a camt.054 from the
// settlement bank say which pacs.009 settled or failed; items that name
// no pacs.009, or the status of another message, are kept with a problem.
func TestSettlementConfirmations(t *testing.T) {
	raw := isotest.Pacs002Settlement("SB-1",
		isotest.Status{MsgID: "C42-9-DBSSSGSG-EUR", UETR: isotest.UETR(1), Status: "ACSC"},
		isotest.Status{EndToEndID: "C42-9-DEUTDEFF-EUR", Status: "RJCT", Reason: "AM04"},
		isotest.Status{UETR: isotest.UETR(3), Status: "ACSP"},
		isotest.Status{Status: "ACCC"},
	)
	isotest.SchemaValid(t, iso.Pacs002v10, raw)
	f := decodeFile(t, raw)
	s := f.Settlement
	if f.Kind != iso.KindSettlement || s.MsgID != "SB-1" || s.Header.From != isotest.SettlementBank || len(s.Items) != 4 {
		t.Fatalf("%+v", f)
	}
	if it := s.Items[0]; it.Outcome != iso.Settled || it.MsgID != "C42-9-DBSSSGSG-EUR" || it.UETR != isotest.UETR(1) || it.At != "2025-03-11T08:59:00+01:00" || it.Problem != nil || it.Element != "TxInfAndSts[0]" {
		t.Fatalf("%+v", it)
	}
	if it := s.Items[1]; it.Outcome != iso.SettlementFailed || it.Reason != "AM04" || it.EndToEndID != "C42-9-DEUTDEFF-EUR" || it.Problem != nil {
		t.Fatalf("%+v", it)
	}
	if it := s.Items[2]; it.Outcome != iso.SettlementPending || it.Problem != nil {
		t.Fatalf("%+v", it)
	}
	if it := s.Items[3]; it.Problem == nil || it.Problem.Reason != iso.ReasonMissing || !strings.Contains(it.Problem.Msg, "names no pacs.009") || it.Problem.Line == 0 {
		t.Fatalf("%+v", it)
	}

	raw = isotest.Camt054Settlement("SB-2",
		isotest.Booking{MsgID: "C42-9-DBSSSGSG-EUR", UETR: isotest.UETR(1), Amount: "1234.56"},
		isotest.Booking{UETR: isotest.UETR(2), Debit: true, Status: "PDNG"},
		isotest.Booking{Amount: "1.00"},
	)
	isotest.SchemaValid(t, iso.Camt054v08, raw)
	s = decodeFile(t, raw).Settlement
	if len(s.Items) != 3 || s.Name != iso.Camt054v08 {
		t.Fatalf("%+v", s)
	}
	if it := s.Items[0]; it.Outcome != iso.Settled || it.Status != "BOOK" || *it.Amount != (iso.Amount{Value: "1234.56", Currency: "EUR"}) ||
		it.Element != "Ntfctn[0]/Ntry[0]/NtryDtls/TxDtls[0]" || it.At != "2025-03-11T08:59:00+01:00" || it.Problem != nil {
		t.Fatalf("%+v", it)
	}
	if it := s.Items[1]; it.Outcome != iso.SettlementPending || it.Amount.Value != "-100.00" || it.Problem != nil {
		t.Fatalf("%+v", it)
	}
	if it := s.Items[2]; it.Problem == nil || it.Element != "Ntfctn[0]/Ntry[2]" {
		t.Fatalf("%+v", it)
	}

	// A pacs.002 about a pacs.008 is not a settlement confirmation.
	m, err := iso.DecodeBytes(readSample(t), iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ok := iso.TxOutcome{Status: iso.StatusAccepted}
	reply, err := iso.Reply(m, nil, []iso.TxOutcome{ok, ok, ok}, iso.ReplyParams{From: "XCLRGB2L", To: "MERLSGSG", MsgID: "X"}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	s = decodeFile(t, reply).Settlement
	if len(s.Items) != 3 || s.Items[0].Problem == nil || !strings.Contains(s.Items[0].Problem.Msg, "about a pacs.008.001.08") || s.Items[0].Problem.Element != "TxInfAndSts[0]/OrgnlGrpInfAndSts/OrgnlMsgNmId" {
		t.Fatalf("%+v", s.Items[0])
	}
	// Nothing to confirm is an error, not an empty success.
	_, err = iso.DecodeFileBytes(isotest.Pacs002Settlement("SB-3"), iso.Limits{})
	wantErr(t, err, iso.ReasonMissing, "Document", 0, "confirms nothing")
}

// TestInspect: what `crossclear iso inspect` shows of a file other than a
// payment: the document crossclear sends, read back; a settlement
// confirmation's items; a cancellation request's problems.
func TestInspect(t *testing.T) {
	inspect := func(raw []byte, sender string) *iso.Inspection {
		t.Helper()
		env, err := iso.SplitBytes(raw, iso.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		in, err := iso.Inspect(env, iso.Context{Sender: sender})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	for _, enc := range []interface{ Encode() ([]byte, error) }{samplePacs009(), sampleStatement(), samplePacs004(), sampleCamt029(), sampleReport()} {
		raw, err := enc.Encode()
		if err != nil {
			t.Fatal(err)
		}
		in := inspect(raw, "")
		if reflect.TypeOf(in.Document) != reflect.TypeOf(enc) || !in.Valid() {
			t.Fatalf("%T inspected as %+v", enc, in)
		}
	}
	in := inspect(isotest.Camt054Settlement("SB", isotest.Booking{UETR: isotest.UETR(1)}), "")
	if in.Kind != iso.KindSettlement || in.Settlement.Items[0].Outcome != iso.Settled || in.Document.(*iso.CashReport).MsgID != "SB" {
		t.Fatalf("%+v", in)
	}
	in = inspect(isotest.Camt056{Txs: []isotest.CxlTx{{UETR: isotest.Omit}}}.Bytes(), "CHASUS33")
	if in.Kind != iso.KindCancellation || in.Valid() || len(in.Problems) != 2 || in.Problems[0].Reason != iso.ReasonBankIdentifier || in.Problems[1].Reason != iso.ReasonMissing {
		t.Fatalf("%+v", in)
	}
	env, _ := iso.SplitBytes(readSample(t), iso.Limits{})
	if _, err := iso.Inspect(env, iso.Context{}); !errors.Is(err, iso.ErrUnsupported) {
		t.Fatal(err)
	}
}

package iso_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

func samplePacs004() *iso.PaymentReturn {
	at := "2025-03-11T10:30:00.000-04:00"
	orig := amt("354.50", "USD")
	return &iso.PaymentReturn{
		Header: iso.AppHdr{From: "XCLRGB2L", To: "MERLSGSG", BizMsgIdr: "RF3f2b6c1e8a4d4e5f9b7a1c2d3e4f5a03", CreDt: at},
		MsgID:  "RF3f2b6c1e8a4d4e5f9b7a1c2d3e4f5a03", CreDtTm: at, SettlementMethod: iso.SettleByClearing,
		InstructingAgent: "XCLRGB2L", InstructedAgent: "MERLSGSG",
		Returns: []iso.ReturnTx{{
			ReturnID: "RF3f2b6c1e8a4d4e5f9b7a1c2d3e4f5a03",
			Original: iso.Original{MsgID: "MERL-20250310-0001", MsgNameID: iso.Pacs008v08, CreDtTm: "2025-03-10T09:15:00+08:00",
				InstrID: "MERL-0001-3", EndToEndID: "ORDER-77122", UETR: "3f2b6c1e-8a4d-4e5f-9b7a-1c2d3e4f5a03"},
			OriginalAmount: &orig, OriginalSettlementDate: "2025-03-10",
			Amount: amt("354.50", "USD"), SettlementDate: "2025-03-11",
			Reason: iso.ReturnCancellation, Info: strings.Repeat("the buyer's bank asked to cancel the payment before it was released; ", 3),
		}, {
			Original: iso.Original{UETR: isotest.UETR(7)}, Amount: amt("1", "JPY"), Reason: iso.ReturnRegulatory,
		}},
	}
}

func sampleCamt029() *iso.Resolution {
	at := "2025-03-11T10:30:00.000+00:00"
	return &iso.Resolution{
		Header:       iso.AppHdr{From: "XCLRGB2L", To: "MERLSGSG", BizMsgIdr: "CA0123456789abcdef0123456789abcdef", CreDt: at},
		AssignmentID: "CA0123456789abcdef0123456789abcdef", Assigner: "XCLRGB2L", Assignee: "MERLSGSG", CreDtTm: at,
		CaseID: "MERL-CASE-7", CaseCreator: "MERLSGSG", Status: iso.ResolutionRejected,
		Transactions: []iso.CancellationStatus{{
			CancellationID: "MERL-CXL-7",
			Original:       iso.Original{MsgID: "MERL-20250310-0001", MsgNameID: iso.Pacs008v08, EndToEndID: "ORDER-77122", UETR: "3f2b6c1e-8a4d-4e5f-9b7a-1c2d3e4f5a03"},
			Status:         iso.CancellationRejected, Reason: iso.CancelRefusedByAgent, Info: "released to the merchant at 2025-03-10T12:00:00Z",
			OriginalAmount: &iso.Amount{Value: "354.50", Currency: "USD"}, OriginalSettlementDate: "2025-03-10",
		}},
	}
}

// TestPacs004AndCamt029: a refund and an answer to a cancellation request
// are schema-valid against ISO's pacs.004.001.09 and camt.029.001.09 (the
// CBPR+ versions) and read back to what was encoded; a long explanation
// is cut into AddtlInf lines of 105 characters and joined again.
func TestPacs004AndCamt029(t *testing.T) {
	r := samplePacs004()
	out, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	isotest.SchemaValid(t, iso.Pacs004v09, out)
	noEmptyNoExponent(t, out)
	if n := strings.Count(string(out), "<AddtlInf>"); n != 2 {
		t.Fatalf("%d AddtlInf lines", n)
	}
	back := roundTrip(t, out, iso.DecodePaymentReturn)
	r.Header.MsgDefIdr = iso.Pacs004v09
	if !reflect.DeepEqual(back, r) {
		t.Fatalf("round trip changed the return:\n%+v\n%+v", r, back)
	}

	a := sampleCamt029()
	out, err = a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	isotest.SchemaValid(t, iso.Camt029v09, out)
	noEmptyNoExponent(t, out)
	for _, want := range []string{"<Conf>RJCR</Conf>", "<TxCxlSts>RJCR</TxCxlSts>", "<Cd>AGNT</Cd>", "<Assgnr><Agt><FinInstnId><BICFI>XCLRGB2L</BICFI>"} {
		if !strings.Contains(unindent(out), want) {
			t.Errorf("missing %s", want)
		}
	}
	backA := roundTrip(t, out, iso.DecodeResolution)
	a.Header.MsgDefIdr = iso.Camt029v09
	if !reflect.DeepEqual(backA, a) {
		t.Fatalf("round trip changed the answer:\n%+v\n%+v", a, backA)
	}
	// An accepted cancellation without a case.
	a = sampleCamt029()
	a.CaseID, a.CaseCreator, a.Status = "", "", iso.ResolutionCancelled
	a.Transactions[0].Status, a.Transactions[0].Reason, a.Transactions[0].Info = iso.CancellationAccepted, "", ""
	out, err = a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	isotest.SchemaValid(t, iso.Camt029v09, out)
}

func TestReturnsRefuseWhatIsNotValid(t *testing.T) {
	for name, mutate := range map[string]func(*iso.PaymentReturn){
		"no returns":            func(r *iso.PaymentReturn) { r.Returns = nil },
		"zero amount":           func(r *iso.PaymentReturn) { r.Returns[0].Amount.Value = "0.00" },
		"msg id without name":   func(r *iso.PaymentReturn) { r.Returns[0].Original.MsgNameID = "" },
		"bad original UETR":     func(r *iso.PaymentReturn) { r.Returns[0].Original.UETR = strings.ToUpper(r.Returns[0].Original.UETR) },
		"info without a reason": func(r *iso.PaymentReturn) { r.Returns[0].Reason = "" },
		"reason not a code":     func(r *iso.PaymentReturn) { r.Returns[0].Reason = "cancelled" },
		"info over 500":         func(r *iso.PaymentReturn) { r.Returns[0].Info = strings.Repeat("x", 501) },
	} {
		r := samplePacs004()
		mutate(r)
		var e *iso.EncodeError
		if _, err := r.Encode(); !errors.As(err, &e) || e.Message != iso.Pacs004v09 {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, mutate := range map[string]func(*iso.Resolution){
		"case without creator": func(a *iso.Resolution) { a.CaseCreator = "" },
		"no status":            func(a *iso.Resolution) { a.Status = "" },
		"tx status":            func(a *iso.Resolution) { a.Transactions[0].Status = "CNCL" },
		"assignee not a BIC":   func(a *iso.Resolution) { a.Assignee = "merlion" },
		"long assignment":      func(a *iso.Resolution) { a.AssignmentID = strings.Repeat("A", 36) },
	} {
		a := sampleCamt029()
		mutate(a)
		var e *iso.EncodeError
		if _, err := a.Encode(); !errors.As(err, &e) || e.Message != iso.Camt029v09 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

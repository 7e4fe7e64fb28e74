package outbound_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
	"github.com/crossclear/crossclear/messages/outbound"
)

var refundedAt = time.Date(2025, 3, 11, 10, 30, 0, 0, time.FixedZone("", -4*3600))

func sampleRefund() outbound.Refund {
	return outbound.Refund{
		Operator: operator, Bank: isotest.Sender, At: refundedAt,
		Payment:    iso.Original{MsgID: "MSG-1", MsgNameID: iso.Pacs008v08, EndToEndID: "E2E-1", UETR: isotest.UETR(1)},
		PaidAmount: money(10_000, "EUR"), PaidOn: "2025-03-10", Amount: money(10_000, "EUR"),
		Reason: iso.ReturnCancellation, Explanation: "cancelled at the buyer's bank's request CXL-1",
	}
}

// TestBuildRefund: a refund's pacs.004 is schema-valid, goes to the buyer's
// bank, names the payment by its UETR and ids, and is the same file when
// built again.
func TestBuildRefund(t *testing.T) {
	f, err := outbound.BuildRefund(sampleRefund())
	if err != nil {
		t.Fatal(err)
	}
	isotest.SchemaValid(t, iso.Pacs004v09, f.Content)
	r := decode(t, f, iso.DecodePaymentReturn)
	tx := r.Returns[0]
	if f.BankID != isotest.Sender || f.Kind != iso.Pacs004v09 || r.MsgID != "RF-00000001000040008000000000000001" || f.Name != r.MsgID+".xml" ||
		tx.Original != sampleRefund().Payment || tx.Amount.Value != "100.00" || tx.OriginalAmount.Value != "100.00" || tx.SettlementDate != "2025-03-11" ||
		tx.Reason != "FOCR" || r.CreDtTm != "2025-03-11T10:30:00.000-04:00" {
		t.Fatalf("%+v", r)
	}
	again, _ := outbound.BuildRefund(sampleRefund())
	if !bytes.Equal(again.Content, f.Content) {
		t.Fatal("a refund built twice differs")
	}
	bad := sampleRefund()
	bad.Payment.UETR = ""
	if _, err := outbound.BuildRefund(bad); err == nil || !strings.Contains(err.Error(), "UETR is required") {
		t.Fatal(err)
	}
	bad = sampleRefund()
	bad.Amount = money(0, "EUR")
	if _, err := outbound.BuildRefund(bad); err == nil || !strings.Contains(err.Error(), "Returns[0].Amount") {
		t.Fatal(err)
	}
}

// TestBuildAnswer: a camt.056 read from a bank is answered with a
// schema-valid camt.029 per payment: accepted (CNCL/ACCR) or refused with
// the reason (RJCR/AGNT); what the bank wrote in a form the schema refuses
// is left out of the echo rather than failing the answer.
func TestBuildAnswer(t *testing.T) {
	raw := isotest.Camt056{CaseID: "CASE-9", Txs: []isotest.CxlTx{{Amount: "100.00"}, {Amount: "5.5"}}}.Bytes()
	raw = bytes.Replace(raw, []byte("<OrgnlMsgNmId>pacs.008.001.08</OrgnlMsgNmId>"), []byte("<OrgnlMsgNmId>pacs.008.001.08</OrgnlMsgNmId><OrgnlCreDtTm>2025-03-10T09:00:00</OrgnlCreDtTm>"), 1)
	f, err := iso.DecodeFileBytes(raw, iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	req := f.Cancellation
	accept, err := outbound.BuildAnswer(outbound.Answer{Operator: operator, Bank: isotest.Sender, At: refundedAt, Request: req, Payment: req.Transactions[0], Accepted: true})
	if err != nil {
		t.Fatal(err)
	}
	refuse, err := outbound.BuildAnswer(outbound.Answer{Operator: operator, Bank: isotest.Sender, At: refundedAt, Request: req, Payment: req.Transactions[1],
		Reason: iso.CancelRefusedByAgent, Explanation: "released to the merchant on 2025-03-10"})
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []outbound.File{accept, refuse} {
		isotest.SchemaValid(t, iso.Camt029v09, file.Content)
	}
	a := decode(t, accept, iso.DecodeResolution)
	if a.Status != "CNCL" || a.Transactions[0].Status != "ACCR" || a.Transactions[0].Original.UETR != isotest.UETR(1) || a.CaseID != "CASE-9" ||
		a.CaseCreator != isotest.Sender || a.Assignee != isotest.Sender || a.Transactions[0].CancellationID != "CXL-1-1" ||
		a.Transactions[0].Original.CreDtTm != "" || a.Transactions[0].Original.MsgID != "MSG-1" || a.Transactions[0].OriginalAmount.Value != "100.00" {
		t.Fatalf("%+v", a)
	}
	r := decode(t, refuse, iso.DecodeResolution)
	if r.Status != "RJCR" || r.Transactions[0].Status != "RJCR" || r.Transactions[0].Reason != "AGNT" || r.Transactions[0].OriginalAmount.Value != "5.50" ||
		r.AssignmentID == a.AssignmentID || len(r.AssignmentID) != 35 {
		t.Fatalf("%+v", r)
	}
}

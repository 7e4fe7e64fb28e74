package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

func TestISOInspect(t *testing.T) {
	out := mustRun(t, nil, "iso", "inspect", "--sender", "MERLSGSG", filepath.Join("..", "..", "testdata", "iso", "pacs008-merlion.xml"))
	for _, want := range []string{`"message": "pacs.008.001.08"`, `"valid": true`, `"accepted": 3`, `"uetr": "3f2b6c1e-8a4d-4e5f-9b7a-1c2d3e4f5a03"`, `"value": "354.50"`, `"ccy": "USD"`, `"reference": "Order 77122 two LPs"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %s in\n%s", want, out)
		}
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.xml")
	os.WriteFile(bad, isotest.Pacs008{Txs: []isotest.Tx{{}, {Amount: "1.005"}}, CtrlSum: isotest.Omit}.Bytes(), 0o600)
	code, out, _ := crossclear(t, nil, "iso", "inspect", bad)
	if code != exitError || !strings.Contains(out, `"reason": "AM12"`) || !strings.Contains(out, `"element": "CdtTrfTxInf[1]/IntrBkSttlmAmt"`) || !strings.Contains(out, `"accepted": 1`) {
		t.Fatalf("exit %d\n%s", code, out)
	}

	broken := filepath.Join(dir, "broken.xml")
	os.WriteFile(broken, []byte("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08\">\n<FIToFICstmrCdtTrf>\n<GrpHdr></Grp>"), 0o600)
	code, _, errs := crossclear(t, nil, "iso", "inspect", broken)
	if code != exitError || !strings.Contains(errs, "line 3: Document/FIToFICstmrCdtTrf/GrpHdr: not well-formed XML") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	code, _, errs = crossclear(t, nil, "iso", "inspect")
	if code != exitUsage || !strings.Contains(errs, "exactly one FILE") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// TestISOInspectOtherKinds: for anything but a payment, iso inspect prints
// {"message", "kind", "document", "settlement", "problems"}: a settlement
// confirmation with each item's reading, a cancellation request with what
// the rules find wrong (exit 1 when they find something).
func TestISOInspectOtherKinds(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, raw []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	shape := func(out string) map[string]json.RawMessage {
		t.Helper()
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for k := range m {
			if !slices.Contains([]string{"message", "kind", "document", "settlement", "problems"}, k) {
				t.Fatalf("unexpected key %q in\n%s", k, out)
			}
		}
		return m
	}

	confirmation := write("pacs002.xml", isotest.Pacs002Settlement("SB-1",
		isotest.Status{MsgID: "C42-9-DBSSSGSG-EUR", Status: "ACSC"}, isotest.Status{MsgID: "C42-9-DEUTDEFF-EUR", Status: "RJCT", Reason: "AM04"}))
	m := shape(mustRun(t, nil, "iso", "inspect", confirmation))
	var settlement iso.SettlementConfirmation
	var report struct {
		MsgID string `json:"msg_id"`
		Txs   []struct {
			Status string `json:"tx_sts"`
		} `json:"tx_inf_and_sts"`
	}
	if err := json.Unmarshal(m["settlement"], &settlement); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(m["document"], &report) // the pacs.002 itself, as decoded
	if string(m["message"]) != `"pacs.002.001.10"` || string(m["kind"]) != `"settlement_confirmation"` || m["problems"] != nil ||
		report.MsgID != "SB-1" || len(report.Txs) != 2 || report.Txs[1].Status != "RJCT" ||
		settlement.MsgID != "SB-1" || len(settlement.Items) != 2 || settlement.Items[0].Outcome != iso.Settled ||
		settlement.Items[1].Outcome != iso.SettlementFailed || settlement.Items[1].Reason != "AM04" || settlement.Items[0].MsgID != "C42-9-DBSSSGSG-EUR" {
		t.Fatalf("%s", mustRun(t, nil, "iso", "inspect", confirmation))
	}

	request := write("camt056.xml", isotest.Camt056{Txs: []isotest.CxlTx{{}}}.Bytes())
	m = shape(mustRun(t, nil, "iso", "inspect", "--sender", isotest.Sender, request))
	var cxl iso.CancellationRequest
	json.Unmarshal(m["document"], &cxl)
	if string(m["kind"]) != `"cancellation"` || m["settlement"] != nil || m["problems"] != nil || cxl.AssignmentID != "CXL-1" ||
		cxl.Transactions[0].Original.UETR != isotest.UETR(1) {
		t.Fatalf("%+v", m)
	}
	code, out, _ := crossclear(t, nil, "iso", "inspect", "--sender", "DEUTDEFF", request)
	m = shape(out)
	var problems []iso.Error
	json.Unmarshal(m["problems"], &problems)
	if code != exitError || len(problems) != 1 || problems[0].Reason != iso.ReasonBankIdentifier || problems[0].Element != "AppHdr/Fr/FIId/FinInstnId/BICFI" {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

// TestISOInspectNotTakenIn: iso inspect says of a message crossclear does
// not take in what POST /v1/files says: "is not a message crossclear
// takes in … it takes …", naming an unsupported version's family and the
// versions taken, and the namespace of a Document outside ISO 20022's
// (a SIX pain.001.001.03.ch.02). The versions crossclear does take in,
// pain.001.001.09 and pacs.008.001.10/.11, are inspected like the others.
func TestISOInspectNotTakenIn(t *testing.T) {
	dir := t.TempDir()
	write := func(name, raw string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(raw), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bare := string(isotest.Pacs008{Bare: true, Txs: []isotest.Tx{{}}}.Bytes())
	six := `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="http://www.six-interbank-clearing.com/de/pain.001.001.03.ch.02.xsd">
<CstmrCdtTrfInitn><GrpHdr><MsgId>SIX-1</MsgId></GrpHdr></CstmrCdtTrfInitn>
</Document>
`
	taken := "(it takes " + strings.Join(iso.TakenIn(), ", ") + ")"
	for _, c := range []struct{ file, want string }{
		{write("pacs008v12.xml", strings.ReplaceAll(bare, iso.Pacs008v08, "pacs.008.001.12")),
			"pacs.008.001.12 is not a message crossclear takes in: an unsupported version of pacs.008"},
		{write("pacs008v07.xml", strings.ReplaceAll(bare, iso.Pacs008v08, "pacs.008.001.07")),
			"send pacs.008.001.08 or pacs.008.001.09 or pacs.008.001.10 or pacs.008.001.11"},
		{write("camt056v10.xml", strings.ReplaceAll(string(isotest.Camt056{Txs: []isotest.CxlTx{{}}}.Bytes()), iso.Camt056v08, "camt.056.001.10")),
			"camt.056.001.10 is not a message crossclear takes in: an unsupported version of camt.056"},
		{write("six.xml", six),
			`a Document in namespace "http://www.six-interbank-clearing.com/de/pain.001.001.03.ch.02.xsd" is not a message crossclear takes in ` + taken},
	} {
		code, out, errs := crossclear(t, nil, "iso", "inspect", c.file)
		if code != exitError || out != "" || !strings.Contains(errs, c.want) || !strings.Contains(errs, taken) || strings.Contains(errs, "crossclear sends") {
			t.Fatalf("%s: exit %d\nstdout %s\nstderr %s", c.file, code, out, errs)
		}
	}

	for _, c := range []struct {
		name, message string
		raw           []byte
	}{
		{"pain001v09.xml", iso.Pain001v09, isotest.Pain001Version("09", "PAIN-9", "10.00", "20.50")},
		{"pacs008v10.xml", iso.Pacs008v10, isotest.Pacs008{Version: "10", Txs: []isotest.Tx{{Amount: "12.34"}}}.Bytes()},
		{"pacs008v11.xml", iso.Pacs008v11, isotest.Pacs008{Version: "11", Txs: []isotest.Tx{{Amount: "12.34"}}}.Bytes()},
	} {
		out := mustRun(t, nil, "iso", "inspect", "--sender", isotest.Sender, write(c.name, string(c.raw)))
		var got struct {
			Message  string `json:"message"`
			Valid    bool   `json:"valid"`
			Accepted int    `json:"accepted"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil || !got.Valid || got.Accepted == 0 || got.Message != c.message {
			t.Fatalf("%s: %v %+v\n%s", c.name, err, got, out)
		}
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "iso", "pain001v09-cbpr.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, nil, "iso", "inspect", "--sender", isotest.Sender, write("cbpr.xml", string(raw))); !strings.Contains(out, `"message": "pain.001.001.09"`) || !strings.Contains(out, `"accepted": 2`) {
		t.Fatalf("%s", out)
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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

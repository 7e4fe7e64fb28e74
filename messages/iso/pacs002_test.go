package iso_test

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

var sgt = time.FixedZone("SGT", 8*3600)

func sampleReport() *iso.StatusReport {
	now := iso.DateTime(time.Date(2025, 3, 10, 9, 15, 30, 250_000_000, sgt))
	return &iso.StatusReport{
		Header:           iso.AppHdr{From: "XCLRGB2L", To: "MERLSGSGXXX", BizMsgIdr: "XC-PACS002-1", MsgDefIdr: iso.Pacs002v10, CreDt: now},
		MsgID:            "XC-PACS002-1",
		CreDtTm:          now,
		InstructingAgent: "XCLRGB2L", InstructedAgent: "MERLSGSGXXX",
		Original: iso.OriginalGroup{MsgID: "MERL-20250310-0001", MsgNameID: iso.Pacs008v08, CreDtTm: "2025-03-10T09:15:00+08:00", NbOfTxs: "4", CtrlSum: "9999999998694.90", Status: iso.StatusPartial},
		Transactions: []iso.TxStatus{
			{InstrID: "MERL-0001-1", EndToEndID: "ORDER-77120", UETR: isotest.UETR(1), Status: iso.StatusAccepted, AcceptedAt: now, Amount: &iso.Amount{Value: "9999999998000.00", Currency: "EUR"}, SettlementDate: "2025-03-10"},
			{EndToEndID: "ORDER-77121", UETR: isotest.UETR(2), Status: iso.StatusPending, Amount: &iso.Amount{Value: "1500", Currency: "JPY"}},
			{EndToEndID: "ORDER-77122", UETR: isotest.UETR(3), Status: iso.StatusRejected, Amount: &iso.Amount{Value: "1.500", Currency: "BHD"},
				Reasons: []iso.StatusReason{{Code: iso.ReasonCreditorAccount, Info: "line 90: CdtTrfTxInf[2]/CdtrAcct/Id/IBAN: no merchant has account DE02120300000000202051 at HANSDEFF, which is a long explanation that needs more than one AddtlInf line of 105 characters"}}},
			{Status: iso.StatusRejected, Reasons: []iso.StatusReason{{Code: iso.ReasonMissing, Info: "no UETR"}}},
		},
	}
}

// TestStatusReportIsSchemaValid: the encoded Document validates against
// ISO's pacs.002.001.10 XSD, amounts have the currency's decimals and no
// exponent, date-times keep their offset and nothing empty is written.
func TestStatusReportIsSchemaValid(t *testing.T) {
	out, err := sampleReport().Encode()
	if err != nil {
		t.Fatal(err)
	}
	isotest.SchemaValid(t, iso.Pacs002v10, out)
	s := string(out)
	for _, want := range []string{
		`<IntrBkSttlmAmt Ccy="EUR">9999999998000.00</IntrBkSttlmAmt>`, `<IntrBkSttlmAmt Ccy="JPY">1500</IntrBkSttlmAmt>`, `<IntrBkSttlmAmt Ccy="BHD">1.500</IntrBkSttlmAmt>`,
		`<CreDt>2025-03-10T09:15:30.250+08:00</CreDt>`, `<CreDtTm>2025-03-10T09:15:30.250+08:00</CreDtTm>`, `<MsgDefIdr>pacs.002.001.10</MsgDefIdr>`,
		`<GrpSts>PART</GrpSts>`, `<TxSts>RJCT</TxSts>`, `<Cd>AC03</Cd>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s", want)
		}
	}
	if regexp.MustCompile(`<(\w+)[^>]*>\s*</(\w+)>|[0-9][eE][+-]?[0-9]`).MatchString(s) {
		t.Fatalf("an empty element or an exponent:\n%s", s)
	}
	// Every line of the encoded file but the AppHdr's and the envelope's is
	// the Document's; the AppHdr decodes with moov-io/iso20022's head.001.001.02
	// types (no XSD of head.001.001.02 is at hand to validate it against).
	env, err := iso.SplitBytes(out, iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if env.MsgDefIdr != iso.Pacs002v10 || env.HeaderNS != iso.NamespacePrefix+iso.Head001v02 {
		t.Fatalf("%+v", env)
	}
}

// TestStatusReportRoundTrip: decode(encode(x)) == x.
func TestStatusReportRoundTrip(t *testing.T) {
	for _, r := range []*iso.StatusReport{sampleReport(), {
		Header: iso.AppHdr{From: "XCLRGB2L", To: "DBSSSGSG", BizMsgIdr: "M", MsgDefIdr: iso.Pacs002v10, CreDt: "2025-01-01T00:00:00.000+00:00"},
		MsgID:  "M", CreDtTm: "2025-01-01T00:00:00.000+00:00",
		Original: iso.OriginalGroup{MsgID: "X", MsgNameID: iso.Pain001v10, Status: iso.StatusRejected, Reasons: []iso.StatusReason{{Code: iso.ReasonNumberOfTxs, Info: "NbOfTxs says 3 & the file <holds> 2"}}},
	}} {
		out, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		env, err := iso.SplitBytes(out, iso.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		back, err := iso.DecodeStatusReport(env)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, r) {
			t.Fatalf("round trip changed the report:\n%+v\n%+v", r, back)
		}
	}
}

func TestStatusReportRefusesWhatIsNotValid(t *testing.T) {
	for name, mutate := range map[string]func(*iso.StatusReport){
		"float-ish amount":  func(r *iso.StatusReport) { r.Transactions[0].Amount.Value = "1e3" },
		"too many decimals": func(r *iso.StatusReport) { r.Transactions[1].Amount.Value = "1500.5" },
		"no offset":         func(r *iso.StatusReport) { r.CreDtTm = "2025-03-10T09:15:30" },
		"bad BIC":           func(r *iso.StatusReport) { r.Header.To = "merlsgsg" },
		"long id":           func(r *iso.StatusReport) { r.Transactions[0].EndToEndID = strings.Repeat("x", 36) },
		"bad UETR":          func(r *iso.StatusReport) { r.Transactions[0].UETR = "nope" },
		"no status":         func(r *iso.StatusReport) { r.Transactions[0].Status = "" },
	} {
		r := sampleReport()
		mutate(r)
		if _, err := r.Encode(); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}

// TestReplyToSample: the pacs.002 answering the testdata sample, one
// transaction refused, is schema-valid and says PART.
func TestReplyToSample(t *testing.T) {
	m, err := iso.DecodeBytes(readSample(t), iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := []iso.TxOutcome{{Status: iso.StatusAccepted}, {Status: iso.StatusAccepted}, {Status: iso.StatusRejected, Reason: iso.ReasonCapExceeded, Info: "net debit cap"}}
	r := iso.Reply(m, nil, outcomes, iso.ReplyParams{From: "XCLRGB2L", To: "MERLSGSG", MsgID: "XC-1", Now: time.Date(2025, 3, 10, 1, 0, 0, 0, time.UTC)})
	out, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	isotest.SchemaValid(t, iso.Pacs002v10, out)
	if r.Original.Status != iso.StatusPartial || r.Original.CtrlSum != "1694.40" || r.Transactions[2].UETR != "3f2b6c1e-8a4d-4e5f-9b7a-1c2d3e4f5a03" || r.CreDtTm != "2025-03-10T01:00:00.000+00:00" {
		t.Fatalf("%+v", r)
	}
	g := iso.Reply(m, &iso.Error{Reason: iso.ReasonControlSum, Element: "GrpHdr/CtrlSum", Line: 27, Msg: "off"}, nil, iso.ReplyParams{From: "XCLRGB2L", To: "MERLSGSG", MsgID: "XC-2", Now: time.Now()})
	out, err = g.Encode()
	if err != nil {
		t.Fatal(err)
	}
	isotest.SchemaValid(t, iso.Pacs002v10, out)
	if g.Original.Status != iso.StatusRejected || len(g.Transactions) != 0 || g.Original.Reasons[0].Code != iso.ReasonControlSum {
		t.Fatalf("%+v", g)
	}
}

package iso_test

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

func samplePacs009() *iso.FICreditTransfer {
	at := "2025-03-10T18:00:00.000+08:00"
	return &iso.FICreditTransfer{
		Header: iso.AppHdr{From: "XCLRGB2L", To: "DBSSSGSG", BizMsgIdr: "C42-9-DBSSSGSG-EUR", CreDt: at},
		MsgID:  "C42-9-DBSSSGSG-EUR", CreDtTm: at, SettlementMethod: iso.SettleByClearing,
		InstructingAgent: "XCLRGB2L", InstructedAgent: "DBSSSGSG",
		Transfers: []iso.FITransfer{{
			InstrID: "C42-9-DBSSSGSG-EUR", EndToEndID: "C42-9-DBSSSGSG-EUR", UETR: isotest.UETR(9),
			Amount: iso.Amount{Value: "9999999999999.99", Currency: "EUR"}, SettlementDate: "2025-03-10",
			Debtor: "DBSSSGSG", CreditorAgent: "ECBFDEFF", Creditor: "XCLRGB2L", CreditorAccount: "DE89370400440532013000",
			Remittance: "crossclear cycle 42: net position of DBSSSGSG in EUR & <more>",
		}, {
			EndToEndID: "E2", Amount: iso.Amount{Value: "1500", Currency: "JPY"},
			Debtor: "XCLRGB2L", DebtorAccount: "XCLR-JPY-SETTLEMENT", DebtorAgent: "BOJPJPJT", Creditor: "MHCBJPJTXXX",
		}},
	}
}

// TestPacs009 is schema-valid against ISO's pacs.009.001.09 XSD, writes
// amounts with the currency's decimals and no exponent, keeps offsets,
// writes nothing empty, and reads back to what was encoded.
func TestPacs009(t *testing.T) {
	m := samplePacs009()
	out, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	isotest.SchemaValid(t, iso.Pacs009v09, out)
	for _, want := range []string{
		`<IntrBkSttlmAmt Ccy="EUR">9999999999999.99</IntrBkSttlmAmt>`, `<IntrBkSttlmAmt Ccy="JPY">1500</IntrBkSttlmAmt>`,
		`<CreDtTm>2025-03-10T18:00:00.000+08:00</CreDtTm>`, `<MsgDefIdr>pacs.009.001.09</MsgDefIdr>`, `<IBAN>DE89370400440532013000</IBAN>`,
		`<Othr>`, `<Id>XCLR-JPY-SETTLEMENT</Id>`, `<NbOfTxs>2</NbOfTxs>`, `&amp; &lt;more&gt;`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("missing %s", want)
		}
	}
	noEmptyNoExponent(t, out)
	back := roundTrip(t, out, iso.DecodeFICreditTransfer)
	m.Header.MsgDefIdr = iso.Pacs009v09 // the encoder writes it
	if !reflect.DeepEqual(back, m) {
		t.Fatalf("round trip changed the transfer:\n%+v\n%+v", m, back)
	}
}

func TestPacs009RefusesWhatIsNotValid(t *testing.T) {
	for name, mutate := range map[string]func(*iso.FICreditTransfer){
		"exponent":          func(m *iso.FICreditTransfer) { m.Transfers[0].Amount.Value = "1e3" },
		"too many decimals": func(m *iso.FICreditTransfer) { m.Transfers[1].Amount.Value = "1500.5" },
		"too few decimals":  func(m *iso.FICreditTransfer) { m.Transfers[0].Amount.Value = "12.5" },
		"zero":              func(m *iso.FICreditTransfer) { m.Transfers[0].Amount.Value = "0.00" },
		"negative":          func(m *iso.FICreditTransfer) { m.Transfers[0].Amount.Value = "-1.00" },
		"unknown currency":  func(m *iso.FICreditTransfer) { m.Transfers[0].Amount.Currency = "XXY" },
		"no offset":         func(m *iso.FICreditTransfer) { m.CreDtTm = "2025-03-10T18:00:00" },
		"bad date":          func(m *iso.FICreditTransfer) { m.Transfers[0].SettlementDate = "2025-02-30" },
		"no debtor":         func(m *iso.FICreditTransfer) { m.Transfers[0].Debtor = "" },
		"bad method":        func(m *iso.FICreditTransfer) { m.SettlementMethod = "WIRE" },
		"long remittance":   func(m *iso.FICreditTransfer) { m.Transfers[0].Remittance = strings.Repeat("x", 141) },
		"long account":      func(m *iso.FICreditTransfer) { m.Transfers[0].CreditorAccount = strings.Repeat("1", 35) },
		"no transfers":      func(m *iso.FICreditTransfer) { m.Transfers = nil },
		"wrong MsgDefIdr":   func(m *iso.FICreditTransfer) { m.Header.MsgDefIdr = iso.Pacs008v08 },
	} {
		m := samplePacs009()
		mutate(m)
		_, err := m.Encode()
		var e *iso.EncodeError
		if !errors.As(err, &e) || e.Message != iso.Pacs009v09 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// roundTrip splits an encoded file and decodes it with decode.
func roundTrip[T any](t *testing.T, file []byte, decode func(*iso.Envelope) (T, error)) T {
	t.Helper()
	env, err := iso.SplitBytes(file, iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	back, err := decode(env)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

var emptyOrExponent = regexp.MustCompile(`<(\w+)[^>]*>\s*</(\w+)>|>[0-9.]*[0-9][eE][+-]?[0-9]`)

// noEmptyNoExponent: no element is written empty, no number with an
// exponent.
func noEmptyNoExponent(t *testing.T, out []byte) {
	t.Helper()
	if m := emptyOrExponent.Find(out); m != nil {
		t.Fatalf("an empty element or an exponent: %s\n%s", m, out)
	}
}

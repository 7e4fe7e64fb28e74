package iso_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

func amt(v, ccy string) iso.Amount { return iso.Amount{Value: v, Currency: ccy} }

func sampleStatement() *iso.CashReport {
	at, from := "2025-03-10T18:00:00.000+08:00", "2025-03-09T18:00:00.000+08:00"
	minus := amt("-0.300", "BHD")
	return &iso.CashReport{
		Message: iso.Camt053v08,
		Header:  iso.AppHdr{From: "XCLRGB2L", To: "DBSSSGSG", BizMsgIdr: "C42-S1-DBSSSGSG-BHD", CreDt: at},
		MsgID:   "C42-S1-DBSSSGSG-BHD", CreDtTm: at, Page: &iso.Page{Number: 1},
		Accounts: []iso.AccountReport{{
			ID: "C42-S-DBSSSGSG-BHD", Page: &iso.Page{Number: 1}, From: from, To: at,
			Account: iso.CashAccount{ID: "DBSSSGSG", Currency: "BHD", Owner: "DBS Test", Servicer: "XCLRGB2L"},
			Balances: []iso.Balance{
				{Type: iso.BalanceOpening, Amount: amt("-12.500", "BHD"), At: from},
				{Type: iso.BalanceInterim, Amount: amt("0.000", "BHD"), At: "2025-03-10"},
			},
			Entries: []iso.Entry{
				{Ref: "pst_1", Amount: amt("12.800", "BHD"), Status: iso.EntryBooked, BookedAt: "2025-03-10T09:15:00.000+08:00", ValueDate: "2025-03-10",
					Code: "release", Details: []iso.EntryDetail{{EndToEndID: "ORDER-1", UETR: isotest.UETR(1)}}, Info: "release of ORDER-1 to Berlin Books"},
				{Ref: "pst_2", Amount: minus, Status: iso.EntryBooked, BookedAt: "2025-03-10T10:00:00.000+08:00", Code: "hold",
					Details: []iso.EntryDetail{{EndToEndID: "ORDER-2", UETR: isotest.UETR(2), Amount: &minus}}},
			},
		}},
	}
}

func sampleNotification() *iso.CashReport {
	at := "2025-03-10T18:00:00.000+00:00"
	p1, p2 := amt("100.00", "EUR"), amt("23.45", "EUR")
	return &iso.CashReport{
		Message: iso.Camt054v08,
		Header:  iso.AppHdr{From: "XCLRGB2L", To: "DEUTDEFF", BizMsgIdr: "C42-N-DEUTDEFF-EUR", CreDt: at},
		MsgID:   "C42-N-DEUTDEFF-EUR", CreDtTm: at,
		Accounts: []iso.AccountReport{{
			ID:      "C42-N-DEUTDEFF-EUR-1",
			Account: iso.CashAccount{ID: isotest.CreditorAc, Currency: "EUR", Owner: "Berlin Books", Servicer: "DEUTDEFF"},
			Entries: []iso.Entry{{Amount: amt("123.45", "EUR"), Status: iso.EntryBooked, BookedAt: at, ValueDate: "2025-03-10", Code: "merchant_credit", MsgNameID: iso.Pacs008v08,
				Details: []iso.EntryDetail{{EndToEndID: "ORDER-1", UETR: isotest.UETR(1), Amount: &p1}, {UETR: isotest.UETR(2), Amount: &p2}}}},
		}, {
			ID:      "C42-N-DEUTDEFF-EUR-2",
			Account: iso.CashAccount{ID: "0012345678", Currency: "EUR", Owner: "Café Müller & Söhne"},
			Entries: []iso.Entry{{Amount: amt("0.01", "EUR"), Status: iso.EntryBooked, Code: "merchant_credit", Details: []iso.EntryDetail{{UETR: isotest.UETR(3)}}}},
		}},
	}
}

// TestCashReports: a statement and a notification are schema-valid
// against ISO's camt.053.001.08 and camt.054.001.08, negative amounts are
// written as DBIT, and both read back to what was encoded.
func TestCashReports(t *testing.T) {
	for _, r := range []*iso.CashReport{sampleStatement(), sampleNotification()} {
		out, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		isotest.SchemaValid(t, r.Message, out)
		noEmptyNoExponent(t, out)
		back := roundTrip(t, out, iso.DecodeCashReport)
		r.Header.MsgDefIdr = r.Message
		if !reflect.DeepEqual(back, r) {
			t.Fatalf("round trip changed the %s:\n%+v\n%+v", r.Message, r, back)
		}
	}
	out, _ := sampleStatement().Encode()
	for _, want := range []string{
		`<Amt Ccy="BHD">12.500</Amt><CdtDbtInd>DBIT</CdtDbtInd>`, `<Amt Ccy="BHD">0.000</Amt><CdtDbtInd>CRDT</CdtDbtInd>`,
		"<Cd>OPBD</Cd>", "<Dt>2025-03-10</Dt>", "<DtTm>2025-03-09T18:00:00.000+08:00</DtTm>", "<StmtPgntn>", "<MsgPgntn>", "<LastPgInd>false</LastPgInd>",
	} {
		if !strings.Contains(unindent(out), want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

func TestCashReportRefusesWhatIsNotValid(t *testing.T) {
	for name, mutate := range map[string]func(*iso.CashReport){
		"other message":         func(r *iso.CashReport) { r.Message = iso.Pacs009v09 },
		"statement no balance":  func(r *iso.CashReport) { r.Accounts[0].Balances = nil },
		"notification balance":  func(r *iso.CashReport) { r.Message = iso.Camt054v08; r.Header.MsgDefIdr = "" },
		"minus zero":            func(r *iso.CashReport) { r.Accounts[0].Balances[1].Amount.Value = "-0.000" },
		"BHD with two decimals": func(r *iso.CashReport) { r.Accounts[0].Entries[0].Amount.Value = "12.80" },
		"bad booking date":      func(r *iso.CashReport) { r.Accounts[0].Entries[0].BookedAt = "2025-03-10T09:15" },
		"no entry code":         func(r *iso.CashReport) { r.Accounts[0].Entries[0].Code = "" },
		"bad status":            func(r *iso.CashReport) { r.Accounts[0].Entries[0].Status = "booked" },
		"from without to":       func(r *iso.CashReport) { r.Accounts[0].To = "" },
		"page zero":             func(r *iso.CashReport) { r.Page.Number = 0 },
		"bad UETR":              func(r *iso.CashReport) { r.Accounts[0].Entries[0].Details[0].UETR = "X" },
		"unknown account ccy":   func(r *iso.CashReport) { r.Accounts[0].Account.Currency = "EURO" },
		"long entry info":       func(r *iso.CashReport) { r.Accounts[0].Entries[0].Info = strings.Repeat("é", 501) },
		"no accounts":           func(r *iso.CashReport) { r.Accounts = nil },
		"servicer is not a BIC": func(r *iso.CashReport) { r.Accounts[0].Account.Servicer = "crossclear" },
		"account id over 34":    func(r *iso.CashReport) { r.Accounts[0].Account.ID = strings.Repeat("9", 35) },
		"detail amount exponent": func(r *iso.CashReport) {
			r.Accounts[0].Entries[1].Details[0].Amount = &iso.Amount{Value: "3E-1", Currency: "BHD"}
		},
		"balance without a date":  func(r *iso.CashReport) { r.Accounts[0].Balances[0].At = "" },
		"balance type not a code": func(r *iso.CashReport) { r.Accounts[0].Balances[0].Type = "opening" },
	} {
		r := sampleStatement()
		mutate(r)
		_, err := r.Encode()
		var e *iso.EncodeError
		if !errors.As(err, &e) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// unindent joins the lines of an encoded file without their indentation.
func unindent(out []byte) string {
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimLeft(l, " ")
	}
	return strings.Join(lines, "")
}

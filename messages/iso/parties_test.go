package iso_test

import (
	"testing"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// TestPartyDetails: what screening and the travel rule read beyond the
// names — the ultimate parties, addresses, dates and places of birth — in
// both pacs.008 versions and in a pain.001 (whose debtor is the PmtInf's).
func TestPartyDetails(t *testing.T) {
	ultimate := `<pacs:UltmtDbtr><pacs:Nm>Daniel Moreno</pacs:Nm><pacs:PstlAdr><pacs:StrtNm>6th Ave</pacs:StrtNm><pacs:BldgNb>50</pacs:BldgNb>` +
		`<pacs:TwnNm>Corozal</pacs:TwnNm><pacs:Ctry>BZ</pacs:Ctry></pacs:PstlAdr><pacs:Id><pacs:PrvtId><pacs:DtAndPlcOfBirth><pacs:BirthDt>1972-10-12</pacs:BirthDt>` +
		`<pacs:CityOfBirth>Corozal</pacs:CityOfBirth><pacs:CtryOfBirth>BZ</pacs:CtryOfBirth></pacs:DtAndPlcOfBirth><pacs:Othr><pacs:Id>0291622</pacs:Id></pacs:Othr></pacs:PrvtId></pacs:Id></pacs:UltmtDbtr>` +
		`<pacs:UltmtCdtr><pacs:Nm>TNK Trading International S.A.</pacs:Nm><pacs:CtryOfRes>CH</pacs:CtryOfRes></pacs:UltmtCdtr>`
	for _, v := range []string{"08", "09"} {
		m, err := iso.DecodeBytes(isotest.Pacs008{Version: v, Txs: []isotest.Tx{{Extra: ultimate}, {}}}.Bytes(), iso.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		got := m.Transactions[0].UltimateDebtor
		want := iso.Party{Name: "Daniel Moreno", Country: "BZ", ID: "0291622", Address: "6th Ave, 50, Corozal", BirthDate: "1972-10-12", BirthPlace: "Corozal, BZ"}
		if got == nil || *got != want {
			t.Fatalf("pacs.008.001.%s ultimate debtor %+v, want %+v", v, got, want)
		}
		if c := m.Transactions[0].UltimateCreditor; c == nil || c.Name != "TNK Trading International S.A." || c.Country != "CH" {
			t.Fatalf("ultimate creditor %+v", c)
		}
		if m.Transactions[1].UltimateDebtor != nil || m.Transactions[1].Debtor.Name != "Buyer 2" || m.Transactions[1].Debtor.Address != "" {
			t.Fatalf("without them: %+v %+v", m.Transactions[1].UltimateDebtor, m.Transactions[1].Debtor)
		}
	}
	m, err := iso.DecodeBytes(readSample(t), iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if d := m.Transactions[0].Debtor; d.Address != "Singapore" || d.Country != "SG" {
		t.Fatalf("the sample's debtor %+v", d)
	}
	m, err = iso.DecodeBytes(isotest.Pain001("PAIN-PARTIES", "10.00"), iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if d := m.Transactions[0].Debtor; d == nil || d.Name != "Buyer Ltd" || m.Transactions[0].DebtorAccount.ID() != "0011223344" {
		t.Fatalf("pain.001 debtor %+v", d)
	}
}

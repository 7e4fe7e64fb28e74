package outbound_test

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
	"github.com/crossclear/crossclear/messages/outbound"
)

const operator = "XCLRGB2L"

var (
	sgt    = time.FixedZone("SGT", 8*3600)
	opened = time.Date(2025, 3, 9, 18, 0, 0, 0, sgt)
	closed = time.Date(2025, 3, 10, 18, 0, 0, 0, sgt)
)

func money(minor int64, ccy string) fx.Amount { return fx.MustCurrency(ccy).FromMinor(minor) }

// sampleCycle: DBSSSGSG bought from Berlin Books at DEUTDEFF (EUR) and from
// a Tokyo merchant at MHCBJPJT (JPY); one EUR payment was refunded.
func sampleCycle() outbound.Cycle {
	at := func(h int) time.Time { return opened.Add(time.Duration(h) * time.Hour) }
	return outbound.Cycle{
		ID: 42, OpenedAt: opened, ClosedAt: closed, Operator: operator,
		Settlement: []outbound.SettlementAccount{
			{Currency: "EUR", Agent: "MARKDEFF", Account: "DE44500105175407324931"},
			{Currency: "JPY", Agent: "BOJPJPJT", Account: "XCLR-JPY-01"},
		},
		Positions: []outbound.Position{
			{Bank: "DEUTDEFF", Net: money(12_345, "EUR")},
			{Bank: "DBSSSGSG", Net: money(-12_345, "EUR")},
			{Bank: "DBSSSGSG", Net: money(-1500, "JPY")},
			{Bank: "MHCBJPJT", Net: money(1500, "JPY")},
			{Bank: "CHASUS33", Net: money(0, "EUR")},
		},
		Statements: []outbound.Statement{
			{Bank: "DBSSSGSG", BankName: "DBS Test", Opening: money(-500, "EUR"), Entries: []outbound.Entry{
				{Ref: "pst_3", Kind: "refund", Amount: money(2_000, "EUR"), BookedAt: at(5), UETR: isotest.UETR(2), EndToEndID: "ORDER-2"},
				{Ref: "pst_1", Kind: "hold", Amount: money(-12_345, "EUR"), BookedAt: at(1), UETR: isotest.UETR(1), EndToEndID: "ORDER-1"},
				{Ref: "pst_2", Kind: "hold", Amount: money(-2_000, "EUR"), BookedAt: at(2), UETR: isotest.UETR(2), EndToEndID: "ORDER-2"},
			}},
			{Bank: "DEUTDEFF", Opening: money(0, "EUR"), Entries: []outbound.Entry{
				{Ref: "pst_4", Kind: "release", Amount: money(12_345, "EUR"), BookedAt: at(6), UETR: isotest.UETR(1), EndToEndID: "ORDER-1"},
			}},
			{Bank: "CHASUS33", Opening: money(7_00, "EUR")},
		},
		MerchantCredits: []outbound.MerchantCredit{
			{Bank: "MHCBJPJT", MerchantID: "mer_tokyo", MerchantName: "Tokyo Tea", Account: "0011223344", Payments: []outbound.CreditedPayment{
				{UETR: isotest.UETR(3), Amount: money(1500, "JPY")},
			}},
			{Bank: "DEUTDEFF", MerchantID: "mer_berlin", MerchantName: "Berlin Books", Account: isotest.CreditorAc, Payments: []outbound.CreditedPayment{
				{UETR: isotest.UETR(1), EndToEndID: "ORDER-1", Amount: money(12_000, "EUR")},
				{UETR: isotest.UETR(5), EndToEndID: "ORDER-5", Amount: money(345, "EUR")},
			}},
		},
	}
}

func build(t *testing.T, c outbound.Cycle, opt outbound.Options) []outbound.File {
	t.Helper()
	files, err := outbound.BuildCycle(c, opt)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func decode[T any](t *testing.T, f outbound.File, dec func(*iso.Envelope) (T, error)) T {
	t.Helper()
	env, err := iso.SplitBytes(f.Content, iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := dec(env)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBuildCycle: a closed cycle gives a pacs.009 per non-zero net
// position, a camt.053 per statement and a camt.054 per merchant's bank
// and currency; every file is valid against ISO's schema and says what a
// bank needs: who pays whom from which account, balances that reconcile,
// each merchant credit with its payments.
func TestBuildCycle(t *testing.T) {
	files := build(t, sampleCycle(), outbound.Options{})
	var got []string
	for _, f := range files {
		got = append(got, f.BankID+" "+f.Kind+" "+f.Name)
		isotest.SchemaValid(t, f.Kind, f.Content)
	}
	want := []string{
		"DBSSSGSG pacs.009.001.09 C42-9-DBSSSGSG-EUR.xml", "DBSSSGSG pacs.009.001.09 C42-9-DBSSSGSG-JPY.xml",
		"DEUTDEFF pacs.009.001.09 C42-9-DEUTDEFF-EUR.xml", "MHCBJPJT pacs.009.001.09 C42-9-MHCBJPJT-JPY.xml",
		"CHASUS33 camt.053.001.08 C42-S-CHASUS33-EUR.xml", "DBSSSGSG camt.053.001.08 C42-S-DBSSSGSG-EUR.xml", "DEUTDEFF camt.053.001.08 C42-S-DEUTDEFF-EUR.xml",
		"DEUTDEFF camt.054.001.08 C42-N-DEUTDEFF-EUR.xml", "MHCBJPJT camt.054.001.08 C42-N-MHCBJPJT-JPY.xml",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The net debtor pays into the settlement account, the net creditor
	// receives from it; both carry the ids PositionRef gives.
	pay := decode(t, files[0], iso.DecodeFICreditTransfer)
	msgID, uetr := outbound.PositionRef(42, "DBSSSGSG", "EUR")
	tr := pay.Transfers[0]
	if pay.Header.From != operator || pay.Header.To != "DBSSSGSG" || pay.MsgID != msgID || tr.UETR != uetr || tr.EndToEndID != msgID ||
		tr.Amount != (iso.Amount{Value: "123.45", Currency: "EUR"}) || tr.Debtor != "DBSSSGSG" || tr.Creditor != operator ||
		tr.CreditorAgent != "MARKDEFF" || tr.CreditorAccount != "DE44500105175407324931" || tr.SettlementDate != "2025-03-10" || pay.CreDtTm != "2025-03-10T18:00:00.000+08:00" {
		t.Fatalf("debtor's pacs.009 %+v", pay)
	}
	recv := decode(t, files[3], iso.DecodeFICreditTransfer).Transfers[0]
	if recv.Debtor != operator || recv.DebtorAccount != "XCLR-JPY-01" || recv.DebtorAgent != "BOJPJPJT" || recv.Creditor != "MHCBJPJT" || recv.Amount.Value != "1500" {
		t.Fatalf("creditor's pacs.009 %+v", recv)
	}

	// The statement: opening −5.00, entries in booking order, closing
	// −5.00 − 123.45 = −128.45.
	st := decode(t, files[5], iso.DecodeCashReport).Accounts[0]
	if st.Balances[0] != (iso.Balance{Type: "OPBD", Amount: iso.Amount{Value: "-5.00", Currency: "EUR"}, At: "2025-03-09T18:00:00.000+08:00"}) ||
		st.Balances[1] != (iso.Balance{Type: "CLBD", Amount: iso.Amount{Value: "-128.45", Currency: "EUR"}, At: "2025-03-10T18:00:00.000+08:00"}) {
		t.Fatalf("balances %+v", st.Balances)
	}
	if len(st.Entries) != 3 || st.Entries[0].Ref != "pst_1" || st.Entries[2].Ref != "pst_3" || st.Entries[0].Amount.Value != "-123.45" ||
		st.Entries[0].Code != "hold" || st.Entries[0].Details[0].UETR != isotest.UETR(1) || st.Account.Owner != "DBS Test" || st.Account.ID != "DBSSSGSG" {
		t.Fatalf("entries %+v", st)
	}
	if empty := decode(t, files[4], iso.DecodeCashReport).Accounts[0]; len(empty.Entries) != 0 || empty.Balances[1].Amount.Value != "7.00" {
		t.Fatalf("a statement without entries %+v", empty)
	}

	// The merchant credit: the sum of its payments, each named by UETR.
	n := decode(t, files[7], iso.DecodeCashReport).Accounts[0]
	e := n.Entries[0]
	if n.Account != (iso.CashAccount{ID: isotest.CreditorAc, Currency: "EUR", Owner: "Berlin Books", Servicer: "DEUTDEFF"}) ||
		e.Amount.Value != "123.45" || e.Ref != "mer_berlin" || len(e.Details) != 2 || e.Details[0].UETR != isotest.UETR(1) ||
		e.Details[0].EndToEndID != "ORDER-1" || e.Details[1].Amount.Value != "3.45" || e.ValueDate != "2025-03-10" {
		t.Fatalf("merchant credit %+v", n)
	}
}

// TestBuildCycleIsDeterministic: the same cycle, its lists in another
// order, gives the same bytes.
func TestBuildCycleIsDeterministic(t *testing.T) {
	first := build(t, sampleCycle(), outbound.Options{})
	c := sampleCycle()
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(c.Positions), func(i, j int) { c.Positions[i], c.Positions[j] = c.Positions[j], c.Positions[i] })
	r.Shuffle(len(c.Statements), func(i, j int) { c.Statements[i], c.Statements[j] = c.Statements[j], c.Statements[i] })
	r.Shuffle(len(c.MerchantCredits), func(i, j int) {
		c.MerchantCredits[i], c.MerchantCredits[j] = c.MerchantCredits[j], c.MerchantCredits[i]
	})
	p := c.MerchantCredits
	for i := range p {
		r.Shuffle(len(p[i].Payments), func(a, b int) { p[i].Payments[a], p[i].Payments[b] = p[i].Payments[b], p[i].Payments[a] })
	}
	again := build(t, c, outbound.Options{})
	if len(again) != len(first) {
		t.Fatalf("%d files, then %d", len(first), len(again))
	}
	for i := range first {
		if first[i].Name != again[i].Name || !bytes.Equal(first[i].Content, again[i].Content) {
			t.Fatalf("file %d differs: %s / %s", i, first[i].Name, again[i].Name)
		}
	}
}

// TestPages: a statement longer than a page is split into files whose
// balances chain (each page opens where the previous closed); a merchant
// credit with more payments than a page is split into notifications that
// add up to it, and small ones share a page.
func TestPages(t *testing.T) {
	c := sampleCycle()
	var entries []outbound.Entry
	for i, minor := range []int64{100, -200, 300, -400, 500} {
		entries = append(entries, outbound.Entry{Ref: "p" + string(rune('a'+i)), Kind: "release", Amount: money(minor, "EUR"), BookedAt: opened.Add(time.Duration(i) * time.Minute)})
	}
	c.Statements = []outbound.Statement{{Bank: "HANSDEFF", Opening: money(50, "EUR"), Entries: entries}}
	var pays []outbound.CreditedPayment
	for i := range 5 {
		pays = append(pays, outbound.CreditedPayment{UETR: isotest.UETR(10 + i), Amount: money(int64(i+1), "EUR")})
	}
	c.MerchantCredits = []outbound.MerchantCredit{
		{Bank: "HANSDEFF", MerchantID: "mer_zed", MerchantName: "Zed", Account: "77", Payments: []outbound.CreditedPayment{{UETR: isotest.UETR(20), Amount: money(7, "EUR")}}},
		{Bank: "HANSDEFF", MerchantID: "mer_hans", MerchantName: "Hans", Account: "DE02120300000000202051", Payments: pays},
	}
	c.Settlement = c.Settlement[:1]
	c.Positions = []outbound.Position{{Bank: "HANSDEFF", Net: money(300, "EUR")}}
	files := build(t, c, outbound.Options{MaxEntriesPerFile: 2})

	var statements, notes []*iso.CashReport
	for _, f := range files {
		isotest.SchemaValid(t, f.Kind, f.Content)
		switch f.Kind {
		case iso.Camt053v08:
			statements = append(statements, decode(t, f, iso.DecodeCashReport))
		case iso.Camt054v08:
			notes = append(notes, decode(t, f, iso.DecodeCashReport))
		}
	}
	if len(statements) != 3 || len(notes) != 3 {
		t.Fatalf("%d statement pages, %d notification pages", len(statements), len(notes))
	}
	for k, s := range statements {
		a := s.Accounts[0]
		if *s.Page != (iso.Page{Number: k + 1, Last: k == 2}) || *a.Page != *s.Page || a.ID != "C42-S-HANSDEFF-EUR" || s.MsgID != "C42-S"+string(rune('1'+k))+"-HANSDEFF-EUR" {
			t.Fatalf("page %d: %+v", k, s)
		}
		if k > 0 && a.Balances[0].Amount != statements[k-1].Accounts[0].Balances[1].Amount {
			t.Fatalf("page %d opens at %v, page %d closed at %v", k+1, a.Balances[0], k, statements[k-1].Accounts[0].Balances[1])
		}
	}
	first, last := statements[0].Accounts[0].Balances, statements[2].Accounts[0].Balances
	if first[0].Type != "OPBD" || first[1].Type != "ITBD" || last[0].Type != "ITBD" || last[1].Type != "CLBD" || last[1].Amount.Value != "3.50" {
		t.Fatalf("balances %+v %+v", first, last)
	}
	var total, details int
	for _, n := range notes {
		for _, a := range n.Accounts {
			amt, _ := a.Entries[0].Amount.Parse()
			total += int(amt.Minor)
			details += len(a.Entries[0].Details)
		}
	}
	// mer_hans's 5 payments in notifications of 2, 2 and 1; mer_zed's one
	// payment shares the last page.
	if total != 22 || details != 6 || len(notes[0].Accounts) != 1 || len(notes[2].Accounts) != 2 || notes[2].Accounts[0].ID != "C42-M3-HANSDEFF-EUR" ||
		notes[2].Accounts[1].Account.Owner != "Zed" || *notes[2].Page != (iso.Page{Number: 3, Last: true}) {
		t.Fatalf("notifications: total %d, %d payments, %+v", total, details, notes)
	}
}

// TestBuildCycleRefuses: data that does not reconcile, or cannot be
// written, is refused with the cycle, bank and currency named; nothing is
// built.
func TestBuildCycleRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		mutate func(*outbound.Cycle)
		msg    string
	}{
		"entries off the position": {func(c *outbound.Cycle) { c.Statements[1].Entries[0].Amount = money(12_344, "EUR") }, "DEUTDEFF in EUR: the entries add up to 123.44 EUR but the net position is 123.45 EUR"},
		"no settlement account":    {func(c *outbound.Cycle) { c.Settlement = c.Settlement[:1] }, "no settlement account for JPY"},
		"two positions":            {func(c *outbound.Cycle) { c.Positions = append(c.Positions, c.Positions[0]) }, "two net positions of DEUTDEFF in EUR"},
		"entry in another ccy":     {func(c *outbound.Cycle) { c.Statements[1].Entries[0].Amount = money(12_345, "USD") }, "entry pst_4 is in USD"},
		"credit without payments":  {func(c *outbound.Cycle) { c.MerchantCredits[0].Payments = nil }, "mer_tokyo lists no payment"},
		"credit mixing currencies": {func(c *outbound.Cycle) { c.MerchantCredits[1].Payments[1].Amount = money(345, "USD") }, "not a positive amount in EUR"},
		"operator not a BIC":       {func(c *outbound.Cycle) { c.Operator = "crossclear" }, `Header.From: "crossclear" is not a BIC`},
		"closes before it opens":   {func(c *outbound.Cycle) { c.OpenedAt = closed.Add(time.Hour) }, "before it closes"},
		"bad UETR":                 {func(c *outbound.Cycle) { c.MerchantCredits[0].Payments[0].UETR = "x" }, `"x" is not a lower-case UUID v4`},
		"settlement account blank": {func(c *outbound.Cycle) { c.Settlement[0].Account = "" }, "the settlement account for EUR needs"},
		"statement without ccy":    {func(c *outbound.Cycle) { c.Statements[0].Opening = fx.Amount{} }, "statement of DBSSSGSG has no currency"},
		"entry without a kind":     {func(c *outbound.Cycle) { c.Statements[1].Entries[0].Kind = "" }, "camt.053 for DEUTDEFF in EUR: camt.053.001.08: Accounts[0].Entries[0].Code: is required"},
	} {
		cy := sampleCycle()
		c.mutate(&cy)
		files, err := outbound.BuildCycle(cy, outbound.Options{})
		if err == nil || !strings.Contains(err.Error(), c.msg) || files != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestLongIDs: a cycle id too long for readable 35-character ids still
// gives ids of at most 35 characters, distinct per bank.
func TestLongIDs(t *testing.T) {
	a, _ := outbound.PositionRef(1<<62, "DBSSSGSGXXX", "EUR")
	b, _ := outbound.PositionRef(1<<62, "DEUTDEFFXXX", "EUR")
	if len(a) != 35 || len(b) != 35 || a == b || !strings.HasPrefix(a, "C4611686018427387") {
		t.Fatalf("%q %q", a, b)
	}
	c := sampleCycle()
	c.ID = 1 << 62
	for _, f := range build(t, c, outbound.Options{}) {
		isotest.SchemaValid(t, f.Kind, f.Content)
	}
}

// TestSettlementConfirmationMatches: the settlement bank's pacs.002 about
// a cycle's pacs.009s names them by the ids PositionRef gives.
func TestSettlementConfirmationMatches(t *testing.T) {
	msgID, uetr := outbound.PositionRef(42, "DBSSSGSG", "EUR")
	raw := isotest.Pacs002Settlement("SB-1", isotest.Status{MsgID: msgID, UETR: uetr, Status: "ACSC"})
	f, err := iso.DecodeFileBytes(raw, iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	it := f.Settlement.Items[0]
	pay := decode(t, build(t, sampleCycle(), outbound.Options{})[0], iso.DecodeFICreditTransfer)
	if it.Outcome != iso.Settled || it.MsgID != pay.MsgID || it.UETR != pay.Transfers[0].UETR {
		t.Fatalf("%+v / %+v", it, pay)
	}
}

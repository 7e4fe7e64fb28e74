package compliance_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/fx"
)

// memHistory is earlier payments held in memory, answering the queries
// the way the store does over its screening decisions.
type memHistory []struct {
	keys map[compliance.KeyKind]string
	at   time.Time
	base int64
}

func (h memHistory) Activity(_ context.Context, qs []compliance.HistoryQuery) ([]compliance.Activity, error) {
	out := make([]compliance.Activity, len(qs))
	for i, q := range qs {
		for _, p := range h {
			if p.keys[q.Kind] != q.Key || p.at.Before(q.Since) {
				continue
			}
			out[i].Count++
			out[i].BaseMinor += p.base
			if q.BandHigh > 0 && p.base >= q.BandLow && p.base < q.BandHigh {
				out[i].InBand++
			}
		}
	}
	return out, nil
}

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func money(t *testing.T, v, ccy string) fx.Amount {
	t.Helper()
	a, err := fx.ParsePositiveAmount(v, ccy)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// pay is a payment from a Singapore buyer to a German merchant with
// complete travel-rule data.
func pay(t *testing.T, amount, ccy string) compliance.Payment {
	return compliance.Payment{ID: "p", At: now, Amount: money(t, amount, ccy), Jurisdictions: []string{"SG", "DE"},
		Parties: []compliance.Party{
			{Role: compliance.Debtor, Name: "Tan Wei Ling", Country: "SG", Account: "SG0011223344", Address: "1 Raffles Place, Singapore"},
			{Role: compliance.Creditor, Name: "Berlin Books", Country: "DE", Account: "DE89370400440532013000"},
			{Role: compliance.DebtorAgent, Name: "DBS Test", Country: "SG", ID: "DBSSSGSG"},
			{Role: compliance.CreditorAgent, Name: "Deutsche Test Bank", Country: "DE", ID: "DEUTDEFF"},
		},
		Keys: map[compliance.KeyKind]string{compliance.PayerKey: "acct:sg0011223344", compliance.PayeeKey: "mer_1", compliance.BankKey: "DBSSSGSG"}}
}

func rules(t *testing.T, js string) *compliance.Rules {
	t.Helper()
	r, err := compliance.ParseRules([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func screen(t *testing.T, r *compliance.Rules, h compliance.History, rates compliance.Rates, ps ...compliance.Payment) []compliance.Decision {
	t.Helper()
	s, err := compliance.New(compliance.Config{Rules: r})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := s.Screen(context.Background(), ps, h, rates)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func reason(d compliance.Decision, code string) (compliance.Reason, bool) {
	i := slices.IndexFunc(d.Reasons, func(r compliance.Reason) bool { return r.Code == code })
	if i < 0 {
		return compliance.Reason{}, false
	}
	return d.Reasons[i], true
}

// eurUSD converts EUR into USD at 1.10; other pairs have no rate.
func eurUSD(from, to string) (decimal.Decimal, error) {
	if from == "EUR" && to == "USD" {
		return decimal.RequireFromString("1.10"), nil
	}
	return decimal.Zero, fmt.Errorf("no usable %s/%s rate", from, to)
}

func TestLargeValue(t *testing.T) {
	r := rules(t, `{"base_currency":"USD","default":{"large_value":{"threshold":"10000.00 USD","action":"flag"}},
		"jurisdictions":{"CN":{"large_value":{"threshold":"200000.00 CNY","action":"review"}}}}`)
	// 9,090.91 EUR × 1.10 = 10,000.001 → 10,000.01 USD (the payment is rounded up): at the threshold.
	ds := screen(t, r, nil, eurUSD, pay(t, "9090.91", "EUR"), pay(t, "9090.90", "EUR"), pay(t, "10000.00", "USD"))
	if rs, ok := reason(ds[0], compliance.CodeLargeValue); !ok || ds[0].Outcome != compliance.Pass || rs.Outcome != compliance.Pass || ds[0].Base.String() != "10000.01 USD" {
		t.Fatalf("9,090.91 EUR is flagged and still held in escrow: %+v", ds[0])
	}
	if _, ok := reason(ds[1], compliance.CodeLargeValue); ok {
		t.Fatalf("9,090.90 EUR = 9,999.99 USD is under: %+v", ds[1].Reasons)
	}
	if rs, _ := reason(ds[2], compliance.CodeLargeValue); rs.Jurisdiction != "SG" || !strings.Contains(rs.Message, "10000.00 USD") {
		t.Fatalf("the reason names whose rule and the threshold: %+v", rs)
	}
	// A payment whose amount cannot be converted is held for review: the
	// thresholds cannot be checked.
	ds = screen(t, r, nil, eurUSD, pay(t, "100.00", "SGD"))
	if rs, ok := reason(ds[0], compliance.CodeRateUnavailable); !ok || ds[0].Outcome != compliance.Review || !strings.Contains(rs.Message, "SGD/USD") {
		t.Fatalf("%+v", ds[0])
	}
}

func TestStructuring(t *testing.T) {
	r := rules(t, `{"base_currency":"USD","default":{"structuring":{"threshold":"10000.00 USD","band":"0.8","window":"24h","min_count":3,"action":"review"}}}`)
	p := pay(t, "9500.00", "USD")
	old := memHistory{
		{keys: p.Keys, at: now.Add(-2 * time.Hour), base: 9_000_00},
		{keys: p.Keys, at: now.Add(-25 * time.Hour), base: 9_900_00}, // outside the window
		{keys: p.Keys, at: now.Add(-3 * time.Hour), base: 5_000_00},  // under the band
	}
	if ds := screen(t, r, old, nil, p); ds[0].Outcome != compliance.Pass {
		t.Fatalf("two in the band within 24 h is not yet structuring: %+v", ds[0].Reasons)
	}
	old = append(old, old[0])
	ds := screen(t, r, old, nil, p, pay(t, "10000.00", "USD"))
	rs, ok := reason(ds[0], compliance.CodeStructuring)
	if !ok || ds[0].Outcome != compliance.Review || !strings.Contains(rs.Message, "3 payments in [8000.00, 10000.00) USD by one payer") {
		t.Fatalf("the third in the band: %+v", ds[0].Reasons)
	}
	if _, ok := reason(ds[1], compliance.CodeStructuring); ok {
		t.Fatal("a payment at the threshold is not under it")
	}
	// Within one batch the earlier payments count, rejected ones do not.
	batch := []compliance.Payment{pay(t, "8000.00", "USD"), pay(t, "8500.00", "USD"), pay(t, "9999.99", "USD")}
	if ds := screen(t, r, memHistory{}, nil, batch...); ds[2].Outcome != compliance.Review || ds[1].Outcome != compliance.Pass {
		t.Fatalf("three in one batch: %v %v %v", ds[0].Outcome, ds[1].Outcome, ds[2].Outcome)
	}
}

func TestVelocity(t *testing.T) {
	r := rules(t, `{"base_currency":"USD","default":{"velocity":[
		{"party":"payee","window":"1h","max_count":3,"action":"review"},
		{"party":"bank","window":"24h","max_amount":"1000.00 USD","action":"flag"}]}}`)
	p := pay(t, "100.00", "USD")
	h := memHistory{{keys: p.Keys, at: now.Add(-time.Minute), base: 700_00}, {keys: p.Keys, at: now.Add(-2 * time.Hour), base: 100_00}}
	ds := screen(t, r, h, nil, p, p, p)
	if ds[0].Outcome != compliance.Pass || ds[1].Outcome != compliance.Pass {
		t.Fatalf("within the limits: %+v %+v", ds[0].Reasons, ds[1].Reasons)
	}
	if rs, ok := reason(ds[2], compliance.CodeVelocity); !ok || ds[2].Outcome != compliance.Review || !strings.Contains(rs.Message, "4 payments by one payee within 1h0m0s") {
		t.Fatalf("the fourth payment to one payee within the hour: %+v", ds[2].Reasons)
	}
	// The bank sent 700 + 100 within 24 h: with two more it is at the
	// limit of 1,000.00, with the third over it, which is flagged only.
	if _, ok := reason(ds[1], compliance.CodeVelocity); ok {
		t.Fatalf("1,000.00 USD is not more than the limit: %+v", ds[1].Reasons)
	}
	i := slices.IndexFunc(ds[2].Reasons, func(r compliance.Reason) bool {
		return strings.Contains(r.Message, "1100.00 USD by one bank within 24h")
	})
	if i < 0 || ds[2].Reasons[i].Outcome != compliance.Pass {
		t.Fatalf("the third: %+v", ds[2].Reasons)
	}
}

func TestHighRiskJurisdictions(t *testing.T) {
	r := rules(t, `{"default":{"high_risk":{"call_for_action":"reject","increased_monitoring":"review"}}}`)
	if r.FATF != compliance.LatestFATF() || r.FATFLists().Published != "2025-10-24" {
		t.Fatalf("the latest FATF lists are the default: %s %s", r.FATF, r.FATFLists().Published)
	}
	iran, kenya := pay(t, "10.00", "USD"), pay(t, "10.00", "USD")
	iran.Parties[0].Country = "IR"
	kenya.Parties[1].Country = "KE"
	ds := screen(t, r, nil, nil, iran, kenya, pay(t, "10.00", "USD"))
	if rs, ok := reason(ds[0], compliance.CodeHighRisk); !ok || ds[0].Outcome != compliance.Reject || rs.Role != compliance.Debtor || !strings.Contains(rs.Message, "call for action") {
		t.Fatalf("a debtor in Iran: %+v", ds[0].Reasons)
	}
	if ds[1].Outcome != compliance.Review || ds[2].Outcome != compliance.Pass {
		t.Fatalf("a creditor in Kenya: %v; nowhere listed: %v", ds[1].Outcome, ds[2].Outcome)
	}
}

func TestTravelRule(t *testing.T) {
	r := rules(t, `{"default":{"travel_rule":{"threshold":"1000.00 USD","action":"review"}},
		"jurisdictions":{"US":{"travel_rule":{"threshold":"3000.00 USD","action":"reject"}}}}`)
	complete := pay(t, "5000.00", "USD")
	noAccount := pay(t, "5000.00", "USD")
	noAccount.Parties[0].Account = ""
	noID := pay(t, "5000.00", "USD")
	noID.Parties[0].Address = ""
	noID.Parties[0].BirthDate = "1980-01-01" // a date of birth without its place is not enough
	small := pay(t, "999.99", "USD")
	small.Parties[0].Account = ""
	domestic := pay(t, "5000.00", "USD")
	domestic.Parties[0].Account = ""
	domestic.Parties[3].Country = "SG"
	ds := screen(t, r, nil, nil, complete, noAccount, noID, small, domestic)
	if ds[0].Outcome != compliance.Pass {
		t.Fatalf("complete: %+v", ds[0].Reasons)
	}
	if rs, ok := reason(ds[1], compliance.CodeTravelRule); !ok || ds[1].Outcome != compliance.Review || rs.ISOReason != compliance.ISOMissingDebtorID || !strings.Contains(rs.Message, "the originator's account") {
		t.Fatalf("no originator account: %+v", ds[1].Reasons)
	}
	if rs, _ := reason(ds[2], compliance.CodeTravelRule); !strings.Contains(rs.Message, "address, national identifier or date and place of birth") {
		t.Fatalf("no identification: %+v", ds[2].Reasons)
	}
	if ds[3].Outcome != compliance.Pass || ds[4].Outcome != compliance.Pass {
		t.Fatalf("under the threshold, or domestic, the rule does not apply: %v %v", ds[3].Reasons, ds[4].Reasons)
	}
	// US-NY has no rules of its own: the US's apply (a reject at 3,000).
	us := pay(t, "5000.00", "USD")
	us.Parties[0].Account = ""
	us.Jurisdictions = []string{"US-NY"}
	if ds := screen(t, r, nil, nil, us); ds[0].Outcome != compliance.Reject || ds[0].ISOReason() != compliance.ISOMissingDebtorID {
		t.Fatalf("US-NY: %+v", ds[0])
	}
	// An API payment names no debtor at all.
	anon := pay(t, "5000.00", "USD")
	anon.Parties = anon.Parties[1:]
	rs, _ := reason(screen(t, r, nil, nil, anon)[0], compliance.CodeTravelRule)
	if rs.ISOReason != compliance.ISOMissingDebtorName || !strings.Contains(rs.Message, "the originator's name, the originator's account") {
		t.Fatalf("no debtor: %+v", rs)
	}
}

// TestParseRulesNamesTheField: every mistake in a rules file names where.
func TestParseRulesNamesTheField(t *testing.T) {
	for _, tc := range []struct{ js, want string }{
		{`{"default":{"large_value":{"threshold":"10000 USDX","action":"flag"}}}`, "USDX"},
		{`{"default":{"large_value":{"threshold":"10000.00 USD","action":"block"}}}`, "default.large_value.action: must be flag, review or reject"},
		{`{"default":{"structuring":{"threshold":"10000.00 USD","band":"1.2","window":"24h","min_count":3,"action":"review"}}}`, "default.structuring.band"},
		{`{"default":{"structuring":{"threshold":"10000.00 USD","band":"0.8","window":"0s","min_count":3,"action":"review"}}}`, "positive duration"},
		{`{"default":{"velocity":[{"party":"merchant","window":"1h","max_count":3,"action":"review"}]}}`, "default.velocity[0].party"},
		{`{"default":{"velocity":[{"party":"payer","window":"1h","action":"review"}]}}`, "needs max_count"},
		{`{"jurisdictions":{"sg":{}}}`, "jurisdictions.sg"},
		{`{"jurisdictions":{"SG":{"travel_rule":{"action":"review"}}}}`, "jurisdictions.SG.travel_rule.threshold: is required"},
		{`{"base_currency":"XYZ"}`, "base_currency"},
		{`{"fatf":"fatf-1999-01"}`, "fatf-2025-10"},
		{`{"default":{"large_value":{"threshold":"10000.00 USD","action":"flag","extra":1}}}`, "unknown field"},
	} {
		_, err := compliance.ParseRules([]byte(tc.js))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error with %q, got %v", tc.js, tc.want, err)
		}
	}
}

// TestNoRateNeededWithoutAmountRules: rules that compare no amount (a
// velocity count, the high-risk lists) need no rate to convert one.
func TestNoRateNeededWithoutAmountRules(t *testing.T) {
	r := rules(t, `{"default":{"velocity":[{"party":"payee","window":"1h","max_count":5,"action":"review"}],
		"high_risk":{"call_for_action":"reject","increased_monitoring":"review"}}}`)
	ds := screen(t, r, memHistory{}, nil, pay(t, "100.00", "SGD"))
	if ds[0].Outcome != compliance.Pass || len(ds[0].Reasons) != 0 || ds[0].Base.Currency.Code != "" {
		t.Fatalf("%+v", ds[0])
	}
}

// TestExampleRules keeps compliance/rules.example.json, the README's
// example, loadable, and checks what it says of a US jurisdiction.
func TestExampleRules(t *testing.T) {
	r, err := compliance.LoadRules("rules.example.json")
	if err != nil {
		t.Fatal(err)
	}
	if r.Policy == nil || *r.Policy != compliance.DefaultPolicy {
		t.Fatalf("the example spells out the default thresholds: %+v", r.Policy)
	}
	ny := r.For("US-NY")
	if ny.TravelRule.Threshold.String() != "3000.00 USD" || ny.Structuring == nil || len(ny.Velocity) != 4 {
		t.Fatalf("US-NY takes the US's travel rule and the default's others: %+v", ny)
	}
	if _, err := compliance.ParseRules([]byte(`{"policy":{"name_only":{"review":0.9},"corroborated":{"review":0.8,"reject":0.5}}}`)); err == nil ||
		!strings.Contains(err.Error(), "policy.corroborated.reject") {
		t.Fatalf("a bad policy names its field: %v", err)
	}
}

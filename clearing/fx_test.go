package clearing

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/fx"
)

// Cross-currency fixtures: the SG buyer's bank pays in SGD, a merchant at
// the German bank is settled in EUR, p_fx converts.

func fxProvider() Participant {
	return Participant{
		ID: "p_fx", Kind: FXProvider, BIC: "KSTLGB2L", Name: "Kestrel FX", Country: "GB", Jurisdiction: "GB",
		Currencies: []SettlementCurrency{{"EUR", 0}, {"SGD", 0}, {"USD", 0}, {"JPY", 0}},
		Status:     Active, CreatedAt: t0,
	}
}

func eurMerchant() Merchant {
	m := testMerchant()
	m.ID, m.Currency = "m_eur", "EUR"
	return m
}

func sgd(minor int64) fx.Amount { return fx.MustCurrency("SGD").FromMinor(minor) }

// sgdToEUR is the provider's SGD/EUR rate: bid 0.6845, ask 0.6855.
func sgdToEUR() fx.Conversion {
	return fx.Conversion{Pair: fx.Pair{Base: "SGD", Quote: "EUR"}, Bid: decimal.RequireFromString("0.6845"), Ask: decimal.RequireFromString("0.6855"),
		Path: []string{"SGD/EUR p_fx 2026-03-02T09:00:00Z"}, AsOf: t0.Add(-30 * time.Minute), ValidUntil: t0.Add(time.Hour)}
}

// fxQuote quotes 1,000.00 SGD into EUR with a 30 bps fee and a 50 bps spread.
func fxQuote(t *testing.T) FXQuote {
	t.Helper()
	q, err := NewFXQuote(sgdToEUR(), sgd(100_000), 30, 50, "p_fx", "p_buyer", t0, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func holdFX(t *testing.T, q FXQuote) Transition {
	t.Helper()
	req := HoldRequest{UETR: testUETR, BuyerBankID: "p_buyer", MerchantID: "m_eur", Amount: sgd(q.TotalMinor), QuoteID: q.ID}
	tr, err := HoldFX(req, q, fxProvider(), buyerBank(), eurMerchant(), merchantBank(), ChargeOperator, Actor{Role: RoleBank, Subject: "p_buyer"}, t0, releaseWindow)
	if err != nil {
		t.Fatalf("HoldFX: %v", err)
	}
	return tr
}

// The worked example of docs/fx.md: T = 1,000.00 SGD, F = RoundUp(T × 0.30 %)
// = 3.00, S = RoundUp(T × 0.50 %) = 5.00, C = 992.00, M = RoundDown(992.00 ×
// 0.6845) = RoundDown(679.024) = 679.02 EUR.
func TestNewFXQuote(t *testing.T) {
	q := fxQuote(t)
	if q.TotalMinor != 100_000 || q.FeeMinor != 300 || q.SpreadMinor != 500 || q.ConvertedMinor != 99_200 || q.BuyMinor != 67_902 {
		t.Fatalf("quote %+v", q)
	}
	if q.Sell != "SGD" || q.Buy != "EUR" || !q.Rate.Equal(decimal.RequireFromString("0.6845")) || !q.Mid.Equal(decimal.RequireFromString("0.685")) ||
		q.Provider != "p_fx" || q.Bank != "p_buyer" || !q.ExpiresAt.Equal(t0.Add(2*time.Minute)) || len(q.Path) != 1 || q.FeeBps != 30 || q.SpreadBps != 50 {
		t.Fatalf("quote %+v", q)
	}
	// Fees round up: 0.01 SGD × 30 bps is still 0.01; then nothing is left to convert.
	if _, err := NewFXQuote(sgdToEUR(), sgd(1), 30, 0, "p_fx", "p_buyer", t0, time.Minute); !errors.Is(err, fx.ErrNotPositive) {
		t.Fatalf("one cent with a fee: %v", err)
	}
	// 1 cent converts to 0.006845 EUR: less than a cent.
	if _, err := NewFXQuote(sgdToEUR(), sgd(1), 0, 0, "p_fx", "p_buyer", t0, time.Minute); !errors.Is(err, fx.ErrNotPositive) {
		t.Fatalf("one cent: %v", err)
	}
	for _, bps := range [][2]int{{-1, 0}, {0, -1}, {5000, 5000}, {10000, 0}} {
		if _, err := NewFXQuote(sgdToEUR(), sgd(100_000), bps[0], bps[1], "p_fx", "p_buyer", t0, time.Minute); !errors.Is(err, fx.ErrBadQuote) {
			t.Fatalf("bps %v: %v", bps, err)
		}
	}
	// With neither fee nor spread the conversion is fx.QuoteSell's.
	q0, err := NewFXQuote(sgdToEUR(), sgd(100_000), 0, 0, "p_fx", "p_buyer", t0, time.Minute)
	if err != nil || q0.ConvertedMinor != 100_000 || q0.BuyMinor != 68_450 {
		t.Fatalf("no fee, no spread: %+v %v", q0, err)
	}
}

func TestHoldFXBooksTheFourLegs(t *testing.T) {
	q := fxQuote(t)
	tr := holdFX(t, q)
	p := tr.Payment
	want := Payment{
		ID: testUETR, BuyerBankID: "p_buyer", MerchantID: "m_eur", MerchantBankID: "p_merch",
		BuyerJurisdiction: "SG", MerchantJurisdiction: "DE",
		Currency: "EUR", AmountMinor: 67_902, State: Held,
		ReleaseAt: t0.Add(releaseWindow), Version: 1, CreatedAt: t0, UpdatedAt: t0,
		SellCurrency: "SGD", SellMinor: 100_000, FeeMinor: 300, SpreadMinor: 500, ConvertedMinor: 99_200,
		FXProviderID: "p_fx", QuoteID: q.ID, Rate: "0.6845", FXResultOwner: FXResultAccount,
	}
	if p != want {
		t.Fatalf("payment\n got  %+v\n want %+v", p, want)
	}
	wantPostings := []Posting{
		{PaymentID: testUETR, Kind: PostFee, Currency: "SGD", Debit: "p_buyer", Credit: FeesAccount, AmountMinor: 300},
		{PaymentID: testUETR, Kind: PostFXSpread, Currency: "SGD", Debit: "p_buyer", Credit: "p_fx", AmountMinor: 500},
		{PaymentID: testUETR, Kind: PostFXConversion, Currency: "SGD", Debit: "p_buyer", Credit: "p_fx", AmountMinor: 99_200},
		{PaymentID: testUETR, Kind: PostFXDelivery, Currency: "EUR", Debit: "p_fx", Credit: EscrowAccount, AmountMinor: 67_902},
	}
	if !reflect.DeepEqual(tr.Postings, wantPostings) {
		t.Fatalf("postings\n got  %+v\n want %+v", tr.Postings, wantPostings)
	}
	if len(tr.Events) != 2 || tr.Events[1].AmountMinor != 67_902 || tr.Events[1].Type != EventHeld {
		t.Fatalf("events %+v", tr.Events)
	}
	// Without fee and spread there are two legs.
	q0, _ := NewFXQuote(sgdToEUR(), sgd(100_000), 0, 0, "p_fx", "p_buyer", t0, time.Minute)
	if tr := holdFX(t, q0); len(tr.Postings) != 2 || tr.Postings[0].Kind != PostFXConversion || tr.Postings[1].AmountMinor != 68_450 {
		t.Fatalf("no fee, no spread: %+v", tr.Postings)
	}
}

func TestHoldFXRefusals(t *testing.T) {
	q := fxQuote(t)
	by := Actor{Role: RoleBank, Subject: "p_buyer"}
	base := HoldRequest{UETR: testUETR, BuyerBankID: "p_buyer", MerchantID: "m_eur", Amount: sgd(100_000), QuoteID: q.ID}
	suspended := fxProvider()
	suspended.Status = Suspended
	noEUR := fxProvider()
	noEUR.Currencies = noEUR.Currencies[1:]
	bank := fxProvider()
	bank.Kind = Bank
	tests := []struct {
		name        string
		req         HoldRequest
		quote       func(q FXQuote) FXQuote
		provider    Participant
		merchant    Merchant
		at          time.Time
		kind        Kind
		code, field string
	}{
		{"expired", base, nil, fxProvider(), eurMerchant(), t0.Add(2 * time.Minute), Refused, "quote_expired", "quote_id"},
		{"another bank's", base, func(q FXQuote) FXQuote { q.Bank = "p_other"; return q }, fxProvider(), eurMerchant(), t0, Invalid, "unknown_quote", "quote_id"},
		{"another amount", HoldRequest{UETR: testUETR, Amount: sgd(100_001)}, nil, fxProvider(), eurMerchant(), t0, Invalid, "quote_mismatch", "quote_id"},
		{"another currency", HoldRequest{UETR: testUETR, Amount: usd(100_000)}, nil, fxProvider(), eurMerchant(), t0, Invalid, "quote_mismatch", "quote_id"},
		{"another buy currency", base, nil, fxProvider(), func() Merchant { m := eurMerchant(); m.Currency = "JPY"; return m }(), t0, Invalid, "quote_mismatch", "quote_id"},
		{"same currency", HoldRequest{UETR: testUETR, Amount: usd(100_000)}, nil, fxProvider(), testMerchant(), t0, Invalid, "quote_mismatch", "quote_id"},
		{"suspended provider", base, nil, suspended, eurMerchant(), t0, Refused, "participant_suspended", "quote_id"},
		{"provider without EUR", base, nil, noEUR, eurMerchant(), t0, Invalid, "currency_not_settled", "currency"},
		{"not a provider", base, nil, bank, eurMerchant(), t0, Invalid, "not_an_fx_provider", "quote_id"},
		{"buyer's bank does not settle the sell currency", HoldRequest{UETR: testUETR, Amount: fx.MustCurrency("GBP").FromMinor(100_000)}, nil, fxProvider(), eurMerchant(), t0, Invalid, "currency_not_settled", "currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qq := q
			if tt.quote != nil {
				qq = tt.quote(q)
			}
			tr, err := HoldFX(tt.req, qq, tt.provider, buyerBank(), tt.merchant, merchantBank(), ChargeOperator, by, tt.at, releaseWindow)
			wantError(t, err, tt.kind, tt.code, tt.field)
			if !reflect.DeepEqual(tr, Transition{}) {
				t.Fatalf("refused hold returned %+v", tr)
			}
		})
	}
	// A quote that does not add up is a bug, not the caller's fault.
	broken := q
	broken.FeeMinor++
	_, err := HoldFX(base, broken, fxProvider(), buyerBank(), eurMerchant(), merchantBank(), ChargeOperator, by, t0, releaseWindow)
	wantInvariant(t, err)
	// A same-currency Hold still refuses a merchant in another currency.
	_, err = Hold(base, buyerBank(), eurMerchant(), merchantBank(), by, t0, releaseWindow)
	wantError(t, err, Invalid, "currency_mismatch", "currency")
}

// The refund of docs/fx.md after a partial release: 300.00 EUR released,
// 379.02 EUR refunded at a fresh EUR/SGD bid of 1.4550. The buyer's bank
// gets back C_r = ⌈992.00 × 379.02 / 679.02⌉ = 553.73, F_r = ⌈3.00 × …⌉ =
// 1.68 and S_r = ⌈5.00 × …⌉ = 2.80 SGD: 558.21 SGD. The provider converts
// back C′ = RoundDown(379.02 × 1.4550) = 551.47 SGD; the FX result account
// pays the difference, 2.26 SGD.
func TestFXRefundAfterPartialRelease(t *testing.T) {
	p := holdFX(t, fxQuote(t)).Payment
	p = apply(t, p, Action{Kind: ActionRelease, AmountMinor: 30_000}, t0.Add(time.Hour)).Payment
	if !p.NeedsFreshRate(Action{Kind: ActionRefund}) || p.NeedsFreshRate(Action{Kind: ActionRelease}) || p.NeedsFreshRate(Action{Kind: ActionResolve, Decision: DecideRefund}) {
		t.Fatal("NeedsFreshRate")
	}
	// Without a rate the refund is refused and nothing moves.
	_, err := p.Apply(Action{Kind: ActionRefund}, operator, t0.Add(2*time.Hour))
	wantError(t, err, Refused, "fx_rate_required", "rate")

	tr := apply(t, p, Action{Kind: ActionRefund, FreshRate: decimal.RequireFromString("1.4550")}, t0.Add(2*time.Hour))
	want := []Posting{
		{PaymentID: testUETR, Kind: PostFXGiveBack, Currency: "EUR", Debit: EscrowAccount, Credit: "p_fx", AmountMinor: 37_902},
		{PaymentID: testUETR, Kind: PostFXConvertBack, Currency: "SGD", Debit: "p_fx", Credit: "p_buyer", AmountMinor: 55_147},
		{PaymentID: testUETR, Kind: PostFXResult, Currency: "SGD", Debit: FXResultAccount, Credit: "p_buyer", AmountMinor: 226},
		{PaymentID: testUETR, Kind: PostFeeBack, Currency: "SGD", Debit: FeesAccount, Credit: "p_buyer", AmountMinor: 168},
		{PaymentID: testUETR, Kind: PostFXSpreadBack, Currency: "SGD", Debit: "p_fx", Credit: "p_buyer", AmountMinor: 280},
	}
	if !reflect.DeepEqual(tr.Postings, want) {
		t.Fatalf("postings\n got  %+v\n want %+v", tr.Postings, want)
	}
	if c, f, s := tr.Payment.RefundedSell(); c != 55_373 || f != 168 || s != 280 || tr.Payment.State != Refunded || tr.Payment.RefundedMinor != 37_902 {
		t.Fatalf("refunded %d %d %d, payment %+v", c, f, s, tr.Payment)
	}
	// A fresh rate above the locked one: the buyer's bank gives the excess to the FX result account.
	tr = apply(t, p, Action{Kind: ActionRefund, FreshRate: decimal.RequireFromString("1.4700")}, t0.Add(2*time.Hour))
	// RoundDown(379.02 × 1.47) = 557.1594 → 557.15 > 553.73: 3.42 back.
	if got := tr.Postings[1:3]; got[0].AmountMinor != 55_715 || got[1] != (Posting{PaymentID: testUETR, Kind: PostFXResultGain, Currency: "SGD", Debit: "p_buyer", Credit: FXResultAccount, AmountMinor: 342}) {
		t.Fatalf("fresh rate above: %+v", tr.Postings)
	}
}

// A whole refund (a dispute resolved as refund) gives back exactly T.
func TestFXWholeRefundGivesBackEverything(t *testing.T) {
	p := holdFX(t, fxQuote(t)).Payment
	p = apply(t, p, Action{Kind: ActionDispute}, t0.Add(time.Hour)).Payment
	if !p.NeedsFreshRate(Action{Kind: ActionResolve, Decision: DecideRefund}) {
		t.Fatal("NeedsFreshRate")
	}
	tr := apply(t, p, Action{Kind: ActionResolve, Decision: DecideRefund, FreshRate: decimal.RequireFromString("1.4610")}, t0.Add(2*time.Hour))
	nets := map[string]int64{}
	for _, x := range tr.Postings {
		nets[x.Debit+"/"+x.Currency] -= x.AmountMinor
		nets[x.Credit+"/"+x.Currency] += x.AmountMinor
	}
	if nets["p_buyer/SGD"] != 100_000 || nets["fees/SGD"] != -300 || nets["escrow/EUR"] != -67_902 || nets["p_fx/EUR"] != 67_902 {
		t.Fatalf("nets %v", nets)
	}
	if c, f, s := tr.Payment.RefundedSell(); c != 99_200 || f != 300 || s != 500 {
		t.Fatalf("refunded %d %d %d", c, f, s)
	}
}

func TestShareUp(t *testing.T) {
	for _, tt := range []struct{ x, part, whole, want int64 }{
		{99_200, 37_902, 67_902, 55_373}, {300, 37_902, 67_902, 168}, {7, 67_902, 67_902, 7}, {7, 0, 67_902, 0}, {0, 5, 10, 0},
		{10, 1, 3, 4}, {9, 1, 3, 3}, {fx.MaxMinor, fx.MaxMinor - 1, fx.MaxMinor, fx.MaxMinor - 1},
	} {
		if got := ShareUp(tt.x, tt.part, tt.whole); got != tt.want {
			t.Errorf("ShareUp(%d, %d, %d) = %d, want %d", tt.x, tt.part, tt.whole, got, tt.want)
		}
	}
}

// sgdMerchantBank is the merchant's bank settling SGD too: it can bear the
// FX result of refunds in the buyer's currency.
func sgdMerchantBank() Participant {
	b := merchantBank()
	b.Currencies = append(b.Currencies, SettlementCurrency{"SGD", 1_000_000_00})
	return b
}

// With the FX result charged to the merchant, the worked example's refund
// books the 2.26 SGD between the merchant's bank and the buyer's bank, and
// an excess the other way, as fx_result_gain; the buyer's bank gets the
// same either way.
func TestFXResultChargedToTheMerchant(t *testing.T) {
	q := fxQuote(t)
	req := HoldRequest{UETR: testUETR, BuyerBankID: "p_buyer", MerchantID: "m_eur", Amount: sgd(q.TotalMinor), QuoteID: q.ID}
	by := Actor{Role: RoleBank, Subject: "p_buyer"}
	// A merchant's bank that does not settle SGD cannot bear it: the hold is refused.
	_, err := HoldFX(req, q, fxProvider(), buyerBank(), eurMerchant(), merchantBank(), ChargeMerchant, by, t0, releaseWindow)
	e := wantError(t, err, Refused, "fx_result_currency_not_settled", "currency")
	if !strings.Contains(e.Msg, "bank p_merch of merchant m_eur does not settle SGD") || !strings.Contains(e.Msg, "fx_result_charged_to = merchant") {
		t.Fatalf("message %s", e.Msg)
	}
	if _, err := HoldFX(req, q, fxProvider(), buyerBank(), eurMerchant(), merchantBank(), "", by, t0, releaseWindow); !errors.Is(err, ErrInvariant) {
		t.Fatalf("no charge: %v", err)
	}
	tr, err := HoldFX(req, q, fxProvider(), buyerBank(), eurMerchant(), sgdMerchantBank(), ChargeMerchant, by, t0, releaseWindow)
	if err != nil {
		t.Fatal(err)
	}
	p := tr.Payment
	if p.FXResultOwner != "p_merch" || p.FXResultBearer() != "p_merch" {
		t.Fatalf("bearer %q", p.FXResultOwner)
	}
	p = apply(t, p, Action{Kind: ActionRelease, AmountMinor: 30_000}, t0.Add(time.Hour)).Payment
	short := apply(t, p, Action{Kind: ActionRefund, FreshRate: decimal.RequireFromString("1.4550")}, t0.Add(2*time.Hour))
	if got := short.Postings[2]; got != (Posting{PaymentID: testUETR, Kind: PostFXResult, Currency: "SGD", Debit: "p_merch", Credit: "p_buyer", AmountMinor: 226}) {
		t.Fatalf("shortfall leg %+v", got)
	}
	gain := apply(t, p, Action{Kind: ActionRefund, FreshRate: decimal.RequireFromString("1.4700")}, t0.Add(2*time.Hour))
	if got := gain.Postings[2]; got != (Posting{PaymentID: testUETR, Kind: PostFXResultGain, Currency: "SGD", Debit: "p_buyer", Credit: "p_merch", AmountMinor: 342}) {
		t.Fatalf("excess leg %+v", got)
	}
	// The cycle result shows who bore what.
	res, err := Net(append(append([]Posting(nil), tr.Postings...), short.Postings...))
	if err != nil {
		t.Fatal(err)
	}
	if want := []FXResult{{Bearer: "p_merch", Currency: "SGD", PaidMinor: 226, NetMinor: -226, Legs: 1}}; !reflect.DeepEqual(res.FXResults, want) {
		t.Fatalf("FX results %+v", res.FXResults)
	}
	// A merchant's bank that is also the buyer's bears its own result: no leg.
	m := eurMerchant()
	m.BankID = "p_buyer"
	buyer := buyerBank()
	buyer.Currencies = append(buyer.Currencies, SettlementCurrency{"EUR", 1_000_00})
	tr, err = HoldFX(req, q, fxProvider(), buyer, m, buyer, ChargeMerchant, by, t0, releaseWindow)
	if err != nil {
		t.Fatal(err)
	}
	refund := apply(t, tr.Payment, Action{Kind: ActionRefund, FreshRate: decimal.RequireFromString("1.4550")}, t0.Add(time.Hour))
	for _, x := range refund.Postings {
		if x.Kind == PostFXResult || x.Kind == PostFXResultGain || x.Debit == x.Credit {
			t.Fatalf("leg %+v", x)
		}
	}
}

// FX result legs name their bearer: fx_result is paid by it, fx_result_gain
// received by it, and an fx_result leg credited to the fx_result account
// (booked before fx_result_gain existed) is a gain of that account.
func TestFXResultsInTheNetting(t *testing.T) {
	legs := []Posting{
		{PaymentID: "a", Kind: PostFXResult, Currency: "SGD", Debit: FXResultAccount, Credit: "p_buyer", AmountMinor: 226},
		{PaymentID: "b", Kind: PostFXResultGain, Currency: "SGD", Debit: "p_buyer", Credit: FXResultAccount, AmountMinor: 100},
		{PaymentID: "c", Kind: PostFXResult, Currency: "SGD", Debit: "p_buyer", Credit: FXResultAccount, AmountMinor: 5},
		{PaymentID: "d", Kind: PostFXResult, Currency: "SGD", Debit: "p_merch", Credit: "p_buyer", AmountMinor: 7},
		{PaymentID: "e", Kind: PostFXResultGain, Currency: "EUR", Debit: "p_buyer", Credit: "p_merch", AmountMinor: 3},
	}
	res, err := Net(legs)
	if err != nil {
		t.Fatal(err)
	}
	want := []FXResult{
		{Bearer: "p_merch", Currency: "EUR", ReceivedMinor: 3, NetMinor: 3, Legs: 1},
		{Bearer: FXResultAccount, Currency: "SGD", PaidMinor: 226, ReceivedMinor: 105, NetMinor: -121, Legs: 3},
		{Bearer: "p_merch", Currency: "SGD", PaidMinor: 7, NetMinor: -7, Legs: 1},
	}
	if !reflect.DeepEqual(res.FXResults, want) {
		t.Fatalf("FX results\n got  %+v\n want %+v", res.FXResults, want)
	}
	for _, c := range res.Currencies {
		if c.FXLegs == 0 {
			t.Fatalf("%+v", c)
		}
	}
}

package api_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

// Cross-currency payments over the API: KSTLGB2L posts its rates, the SG
// bank asks for a quote and pays the German merchant in SGD, the merchant
// is settled in EUR. The scheme fee is 30 bps, the spread 50 bps.

func eachEngineFX(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { fn(t, newFXEnv(t, engine)) })
	}
}

func newFXEnv(t *testing.T, engine string) *env {
	t.Helper()
	return newEnvWith(t, engine, api.Config{}, store.Options{FX: store.FXOptions{Book: &fx.Book{}, Provider: storetest.FXProviderBIC, FeeBps: 30, SpreadBps: 50}})
}

func validUntil() string { return time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339) }

// postProviderRates posts SGD/EUR 0.6845/0.6855 and EUR/SGD 1.4550/1.4570 as KSTLGB2L.
func (e *env) postProviderRates() {
	e.t.Helper()
	e.must(http.StatusCreated, e.fxp, "POST", "/v1/rates", map[string]any{"rates": []any{
		map[string]any{"pair": "SGD/EUR", "bid": "0.6845", "ask": "0.6855", "valid_until": validUntil()},
		map[string]any{"pair": "EUR/SGD", "bid": "1.4550", "ask": "1.4570", "valid_until": validUntil()},
	}})
}

type quote struct {
	ID, Provider, BankID, SellCurrency, SellAmount, Fee, Spread, Converted string
	BuyCurrency, BuyAmount, Rate, Mid, IssuedAt, ExpiresAt, PaymentID      string
	FeeBps, SpreadBps                                                      int
	Path                                                                   []string
}

type fxPayment struct {
	payment
	FX *struct {
		SellCurrency, SellAmount, Fee, Spread, Converted, Rate, Provider, QuoteID, Refunded, FXResultAccount string
	}
	Legs []struct {
		Seq, Leg                                  int
		Kind, Debit, Credit, Currency, Amount, At string
		CycleID                                   int64
	}
}

func legLines(p fxPayment) []string {
	var out []string
	for _, l := range p.Legs {
		out = append(out, l.Kind+" "+l.Debit+"→"+l.Credit+" "+l.Amount+" "+l.Currency)
	}
	return out
}

func TestCrossCurrencyPaymentOverTheAPI(t *testing.T) {
	eachEngineFX(t, func(t *testing.T, e *env) {
		check := func(r resp, schema string) {
			t.Helper()
			conformsTo(t, r, schema)
		}
		e.postProviderRates()
		check(e.must(http.StatusOK, e.bankSG, "GET", "/v1/rates", nil), "RateList")

		r := e.must(http.StatusCreated, e.bankSG, "POST", "/v1/quotes", map[string]any{"sell_amount": "1000.00", "sell_currency": "SGD", "buy_currency": "EUR"})
		check(r, "Quote")
		var q quote
		r.into(t, &q)
		if q.BankID != sgBank || q.Provider != storetest.FXProviderBIC || q.SellAmount != "1000.00" || q.Fee != "3.00" || q.Spread != "5.00" ||
			q.Converted != "992.00" || q.BuyAmount != "679.02" || q.Rate != "0.6845" || q.FeeBps != 30 || q.SpreadBps != 50 || len(q.Path) != 1 || q.PaymentID != "" {
			t.Fatalf("quote %s", r.Body)
		}
		// Who may see the quote.
		e.must(http.StatusOK, e.op, "GET", "/v1/quotes/"+q.ID, nil)
		e.must(http.StatusOK, e.fxp, "GET", "/v1/quotes/"+q.ID, nil)
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/quotes/"+q.ID, nil)
		wantError(t, e.call(e.bankUS, "GET", "/v1/quotes/"+q.ID, nil), http.StatusNotFound, "quote_not_found", "id")
		wantError(t, e.call(e.op, "GET", "/v1/quotes/fxq_nope", nil), http.StatusNotFound, "quote_not_found", "id")

		hold := map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "1000.00", "currency": "SGD", "quote_id": q.ID}
		r = e.must(http.StatusCreated, e.bankSG, "POST", "/v1/payments", hold)
		check(r, "Payment")
		var p fxPayment
		r.into(t, &p)
		if p.Currency != "EUR" || p.Amount != "679.02" || p.Held != "679.02" || p.FX == nil || p.FX.SellAmount != "1000.00" || p.FX.SellCurrency != "SGD" ||
			p.FX.Fee != "3.00" || p.FX.Spread != "5.00" || p.FX.Converted != "992.00" || p.FX.Rate != "0.6845" || p.FX.QuoteID != q.ID || p.FX.Refunded != "0.00" {
			t.Fatalf("payment %s", r.Body)
		}
		// A quote holds one payment only; other bad quotes name the field too.
		e.unchanged(func() {
			wantError(t, e.call(e.bankSG, "POST", "/v1/payments", hold), http.StatusConflict, "quote_used", "quote_id")
			wantError(t, e.call(e.bankSG, "POST", "/v1/payments", map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "1000.00", "currency": "SGD", "quote_id": "fxq_nope"}),
				http.StatusUnprocessableEntity, "unknown_quote", "quote_id")
		})
		r = e.must(http.StatusCreated, e.bankSG, "POST", "/v1/quotes", map[string]any{"sell_amount": "20.00", "sell_currency": "SGD", "buy_currency": "EUR"})
		var q2 quote
		r.into(t, &q2)
		e.unchanged(func() {
			wantError(t, e.call(e.bankSG, "POST", "/v1/payments", map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "20.01", "currency": "SGD", "quote_id": q2.ID}),
				http.StatusUnprocessableEntity, "quote_mismatch", "quote_id")
			wantError(t, e.call(e.op, "POST", "/v1/payments", map[string]any{"buyer_bank_id": usBank, "merchant_id": e.w.Merchants[0].ID, "amount": "20.00", "currency": "USD", "quote_id": q2.ID}),
				http.StatusUnprocessableEntity, "unknown_quote", "quote_id")
		})
		var used quote
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/quotes/"+q.ID, nil).into(t, &used)
		if used.PaymentID != p.ID {
			t.Fatalf("quote %+v not marked used by %s", used, p.ID)
		}

		// The buyer confirms part, the merchant's bank refunds the rest.
		e.act(e.bankSG, p.ID, "release", map[string]any{"amount": "300.00"})
		e.act(e.bankDE, p.ID, "refund", map[string]any{"reason": "second item out of stock"})
		r = e.must(http.StatusOK, e.bankSG, "GET", "/v1/payments/"+p.ID, nil)
		check(r, "Payment")
		r.into(t, &p)
		want := []string{
			"fee DBSSSGSG→fees 3.00 SGD",
			"fx_spread DBSSSGSG→KSTLGB2L 5.00 SGD",
			"fx_conversion DBSSSGSG→KSTLGB2L 992.00 SGD",
			"fx_delivery KSTLGB2L→escrow 679.02 EUR",
			"release escrow→DEUTDEFF 300.00 EUR",
			"fx_give_back escrow→KSTLGB2L 379.02 EUR",
			"fx_convert_back KSTLGB2L→DBSSSGSG 551.47 SGD",
			"fx_result fx_result→DBSSSGSG 2.26 SGD",
			"fee_back fees→DBSSSGSG 1.68 SGD",
			"fx_spread_back KSTLGB2L→DBSSSGSG 2.80 SGD",
		}
		if got := legLines(p); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("legs\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		if p.State != "refunded" || p.Refunded != "379.02" || p.FX.Refunded != "558.21" || p.FX.FXResultAccount != "fx_result" {
			t.Fatalf("after the refund: %s", r.Body)
		}
		// Without a quote the hold is priced now; positions show the operator's accounts without caps.
		r = e.must(http.StatusCreated, e.bankSG, "POST", "/v1/payments", map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "100.00", "currency": "SGD"})
		r.into(t, &p)
		if p.FX == nil || p.FX.QuoteID == "" || p.Amount != "67.90" {
			t.Fatalf("held without a quote: %s", r.Body)
		}
		var pos struct{ Positions []map[string]any }
		e.must(http.StatusOK, e.op, "GET", "/v1/positions", nil).into(t, &pos)
		seen := 0
		for _, x := range pos.Positions {
			if x["participant"] == "fees" || x["participant"] == "fx_result" {
				seen++
				if _, has := x["netdebitcap"]; has {
					t.Fatalf("operator account with a cap: %v", x)
				}
			}
		}
		if seen != 2 {
			t.Fatalf("positions %+v", pos)
		}
		var cyc struct {
			Currencies []map[string]any
			FXResults  []struct{ Bearer, Currency, Paid, Received, Net string }
		}
		r = e.must(http.StatusOK, e.op, "POST", "/v1/cycles/1/close", nil)
		check(r, "Cycle")
		r.into(t, &cyc)
		var led struct{ OK bool }
		e.must(http.StatusOK, e.op, "GET", "/v1/ledger/check", nil).into(t, &led)
		if !led.OK || len(cyc.Currencies) != 2 {
			t.Fatalf("ledger %v, cycle %v", led, cyc)
		}
		// The FX result shows in the cycle result, to those who may see its bearer.
		if len(cyc.FXResults) != 1 || cyc.FXResults[0].Bearer != "fx_result" || cyc.FXResults[0].Currency != "SGD" || cyc.FXResults[0].Paid != "2.26" ||
			cyc.FXResults[0].Received != "0.00" || cyc.FXResults[0].Net != "-2.26" {
			t.Fatalf("FX results %s", r.Body)
		}
		for _, key := range []string{e.bankSG, e.regSG} {
			if body := e.must(http.StatusOK, key, "GET", "/v1/cycles/1", nil).Body; strings.Contains(string(body), "fx_results") {
				t.Fatalf("%s sees the operator's FX result: %s", e.name(key), body)
			}
		}
	})
}

func TestRateValidationNamesTheField(t *testing.T) {
	eachEngineFX(t, func(t *testing.T, e *env) {
		ok := map[string]any{"pair": "SGD/EUR", "bid": "0.6845", "ask": "0.6855", "valid_until": validUntil()}
		with := func(k, v string) map[string]any {
			m := map[string]any{}
			for a, b := range ok {
				m[a] = b
			}
			if v == "-" {
				delete(m, k)
			} else {
				m[k] = v
			}
			return m
		}
		past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
		cases := []struct {
			body        any
			code, field string
		}{
			{map[string]any{"rates": []any{with("pair", "SGDEUR")}}, "invalid_pair", "rates[0].pair"},
			{map[string]any{"rates": []any{with("pair", "SGD/SGD")}}, "invalid_pair", "rates[0].pair"},
			{map[string]any{"rates": []any{with("pair", "sgd/EUR")}}, "invalid_pair", "rates[0].pair"},
			{map[string]any{"rates": []any{ok, with("bid", "1e3")}}, "invalid_rate", "rates[1].bid"},
			{map[string]any{"rates": []any{with("bid", "0")}}, "invalid_rate", "rates[0].bid"},
			{map[string]any{"rates": []any{with("bid", "-1.2")}}, "invalid_rate", "rates[0].bid"},
			{map[string]any{"rates": []any{with("bid", "0.1234567890123")}}, "invalid_rate", "rates[0].bid"},
			{map[string]any{"rates": []any{with("bid", "-")}}, "required", "rates[0].bid"},
			{map[string]any{"rates": []any{with("ask", "0.6844")}}, "invalid_rate", "rates[0].ask"},
			{map[string]any{"rates": []any{with("valid_until", "tomorrow")}}, "invalid_time", "rates[0].valid_until"},
			{map[string]any{"rates": []any{with("valid_until", past)}}, "invalid_time", "rates[0].valid_until"},
			{map[string]any{"rates": []any{}}, "required", "rates"},
		}
		e.unchanged(func() {
			for _, c := range cases {
				wantError(t, e.call(e.fxp, "POST", "/v1/rates", c.body), http.StatusUnprocessableEntity, c.code, c.field)
			}
			wantError(t, e.call(e.fxp, "POST", "/v1/rates", `{"rates":[{"pair":"SGD/EUR","bid":0.6845}]}`), http.StatusBadRequest, "malformed_json", "rates.bid")
			// The operator names the provider, which must be one.
			wantError(t, e.call(e.op, "POST", "/v1/rates", map[string]any{"rates": []any{ok}}), http.StatusUnprocessableEntity, "required", "source")
			wantError(t, e.call(e.op, "POST", "/v1/rates", map[string]any{"source": sgBank, "rates": []any{ok}}), http.StatusUnprocessableEntity, "not_an_fx_provider", "source")
			wantError(t, e.call(e.op, "POST", "/v1/rates", map[string]any{"source": "NOPEGB2L", "rates": []any{ok}}), http.StatusUnprocessableEntity, "unknown_participant", "source")
		})
		if got := e.must(http.StatusOK, e.op, "GET", "/v1/rates", nil); string(got.Body) != `{"rates":[]}` {
			t.Fatalf("refused rates reached the book: %s", got.Body)
		}
		e.must(http.StatusCreated, e.op, "POST", "/v1/rates", map[string]any{"source": storetest.FXProviderBIC, "rates": []any{ok}})
		// Quote requests name their fields too.
		for _, c := range []struct {
			key         string
			body        map[string]any
			status      int
			code, field string
		}{
			{e.op, map[string]any{"sell_amount": "1.00", "sell_currency": "SGD", "buy_currency": "EUR"}, 422, "required", "bank_id"},
			{e.bankSG, map[string]any{"sell_amount": "1.001", "sell_currency": "SGD", "buy_currency": "EUR"}, 422, "amount_too_precise", "sell_amount"},
			{e.bankSG, map[string]any{"sell_amount": "1.00", "sell_currency": "sgd", "buy_currency": "EUR"}, 422, "unknown_currency", "sell_currency"},
			{e.bankSG, map[string]any{"sell_amount": "1.00", "sell_currency": "SGD"}, 422, "required", "buy_currency"},
			{e.bankSG, map[string]any{"sell_amount": "1.00", "sell_currency": "SGD", "buy_currency": "USD"}, 422, "no_rate", "buy_currency"},
			{e.bankSG, map[string]any{"sell_amount": "1.00", "sell_currency": "USD", "buy_currency": "EUR"}, 422, "currency_not_settled", "sell_currency"},
			{e.bankSG, map[string]any{"bank_id": usBank, "sell_amount": "1.00", "sell_currency": "USD", "buy_currency": "EUR"}, 403, "forbidden", "bank_id"},
		} {
			wantError(t, e.call(c.key, "POST", "/v1/quotes", c.body), c.status, c.code, c.field)
		}
	})
}

func TestECBUpload(t *testing.T) {
	eachEngineFX(t, func(t *testing.T, e *env) {
		raw, err := os.ReadFile("../../testdata/ecb/eurofxref-daily.xml")
		if err != nil {
			t.Fatal(err)
		}
		// Today's file: the sample with today's date in Frankfurt.
		today := time.Now().In(time.FixedZone("CET", 3600)).Format(time.DateOnly)
		body := strings.Replace(string(raw), "2026-11-20", today, 1)
		e.unchanged(func() {
			wantError(t, e.call(e.op, "POST", "/v1/rates/ecb", strings.Replace(body, today, "2020-01-02", 1)), http.StatusUnprocessableEntity, "stale_rates", "body")
			wantError(t, e.call(e.op, "POST", "/v1/rates/ecb", "<not-ecb/>"), http.StatusUnprocessableEntity, "invalid_ecb", "body")
			wantError(t, e.call(e.op, "POST", "/v1/rates/ecb", ""), http.StatusUnprocessableEntity, "required", "body")
			wantError(t, e.call(e.fxp, "POST", "/v1/rates/ecb", body), http.StatusForbidden, "forbidden", "")
		})
		var rl struct {
			Rates []struct{ Source, Pair, Bid, Ask string }
		}
		e.must(http.StatusCreated, e.op, "POST", "/v1/rates/ecb", body, xmlType).into(t, &rl)
		if len(rl.Rates) < 25 || rl.Rates[0].Source != "ecb" || rl.Rates[0].Pair != "EUR/USD" || rl.Rates[0].Bid != "1.0835" {
			t.Fatalf("ECB rates %+v", rl)
		}
		// The US bank pays USD for the German merchant at the ECB's rate, inverted.
		var q quote
		e.must(http.StatusCreated, e.bankUS, "POST", "/v1/quotes", map[string]any{"sell_amount": "108.35", "sell_currency": "USD", "buy_currency": "EUR"}).into(t, &q)
		if len(q.Path) != 1 || !strings.Contains(q.Path[0], "ecb") || !strings.Contains(q.Path[0], "inverted") || q.Fee != "0.33" || q.Spread != "0.55" {
			t.Fatalf("quote %+v", q)
		}
		// 107.47 USD × RoundDown16(1/1.0835) = 99.188…: 99.18 EUR.
		if q.Converted != "107.47" || q.BuyAmount != "99.18" {
			t.Fatalf("quote %+v", q)
		}
	})
}

func TestFXRoles(t *testing.T) {
	eachEngineFX(t, func(t *testing.T, e *env) {
		rate := map[string]any{"rates": []any{map[string]any{"pair": "SGD/EUR", "bid": "0.6845", "ask": "0.6855", "valid_until": validUntil()}}}
		quoteReq := map[string]any{"sell_amount": "1.00", "sell_currency": "SGD", "buy_currency": "EUR"}
		e.unchanged(func() {
			// Rates: the provider posts its own only; banks, merchants and regulators none.
			wantError(t, e.call(e.fxp, "POST", "/v1/rates", map[string]any{"source": "OTHRGB2L", "rates": rate["rates"]}), http.StatusForbidden, "forbidden", "source")
			wantError(t, e.call(e.bankSG, "POST", "/v1/rates", rate), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.merDE, "POST", "/v1/rates", rate), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.regSG, "POST", "/v1/rates", rate), http.StatusForbidden, "read_only", "")
			wantError(t, e.call(e.bankSG, "POST", "/v1/rates/ecb", "<x/>"), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.merDE, "GET", "/v1/rates", nil), http.StatusForbidden, "forbidden", "")
			// Quotes: banks (for themselves) and the operator; not providers, merchants or regulators.
			wantError(t, e.call(e.fxp, "POST", "/v1/quotes", quoteReq), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.merDE, "POST", "/v1/quotes", quoteReq), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.regSG, "POST", "/v1/quotes", quoteReq), http.StatusForbidden, "read_only", "")
			wantError(t, e.call(e.merDE, "GET", "/v1/quotes/fxq_x", nil), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.regSG, "GET", "/v1/quotes/fxq_x", nil), http.StatusForbidden, "forbidden", "")
			// A provider key reads only rates and its quotes: no payments, cycles or keys.
			wantError(t, e.call(e.fxp, "GET", "/v1/payments", nil), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.fxp, "POST", "/v1/payments", map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "1.00", "currency": "EUR"}), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.fxp, "GET", "/v1/cycles/current", nil), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.fxp, "POST", "/v1/api-keys", map[string]any{"role": "fx_provider", "subject": storetest.FXProviderBIC}), http.StatusForbidden, "forbidden", "")
			// An fx_provider key is bound to an FX provider.
			wantError(t, e.call(e.op, "POST", "/v1/api-keys", map[string]any{"role": "fx_provider", "subject": sgBank}), http.StatusUnprocessableEntity, "unknown_participant", "subject")
		})
		e.must(http.StatusCreated, e.fxp, "POST", "/v1/rates", rate)
		e.must(http.StatusOK, e.fxp, "GET", "/v1/rates", nil)
		e.must(http.StatusCreated, e.op, "POST", "/v1/api-keys", map[string]any{"role": "fx_provider", "subject": storetest.FXProviderBIC, "name": "kestrel"})
	})
}

package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

type exposureLine struct {
	Currency, Net, Rate, Converted, MissingRate string
	Path                                        []string
}

type exposure struct {
	Participant, TotalDebit, Net, NetDebitCapTotal, NetDebitCapTotalCurrency, Headroom string
	Complete                                                                           bool
	Positions                                                                          []exposureLine
}

type exposureReport struct {
	ReportingCurrency, At string
	CycleID               int64
	Participants          []exposure
}

// The multi-currency net debit cap and exposure over the API: the operator
// registers OCBCSGSG with a cap of 2,000.00 USD (the reporting currency),
// KSTLGB2L posts SGD/USD 0.7400/0.7450 and EUR/USD 1.0800/1.0900 besides
// its SGD/EUR rates, and OCBCSGSG pays the German merchant in SGD and EUR.
func TestExposureAndTheMultiCurrencyCap(t *testing.T) {
	eachEngineFX(t, func(t *testing.T, e *env) {
		check := func(r resp, schema string) {
			t.Helper()
			conformsTo(t, r, schema)
		}
		participant := func(cap any) map[string]any {
			return map[string]any{"kind": "bank", "bic": "OCBCSGSG", "name": "OCBC", "country": "SG", "jurisdiction": "SG", "net_debit_cap_total": cap,
				"currencies": []any{map[string]any{"currency": "SGD", "net_debit_cap": "1000000.00"}, map[string]any{"currency": "EUR", "net_debit_cap": "1000000.00"}}}
		}
		e.unchanged(func() {
			for _, c := range []struct{ cap, code string }{{"-1.00", "invalid_net_debit_cap"}, {"1.001", "amount_too_precise"}, {"1e3", "amount_malformed"}} {
				wantError(t, e.call(e.op, "POST", "/v1/participants", participant(c.cap)), http.StatusUnprocessableEntity, c.code, "net_debit_cap_total")
			}
			wantError(t, e.call(e.op, "POST", "/v1/participants", participant(2000)), http.StatusBadRequest, "malformed_json", "net_debit_cap_total")
		})
		r := e.must(http.StatusCreated, e.op, "POST", "/v1/participants", participant("2000.00"))
		check(r, "Participant")
		if !strings.Contains(string(r.Body), `"net_debit_cap_total":"2000.00","net_debit_cap_total_currency":"USD"`) {
			t.Fatalf("participant %s", r.Body)
		}
		if body := e.must(http.StatusOK, e.op, "GET", "/v1/participants/"+sgBank, nil).Body; strings.Contains(string(body), "net_debit_cap_total") {
			t.Fatalf("a participant without a multi-currency cap: %s", body)
		}
		var key struct{ Secret string }
		e.must(http.StatusCreated, e.op, "POST", "/v1/api-keys", map[string]any{"role": "bank", "subject": "OCBCSGSG", "name": "ocbc"}).into(t, &key)
		ocbc := key.Secret
		e.postProviderRates()
		e.must(http.StatusCreated, e.fxp, "POST", "/v1/rates", map[string]any{"rates": []any{
			map[string]any{"pair": "SGD/USD", "bid": "0.7400", "ask": "0.7450", "valid_until": validUntil()},
			map[string]any{"pair": "EUR/USD", "bid": "1.0800", "ask": "1.0900", "valid_until": validUntil()},
		}})
		pay := func(amount, ccy string) resp {
			return e.call(ocbc, "POST", "/v1/payments", map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": amount, "currency": ccy})
		}
		for _, a := range [][2]string{{"1000.00", "SGD"}, {"1000.00", "EUR"}} {
			if r := pay(a[0], a[1]); r.Status != http.StatusCreated {
				t.Fatalf("hold %s %s: %s", a[0], a[1], r)
			}
		}
		e.unchanged(func() {
			r := pay("300.00", "SGD")
			wantError(t, r, http.StatusUnprocessableEntity, "net_debit_cap_total_exceeded", "amount")
			if !strings.Contains(string(r.Body), "holding 300.00 SGD (222.75 USD at the mid rate 0.7425) would take bank OCBCSGSG to a total debit of 2050.25 USD across currencies, past its multi-currency net debit cap of 2000.00 USD (current converted exposure 1827.50 USD)") {
				t.Fatalf("message %s", r.Body)
			}
		})

		r = e.must(http.StatusOK, e.op, "GET", "/v1/exposure", nil)
		check(r, "ExposureReport")
		var rep exposureReport
		r.into(t, &rep)
		if rep.ReportingCurrency != "USD" || rep.CycleID != 1 || len(rep.Participants) != 5 {
			t.Fatalf("report %s", r.Body)
		}
		var x exposure
		for _, p := range rep.Participants {
			if p.Participant == "OCBCSGSG" {
				x = p
			}
		}
		if x.TotalDebit != "1827.50" || x.Net != "-1827.50" || !x.Complete || x.NetDebitCapTotal != "2000.00" || x.NetDebitCapTotalCurrency != "USD" || x.Headroom != "172.50" ||
			len(x.Positions) != 2 || x.Positions[0].Currency != "EUR" || x.Positions[0].Net != "-1000.00" || x.Positions[0].Rate != "1.085" || x.Positions[0].Converted != "-1085.00" ||
			x.Positions[1].Rate != "0.7425" || x.Positions[1].Converted != "-742.50" || len(x.Positions[1].Path) != 1 || !strings.HasPrefix(x.Positions[1].Path[0], "SGD/USD KSTLGB2L ") {
			t.Fatalf("OCBCSGSG's exposure %+v", x)
		}
		// Who sees whose: a bank itself, a regulator its jurisdiction's participants.
		for key, want := range map[string][]string{ocbc: {"OCBCSGSG"}, e.bankDE: {deBank}, e.regSG: {sgBank, "OCBCSGSG"}, e.regDE: {deBank}} {
			var got exposureReport
			r := e.must(http.StatusOK, key, "GET", "/v1/exposure", nil)
			check(r, "ExposureReport")
			r.into(t, &got)
			var ids []string
			for _, p := range got.Participants {
				ids = append(ids, p.Participant)
			}
			if strings.Join(ids, ",") != strings.Join(want, ",") {
				t.Errorf("%s sees the exposure of %v, want %v", e.name(key), ids, want)
			}
		}
		wantError(t, e.call(e.merDE, "GET", "/v1/exposure", nil), http.StatusForbidden, "forbidden", "")
		wantError(t, e.call(e.fxp, "GET", "/v1/exposure", nil), http.StatusForbidden, "forbidden", "")
	})
}

// Without a rate for a position the exposure says so, and leaves the
// totals it would change unknown: nothing is guessed.
func TestExposureWithoutARate(t *testing.T) {
	e := newEnvWith(t, "sqlite", api.Config{}, store.Options{FX: store.FXOptions{Book: &fx.Book{}, Provider: storetest.FXProviderBIC, ReportingCurrency: "EUR"}})
	e.postProviderRates()
	e.must(http.StatusCreated, e.bankUS, "POST", "/v1/payments", map[string]any{"merchant_id": e.w.Merchants[2].ID, "amount": "10.00", "currency": "USD"})
	e.must(http.StatusCreated, e.bankSG, "POST", "/v1/payments", map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "100.00", "currency": "SGD"})
	r := e.must(http.StatusOK, e.op, "GET", "/v1/exposure", nil)
	conformsTo(t, r, "ExposureReport")
	var rep exposureReport
	r.into(t, &rep)
	got := map[string]exposure{}
	for _, p := range rep.Participants {
		got[p.Participant] = p
	}
	us, sg := got[usBank], got[sgBank]
	if rep.ReportingCurrency != "EUR" || us.Complete || us.TotalDebit != "" || us.Net != "" || len(us.Positions) != 1 || us.Positions[0].Converted != "" ||
		!strings.Contains(us.Positions[0].MissingRate, "USD/EUR") {
		t.Fatalf("US bank %+v", us)
	}
	// SGD converts to EUR at the provider's mid (0.6845 + 0.6855) / 2 = 0.685.
	if !sg.Complete || sg.TotalDebit != "68.50" || sg.Positions[0].Rate != "0.685" {
		t.Fatalf("SG bank %+v", sg)
	}
}

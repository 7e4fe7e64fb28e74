package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/inbound"
)

// cycle show prints the open cycle's exposure in the reporting currency,
// with the rates and paths used; cycle close prints who bore the FX
// results of the refunds.
func TestCycleShowExposureAndFXResults(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, engine)
			env := map[string]string{"CROSSCLEAR_DATABASE": dsn}
			mustRun(t, env, "migrate")
			s, err := store.Open(ctx, dsn, store.Options{Refunds: inbound.RefundFile(""), FX: store.FXOptions{Book: &fx.Book{}, Provider: storetest.FXProviderBIC}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			w := storetest.Seed(t, s)
			storetest.SeedFX(t, s)
			now := time.Now()
			var rates []fx.Rate
			for _, r := range [][3]string{{"SGD/EUR", "0.6845", "0.6855"}, {"EUR/SGD", "1.4550", "1.4570"}, {"SGD/USD", "0.7400", "0.7450"}, {"EUR/USD", "1.0800", "1.0900"}} {
				p, _ := fx.ParsePair(r[0])
				rates = append(rates, fx.Rate{Pair: p, Bid: decimal.RequireFromString(r[1]), Ask: decimal.RequireFromString(r[2]), Source: storetest.FXProviderBIC, AsOf: now, ValidUntil: now.Add(time.Hour)})
			}
			if err := s.PostRates(ctx, rates, storetest.Operator); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateParticipant(ctx, clearing.Participant{Kind: clearing.Bank, BIC: "OCBCSGSG", Name: "OCBC Test", Country: "SG", Jurisdiction: "SG",
				Currencies:       []clearing.SettlementCurrency{{Currency: "SGD", NetDebitCapMinor: storetest.CapMinor}, {Currency: "EUR", NetDebitCapMinor: storetest.CapMinor}},
				NetDebitCapTotal: clearing.TotalCap{Currency: "USD", Minor: 2_000_00}}, storetest.Operator); err != nil {
				t.Fatal(err)
			}
			var fxID string
			for _, h := range [][2]string{{"1000.00", "SGD"}, {"1000.00", "EUR"}} {
				p, err := s.Hold(ctx, clearing.HoldRequest{BuyerBankID: "OCBCSGSG", MerchantID: w.Merchants[0].ID, Amount: mustAmount(t, h[0], h[1])}, storetest.Operator)
				if err != nil {
					t.Fatal(err)
				}
				if p.IsFX() {
					fxID = p.ID
				}
			}
			open := mustRun(t, env, "cycle", "show", "--fx-provider", storetest.FXProviderBIC)
			for _, want := range []string{
				"Exposure in USD: the open positions of cycle 1 ",
				"OCBCSGSG  OCBC Test: total debit 1,827.50 USD · net -1,827.50 USD · multi-currency cap 2,000.00 USD, headroom 172.50 USD",
				"-1,000.00 SGD × 0.7425",
				"-742.50 USD  via SGD/USD KSTLGB2L ",
				"-1,000.00 EUR × 1.085",
				"KSTLGB2L  Kestrel FX Test: total debit",
			} {
				if !strings.Contains(open, want) {
					t.Errorf("cycle show lacks %q:\n%s", want, open)
				}
			}
			// Without the provider named, its rates are not used, and nothing is guessed.
			noRates := mustRun(t, env, "cycle", "show", "--reporting-currency", "EUR")
			for _, want := range []string{"Exposure in EUR", "total debit unknown (a position has no usable rate)", "not converted: no usable SGD/EUR rate"} {
				if !strings.Contains(noRates, want) {
					t.Errorf("cycle show --reporting-currency EUR lacks %q:\n%s", want, noRates)
				}
			}

			if _, err := s.Act(ctx, fxID, clearing.Action{Kind: clearing.ActionRefund}, storetest.Operator); err != nil {
				t.Fatal(err)
			}
			closed := mustRun(t, env, "cycle", "close")
			for _, want := range []string{"FX results of cross-currency refunds", "SGD  fx_result", "made up 4.06 · kept 0.00 · net -4.06 (1 legs)"} {
				if !strings.Contains(closed, want) {
					t.Errorf("cycle close lacks %q:\n%s", want, closed)
				}
			}
			if strings.Contains(closed, "Exposure") || !strings.Contains(mustRun(t, env, "cycle", "show", "1"), "made up 4.06") {
				t.Errorf("closed cycle shows exposure, or cycle show 1 lacks the FX results:\n%s", closed)
			}
		})
	}
}

func mustAmount(t *testing.T, v, ccy string) fx.Amount {
	t.Helper()
	a, err := fx.ParseAmount(v, ccy)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// serve refreshes the ECB rates from fx_ecb_url at start and reloads the
// rates another process posts to the database.
func TestServeRefreshesECBAndReloadsRates(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			raw, err := os.ReadFile("../../testdata/ecb/eurofxref-daily.xml")
			if err != nil {
				t.Fatal(err)
			}
			today := time.Now().In(time.FixedZone("CET", 3600)).Format(time.DateOnly)
			ecb := filepath.Join(t.TempDir(), "eurofxref-daily.xml")
			if err := os.WriteFile(ecb, []byte(strings.Replace(string(raw), "2026-11-20", today, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			dsn := storetest.DSN(t, engine)
			env := map[string]string{"CROSSCLEAR_DATABASE": dsn, "CROSSCLEAR_LISTEN": "127.0.0.1:0", "CROSSCLEAR_FX_PROVIDER": storetest.FXProviderBIC}
			base, out, stop := startServing(t, env, "serve", "--fx-ecb-url", ecb, "--fx-rates-reload-interval", "50ms")
			if want := "FX rates      reloaded from the database every 50ms; ECB reference rates from " + ecb + " every 1h0m0s; FX result charged to the operator; exposure in USD"; !strings.Contains(out.String(), want) {
				t.Errorf("serve output lacks %q:\n%s", want, out.String())
			}
			key := strings.TrimSpace(mustRun(t, env, "apikey", "create", "--role", "operator", "--quiet"))
			waitUntil(t, "the ECB rates", func() bool {
				_, body := httpGet(t, base+"/v1/rates", key)
				return strings.Contains(body, `"source":"ecb","pair":"EUR/USD"`)
			})
			// Another process posts a rate: this one quotes it after a reload.
			other, err := store.Open(context.Background(), dsn, store.Options{FX: store.FXOptions{Book: &fx.Book{}}})
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			storetest.SeedFX(t, other)
			r := fx.Rate{Pair: fx.Pair{Base: "SGD", Quote: "EUR"}, Bid: decimal.RequireFromString("0.6845"), Ask: decimal.RequireFromString("0.6855"), Source: storetest.FXProviderBIC,
				AsOf: time.Now(), ValidUntil: time.Now().Add(time.Hour)}
			if err := other.PostRates(context.Background(), []fx.Rate{r}, storetest.Operator); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, "the other process's rate", func() bool {
				_, body := httpGet(t, base+"/v1/rates", key)
				return strings.Contains(body, `"source":"KSTLGB2L","pair":"SGD/EUR","bid":"0.6845"`)
			})
			if code := stop(); code != 0 {
				t.Fatalf("serve exited %d", code)
			}
		})
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// ecbDay is the ECB's date (Frankfurt) days from today.
func ecbDay(days int) string {
	return time.Now().In(time.FixedZone("CET", 3600)).AddDate(0, 0, days).Format(time.DateOnly)
}

// ecbXML is an ECB file with a day cube of USD and SGD rates per date.
func ecbXML(days ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
	<gesmes:subject>Reference rates</gesmes:subject>
	<Cube>
`)
	for i, d := range days {
		fmt.Fprintf(&b, "\t\t<Cube time='%s'><Cube currency='USD' rate='1.08%d5'/><Cube currency='SGD' rate='1.45%d0'/></Cube>\n", d, i, i)
	}
	b.WriteString("\t</Cube>\n</gesmes:Envelope>\n")
	return b.String()
}

func countRows(t *testing.T, s *store.Store, table string) int {
	t.Helper()
	var n int
	if err := s.DB().NewRaw("SELECT COUNT(*) FROM "+table).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// rates load-ecb stores the ECB's rates from a file or a URL, skips the
// expired ones and refuses a file with nothing else, or a bad one, storing
// nothing; rates list prints what the book holds.
func TestRatesLoadECBAndList(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			dsn := storetest.DSN(t, engine)
			env := map[string]string{"CROSSCLEAR_DATABASE": dsn}
			if code, _, errs := crossclear(t, env, "rates", "list"); code != 1 || !strings.Contains(errs, "migrate") {
				t.Fatalf("rates list before migrate: exit %d %s", code, errs)
			}
			mustRun(t, env, "migrate")
			s := openTestStore(t, dsn)
			if out := mustRun(t, env, "rates", "list"); !strings.Contains(out, "No valid FX rate is stored") {
				t.Errorf("rates list on an empty database:\n%s", out)
			}

			// The sample file, dated today: every pair it has.
			raw, err := os.ReadFile("../../testdata/ecb/eurofxref-daily.xml")
			if err != nil {
				t.Fatal(err)
			}
			today := ecbDay(0)
			sample := writeFile(t, "eurofxref-daily.xml", strings.Replace(string(raw), "2026-11-20", today, 1))
			all, err := fx.LoadECB(context.Background(), sample, nil, store.DefaultECBValidity)
			if err != nil {
				t.Fatal(err)
			}
			out := mustRun(t, env, "rates", "load-ecb", sample)
			if want := fmt.Sprintf("Stored %d ECB euro reference rates (%d pairs) of %s from %s, valid until %s.", len(all), len(all), today, sample, stamp(all[0].ValidUntil)); !strings.Contains(out, want) {
				t.Errorf("rates load-ecb lacks %q:\n%s", want, out)
			}
			if n := countRows(t, s, "rates"); n != len(all) {
				t.Errorf("%d rates stored, want %d", n, len(all))
			}
			var posted string
			if err := s.DB().NewRaw("SELECT DISTINCT posted_by FROM rates").Scan(context.Background(), &posted); err != nil || posted != "operator:cli" {
				t.Errorf("rates posted by %q (%v), want operator:cli", posted, err)
			}

			// From a URL, two days, the older one still valid.
			yesterday := ecbDay(-1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/eurofxref-daily.xml" {
					http.NotFound(w, r)
					return
				}
				fmt.Fprint(w, ecbXML(today, yesterday))
			}))
			defer srv.Close()
			out = mustRun(t, env, "rates", "load-ecb", srv.URL+"/eurofxref-daily.xml")
			if want := fmt.Sprintf("Stored 4 ECB euro reference rates (2 pairs) of 2 days, %s to %s from %s/eurofxref-daily.xml", yesterday, today, srv.URL); !strings.Contains(out, want) {
				t.Errorf("rates load-ecb URL lacks %q:\n%s", want, out)
			}
			stored := len(all) + 4

			// A history with an expired day: only the fresh one is stored.
			history := writeFile(t, "history.xml", ecbXML(today, "2020-01-02"))
			out = mustRun(t, env, "rates", "load-ecb", history)
			if !strings.Contains(out, "Stored 2 ECB euro reference rates (2 pairs) of "+today) || !strings.Contains(out, "Skipped 2 expired rates of earlier days.") {
				t.Errorf("rates load-ecb of a history:\n%s", out)
			}
			stored += 2

			for _, tc := range []struct {
				args []string
				code int
				want string
			}{
				{[]string{writeFile(t, "old.xml", ecbXML("2020-01-02"))}, 1, "the newest ECB rates are of 2020-01-02 and expired at 2020-01-06 15:00:00 UTC (ECB rates are used for 96h0m0s after publication): nothing stored"},
				{[]string{writeFile(t, "bad.xml", strings.Replace(ecbXML(today), "1.0805", "1,08", 1))}, 1, `rate "1,08" is not a plain decimal`},
				{[]string{writeFile(t, "html.xml", "<html>maintenance</html>")}, 1, "malformed ECB reference rates"},
				{[]string{filepath.Join(t.TempDir(), "missing.xml")}, 1, "no such file"},
				{[]string{srv.URL + "/gone.xml"}, 1, "HTTP 404"},
				{nil, 2, "expected the FILE or URL"},
				{[]string{sample, sample}, 2, "expected one FILE or URL, got 2 arguments"},
			} {
				code, out, errs := crossclear(t, env, append([]string{"rates", "load-ecb"}, tc.args...)...)
				if code != tc.code || !strings.Contains(errs, tc.want) || out != "" {
					t.Errorf("rates load-ecb %v: exit %d (want %d)\nstdout: %s\nstderr: %s (want %q)", tc.args, code, tc.code, out, errs, tc.want)
				}
			}
			if n := countRows(t, s, "rates"); n != stored {
				t.Errorf("%d rates stored after the refusals, want %d", n, stored)
			}

			// The book keeps the latest rate of each source and pair.
			list := mustRun(t, env, "rates", "list")
			if n := strings.Count(list, " ecb "); n != len(all) || !strings.HasSuffix(list, fmt.Sprintf("\n%d rates\n", len(all))) {
				t.Errorf("rates list shows %d ECB rates, want %d:\n%s", n, len(all), list)
			}
			for _, re := range []string{`(?m)^  pair +bid +ask source +as of +valid until$`, `EUR/USD +1\.0805 +1\.0805 ecb +` + today, `EUR/JPY +162\.45 +162\.45 ecb +` + today} {
				if !regexp.MustCompile(re).MatchString(list) {
					t.Errorf("rates list does not match %s:\n%s", re, list)
				}
			}
			one := mustRun(t, env, "rates", "list", "--pair", "EUR/USD")
			if !strings.Contains(one, "EUR/USD") || strings.Contains(one, "EUR/JPY") || !strings.HasSuffix(one, "\n1 rate\n") {
				t.Errorf("rates list --pair EUR/USD:\n%s", one)
			}
			if out := mustRun(t, env, "rates", "list", "--pair", "USD/EUR"); !strings.Contains(out, "No valid USD/EUR rate is stored") {
				t.Errorf("rates list --pair USD/EUR:\n%s", out)
			}
			for _, bad := range []string{"EURUSD", "eur/usd", "EUR/EUR", "EUR/ABC"} {
				if code, _, errs := crossclear(t, env, "rates", "list", "--pair", bad); code != 2 || !strings.Contains(errs, "--pair: ") {
					t.Errorf("rates list --pair %s: exit %d %s", bad, code, errs)
				}
			}
		})
	}
}

// quote prices through the store exactly as POST /v1/quotes does and stores
// the quote, which a hold then uses; payment show prints that payment's FX
// legs, here the README's worked example.
func TestQuoteAndPaymentShow(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, engine)
			env := map[string]string{"CROSSCLEAR_DATABASE": dsn, "CROSSCLEAR_FX_PROVIDER": storetest.FXProviderBIC,
				"CROSSCLEAR_FX_FEE_BPS": "30", "CROSSCLEAR_FX_SPREAD_BPS": "50"}
			mustRun(t, env, "migrate")
			s, err := store.Open(ctx, dsn, store.Options{Refunds: inbound.RefundFile(""), FX: store.FXOptions{Book: &fx.Book{}, Provider: storetest.FXProviderBIC, FeeBps: 30, SpreadBps: 50}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			w := storetest.Seed(t, s)
			storetest.SeedFX(t, s)
			quote := func(bank, sell, sellCcy, buyCcy string, extra ...string) (int, string, string) {
				return crossclear(t, env, append([]string{"quote", "--bank", bank, "--sell", sell, "--sell-currency", sellCcy, "--buy-currency", buyCcy}, extra...)...)
			}
			post := func(pair, bid, ask string) {
				p, _ := fx.ParsePair(pair)
				r := fx.Rate{Pair: p, Bid: decimal.RequireFromString(bid), Ask: decimal.RequireFromString(ask), Source: storetest.FXProviderBIC, AsOf: time.Now(), ValidUntil: time.Now().Add(time.Hour)}
				if err := s.PostRates(ctx, []fx.Rate{r}, storetest.Operator); err != nil {
					t.Fatal(err)
				}
			}

			// Every mistake names its flag and stores no quote.
			for _, tc := range []struct {
				args []string
				code int
				want string
			}{
				{[]string{"--bank", "DBSSSGSG", "--sell", "1000.00", "--sell-currency", "SGD", "--buy-currency", "EUR"}, 1, "--buy-currency: no usable SGD/EUR rate"},
				{[]string{"--sell", "1000.00", "--sell-currency", "SGD", "--buy-currency", "EUR"}, 2, "--bank is required"},
				{[]string{"--bank", "DBSSSGSG", "--sell-currency", "SGD", "--buy-currency", "EUR"}, 2, "--sell is required"},
				{[]string{"--bank", "DBSSSGSG", "--sell", "1000.00", "--buy-currency", "EUR"}, 2, "--sell-currency is required"},
				{[]string{"--bank", "DBSSSGSG", "--sell", "1000.00", "--sell-currency", "SGD"}, 2, "--buy-currency is required"},
				{[]string{"--bank", "DBSSSGSG", "--sell", "1000.005", "--sell-currency", "SGD", "--buy-currency", "EUR"}, 2, `--sell: too many decimals: SGD allows 2 decimal(s), "1000.005" has 3`},
				{[]string{"--bank", "DBSSSGSG", "--sell", "0.00", "--sell-currency", "SGD", "--buy-currency", "EUR"}, 2, "--sell: amount must be positive"},
				{[]string{"--bank", "DBSSSGSG", "--sell", "1e3", "--sell-currency", "SGD", "--buy-currency", "EUR"}, 2, "--sell: malformed amount"},
				{[]string{"--bank", "DBSSSGSG", "--sell", "1000.00", "--sell-currency", "sgd", "--buy-currency", "EUR"}, 2, "--sell-currency: unknown currency"},
				{[]string{"--bank", "DBSSSGSG", "--sell", "1000.00", "--sell-currency", "SGD", "--buy-currency", "ABC"}, 2, "--buy-currency: unknown currency"},
				{[]string{"--bank", "DBSSSGSG", "--sell", "1000.00", "--sell-currency", "SGD", "--buy-currency", "SGD"}, 2, "--buy-currency: selling and buying SGD is no conversion"},
				{[]string{"--bank", "NOPEDEFF", "--sell", "1000.00", "--sell-currency", "SGD", "--buy-currency", "EUR"}, 2, `--bank: no bank "NOPEDEFF"`},
				{[]string{"--bank", storetest.FXProviderBIC, "--sell", "1000.00", "--sell-currency", "SGD", "--buy-currency", "EUR"}, 2, "--bank: KSTLGB2L is an fx_provider, not a bank"},
				{[]string{"--bank", "CHASUS33", "--sell", "1000.00", "--sell-currency", "SGD", "--buy-currency", "EUR"}, 2, "--sell-currency: bank CHASUS33 does not settle SGD"},
				{[]string{"--bank", "DBSSSGSG", "--sell", "1000.00", "--sell-currency", "SGD", "--buy-currency", "GBP"}, 1, "--buy-currency: FX provider KSTLGB2L does not settle GBP"},
				{[]string{"--bank", "DBSSSGSG", "--sell", "1000.00", "--sell-currency", "SGD", "--buy-currency", "EUR", "--fx-provider", ""}, 2, "no FX provider is configured: set fx_provider"},
				{[]string{"--bank", "DBSSSGSG", "--sell", "1000.00", "--sell-currency", "SGD", "--buy-currency", "EUR", "--fx-provider", "DEUTDEFF"}, 1, `--buy-currency: the configured FX provider "DEUTDEFF" is not an FX provider participant`},
				{[]string{"--bank", "DBSSSGSG", "--sell", "1000.00", "--sell-currency", "SGD", "--buy-currency", "EUR", "--fx-fee-bps", "10000"}, 2, "flag --fx-fee-bps: invalid fx_fee_bps"},
				{[]string{"extra"}, 2, `unexpected argument "extra"`},
			} {
				code, out, errs := crossclear(t, env, append([]string{"quote"}, tc.args...)...)
				if code != tc.code || !strings.Contains(errs, tc.want) || out != "" {
					t.Errorf("quote %v: exit %d (want %d)\nstdout: %s\nstderr: %s (want %q)", tc.args, code, tc.code, out, errs, tc.want)
				}
			}
			if n := countRows(t, s, "quotes"); n != 0 {
				t.Fatalf("%d quotes stored by refused requests", n)
			}

			// The provider's own rate, posted through another process.
			post("SGD/EUR", "0.6845", "0.6855")
			code, out, errs := quote("DBSSSGSG", "1000.00", "SGD", "EUR")
			if code != 0 {
				t.Fatalf("quote: exit %d\n%s\n%s", code, out, errs)
			}
			m := regexp.MustCompile(`^Quote (fxq_\w+) for DBSSSGSG \(DBS Test\), by FX provider KSTLGB2L \(Kestrel FX Test\)\n`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("quote output:\n%s", out)
			}
			for _, re := range []string{`pays +1,000\.00 SGD`, `fee +3\.00 SGD  30 bps`, `spread +5\.00 SGD  50 bps`, `converted +992\.00 SGD`, `buys +679\.02 EUR`,
				`rate +0\.6845 EUR per 1 SGD \(the provider's bid as quoted; mid 0\.685\)`, `path +SGD/EUR KSTLGB2L `, `expires +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in 2m0s\)`,
				`DBSSSGSG may hold one payment of exactly 1000\.00 SGD with it \("quote_id":"` + m[1] + `"\)`} {
				if !regexp.MustCompile(re).MatchString(out) {
					t.Errorf("quote output does not match %s:\n%s", re, out)
				}
			}
			q, err := s.Quote(ctx, m[1])
			if err != nil {
				t.Fatal(err)
			}
			if q.Bank != "DBSSSGSG" || q.Provider != storetest.FXProviderBIC || q.TotalMinor != 1000_00 || q.FeeMinor != 3_00 || q.SpreadMinor != 5_00 ||
				q.ConvertedMinor != 992_00 || q.BuyMinor != 679_02 || q.Rate.String() != "0.6845" || q.PaymentID != "" {
				t.Errorf("stored quote %+v", q)
			}
			// The store prices the same for the API.
			if api, err := s.CreateQuote(ctx, store.QuoteRequest{BankID: "DBSSSGSG", Sell: mustAmount(t, "1000.00", "SGD"), Buy: "EUR"}); err != nil ||
				api.BuyMinor != q.BuyMinor || api.FeeMinor != q.FeeMinor || api.SpreadMinor != q.SpreadMinor || fmt.Sprint(api.Path) != fmt.Sprint(q.Path) {
				t.Errorf("the store's quote %+v %v differs from the command's %+v", api, err, q)
			}

			// The ECB's rates loaded by the command line price what the provider did not post: inverted.
			mustRun(t, env, "rates", "load-ecb", writeFile(t, "ecb.xml", ecbXML(ecbDay(0))))
			code, out, errs = quote("CHASUS33", "108.05", "USD", "EUR", "--fx-fee-bps", "0", "--fx-spread-bps", "0")
			if code != 0 || !strings.Contains(out, "path       USD/EUR ecb "+ecbDay(0)+" (inverted)") || !regexp.MustCompile(`buys +99\.99 EUR`).MatchString(out) {
				t.Errorf("quote through the ECB: exit %d\n%s\n%s", code, out, errs)
			}

			// A payment at the quote: part released, the rest refunded at a fresh rate.
			p, err := s.Hold(ctx, clearing.HoldRequest{BuyerBankID: "DBSSSGSG", MerchantID: w.Merchants[0].ID, Amount: mustAmount(t, "1000.00", "SGD"),
				QuoteID: q.ID, Reference: "order 42"}, storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Act(ctx, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 300_00, Reason: "first parcel"}, storetest.Operator); err != nil {
				t.Fatal(err)
			}
			post("EUR/SGD", "1.4550", "1.4570")
			if _, err := s.Act(ctx, p.ID, clearing.Action{Kind: clearing.ActionRefund, Reason: "second parcel lost"}, storetest.Operator); err != nil {
				t.Fatal(err)
			}
			out = mustRun(t, env, "payment", "show", p.ID)
			legs, err := s.PaymentLegs(ctx, p.ID)
			if err != nil || len(legs) != 10 {
				t.Fatalf("%d legs %v", len(legs), err)
			}
			for _, re := range []string{
				`^Payment ` + p.ID + `: refunded\n`,
				`reference +"order 42"`,
				`buyer's bank +DBSSSGSG \(DBS Test\), jurisdiction SG`,
				`merchant +` + w.Merchants[0].ID + ` \(Berlin Books\) at DEUTDEFF \(Deutsche Test Bank\), jurisdiction DE`,
				`amount +679\.02 EUR · released 300\.00 · refunded 379\.02 · still held 0\.00`,
				`FX +DBSSSGSG paid 1,000\.00 SGD = fee 3\.00 \+ spread 5\.00 \+ converted 992\.00 SGD`,
				`converted at 0\.6845 EUR per 1 SGD by KSTLGB2L \(Kestrel FX Test\), quote ` + q.ID,
				`refunded to DBSSSGSG so far 558\.21 SGD \(its share of what it paid\) · FX result of refunds borne by fx_result`,
				`Events \(4\)`,
				`2 +\S+ \S+ UTC +held +received → held +679\.02 EUR +operator:key_test`,
				`3 +\S+ \S+ UTC +partially_released +held → held +300\.00 EUR +operator:key_test +first parcel`,
				`4 +\S+ \S+ UTC +refunded +held → refunded +379\.02 EUR +operator:key_test +second parcel lost`,
				`Postings \(10 legs, in booking order: event\.leg\)`,
				`2\.0 +1 +fee +DBSSSGSG +fees +3\.00 SGD`,
				`2\.1 +1 +fx_spread +DBSSSGSG +KSTLGB2L +5\.00 SGD`,
				`2\.2 +1 +fx_conversion +DBSSSGSG +KSTLGB2L +992\.00 SGD`,
				`2\.3 +1 +fx_delivery +KSTLGB2L +escrow +679\.02 EUR`,
				`3\.0 +1 +release +escrow +DEUTDEFF +300\.00 EUR`,
				`4\.\d +1 +fx_give_back +escrow +KSTLGB2L +379\.02 EUR`,
				`4\.\d +1 +fx_convert_back +KSTLGB2L +DBSSSGSG +551\.47 SGD`,
				`4\.\d +1 +fx_result +fx_result +DBSSSGSG +2\.26 SGD`,
				`4\.\d +1 +fee_back +fees +DBSSSGSG +1\.68 SGD`,
				`4\.\d +1 +fx_spread_back +KSTLGB2L +DBSSSGSG +2\.80 SGD`,
				`EUR +DEUTDEFF +Deutsche Test Bank +\+300\.00`,
				`EUR +KSTLGB2L +Kestrel FX Test +-300\.00`,
				`EUR +escrow +0\.00`,
				`SGD +DBSSSGSG +DBS Test +-441\.79`,
				`SGD +KSTLGB2L +Kestrel FX Test +\+442\.73`,
				`SGD +fees +scheme fees \(operator\) +\+1\.32`,
				`SGD +fx_result +FX result \(operator\) +-2\.26`,
			} {
				if !regexp.MustCompile(`(?m)` + re).MatchString(out) {
					t.Errorf("payment show does not match %s:\n%s", re, out)
				}
			}

			// A same-currency payment has no FX lines and one hold leg.
			same, err := s.Hold(ctx, clearing.HoldRequest{BuyerBankID: "CHASUS33", MerchantID: w.Merchants[0].ID, Amount: mustAmount(t, "20.00", "EUR")}, storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			out = mustRun(t, nil, "payment", "show", "--database", dsn, same.ID)
			if strings.Contains(out, "FX ") || !regexp.MustCompile(`2\.0 +1 +hold +CHASUS33 +escrow +20\.00 EUR`).MatchString(out) ||
				!strings.Contains(out, "Postings (1 leg,") || !regexp.MustCompile(`auto-release +\S+ \S+ UTC unless disputed`).MatchString(out) {
				t.Errorf("payment show of a same-currency payment:\n%s", out)
			}
			for _, tc := range []struct {
				args []string
				code int
				want string
			}{
				{[]string{"2f1c9a7e-5b3d-4c8a-9e6f-0a1b2c3d4e5f"}, 1, "crossclear payment show: no payment 2f1c9a7e-5b3d-4c8a-9e6f-0a1b2c3d4e5f\n"},
				{nil, 2, "expected the payment ID"},
				{[]string{p.ID, same.ID}, 2, "expected one payment ID, got 2 arguments"},
			} {
				code, out, errs := crossclear(t, env, append([]string{"payment", "show"}, tc.args...)...)
				if code != tc.code || !strings.Contains(errs, tc.want) || out != "" {
					t.Errorf("payment show %v: exit %d (want %d)\nstdout: %s\nstderr: %s (want %q)", tc.args, code, tc.code, out, errs, tc.want)
				}
			}
		})
	}
}

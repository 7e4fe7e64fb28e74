package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
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
			s, err := store.Open(ctx, dsn, store.Options{FX: store.FXOptions{Book: &fx.Book{}, Provider: storetest.FXProviderBIC}})
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
				"Exposure in USD (cycle 1",
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

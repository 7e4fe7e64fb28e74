package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
)

// quoteFlags names the flag of each field of a quote request.
var quoteFlags = map[string]string{"bank_id": "--bank", "sell_amount": "--sell", "sell_currency": "--sell-currency", "buy_currency": "--buy-currency"}

var quoteCmd = &command{
	name:    "quote",
	summary: "ask the FX provider for a quote for a bank, as POST /v1/quotes does",
	about: `
Prices a cross-currency payment for a bank exactly as POST /v1/quotes does:
the bank pays --sell in --sell-currency, the merchant side receives
--buy-currency, converted by fx_provider at its own fresh rate for the pair
(else the ECB's; direct, inverted or crossed through EUR/USD, the path
printed) from the rates stored in the database. The scheme fee
(fx_fee_bps) and the spread (fx_spread_bps) are charged in the sell
currency, rounded up; what is bought is rounded down.

The quote is stored: the bank may hold one payment of exactly that amount
with it (quote_id) until it expires (fx_quote_ttl). Use the same fx_*
settings as the servers, or the quote differs from what they would give.`,
	example: `  crossclear quote --bank DBSSSGSG --sell 1000.00 --sell-currency SGD --buy-currency EUR
  crossclear quote --bank HANSDEFF --sell 100.00 --sell-currency EUR --buy-currency USD --fx-provider KSTLGB2L --fx-fee-bps 30 --fx-spread-bps 50`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		bank := fs.String("bank", "", "the buyer's bank that pays, its participant `BIC` (required)")
		sell := fs.String("sell", "", "the `AMOUNT` the bank pays, a plain decimal like 100.00 (required)")
		sellCcy := fs.String("sell-currency", "", "the `CCY` the bank pays in, like EUR (required)")
		buyCcy := fs.String("buy-currency", "", "the `CCY` the merchant is paid in, like USD (required)")
		cf := addConfigFlags(fs, "database", "fx_provider", "fx_fee_bps", "fx_spread_bps", "fx_max_rate_age", "fx_quote_ttl", "log_level")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("quote", args); err != nil {
				return err
			}
			for _, f := range []struct{ name, v string }{{"--bank", *bank}, {"--sell", *sell}, {"--sell-currency", *sellCcy}, {"--buy-currency", *buyCcy}} {
				if f.v == "" {
					return usagef("quote", "%s is required", f.name)
				}
			}
			amount, err := fx.ParsePositiveAmount(*sell, *sellCcy)
			if err != nil {
				if errors.Is(err, fx.ErrUnknownCurrency) {
					return usagef("quote", "--sell-currency: %v", err)
				}
				return usagef("quote", "--sell: %v", err)
			}
			cfg, err := cf.load(c.getenv)
			if err != nil {
				return err
			}
			if cfg.FXProvider == "" {
				return &configError{"no FX provider is configured: set fx_provider to the BIC of the FX provider that converts (--fx-provider, CROSSCLEAR_FX_PROVIDER or the config file)"}
			}
			s, err := openStore(ctx, cfg, false)
			if err != nil {
				return err
			}
			defer s.Close()
			if _, err := s.LoadRates(ctx); err != nil {
				return err
			}
			q, err := s.CreateQuote(ctx, store.QuoteRequest{BankID: *bank, Sell: amount, Buy: *buyCcy})
			if err != nil {
				return fieldError("quote", err, quoteFlags)
			}
			if *asJSON {
				return printJSON(c.stdout, api.QuoteDocument(q))
			}
			printQuote(c.stdout, q, s.Now(), participantNames(ctx, s))
			return nil
		}
	},
}

// printQuote shows a quote: the amounts in a column, the rate, its path
// and how long it may be used.
func printQuote(w io.Writer, q clearing.FXQuote, now time.Time, names map[string]string) {
	label := func(id string) string {
		if n := names[id]; n != "" {
			return id + " (" + n + ")"
		}
		return id
	}
	sell, buy := q.Sell, q.Buy
	rows := [][3]string{
		{"pays", money(sell, q.TotalMinor) + " " + sell, "what " + q.Bank + " pays"},
		{"fee", money(sell, q.FeeMinor) + " " + sell, fmt.Sprintf("%d bps, rounded up, to the scheme's fees account", q.FeeBps)},
		{"spread", money(sell, q.SpreadMinor) + " " + sell, fmt.Sprintf("%d bps, rounded up, to %s", q.SpreadBps, q.Provider)},
		{"converted", money(sell, q.ConvertedMinor) + " " + sell, "pays − fee − spread"},
		{"buys", money(buy, q.BuyMinor) + " " + buy, "converted × rate, rounded down: delivered into escrow for the merchant"},
	}
	wa := 0
	for _, r := range rows {
		wa = max(wa, len(r[1]))
	}
	fmt.Fprintf(w, "Quote %s for %s, by FX provider %s\n", q.ID, label(q.Bank), label(q.Provider))
	for _, r := range rows {
		fmt.Fprintf(w, "  %-10s %*s  %s\n", r[0], wa, r[1], r[2])
	}
	fmt.Fprintf(w, "  %-10s %s %s per 1 %s (the provider's bid as quoted; mid %s)\n", "rate", q.Rate, buy, sell, q.Mid)
	fmt.Fprintf(w, "  %-10s %s\n", "path", strings.Join(q.Path, " + "))
	fmt.Fprintf(w, "  %-10s %s\n", "issued", stamp(q.IssuedAt))
	expiry := "expired"
	if left := q.ExpiresAt.Sub(now); left > 0 {
		expiry = "in " + left.Round(time.Second).String()
	}
	fmt.Fprintf(w, "  %-10s %s (%s)\n", "expires", stamp(q.ExpiresAt), expiry)
	fmt.Fprintf(w, "%s may hold one payment of exactly %s with it (\"quote_id\":\"%s\") until then.\n", q.Bank, q.Total(), q.ID)
}

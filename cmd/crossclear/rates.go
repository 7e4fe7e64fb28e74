package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
)

// ecbValidity is how long the store uses ECB rates, for the help.
var ecbValidity = fmt.Sprintf("%d hours", store.DefaultECBValidity/time.Hour)

var ratesLoadECBCmd = &command{
	name:    "rates load-ecb",
	args:    "FILE|URL",
	summary: "load the ECB's euro reference rates into the database",
	about: `
Reads the ECB's euro foreign exchange reference rates (the eurofxref-daily.xml
format; a history file with several days works too) from a file or an
http(s) URL and stores them, as POST /v1/rates/ecb does. Each is an EUR-based
rate with bid = ask, valid for ` + ecbValidity + ` after its publication at
16:00 Frankfurt time; rates that have already expired are skipped, and a
file with nothing but expired rates is refused.

Quotes use the FX provider's own rates first, else these. Servers sharing
the database pick them up at their next reload (fx_rates_reload_interval).
Prints how many rates (pairs) were stored and of which day.`,
	example: `  crossclear rates load-ecb https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml
  crossclear rates load-ecb testdata/ecb/eurofxref-daily.xml
  crossclear rates load-ecb --database postgres://crossclear@db/crossclear ./eurofxref-daily.xml`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "log_level")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			switch {
			case len(args) == 0:
				return usagef("rates load-ecb", "expected the FILE or URL of the ECB's rates (eurofxref-daily.xml), like %s", fx.ECBDailyURL)
			case len(args) > 1:
				return usagef("rates load-ecb", "expected one FILE or URL, got %d arguments", len(args))
			case strings.TrimSpace(args[0]) == "":
				return usagef("rates load-ecb", "the FILE or URL is empty")
			}
			source := args[0]
			s, err := cf.openExisting(ctx, c)
			if err != nil {
				return err
			}
			defer s.Close()
			validity := s.FX().ECBValidity
			rates, err := fx.LoadECB(ctx, source, nil, validity)
			if err != nil {
				return err
			}
			now := s.Now()
			var fresh []fx.Rate
			var newest fx.Rate
			for _, r := range rates {
				if r.AsOf.After(newest.AsOf) {
					newest = r
				}
				if r.ValidUntil.After(now) {
					fresh = append(fresh, r)
				}
			}
			if len(fresh) == 0 {
				return fmt.Errorf("%s: the newest ECB rates are of %s and expired at %s (ECB rates are used for %s after publication): nothing stored",
					source, newest.AsOf.Format(time.DateOnly), stamp(newest.ValidUntil), validity)
			}
			if err := s.PostRates(ctx, fresh, operatorCLI); err != nil {
				return err
			}
			if *asJSON {
				doc := api.RatesDocument(fresh)
				doc["source"], doc["skipped_expired"] = source, len(rates)-len(fresh)
				return printJSON(c.stdout, doc)
			}
			printECBLoaded(c.stdout, source, fresh, len(rates)-len(fresh))
			return nil
		}
	},
}

// printECBLoaded says how many ECB rates were stored, for how many pairs
// and of which day (or days, from a history file).
func printECBLoaded(w io.Writer, source string, rates []fx.Rate, expired int) {
	pairs := map[fx.Pair]bool{}
	var days []string
	var until time.Time
	for _, r := range rates {
		pairs[r.Pair] = true
		if d := r.AsOf.Format(time.DateOnly); !slices.Contains(days, d) {
			days = append(days, d)
		}
		if r.ValidUntil.After(until) {
			until = r.ValidUntil
		}
	}
	slices.Sort(days)
	day := "of " + days[0]
	if len(days) > 1 {
		day = fmt.Sprintf("of %d days, %s to %s", len(days), days[0], days[len(days)-1])
	}
	fmt.Fprintf(w, "Stored %d ECB euro reference rates (%d pairs) %s from %s, valid until %s.\n",
		len(rates), len(pairs), day, source, stamp(until))
	if expired > 0 {
		fmt.Fprintf(w, "Skipped %d expired rates of earlier days.\n", expired)
	}
	fmt.Fprintln(w, "Servers on this database quote from them after their next rate reload; 'crossclear rates list' shows them.")
}

var ratesListCmd = &command{
	name:    "rates list",
	summary: "print the FX rates stored in the database",
	about: `
Prints the FX rates in the database that are still valid, the latest of
each source and pair: what a server on this database quotes and converts
exposure from (GET /v1/rates). Per rate: the pair (1 BASE = bid QUOTE when
the source buys BASE), bid, ask, source (an FX provider's BIC, or ecb), when
it was set and until when it may be used. Inverse and cross rates are
derived from these when quoting and are not listed.`,
	example: `  crossclear rates list
  crossclear rates list --pair EUR/USD`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		pairFlag := fs.String("pair", "", "only the rates of this `PAIR`, like EUR/USD")
		cf := addConfigFlags(fs, "database", "log_level")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("rates list", args); err != nil {
				return err
			}
			var pair fx.Pair
			if *pairFlag != "" {
				p, err := fx.ParsePair(*pairFlag)
				if err != nil {
					return usagef("rates list", "--pair: %v", err)
				}
				pair = p
			}
			s, err := cf.openExisting(ctx, c)
			if err != nil {
				return err
			}
			defer s.Close()
			if _, err := s.LoadRates(ctx); err != nil {
				return err
			}
			var rates []fx.Rate
			for _, r := range s.FX().Book.Rates() {
				if pair == (fx.Pair{}) || r.Pair == pair {
					rates = append(rates, r)
				}
			}
			slices.SortStableFunc(rates, func(a, b fx.Rate) int { return strings.Compare(a.Pair.String(), b.Pair.String()) })
			if *asJSON {
				return printJSON(c.stdout, api.RatesDocument(rates))
			}
			printRates(c.stdout, rates, pair)
			return nil
		}
	},
}

func printRates(w io.Writer, rates []fx.Rate, pair fx.Pair) {
	if len(rates) == 0 {
		if pair != (fx.Pair{}) {
			fmt.Fprintf(w, "No valid %s rate is stored (quotes may still invert or cross other rates: 'crossclear rates list' shows them all).\n", pair)
			return
		}
		fmt.Fprintln(w, "No valid FX rate is stored. Load the ECB's with 'crossclear rates load-ecb', or have the FX provider POST /v1/rates.")
		return
	}
	rows := [][]string{{"pair", "bid", "ask", "source", "as of", "valid until"}}
	for _, r := range rates {
		rows = append(rows, []string{r.Pair.String(), r.Bid.String(), r.Ask.String(), r.Source, stamp(r.AsOf), stamp(r.ValidUntil)})
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], len(cell))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		b.WriteString(" ")
		for i, cell := range row {
			switch i {
			case 1, 2: // numbers, right-aligned
				fmt.Fprintf(&b, " %*s", widths[i], cell)
			default:
				fmt.Fprintf(&b, " %-*s", widths[i], cell)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	fmt.Fprintln(w, plural(len(rates), "rate"))
}

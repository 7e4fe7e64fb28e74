package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
)

var merchantStatementCmd = &command{
	name:    "merchant statement",
	args:    "ID",
	summary: "write a merchant's statement of releases for a period (CSV or camt.053)",
	about: `
Writes the statement GET /v1/merchants/{id}/statement sends: every release
credited to merchant ID from --from to --to (days, both included, UTC; at
most 366 days), oldest first, with a running total. --format csv (the
default) is RFC 4180 with a header row; --format camt053 is a
camt.053.001.08 from crossclear (operator_bic) to the merchant's bank on
the merchant's account there. It goes to standard output, or to --out
FILE. With --json it prints the statement's rows and total as one JSON
document instead.`,
	example: `  crossclear merchant statement mer_k3j5… --from 2025-03-01 --to 2025-03-31
  crossclear merchant statement mer_k3j5… --from 2025-03-01 --to 2025-03-31 --format camt053 --out march.xml`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "operator_bic", "log_level")
		from := fs.String("from", "", "the statement's first `DAY` (YYYY-MM-DD, UTC)")
		to := fs.String("to", "", "the statement's last `DAY` (YYYY-MM-DD, UTC), included")
		format := fs.String("format", api.StatementCSV, "csv or camt053")
		out := fs.String("out", "", "write the statement to this `FILE` instead of standard output")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			switch {
			case len(args) == 0:
				return usagef("merchant statement", "expected the merchant ID (like mer_k3j5…)")
			case len(args) > 1:
				return usagef("merchant statement", "expected one merchant ID, got %d arguments", len(args))
			case strings.TrimSpace(args[0]) == "":
				return usagef("merchant statement", "the merchant ID is empty")
			}
			flags := map[string]string{"from": "--from", "to": "--to", "format": "--format", "id": ""}
			start, end, f, err := api.StatementPeriod(*from, *to, *format)
			if err != nil {
				return fieldError("merchant statement", err, flags)
			}
			cfg, err := cf.load(c.getenv)
			if err != nil {
				return err
			}
			s, err := cf.openExisting(ctx, c)
			if err != nil {
				return err
			}
			defer s.Close()
			m, err := s.Merchant(ctx, args[0])
			if err != nil {
				return fieldError("merchant statement", err, flags)
			}
			releases, err := s.MerchantReleases(ctx, m.ID, start, end.AddDate(0, 0, 1), store.MaxStatementEntries, "to")
			if err != nil {
				return fieldError("merchant statement", err, flags)
			}
			if *asJSON {
				doc, err := api.StatementDocument(m, start, end, releases)
				if err != nil {
					return err
				}
				return printJSON(c.stdout, doc)
			}
			st, err := api.MerchantStatement(f, cfg.OperatorBIC, m, start, end, releases, time.Now())
			if err != nil {
				return err
			}
			if *out == "" {
				_, err = c.stdout.Write(st.Content)
				return err
			}
			if err := os.WriteFile(*out, st.Content, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "%d releases of %s written to %s\n", len(releases), m.ID, *out)
			return nil
		}
	},
}

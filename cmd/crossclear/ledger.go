package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/crossclear/crossclear/clearing/api"
)

var ledgerCheckCmd = &command{
	name:    "ledger check",
	summary: "check that the books balance (exit code 1 when they do not)",
	about: `
Checks the double-entry books across every cycle: per currency all account
balances sum to zero, the balances kept while booking equal those recomputed
from the postings, and the escrow holds exactly what held and disputed
payments still hold. Exits 0 when they balance, 1 when they do not (each
problem is printed), so it can run from cron or a health check.`,
	example: `  crossclear ledger check
  crossclear ledger check --database postgres://crossclear@db/crossclear || page-the-operator`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "log_level")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("ledger check", args); err != nil {
				return err
			}
			s, err := cf.openExisting(ctx, c)
			if err != nil {
				return err
			}
			defer s.Close()
			chk, err := s.CheckLedger(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				if err := printJSON(c.stdout, api.LedgerDocument(chk)); err != nil {
					return err
				}
				if !chk.OK {
					return exitCode(exitError)
				}
				return nil
			}
			if chk.OK {
				fmt.Fprintf(c.stdout, "Ledger check: OK, the books balance (%d currencies)\n", len(chk.Currencies))
			} else {
				fmt.Fprintf(c.stdout, "Ledger check: FAILED, %d problem(s)\n", len(chk.Problems))
			}
			for _, cc := range chk.Currencies {
				fmt.Fprintf(c.stdout, "  %s  Σ balances %s · escrow %s · still held by payments %s\n",
					cc.Currency, money(cc.Currency, cc.SumMinor), money(cc.Currency, cc.EscrowBalanceMinor), money(cc.Currency, cc.HeldMinor))
			}
			for _, p := range chk.Problems {
				fmt.Fprintf(c.stdout, "  problem: %s\n", p)
			}
			if !chk.OK {
				return exitCode(exitError)
			}
			return nil
		}
	},
}

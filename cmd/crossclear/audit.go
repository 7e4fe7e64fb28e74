package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
)

var auditCmd = &command{
	name:    "audit",
	summary: "print the audit log: who changed what, newest first",
	about: `
Prints the audit log, newest first: every change to participants, caps,
merchants, API keys, bank keys, webhooks, witnesses, regulator endpoints,
compliance decisions, cycles and files, with who made it (role:subject;
operator:cli from the command line), what it was, on what, and its detail.
The filters and pages are GET /v1/audit's; --json prints its answer. When
there is more, the last line gives the --cursor of the next page.`,
	example: `  crossclear audit --action witness.
  crossclear audit --object DEUTDEFF --since 2026-03-01T00:00:00Z
  crossclear audit --actor operator:cli --limit 20 --json`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "log_level")
		var f store.AuditFilter
		fs.StringVar(&f.Action, "action", "", "only this `ACTION` (apikey.create), or every action starting with it when it ends in a dot (witness.)")
		fs.StringVar(&f.Actor, "actor", "", "only the changes of this `ACTOR`, role:subject (operator:cli, bank:DEUTDEFF)")
		fs.StringVar(&f.Object, "object", "", "only the changes to this object `ID`")
		since := fs.String("since", "", "only entries at or after `TIME` (RFC 3339)")
		until := fs.String("until", "", "only entries before `TIME` (RFC 3339)")
		fs.IntVar(&f.Limit, "limit", 100, "how many entries, at most 1000")
		fs.StringVar(&f.Cursor, "cursor", "", "the next page: the `CURSOR` the previous one ended with")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("audit", args); err != nil {
				return err
			}
			flags := map[string]string{"since": "--since", "until": "--until", "limit": "--limit", "cursor": "--cursor"}
			if f.Limit < 1 {
				return usagef("audit", "--limit must be from 1 to %d", store.MaxPage)
			}
			var err error
			if f.Since, err = api.AuditTime("since", *since); err != nil {
				return fieldError("audit", err, flags)
			}
			if f.Until, err = api.AuditTime("until", *until); err != nil {
				return fieldError("audit", err, flags)
			}
			s, err := cf.openExisting(ctx, c)
			if err != nil {
				return err
			}
			defer s.Close()
			page, err := s.AuditLog(ctx, f)
			if err != nil {
				return fieldError("audit", err, flags)
			}
			if *asJSON {
				return printJSON(c.stdout, api.AuditDocument(page))
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			for _, a := range page.Entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.At.Format(time.RFC3339), a.Actor, a.Action, a.Object, a.Detail)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if page.NextCursor != "" {
				fmt.Fprintf(c.stdout, "more: --cursor '%s'\n", page.NextCursor)
			}
			return nil
		}
	},
}

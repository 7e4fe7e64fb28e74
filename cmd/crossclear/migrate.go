package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/crossclear/crossclear/clearing/store"
)

var migrateCmd = &command{
	name:    "migrate",
	args:    "[status]",
	summary: "create or upgrade the database schema; 'migrate status' only tells",
	about: `
Applies every schema migration the database does not have yet, each in its
own transaction, and opens the first settlement cycle on a new database.
Running it again changes nothing. Several processes may migrate at once
(serve migrates on start too): PostgreSQL serialises them with an advisory
lock, SQLite with its write lock. A SQLite file is created if missing.

'crossclear migrate status' changes nothing: it lists every migration this
binary knows, with when it was applied or "pending", and exits 1 when any
is pending (a deployment check before starting a new version's serve).`,
	example: `  crossclear migrate
  crossclear migrate status
  crossclear migrate --database /var/lib/crossclear/crossclear.db
  CROSSCLEAR_DATABASE='postgres://crossclear@db:5432/crossclear?sslmode=require' crossclear migrate`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "log_level")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			status := len(args) == 1 && args[0] == "status"
			if !status {
				if err := noArgs("migrate", args); err != nil {
					return err
				}
			}
			cfg, err := cf.load(c.getenv)
			if err != nil {
				return err
			}
			if status {
				return migrationStatus(ctx, c, cfg, *asJSON)
			}
			s, err := openStore(ctx, cfg, true)
			if err != nil {
				return err
			}
			defer s.Close()
			applied, err := s.Migrate(ctx)
			if err != nil {
				return err
			}
			v, err := s.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				if applied == nil {
					applied = []string{}
				}
				return printJSON(c.stdout, map[string]any{"engine": s.Engine(), "database": store.Redact(cfg.Database),
					"applied": applied, "schema_version": v})
			}
			for _, m := range applied {
				fmt.Fprintf(c.stdout, "applied migration %s\n", m)
			}
			if len(applied) == 0 {
				fmt.Fprintf(c.stdout, "%s is up to date (schema version %d)\n", engineName(s, cfg.Database), v)
			} else {
				fmt.Fprintf(c.stdout, "%s is at schema version %d\n", engineName(s, cfg.Database), v)
			}
			return nil
		}
	},
}

// migrationStatus prints what migrate would apply, changing nothing; exit
// code 1 when something is pending.
func migrationStatus(ctx context.Context, c *cli, cfg Config, asJSON bool) error {
	s, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer s.Close()
	ms, err := s.Migrations(ctx)
	if err != nil {
		return err
	}
	pending := 0
	for _, m := range ms {
		if m.AppliedAt.IsZero() {
			pending++
		}
	}
	if asJSON {
		type row struct {
			Version   int64   `json:"version"`
			Name      string  `json:"name"`
			AppliedAt *string `json:"applied_at"` // null while pending
		}
		rows := make([]row, len(ms))
		for i, m := range ms {
			rows[i] = row{Version: m.Version, Name: m.Name}
			if !m.AppliedAt.IsZero() {
				at := m.AppliedAt.UTC().Format(time.RFC3339)
				rows[i].AppliedAt = &at
			}
		}
		if err := printJSON(c.stdout, map[string]any{"engine": s.Engine(), "database": store.Redact(cfg.Database), "migrations": rows, "pending": pending}); err != nil {
			return err
		}
	} else {
		for _, m := range ms {
			when := "pending"
			if !m.AppliedAt.IsZero() {
				when = "applied " + m.AppliedAt.UTC().Format("2006-01-02 15:04:05 UTC")
			}
			fmt.Fprintf(c.stdout, "%3d  %-32s %s\n", m.Version, m.Name, when)
		}
		fmt.Fprintf(c.stdout, "%s: %d of %d migrations applied\n", engineName(s, cfg.Database), len(ms)-pending, len(ms))
	}
	if pending > 0 {
		return exitCode(1)
	}
	return nil
}

package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/crossclear/crossclear/clearing/store"
)

var migrateCmd = &command{
	name:    "migrate",
	summary: "create or upgrade the database schema",
	about: `
Applies every schema migration the database does not have yet, each in its
own transaction, and opens the first settlement cycle on a new database.
Running it again changes nothing. Several processes may migrate at once
(serve migrates on start too): PostgreSQL serialises them with an advisory
lock, SQLite with its write lock. A SQLite file is created if missing.`,
	example: `  crossclear migrate
  crossclear migrate --database /var/lib/crossclear/crossclear.db
  CROSSCLEAR_DATABASE='postgres://crossclear@db:5432/crossclear?sslmode=require' crossclear migrate`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "log_level")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("migrate", args); err != nil {
				return err
			}
			cfg, err := cf.load(c.getenv)
			if err != nil {
				return err
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

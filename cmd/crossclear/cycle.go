package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/cyclefiles"
)

var cycleCloseCmd = &command{
	name:    "cycle close",
	summary: "close a settlement cycle (the open one, or --cycle N) and print its netting",
	about: `
Closes the settlement cycle, opens the next one and nets the closed cycle
multilaterally per currency: every account's net position, Σ nets = 0, and
how much netting saved; then writes the cycle's ISO 20022 files into the
banks' mailboxes (pacs.009 per net position, camt.053 per bank and currency,
camt.054 per merchant's bank), where a serving process signs and releases
them. Safe beside running servers: if a scheduler closes the cycle at the
same moment, exactly one close happens, and its files are written once.

With --cycle N it closes cycle N and is safe to repeat: when N is already
closed it prints N's netting and closes nothing, so a script retrying after
a failure never closes the cycle that opened next. Without it, it closes
whichever cycle is open when it runs.`,
	example: `  crossclear cycle close --cycle 12
  crossclear cycle close
  crossclear cycle close --database postgres://crossclear@db:5432/crossclear`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "operator_bic", "log_level")
		cycle := fs.Int64("cycle", 0, "close this cycle (idempotent: an already closed cycle prints its netting); 0 closes the open one")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("cycle close", args); err != nil {
				return err
			}
			if *cycle < 0 {
				return fmt.Errorf("--cycle must be a cycle number, got %d", *cycle)
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
			var closed clearing.Cycle
			if *cycle > 0 {
				closed, err = s.CloseCycleByID(ctx, *cycle, operatorCLI)
			} else {
				closed, err = s.CloseCycle(ctx, operatorCLI)
			}
			if err != nil {
				return err
			}
			if !*asJSON {
				printCycle(c.stdout, closed, participantNames(ctx, s))
			}
			open, err := s.CurrentCycle(ctx)
			if err != nil {
				return err
			}
			if !*asJSON {
				fmt.Fprintf(c.stdout, "\nCycle %d is now open.\n", open.ID)
			}
			n, err := (&cyclefiles.Builder{Store: s, Operator: cfg.OperatorBIC}).Build(ctx, closed.ID)
			if err != nil {
				err = fmt.Errorf("cycle %d is closed, but its files were not written (serve writes them later): %w", closed.ID, err)
			}
			if *asJSON {
				doc := cycleCloseJSON{Cycle: api.CycleDocument(closed), OpenCycleID: open.ID}
				if err == nil {
					doc.FilesWritten = &n
				}
				if perr := printJSON(c.stdout, doc); perr != nil {
					return perr
				}
				return err
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%d ISO 20022 files written to the banks' mailboxes; a serving process signs and releases them.\n", n)
			return nil
		}
	},
}

// cycleCloseJSON is what cycle close --json prints: the closed cycle as
// GET /v1/cycles/{id} shows it, the cycle now open, and how many files
// were written (absent when writing them failed).
type cycleCloseJSON struct {
	Cycle        any   `json:"cycle"`
	OpenCycleID  int64 `json:"open_cycle_id"`
	FilesWritten *int  `json:"files_written,omitempty"`
}

// cycleShowJSON is what cycle show --json prints: the cycle as GET
// /v1/cycles/{id} shows it and, for the open cycle, GET /v1/exposure.
type cycleShowJSON struct {
	Cycle    any `json:"cycle"`
	Exposure any `json:"exposure,omitempty"`
}

var cycleShowCmd = &command{
	name:    "cycle show",
	args:    "[ID]",
	summary: "print a settlement cycle (default: the open one)",
	about: `
Prints cycle ID: per currency the gross, the counts, every account's net
position including the escrow, Σ nets and the netting efficiency, and who
bore the FX results of cross-currency refunds. Without ID (or with the open
cycle's) it prints the open cycle's running positions and every
participant's exposure: its positions converted into reporting_currency at
the mid rates of the rates stored in the database (fx_provider's own first,
else the ECB's), with the rate and path used, the total debit, the net and
its multi-currency net debit cap.`,
	example: `  crossclear cycle show        # the open cycle, so far, with the exposure
  crossclear cycle show --reporting-currency EUR
  crossclear cycle show 12     # a closed cycle's netting`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "reporting_currency", "fx_provider", "fx_max_rate_age", "log_level")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			var id int64
			switch len(args) {
			case 0:
			case 1:
				n, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil || n <= 0 {
					return usagef("cycle show", "cycle ID must be a positive whole number, got %q", args[0])
				}
				id = n
			default:
				return usagef("cycle show", "expected at most one cycle ID, got %d arguments", len(args))
			}
			s, err := cf.openExisting(ctx, c)
			if err != nil {
				return err
			}
			defer s.Close()
			var cy clearing.Cycle
			if id != 0 {
				cy, err = s.Cycle(ctx, id)
				if err == nil && cy.State == clearing.CycleOpen {
					cy, err = openCycle(ctx, s)
				}
			} else {
				cy, err = openCycle(ctx, s)
			}
			if err != nil {
				return err
			}
			if *asJSON {
				doc := cycleShowJSON{Cycle: api.CycleDocument(cy)}
				if cy.State == clearing.CycleOpen {
					rep, err := exposures(ctx, s)
					if err != nil {
						return err
					}
					doc.Exposure = api.ExposureDocument(rep)
				}
				return printJSON(c.stdout, doc)
			}
			names := participantNames(ctx, s)
			printCycle(c.stdout, cy, names)
			if cy.State != clearing.CycleOpen {
				return nil
			}
			rep, err := exposures(ctx, s)
			if err != nil {
				return err
			}
			printExposure(c.stdout, rep, names)
			return nil
		}
	},
}

// exposures is every participant's exposure in the open cycle, at the
// rates stored in the database.
func exposures(ctx context.Context, s *store.Store) (store.ExposureReport, error) {
	if _, err := s.LoadRates(ctx); err != nil {
		return store.ExposureReport{}, err
	}
	return s.Exposures(ctx, store.ParticipantFilter{})
}

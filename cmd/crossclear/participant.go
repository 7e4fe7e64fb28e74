package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
)

// listFlag collects a repeated flag's values in order.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

var participantLimitsCmd = &command{
	name:    "participant limits",
	args:    "ID",
	summary: "change a participant's net debit caps, currencies and cap alarm",
	about: `
Changes what POST /v1/participants/{id}/limits changes, in one audited
transaction (who, when, the old and new values, --reason): each --currency
with the --cap at the same position adds that currency or changes its net
debit cap; --remove-currency stops settling a currency (refused while the
participant has a position, held payments or active merchants in it);
--total-cap sets the multi-currency net debit cap in the reporting currency
(--no-total-cap removes it); --alarm-pct sets the cap alarm threshold in
percent of a cap (0 turns it off).

The next hold sees the new caps. A cap may be lowered below the current
debit: that is allowed, but every further debit in that currency is refused
until the position is back within the cap, and the answer says so. Then it
prints each currency's cap, open-cycle position, headroom and usage, and
the alarms raised.`,
	example: `  crossclear participant limits DBSSSGSG --currency EUR --cap 500000.00 --reason "credit review 2026-11"
  crossclear participant limits DBSSSGSG --currency JPY --cap 20000000 --remove-currency SGD --reason "new corridor"
  crossclear participant limits DBSSSGSG --total-cap 2000000.00 --alarm-pct 90 --reason "board decision 14"`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		var currencies, caps, remove listFlag
		fs.Var(&currencies, "currency", "a `CCY` to add or whose cap to change, with the --cap at the same position (repeatable)")
		fs.Var(&caps, "cap", "the net debit cap `AMOUNT` of the --currency at the same position, like 500000.00 (repeatable)")
		fs.Var(&remove, "remove-currency", "stop settling `CCY` (repeatable)")
		total := fs.String("total-cap", "", "the multi-currency net debit cap `AMOUNT` in the reporting currency")
		noTotal := fs.Bool("no-total-cap", false, "remove the multi-currency net debit cap")
		alarm := fs.String("alarm-pct", "", "the cap alarm threshold, `PCT` of a cap from 1 to 100; 0 turns the alarm off")
		reason := fs.String("reason", "", "why, kept in the audit log with the old and new values (required)")
		cf := addConfigFlags(fs, "database", "reporting_currency", "log_level")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			const name = "participant limits"
			switch {
			case len(args) == 0:
				return usagef(name, "expected the participant ID (its BIC, like DBSSSGSG)")
			case len(args) > 1:
				return usagef(name, "expected one participant ID, got %d arguments", len(args))
			case strings.TrimSpace(args[0]) == "":
				return usagef(name, "the participant ID is empty")
			}
			if len(currencies) != len(caps) {
				return usagef(name, "each --currency needs its --cap: %d --currency, %d --cap", len(currencies), len(caps))
			}
			if *noTotal && *total != "" {
				return usagef(name, "--total-cap and --no-total-cap contradict each other")
			}
			if *reason == "" {
				return usagef(name, "--reason is required: say why the limits change (it is audited)")
			}
			req := api.LimitsRequest{RemoveCurrencies: remove, Reason: *reason}
			for i := range currencies {
				req.Currencies = append(req.Currencies, api.CurrencyCap{Currency: currencies[i], NetDebitCap: caps[i]})
			}
			switch {
			case *noTotal:
				none := ""
				req.NetDebitCapTotal = &none
			case *total != "":
				req.NetDebitCapTotal = total
			}
			if *alarm != "" {
				pct, err := strconv.Atoi(*alarm)
				if err != nil {
					return usagef(name, "--alarm-pct: want a whole percentage from 0 to 100, got %q", *alarm)
				}
				req.AlarmThresholdPct = &pct
			}
			if len(req.Currencies) == 0 && len(req.RemoveCurrencies) == 0 && req.NetDebitCapTotal == nil && req.AlarmThresholdPct == nil {
				return usagef(name, "nothing to change: give --currency with --cap, --remove-currency, --total-cap, --no-total-cap or --alarm-pct")
			}
			s, err := cf.openExisting(ctx, c)
			if err != nil {
				return err
			}
			defer s.Close()
			ch, err := req.Change(s.FX().ReportingCurrency)
			if err != nil {
				return limitsFlagError(err, req)
			}
			l, err := s.UpdateParticipantLimits(ctx, args[0], ch, operatorCLI)
			if err != nil {
				return limitsFlagError(err, req)
			}
			if *asJSON {
				return printJSON(c.stdout, api.LimitsDocument(l))
			}
			printLimits(c.stdout, l)
			return nil
		}
	},
}

var limitsField = regexp.MustCompile(`^(currencies|remove_currencies)\[(\d+)\](?:\.(currency|net_debit_cap))?$`)

// limitsFlagError names the flag an error of the store or the API is
// about: currencies[1].net_debit_cap is the second --cap.
func limitsFlagError(err error, req api.LimitsRequest) error {
	ce, ok := clearing.AsError(err)
	if !ok {
		return err
	}
	flagName := map[string]string{"net_debit_cap_total": "--total-cap", "alarm_threshold_pct": "--alarm-pct", "reason": "--reason", "id": "", "currencies": "--currency"}
	if m := limitsField.FindStringSubmatch(ce.Field); m != nil {
		i, _ := strconv.Atoi(m[2])
		switch {
		case m[1] == "remove_currencies" && i < len(req.RemoveCurrencies):
			flagName[ce.Field] = "--remove-currency " + req.RemoveCurrencies[i]
		case m[1] == "currencies" && i < len(req.Currencies) && m[3] == "net_debit_cap":
			flagName[ce.Field] = "--cap " + req.Currencies[i].NetDebitCap + " (for " + req.Currencies[i].Currency + ")"
		case m[1] == "currencies" && i < len(req.Currencies):
			flagName[ce.Field] = "--currency " + req.Currencies[i].Currency
		}
	}
	return fieldError("participant limits", err, flagName)
}

// printLimits shows a participant's caps against its open-cycle positions.
func printLimits(w io.Writer, l store.Limits) {
	p := l.Participant
	fmt.Fprintf(w, "Participant %s (%s): limits\n", p.ID, p.Name)
	rows := [][]string{{"currency", "net debit cap", "position", "headroom", "usage", ""}}
	for _, u := range l.Usage {
		usage := "—"
		if r := u.Ratio(); u.DebitMinor() > 0 && u.CapMinor > 0 {
			usage = fmt.Sprintf("%.1f%%", r*100)
		} else if u.DebitMinor() == 0 {
			usage = "0.0%"
		}
		var note []string
		if u.Alarm(p.AlarmThresholdPct) {
			note = append(note, "ALARM")
		}
		if u.BelowPosition() {
			note = append(note, "cap below position: further debits refused")
		}
		if _, ok := p.Settles(u.Currency); !ok {
			note = append(note, "no longer settled")
		}
		rows = append(rows, []string{u.Currency, money(u.Currency, u.CapMinor), money(u.Currency, u.NetMinor), money(u.Currency, u.HeadroomMinor()), usage, strings.Join(note, "; ")})
	}
	printTable(w, rows, 2)
	if t := p.NetDebitCapTotal; t.Set() {
		fmt.Fprintf(w, "  multi-currency net debit cap %s %s\n", money(t.Currency, t.Minor), t.Currency)
	} else {
		fmt.Fprintln(w, "  no multi-currency net debit cap")
	}
	if p.AlarmThresholdPct > 0 {
		fmt.Fprintf(w, "  cap alarm at %d%% of a cap\n", p.AlarmThresholdPct)
	} else {
		fmt.Fprintln(w, "  cap alarm off")
	}
	for _, warning := range l.Warnings() {
		fmt.Fprintf(w, "warning: %s\n", warning)
	}
}

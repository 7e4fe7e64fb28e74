package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
)

var paymentShowCmd = &command{
	name:    "payment show",
	args:    "ID",
	summary: "print a payment, its events and every posting leg",
	about: `
Prints the payment ID (its UETR) as GET /v1/payments/{id} shows it to the
operator: the parties, the amounts held, released and refunded, and for a
cross-currency payment what the buyer's bank paid in its currency, the
fee, the spread, the amount converted, the rate, the FX provider, the quote
and who bears the FX result of refunds. Then every event (who, when, why)
and every posting leg in booking order — hold, fee, spread, conversion,
delivery, releases, and a refund's give-back, conversion back, FX result,
fee back and spread back — with the cycle it belongs to, and what the
payment moved per account and currency (Σ = 0 in each currency).`,
	example: `  crossclear payment show 2f1c9a7e-5b3d-4c8a-9e6f-0a1b2c3d4e5f
  crossclear payment show --database postgres://crossclear@db/crossclear 2f1c9a7e-5b3d-4c8a-9e6f-0a1b2c3d4e5f`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "log_level")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			switch {
			case len(args) == 0:
				return usagef("payment show", "expected the payment ID (its UETR, like 2f1c9a7e-5b3d-4c8a-9e6f-0a1b2c3d4e5f)")
			case len(args) > 1:
				return usagef("payment show", "expected one payment ID, got %d arguments", len(args))
			case strings.TrimSpace(args[0]) == "":
				return usagef("payment show", "the payment ID is empty")
			}
			s, err := cf.openExisting(ctx, c)
			if err != nil {
				return err
			}
			defer s.Close()
			p, events, err := s.Payment(ctx, args[0])
			if err != nil {
				return fieldError("payment show", err, map[string]string{"id": ""})
			}
			legs, err := s.PaymentLegs(ctx, p.ID)
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(c.stdout, api.PaymentDocument(p, events, legs))
			}
			names := participantNames(ctx, s)
			if m, err := s.Merchant(ctx, p.MerchantID); err == nil {
				names[m.ID] = m.Name
			}
			printPayment(c.stdout, p, events, legs, names)
			return nil
		}
	},
}

// printPayment shows a payment, its events and its legs.
func printPayment(w io.Writer, p clearing.Payment, events []clearing.Event, legs []store.Leg, names map[string]string) {
	label := func(id string) string {
		if n := names[id]; n != "" && !clearing.OperatorAccount(id) {
			return id + " (" + n + ")"
		}
		return id
	}
	column := func(id string) string { // an account in a table: the cycle's style
		if n := names[id]; n != "" {
			return fmt.Sprintf("%-9s %s", id, n)
		}
		return id
	}
	ccy := p.Currency
	fmt.Fprintf(w, "Payment %s: %s\n", p.ID, p.State)
	field := func(name, format string, args ...any) {
		fmt.Fprintf(w, "  %-14s %s\n", name, fmt.Sprintf(format, args...))
	}
	if p.Reference != "" || p.EndToEndID != "" {
		field("reference", "%q · end-to-end id %q", p.Reference, p.EndToEndID)
	}
	field("buyer's bank", "%s, jurisdiction %s", label(p.BuyerBankID), p.BuyerJurisdiction)
	field("merchant", "%s at %s, jurisdiction %s", label(p.MerchantID), label(p.MerchantBankID), p.MerchantJurisdiction)
	field("amount", "%s %s · released %s · refunded %s · still held %s", money(ccy, p.AmountMinor), ccy,
		money(ccy, p.ReleasedMinor), money(ccy, p.RefundedMinor), money(ccy, p.HeldMinor()))
	if !p.ReleaseAt.IsZero() {
		field("auto-release", "%s unless disputed", stamp(p.ReleaseAt))
	}
	field("held", "%s in cycle %d · last change %s (version %d)", stamp(p.CreatedAt), p.HoldCycleID, stamp(p.UpdatedAt), p.Version)
	if p.IsFX() {
		sell := p.SellCurrency
		c, f, sp := p.RefundedSell()
		field("FX", "%s paid %s %s = fee %s + spread %s + converted %s %s", p.BuyerBankID, money(sell, p.SellMinor), sell,
			money(sell, p.FeeMinor), money(sell, p.SpreadMinor), money(sell, p.ConvertedMinor), sell)
		field("", "converted at %s %s per 1 %s by %s, quote %s", p.Rate, ccy, sell, label(p.FXProviderID), p.QuoteID)
		field("", "refunded to %s so far %s %s (its share of what it paid) · FX result of refunds borne by %s",
			p.BuyerBankID, money(sell, c+f+sp), sell, label(p.FXResultBearer()))
	}

	fmt.Fprintf(w, "\nEvents (%d)\n", len(events))
	rows := [][]string{{"#", "at", "event", "state", "amount", "by", "reason"}}
	for _, e := range events {
		state := string(e.To)
		if e.From != "" {
			state = string(e.From) + " → " + string(e.To)
		}
		amount := ""
		if e.AmountMinor != 0 {
			amount = money(ccy, e.AmountMinor) + " " + ccy
		}
		rows = append(rows, []string{fmt.Sprint(e.Seq), stamp(e.At), string(e.Type), state, amount, e.Actor, e.Reason})
	}
	printTable(w, rows, 4)

	fmt.Fprintf(w, "\nPostings (%s, in booking order: event.leg)\n", plural(len(legs), "leg"))
	rows = [][]string{{"#", "cycle", "kind", "debit (pays)", "credit (receives)", "amount"}}
	type account struct{ owner, ccy string }
	net := map[account]int64{}
	var accounts []account
	move := func(a account, minor int64) {
		if _, ok := net[a]; !ok {
			accounts = append(accounts, a)
		}
		net[a], _ = fx.AddMinor(net[a], minor)
	}
	for _, l := range legs {
		rows = append(rows, []string{fmt.Sprintf("%d.%d", l.Seq, l.Leg), fmt.Sprint(l.CycleID), string(l.Kind), l.Debit, l.Credit,
			money(l.Currency, l.AmountMinor) + " " + l.Currency})
		move(account{l.Debit, l.Currency}, -l.AmountMinor)
		move(account{l.Credit, l.Currency}, l.AmountMinor)
	}
	printTable(w, rows, 5)
	if len(legs) == 0 {
		return
	}
	slices.SortStableFunc(accounts, func(a, b account) int { return strings.Compare(a.ccy, b.ccy) })
	fmt.Fprintln(w, "\nWhat the payment moved, per account (received − paid)")
	rows = nil
	for _, a := range accounts {
		rows = append(rows, []string{a.ccy, truncate(column(a.owner), 44), signed(a.ccy, net[a])})
	}
	printTable(w, rows, 2)
}

// plural is "1 leg", "2 legs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// printTable prints rows in aligned columns, two spaces apart, indented;
// the cells of column right are right-aligned.
func printTable(w io.Writer, rows [][]string, right int) {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(cell)))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, cell := range row {
			pad := strings.Repeat(" ", widths[i]-len([]rune(cell)))
			if i > 0 {
				b.WriteString("  ")
			}
			if i == right {
				b.WriteString(pad + cell)
			} else {
				b.WriteString(cell + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

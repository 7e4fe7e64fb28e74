package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
	"github.com/shopspring/decimal"
)

// printCycle prints a cycle readably: per currency the gross, the counts,
// every account's net position (the escrow's too), Σ nets and the netting
// efficiency. names maps participant ids to display names. demo, cycle
// close and cycle show all print through it.
func printCycle(w io.Writer, c clearing.Cycle, names map[string]string) {
	fmt.Fprintf(w, "Cycle %d: %s", c.ID, c.State)
	switch {
	case c.State == clearing.CycleOpen:
		fmt.Fprintf(w, " since %s (open for %s; running positions, final at close)\n", stamp(c.OpenedAt), age(time.Since(c.OpenedAt)))
	default:
		fmt.Fprintf(w, " %s by %s (opened %s)", stamp(c.ClosedAt), c.ClosedBy, stamp(c.OpenedAt))
		if !c.SettledAt.IsZero() {
			fmt.Fprintf(w, ", settled %s", stamp(c.SettledAt))
		}
		fmt.Fprintln(w)
	}
	if c.Result == nil || len(c.Result.Currencies) == 0 {
		fmt.Fprintln(w, "  No money moved in this cycle.")
		return
	}
	for _, t := range c.Result.Currencies {
		var ps []clearing.NetPosition
		for _, p := range c.Result.Positions {
			if p.Currency == t.Currency {
				ps = append(ps, p)
			}
		}
		printCurrency(w, c.State == clearing.CycleOpen, t, ps, names)
	}
	printFXResults(w, c.Result.FXResults, names)
}

// printFXResults shows who bore the FX results of the cycle's
// cross-currency refunds: the operator's fx_result account, or merchants'
// banks when fx_result_charged_to = merchant. They are part of the nets
// above; this says which part.
func printFXResults(w io.Writer, rs []clearing.FXResult, names map[string]string) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nFX results of cross-currency refunds (locked share minus fresh conversion back; part of the nets above)")
	for _, r := range rs {
		label := r.Bearer
		if n := names[r.Bearer]; n != "" {
			label = fmt.Sprintf("%-9s %s", r.Bearer, n)
		}
		fmt.Fprintf(w, "     %s  %-40s  made up %s · kept %s · net %s (%d legs)\n", r.Currency, truncate(label, 40),
			money(r.Currency, r.PaidMinor), money(r.Currency, r.ReceivedMinor), signed(r.Currency, r.NetMinor), r.Legs)
	}
}

// printExposure shows each participant's open-cycle exposure in the
// reporting currency: its positions converted at the book's mid rates, the
// rate and path used, the total debit, the net and the multi-currency cap.
// Participants without positions or a cap are left out.
func printExposure(w io.Writer, rep store.ExposureReport, names map[string]string) {
	ccy := rep.Currency
	fmt.Fprintf(w, "\nExposure in %s: the open positions of cycle %d at the rate book's mid rates of %s (a debit rounded away\n", ccy, rep.CycleID, stamp(rep.At))
	fmt.Fprintln(w, "from zero, a credit toward zero; in the total debit, a credit in one currency does not offset a debit in another)")
	var wn, wr, wc int // column widths, over every line
	for _, e := range rep.Participants {
		for _, l := range e.Lines {
			wn = max(wn, len(signed(l.Currency, l.NetMinor)+" "+l.Currency))
			if l.Converted && l.NetMinor != 0 {
				wr, wc = max(wr, len([]rune(rateText(l.Rate)))), max(wc, len(signed(ccy, l.ConvertedMinor)+" "+ccy))
			}
		}
	}
	shown := 0
	for _, e := range rep.Participants {
		if len(e.Lines) == 0 && !e.Cap.Set() {
			continue
		}
		shown++
		label := e.Participant
		if n := names[e.Participant]; n != "" {
			label = fmt.Sprintf("%-9s %s", e.Participant, n)
		}
		total := func(minor int64, known bool) string {
			if !known {
				return "unknown (a position has no usable rate)"
			}
			return money(ccy, minor) + " " + ccy
		}
		line := fmt.Sprintf("  %s: total debit %s · net %s", label, total(e.DebitMinor, e.DebitKnown), total(e.NetMinor, e.NetKnown))
		if e.Cap.Set() {
			line += fmt.Sprintf(" · multi-currency cap %s %s", money(e.Cap.Currency, e.Cap.Minor), e.Cap.Currency)
			if h, ok := e.Headroom(); ok {
				line += fmt.Sprintf(", headroom %s %s", money(ccy, h), ccy)
			}
		}
		fmt.Fprintln(w, line)
		for _, l := range e.Lines {
			net := signed(l.Currency, l.NetMinor) + " " + l.Currency
			switch {
			case !l.Converted:
				fmt.Fprintf(w, "     %*s  not converted: %s\n", wn, net, l.Missing)
			case l.NetMinor == 0:
				fmt.Fprintf(w, "     %*s\n", wn, net)
			default:
				rate := rateText(l.Rate)
				fmt.Fprintf(w, "     %*s × %s%s = %*s  via %s\n", wn, net, rate, strings.Repeat(" ", wr-len([]rune(rate))), wc, signed(ccy, l.ConvertedMinor)+" "+ccy, strings.Join(l.Path, " + "))
			}
		}
	}
	if shown == 0 {
		fmt.Fprintln(w, "  No participant has a position or a multi-currency cap.")
	}
}

// rateDigits is how many significant digits an exposure's rate shows: as
// many as a provider's posted rate has, while a rate inverted or chained
// through EUR has as many as the division gave (25 decimals).
const rateDigits = 10

// rateText is r to rateDigits significant digits, with "…" when that
// rounded it: the conversion itself used every digit.
func rateText(r decimal.Decimal) string {
	if r.IsZero() {
		return r.String()
	}
	places := int32(rateDigits) - int32(r.NumDigits()) - r.Exponent()
	if places >= 0 && -r.Exponent() <= places {
		return r.String()
	}
	return r.Round(places).String() + "…"
}

func printCurrency(w io.Writer, open bool, t clearing.CurrencyTotals, ps []clearing.NetPosition, names map[string]string) {
	ccy := t.Currency
	fmt.Fprintf(w, "\n%s  gross %s · settles %s after netting · netting efficiency %s\n",
		ccy, money(ccy, t.GrossMinor), money(ccy, t.SettlementMinor), percent(t))
	if !open {
		line := "postings: " + postingCounts(t)
		if t.Releases > 0 {
			line += " (a payment released in parts counts once per part)"
		}
		fmt.Fprintf(w, "     %s\n", line)
	}
	type row struct{ account, paid, received, net, note string }
	rows := []row{{account: "account", paid: "paid", received: "received", net: "net"}}
	var sum int64
	overflow := false
	for _, p := range ps {
		label := p.Participant
		if p.Participant == clearing.EscrowAccount {
			label = fmt.Sprintf("%-9s %s", "escrow", "held for buyers and merchants")
		} else if n := names[p.Participant]; n != "" {
			label = fmt.Sprintf("%-9s %s", p.Participant, n)
		}
		var note string
		if !p.SettledAt.IsZero() {
			note = "settled"
		}
		rows = append(rows, row{truncate(label, 44), money(ccy, p.PaidMinor), money(ccy, p.ReceivedMinor), signed(ccy, p.NetMinor), note})
		var ok bool
		if sum, ok = fx.AddMinor(sum, p.NetMinor); !ok {
			overflow = true
		}
	}
	var wa, wp, wr, wn int
	for _, r := range rows {
		wa, wp, wr, wn = max(wa, len([]rune(r.account))), max(wp, len(r.paid)), max(wr, len(r.received)), max(wn, len(r.net))
	}
	for _, r := range rows {
		line := fmt.Sprintf("     %s%s  %*s  %*s  %*s", r.account, strings.Repeat(" ", wa-len([]rune(r.account))), wp, r.paid, wr, r.received, wn, r.net)
		if r.note != "" {
			line += "  " + r.note
		}
		fmt.Fprintln(w, line)
	}
	check := "✓ balanced"
	if sum != 0 || overflow {
		check = "✗ NOT ZERO: the books are broken"
	}
	fmt.Fprintf(w, "     %-*s  %*s  %s\n", wa+wp+wr+4, "Σ nets", wn, money(ccy, sum), check)
}

// postingCounts says what moved in a currency: "2 holds · 1 release ·
// 3 FX legs". A currency that only the conversion of cross-currency
// payments touched (the buyer's side: fees, spreads, conversions) has FX
// legs and no holds; counts of zero are left out.
func postingCounts(t clearing.CurrencyTotals) string {
	var parts []string
	for _, c := range []struct {
		n            int
		one, several string
	}{
		{t.Holds, "hold", "holds"}, {t.Releases, "release", "releases"}, {t.Refunds, "refund", "refunds"}, {t.FXLegs, "FX leg", "FX legs"},
	} {
		switch {
		case c.n == 1:
			parts = append(parts, "1 "+c.one)
		case c.n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.several))
		}
	}
	if len(parts) == 0 {
		return "no postings"
	}
	return strings.Join(parts, " · ")
}

// openCycle is the open cycle with its running positions as a result, so
// that printCycle shows it like a closed one. The gross is Σ paid, since
// every posting is paid by exactly one account.
func openCycle(ctx context.Context, s *store.Store) (clearing.Cycle, error) {
	c, err := s.CurrentCycle(ctx)
	if err != nil {
		return clearing.Cycle{}, err
	}
	ps, err := s.OpenPositions(ctx, "")
	if err != nil {
		return clearing.Cycle{}, err
	}
	res := &clearing.NettingResult{}
	idx := map[string]int{}
	for _, p := range ps {
		i, ok := idx[p.Currency]
		if !ok {
			i = len(res.Currencies)
			idx[p.Currency] = i
			res.Currencies = append(res.Currencies, clearing.CurrencyTotals{Currency: p.Currency})
		}
		t := &res.Currencies[i]
		t.GrossMinor += p.PaidMinor
		if p.NetMinor > 0 {
			t.SettlementMinor += p.NetMinor
		}
		res.Positions = append(res.Positions, clearing.NetPosition{Participant: p.Participant, Currency: p.Currency,
			PaidMinor: p.PaidMinor, ReceivedMinor: p.ReceivedMinor, NetMinor: p.NetMinor})
	}
	for i := range res.Currencies {
		t := &res.Currencies[i]
		t.NettingEfficiency = clearing.Efficiency(t.SettlementMinor, t.GrossMinor)
	}
	sortResult(res)
	c.Result = res
	return c, nil
}

func sortResult(r *clearing.NettingResult) {
	slices.SortFunc(r.Currencies, func(a, b clearing.CurrencyTotals) int { return strings.Compare(a.Currency, b.Currency) })
	slices.SortFunc(r.Positions, func(a, b clearing.NetPosition) int {
		if c := strings.Compare(a.Currency, b.Currency); c != 0 {
			return c
		}
		return strings.Compare(a.Participant, b.Participant)
	})
}

// participantNames maps participant ids to names for printCycle.
func participantNames(ctx context.Context, s *store.Store) map[string]string {
	ps, err := s.Participants(ctx, store.ParticipantFilter{})
	names := map[string]string{clearing.FeesAccount: "scheme fees (operator)", clearing.FXResultAccount: "FX result (operator)"}
	if err != nil {
		return names // names are decoration; ids still print
	}
	for _, p := range ps {
		names[p.ID] = p.Name
	}
	return names
}

// money formats minor units with the currency's decimals and thousands
// separators: "1,234,567.89", "-12,000" for JPY. Exact: no floats.
func money(ccy string, minor int64) string {
	c, err := fx.LookupCurrency(ccy)
	if err != nil {
		return strconv.FormatInt(minor, 10) + " (minor units)"
	}
	v := c.FromMinor(minor).Value()
	sign := ""
	if strings.HasPrefix(v, "-") {
		sign, v = "-", v[1:]
	}
	intPart, frac, hasFrac := strings.Cut(v, ".")
	var b strings.Builder
	for i, d := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return sign + b.String()
}

// signed is money with an explicit + on credits.
func signed(ccy string, minor int64) string {
	if minor > 0 {
		return "+" + money(ccy, minor)
	}
	return money(ccy, minor)
}

// percent is the netting efficiency as a percentage, from the domain's
// exact decimal (rounded to two places for display).
func percent(t clearing.CurrencyTotals) string {
	return t.NettingEfficiency.Shift(2).StringFixed(2) + "%"
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func age(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	default:
		return d.Round(time.Second).String()
	}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

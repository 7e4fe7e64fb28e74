package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
)

// The demo's FX: the ECB's reference rates of the sample file price the
// holds; half-way through the provider posts rates of its own, a little
// off the ECB's and with a bid/ask spread, at which later refunds convert
// back. The scheme fee and the spread are the demo's, not the configuration's.

const (
	demoECBPath   = "testdata/ecb/eurofxref-daily.xml"
	demoFeeBps    = 30
	demoSpreadBps = 50
)

// demoECB is a copy of testdata/ecb/eurofxref-daily.xml (a test keeps them
// equal), for a demo run outside the repository.
//
//go:embed demo_ecb.xml
var demoECB []byte

// loadECB reads the ECB file and puts its rates into the store. The sample
// is a fixed day, so its rates are re-dated to the demo's timeline: valid
// from the demo's first day (now, on the store clock) to a week after the
// real time, long enough to serve the API afterwards.
func (d *demo) loadECB(ctx context.Context, file string) (string, error) {
	raw, from := demoECB, "built-in copy of "+demoECBPath
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--ecb: %w", err)
		}
		raw, from = b, file
	default:
		if b, err := os.ReadFile(demoECBPath); err == nil {
			raw, from = b, demoECBPath
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	rates, err := fx.ParseECB(bytes.NewReader(raw), 24*time.Hour)
	if err != nil {
		return "", fmt.Errorf("%s: %w", from, err)
	}
	day := rates[len(rates)-1].AsOf.Format(time.DateOnly)
	var latest []fx.Rate
	for _, r := range rates {
		if r.AsOf.Format(time.DateOnly) == day {
			r.AsOf, r.ValidUntil = d.now(), time.Now().Add(7*24*time.Hour)
			latest = append(latest, r)
		}
	}
	if err := d.s.PostRates(ctx, latest, demoOperator); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d ECB euro reference rates of %s (%s), as the demo's rates from its first day", len(latest), day, from), nil
}

// postProviderRates has the FX provider post its own EUR rates: each ECB
// rate moved by up to ±1.5 %, with a 0.3 % bid/ask spread around it.
func (d *demo) postProviderRates(ctx context.Context, rng *rand.Rand) (string, error) {
	provider := demoFXProvider.bic
	var rates []fx.Rate
	for _, r := range d.s.FX().Book.Rates() {
		if r.Source != fx.SourceECB || r.Base != "EUR" || !demoSettles(r.Quote) {
			continue
		}
		mid := r.Mid().Mul(decimal.New(int64(985+rng.IntN(31)), -3))
		rates = append(rates, fx.Rate{Pair: r.Pair, Source: provider,
			Bid: mid.Mul(decimal.New(9985, -4)).Truncate(8), Ask: mid.Mul(decimal.New(10015, -4)).Truncate(8),
			AsOf: d.now(), ValidUntil: time.Now().Add(7 * 24 * time.Hour)})
	}
	actor := clearing.Actor{Role: clearing.RoleFXProvider, Subject: provider}
	if err := d.s.PostRates(ctx, rates, actor); err != nil {
		return "", err
	}
	var pairs []string
	for _, r := range rates {
		pairs = append(pairs, fmt.Sprintf("%s %s/%s", r.Pair, r.Bid, r.Ask))
	}
	return fmt.Sprintf("before round 2, %s posted rates of its own (bid/ask), used from then on: %s", provider, strings.Join(pairs, " · ")), nil
}

func demoSettles(ccy string) bool {
	for _, c := range demoFXProvider.currencies {
		if c == ccy {
			return true
		}
	}
	return false
}

// printFX shows what went through the FX provider: how many payments in
// which currencies, its legs per currency in the closed cycle, and what the
// fees and FX result accounts kept.
func printFX(ctx context.Context, w io.Writer, s *store.Store, c clearing.Cycle, wd world) error {
	type row struct {
		Sell string `bun:"sell"`
		Buy  string `bun:"buy"`
		N    int    `bun:"n"`
	}
	var rows []row
	if err := s.DB().NewRaw("SELECT sell_currency AS sell, currency AS buy, COUNT(*) AS n FROM payments WHERE sell_currency <> '' GROUP BY sell_currency, currency ORDER BY 1, 2").Scan(ctx, &rows); err != nil {
		return fmt.Errorf("count cross-currency payments: %w", err)
	}
	total := 0
	sells, buys := map[string]int{}, map[string]int{}
	for _, r := range rows {
		total += r.N
		sells[r.Sell] += r.N
		buys[r.Buy] += r.N
	}
	list := func(m map[string]int) string {
		var out []string
		for _, ccy := range sortedKeys(m) {
			out = append(out, fmt.Sprintf("%s %d", ccy, m[ccy]))
		}
		return strings.Join(out, " · ")
	}
	fmt.Fprintf(w, "\nCross-currency: %d payments converted by %s %s (fee %d bps and spread %d bps, each its own leg)\n", total, wd.fx.ID, wd.fx.Name, demoFeeBps, demoSpreadBps)
	fmt.Fprintf(w, "  buyers' banks paid in   %s\n", list(sells))
	fmt.Fprintf(w, "  merchants settled in    %s\n", list(buys))
	if c.Result == nil {
		return nil
	}
	fmt.Fprintf(w, "  %s's legs in cycle %d (received: spreads, conversions, refunds given back; paid: deliveries into escrow, conversions back, spreads back)\n", wd.fx.ID, c.ID)
	lines := [][]string{{"", "paid", "received", "net"}}
	accounts := map[string][]string{}
	for _, p := range c.Result.Positions {
		switch p.Participant {
		case wd.fx.ID:
			lines = append(lines, []string{p.Currency, money(p.Currency, p.PaidMinor), money(p.Currency, p.ReceivedMinor), signed(p.Currency, p.NetMinor)})
		case clearing.FeesAccount, clearing.FXResultAccount:
			accounts[p.Participant] = append(accounts[p.Participant], p.Currency+" "+signed(p.Currency, p.NetMinor))
		}
	}
	widths := make([]int, 4)
	for _, l := range lines {
		for i, cell := range l {
			widths[i] = max(widths[i], len(cell))
		}
	}
	for _, l := range lines {
		fmt.Fprintf(w, "    %-*s  %*s  %*s  %*s\n", widths[0], l[0], widths[1], l[1], widths[2], l[2], widths[3], l[3])
	}
	fmt.Fprintf(w, "  fees account (scheme fees kept, in the buyers' currencies): %s\n", strings.Join(accounts[clearing.FeesAccount], " · "))
	if fr := accounts[clearing.FXResultAccount]; len(fr) > 0 {
		fmt.Fprintf(w, "  fx_result account (refunds converted back at fresher rates, locked minus fresh): %s\n", strings.Join(fr, " · "))
	}
	return nil
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

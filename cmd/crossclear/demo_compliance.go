package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/fx"
)

// The demo's compliance screening: every payment is screened against a
// sample of the UN Security Council consolidated list, with AML rules
// that only flag the travel rule (the generated payments name no debtor,
// so each cross-border one at or above the threshold is flagged, and
// held). One more payment, from a debtor the UN list names, is held for
// review: it waits in the queue for the compliance officer, outside
// escrow.

// demoUN is a copy of compliance/testdata/un-consolidated-sample.xml (a
// test keeps them equal): go:embed cannot reach outside the package.
//
//go:embed demo_un.xml
var demoUN []byte

// demoEU and demoUK are a few real rows of the EU consolidated list (CSV)
// and OFSI's consolidated list (ConList.csv), copied from the samples in
// the watchman module, so that the demo loads all three lists.
//
//go:embed demo_eu.csv
var demoEU []byte

//go:embed demo_uk.csv
var demoUK []byte

// demoRules are the demo's AML rules, in EUR, which the ECB's rates
// convert every demo currency into.
const demoRules = `{
  "base_currency": "EUR",
  "default": {
    "travel_rule": {"threshold": "1000.00 EUR", "action": "flag"}
  }
}
`

// demoListed is the payment from a listed debtor: HANSDEFF (whose bank
// key the demo prints) pays a Singapore merchant for a buyer named like
// the UN list's KOREA MINING DEVELOPMENT TRADING CORPORATION.
var demoListed = struct {
	bank, merchant, amount, currency string
	debtor                           compliance.Party
}{"HANSDEFF", "Lion City Electronics Pte Ltd", "12400.00", "SGD", compliance.Party{Role: compliance.Debtor,
	Name: "Korea Mining Development Trading Corporation", Country: "KP", Account: "KP12000000001234567890", Address: "Central District, Pyongyang"}}

// demoScreening writes the list and the rules into dir and points cfg at
// them, so that the API served after the demo screens against the same,
// and returns the screener they make.
func demoScreening(ctx context.Context, cfg *Config, dir string) (*compliance.Screener, error) {
	cfg.SanctionsOFAC, cfg.SanctionsUN, cfg.ComplianceRules = "", filepath.Join(dir, "un-consolidated-sample.xml"), filepath.Join(dir, "rules.json")
	if err := os.WriteFile(cfg.SanctionsUN, demoUN, 0o600); err != nil {
		return nil, err
	}
	cfg.SanctionsEU, cfg.SanctionsUK = filepath.Join(dir, "eu-consolidated-sample.csv"), filepath.Join(dir, "uk-conlist-sample.csv")
	if err := os.WriteFile(cfg.SanctionsEU, demoEU, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cfg.SanctionsUK, demoUK, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cfg.ComplianceRules, []byte(demoRules), 0o600); err != nil {
		return nil, err
	}
	return openScreener(ctx, *cfg)
}

// demoReview is the payment waiting for review.
type demoReview struct {
	screeningID, paymentID, bank string
	amount                       fx.Amount
}

// holdForReview sends the listed debtor's payment as its bank would over
// the API; screening must hold it for review.
func (d *demo) holdForReview(ctx context.Context, w world) (demoReview, error) {
	var merchant clearing.Merchant
	for _, m := range w.merchants {
		if m.Name == demoListed.merchant {
			merchant = m
		}
	}
	amount, err := fx.ParsePositiveAmount(demoListed.amount, demoListed.currency)
	if err != nil {
		return demoReview{}, err
	}
	req := clearing.HoldRequest{EndToEndID: "E2E-DEMO-REVIEW", Reference: "order 7001 at " + merchant.Name, BuyerBankID: demoListed.bank,
		MerchantID: merchant.ID, Amount: amount}
	bank := clearing.Actor{Role: clearing.RoleBank, Subject: demoListed.bank}
	res, err := d.s.HoldInstructed(ctx, []clearing.HoldRequest{req}, []store.Instruction{{Parties: []compliance.Party{demoListed.debtor}}}, bank)
	if err != nil {
		return demoReview{}, err
	}
	se, ok := store.AsScreeningError(res[0].Err)
	if !ok || !se.Pending {
		return demoReview{}, fmt.Errorf("the payment from %s was not held for review: %v", demoListed.debtor.Name, res[0].Err)
	}
	return demoReview{screeningID: se.ScreeningID, paymentID: se.PaymentID, bank: demoListed.bank, amount: amount}, nil
}

// printScreening counts, from the database, what screening decided.
func printScreening(ctx context.Context, w io.Writer, s *store.Store, sc *compliance.Screener, r demoReview) error {
	var rows []struct {
		Status string `bun:"status"`
		N      int    `bun:"n"`
	}
	if err := s.DB().NewRaw("SELECT status, COUNT(*) AS n FROM screenings GROUP BY status ORDER BY status").Scan(ctx, &rows); err != nil {
		return fmt.Errorf("count screenings: %w", err)
	}
	var flagged int
	if err := s.DB().NewRaw("SELECT COUNT(*) FROM screenings WHERE flags LIKE ?", "%,"+compliance.CodeTravelRule+",%").Scan(ctx, &flagged); err != nil {
		return fmt.Errorf("count travel-rule flags: %w", err)
	}
	total := 0
	var by []string
	for _, r := range rows {
		total += r.N
		by = append(by, fmt.Sprintf("%s %d", r.Status, r.N))
	}
	var lists []string
	for _, l := range sc.Lists() {
		lists = append(lists, fmt.Sprintf("%s (%d entries, sha256 %s…)", l.Name, l.Entries, l.Hash[:12]))
	}
	fmt.Fprintf(w, "\nCompliance screening: %d payments screened against %s: %s\n", total, strings.Join(lists, ", "), strings.Join(by, " · "))
	tr := sc.Rules().Default.TravelRule
	fmt.Fprintf(w, "  travel rule (cross-border from %s, action %s): %d flagged — the generated payments name no debtor; a flag is reported, the payment held\n",
		tr.Threshold.String(), tr.Action, flagged)
	fmt.Fprintf(w, "  waiting for review: %s's payment from %s (screening %s): not in escrow until a compliance officer approves it\n",
		r.bank, demoListed.debtor.Name, r.screeningID)
	return nil
}

package main

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
)

// The demo world: five partner banks in five jurisdictions, each settling
// its home currency and a few others so that its customers can pay foreign
// merchants in the merchant's currency, an FX provider, and a dozen
// merchants. Every name and BIC is invented.

type demoBank struct {
	bic, name, country, jurisdiction string
	currencies                       []string // the home currency first
}

var demoBanks = []demoBank{
	{"HANSDEFF", "Hansa Handelsbank AG", "DE", "DE", []string{"EUR", "GBP", "SGD", "USD"}},
	{"MERLSGSG", "Merlion Commercial Bank", "SG", "SG", []string{"SGD", "EUR", "JPY", "USD"}},
	{"HUDSUS33", "Hudson River Trust Company", "US", "US-NY", []string{"USD", "EUR", "GBP", "JPY"}},
	{"THAMGB2L", "Thames & Mercer Bank plc", "GB", "GB", []string{"GBP", "EUR", "USD"}},
	{"SAKUJPJT", "Sakura Kaigai Ginko", "JP", "JP", []string{"JPY", "SGD", "USD"}},
}

var demoFXProvider = demoBank{"KSTLGB2L", "Kestrel FX Liquidity Ltd", "GB", "GB", []string{"EUR", "GBP", "JPY", "SGD", "USD"}}

// Net debit caps, in major units, parsed exactly by fx.ParseAmount.
var demoCaps = map[string]string{"EUR": "50000000", "GBP": "50000000", "SGD": "50000000", "USD": "50000000", "JPY": "7500000000"}

// demoTightCap is the one deliberately small cap: its bank's buyers run
// into it within the cycle and further holds are refused.
var demoTightCap = struct{ bank, currency, value string }{"SAKUJPJT", "USD", "25000.00"}

type demoMerchant struct {
	name, bank, account string
}

var demoMerchants = []demoMerchant{
	{"Schwarzwald Uhren GmbH", "HANSDEFF", "DE02120300000000202051"},
	{"Berliner Buchhandlung GmbH", "HANSDEFF", "DE89370400440532013000"},
	{"Alpen Outdoor GmbH", "HANSDEFF", "DE75512108001245126199"},
	{"Lion City Electronics Pte Ltd", "MERLSGSG", "0721234567"},
	{"Orchard Tea House Pte Ltd", "MERLSGSG", "0729876543"},
	{"Brooklyn Vinyl Co.", "HUDSUS33", "021000021-4400000001"},
	{"Empire Sneakers LLC", "HUDSUS33", "021000021-4400000002"},
	{"Hudson Valley Maple Inc.", "HUDSUS33", "021000021-4400000003"},
	{"Savile Tailors Ltd", "THAMGB2L", "GB33BUKB20201555555555"},
	{"Cotswold Ceramics Ltd", "THAMGB2L", "GB94BARC10201530093459"},
	{"Kyoto Knives K.K.", "SAKUJPJT", "0010123-4567890"},
	{"Akihabara Retro Games K.K.", "SAKUJPJT", "0010123-4567891"},
}

// world is the seeded world as the demo uses it.
type world struct {
	banks     []clearing.Participant
	fx        clearing.Participant
	merchants []clearing.Merchant
	names     map[string]string
	buyers    map[string][]string // merchant currency → foreign banks that settle it
	home      map[string]string   // bank → its home currency, which its buyers pay cross-currency payments in
	fxTargets []clearing.Merchant // merchants cross-currency payments go to
}

// demoFXShare is the percentage of demo payments that are cross-currency:
// the buyer's bank pays in its home currency, the merchant is settled in its
// own, KSTLGB2L converts.
const demoFXShare = 30

// demoFXCurrencies are the settlement currencies of the merchants that
// receive cross-currency payments.
var demoFXCurrencies = map[string]bool{"EUR": true, "USD": true, "GBP": true}

func seedWorld(ctx context.Context, s *store.Store, by clearing.Actor) (world, error) {
	w := world{names: map[string]string{clearing.FeesAccount: "scheme fees (operator)", clearing.FXResultAccount: "FX result (operator)"},
		buyers: map[string][]string{}, home: map[string]string{}}
	create := func(b demoBank, kind clearing.ParticipantKind) (clearing.Participant, error) {
		p := clearing.Participant{Kind: kind, BIC: b.bic, Name: b.name, Country: b.country, Jurisdiction: b.jurisdiction}
		for _, ccy := range b.currencies {
			value := demoCaps[ccy]
			if b.bic == demoTightCap.bank && ccy == demoTightCap.currency {
				value = demoTightCap.value
			}
			cap, err := fx.ParseAmount(value, ccy)
			if err != nil {
				return clearing.Participant{}, err
			}
			p.Currencies = append(p.Currencies, clearing.SettlementCurrency{Currency: ccy, NetDebitCapMinor: cap.Minor})
		}
		created, err := s.CreateParticipant(ctx, p, by)
		if err != nil {
			return clearing.Participant{}, fmt.Errorf("create %s: %w", b.bic, err)
		}
		w.names[created.ID] = created.Name
		return created, nil
	}
	for _, b := range demoBanks {
		p, err := create(b, clearing.Bank)
		if err != nil {
			return world{}, err
		}
		w.banks = append(w.banks, p)
		w.home[p.ID] = b.currencies[0]
	}
	var err error
	if w.fx, err = create(demoFXProvider, clearing.FXProvider); err != nil {
		return world{}, err
	}
	home := map[string]demoBank{}
	for _, b := range demoBanks {
		home[b.bic] = b
	}
	for _, m := range demoMerchants {
		b := home[m.bank]
		created, err := s.CreateMerchant(ctx, clearing.Merchant{Name: m.name, Country: b.country, Currency: b.currencies[0], Account: m.account, BankID: m.bank}, by)
		if err != nil {
			return world{}, fmt.Errorf("create merchant %s: %w", m.name, err)
		}
		w.merchants = append(w.merchants, created)
		if demoFXCurrencies[created.Currency] {
			w.fxTargets = append(w.fxTargets, created)
		}
	}
	for _, m := range w.merchants {
		if _, done := w.buyers[m.Currency]; done {
			continue
		}
		for _, b := range w.banks {
			if _, ok := b.Settles(m.Currency); ok && b.ID != m.BankID {
				w.buyers[m.Currency] = append(w.buyers[m.Currency], b.ID)
			}
		}
	}
	return w, nil
}

// path is what happens to a payment after it is held.
type path int

const (
	pathConfirm        path = iota // the buyer's bank confirms delivery: release
	pathPartial                    // released in two parts, then the rest
	pathAuto                       // nobody acts: released at the deadline
	pathDisputeRefund              // disputed, resolved by refunding the buyer
	pathDisputeRelease             // disputed, resolved by paying the merchant
	pathMerchantRefund             // the merchant gives the money back
	pathOpenDispute                // disputed, not yet resolved at the close: stays in escrow
	pathStillHeld                  // deadline not reached at the close: stays in escrow
)

// pathWeights are the shares of each path, in percent.
var pathWeights = []struct {
	path   path
	weight int
}{
	{pathConfirm, 38}, {pathPartial, 10}, {pathAuto, 15}, {pathDisputeRefund, 7},
	{pathDisputeRelease, 6}, {pathMerchantRefund, 9}, {pathOpenDispute, 3}, {pathStillHeld, 12},
}

// plan is one demo payment: drawn up front, held, then moved along its path.
type plan struct {
	req  clearing.HoldRequest
	path path
	id   string // the UETR once held; "" when refused
	held int64  // what was held, in the merchant's currency (for a cross-currency payment: after conversion)
}

// drawPlans draws n payments from rng. Amounts are drawn as integer minor
// units in three tiers (most baskets are small), never through floats.
func drawPlans(rng *rand.Rand, w world, n int) []*plan {
	plans := make([]*plan, n)
	for i := range plans {
		m := w.merchants[rng.IntN(len(w.merchants))]
		buyers := w.buyers[m.Currency]
		buyer := buyers[rng.IntN(len(buyers))]
		ccy := fx.MustCurrency(m.Currency)
		if rng.IntN(100) < demoFXShare {
			// Cross-currency: a bank pays in its home currency for a
			// merchant settled in another.
			m = w.fxTargets[rng.IntN(len(w.fxTargets))]
			for {
				buyer = w.banks[rng.IntN(len(w.banks))].ID
				if w.home[buyer] != m.Currency {
					break
				}
			}
			ccy = fx.MustCurrency(w.home[buyer])
		}
		var lo, hi int64 // major units
		switch r := rng.IntN(100); {
		case r < 60:
			lo, hi = 5, 100
		case r < 90:
			lo, hi = 100, 600
		default:
			lo, hi = 600, 2500
		}
		if ccy.Code == "JPY" {
			lo, hi = lo*150, hi*150
		}
		scale := int64(1)
		for range ccy.MinorUnits {
			scale *= 10
		}
		minor := lo*scale + rng.Int64N((hi-lo)*scale+1)
		p := &plan{req: clearing.HoldRequest{
			EndToEndID:  fmt.Sprintf("E2E-DEMO-%06d", i+1),
			Reference:   fmt.Sprintf("order %d at %s", 100000+i+1, m.Name),
			BuyerBankID: buyer,
			MerchantID:  m.ID,
			Amount:      ccy.FromMinor(minor),
		}}
		r := rng.IntN(100)
		for _, pw := range pathWeights {
			if r < pw.weight {
				p.path = pw.path
				break
			}
			r -= pw.weight
		}
		plans[i] = p
	}
	return plans
}

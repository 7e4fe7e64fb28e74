package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

// The exposure fixtures: the FX world, where KSTLGB2L also posts SGD/USD
// 0.7400/0.7450 (mid 0.7425, valid a day) and EUR/USD 1.0800/1.0900 (mid
// 1.085, valid two days), and OCBCSGSG, a Singapore bank settling SGD and
// EUR with a multi-currency net debit cap of 2,000.00 USD (the reporting
// currency).
const capBank = "OCBCSGSG"

func newCapEnv(t *testing.T, engine string) fxEnv {
	t.Helper()
	e := newFXEnv(t, engine)
	e.postRate(t, "SGD/USD", "0.7400", "0.7450")
	r := fx.Rate{Pair: fx.Pair{Base: "EUR", Quote: "USD"}, Bid: decimal.RequireFromString("1.0800"), Ask: decimal.RequireFromString("1.0900"),
		Source: storetest.FXProviderBIC, AsOf: e.clock.now(), ValidUntil: e.clock.now().Add(48 * time.Hour)}
	if err := e.s.PostRates(ctx, []fx.Rate{r}, storetest.Operator); err != nil {
		t.Fatal(err)
	}
	p, err := e.s.CreateParticipant(ctx, clearing.Participant{Kind: clearing.Bank, BIC: capBank, Name: "OCBC Test", Country: "SG", Jurisdiction: "SG",
		Currencies:       []clearing.SettlementCurrency{{Currency: "SGD", NetDebitCapMinor: storetest.CapMinor}, {Currency: "EUR", NetDebitCapMinor: storetest.CapMinor}},
		NetDebitCapTotal: clearing.TotalCap{Currency: "USD", Minor: 2_000_00}}, storetest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.s.Participant(ctx, capBank); err != nil || got.NetDebitCapTotal != p.NetDebitCapTotal {
		t.Fatalf("stored cap %+v %v", got.NetDebitCapTotal, err)
	}
	return e
}

// holdCap holds value ccy from OCBCSGSG to Berlin Books (EUR at DEUTDEFF):
// cross-currency when ccy is SGD.
func (e fxEnv) holdCap(t testing.TB, value, ccy string) (clearing.Payment, error) {
	t.Helper()
	return e.s.Hold(ctx, clearing.HoldRequest{BuyerBankID: capBank, MerchantID: e.w.Merchants[0].ID, Amount: amount(t, value, ccy)}, storetest.Operator)
}

func exposureOf(t testing.TB, s *store.Store, id string) clearing.Exposure {
	t.Helper()
	rep, err := s.Exposures(ctx, store.ParticipantFilter{IDs: []string{id}})
	if err != nil || len(rep.Participants) != 1 {
		t.Fatalf("exposure of %s: %+v %v", id, rep, err)
	}
	return rep.Participants[0]
}

func TestMultiCurrencyNetDebitCap(t *testing.T) {
	eachEngine := func(fn func(t *testing.T, e fxEnv)) {
		for _, engine := range storetest.Engines {
			t.Run(engine, func(t *testing.T) { fn(t, newCapEnv(t, engine)) })
		}
	}
	eachEngine(func(t *testing.T, e fxEnv) {
		// 1,000.00 SGD (cross-currency) and 1,000.00 EUR: 742.50 + 1,085.00 = 1,827.50 USD.
		for _, h := range [][2]string{{"1000.00", "SGD"}, {"1000.00", "EUR"}} {
			if _, err := e.holdCap(t, h[0], h[1]); err != nil {
				t.Fatalf("%s %s: %v", h[0], h[1], err)
			}
		}
		// 300.00 SGD more: SGD -1,300.00 × 0.7425 = -965.25, total 2,050.25: refused.
		before, quotes := e.snapshot(t), e.quotes(t)
		_, err := e.holdCap(t, "300.00", "SGD")
		wantCode(t, err, "net_debit_cap_total_exceeded", "amount")
		const msg = "amount: holding 300.00 SGD (222.75 USD at the mid rate 0.7425) would take bank OCBCSGSG to a total debit of 2050.25 USD across currencies, past its multi-currency net debit cap of 2000.00 USD (current converted exposure 1827.50 USD)"
		if err.Error() != msg {
			t.Fatalf("message\n got  %s\n want %s", err, msg)
		}
		e.unchanged(t, before)
		if e.quotes(t) != quotes {
			t.Fatal("the quotes changed")
		}
		// In a batch, earlier holds count: 150.00 EUR (162.75 USD) alone would
		// fit the 172.50 left, not after 150.00 SGD (SGD -1,150.00 × 0.7425 =
		// -853.875 → -853.88, 111.38 more).
		res, err := e.s.HoldBatch(ctx, []clearing.HoldRequest{
			{BuyerBankID: capBank, MerchantID: e.w.Merchants[0].ID, Amount: amount(t, "150.00", "SGD")},
			{BuyerBankID: capBank, MerchantID: e.w.Merchants[0].ID, Amount: amount(t, "150.00", "EUR")},
		}, storetest.Operator)
		if err != nil || res[0].Err != nil {
			t.Fatalf("batch %v %+v", err, res)
		}
		wantCode(t, res[1].Err, "net_debit_cap_total_exceeded", "amount")
		// 80.00 SGD fits: SGD -1,230.00 × 0.7425 = -913.275 → -913.28 (a debit rounds away from zero); total 1,998.28.
		if _, err := e.holdCap(t, "80.00", "SGD"); err != nil {
			t.Fatal(err)
		}
		x := exposureOf(t, e.s, capBank)
		var lines []string
		for _, l := range x.Lines {
			lines = append(lines, fmt.Sprintf("%s %s × %s = %s via %s", l.Currency, fx.MustCurrency(l.Currency).FromMinor(l.NetMinor).Value(), l.Rate,
				fx.MustCurrency("USD").FromMinor(l.ConvertedMinor).Value(), strings.Join(l.Path, " + ")))
		}
		stamp := e.clock.now().Format(time.RFC3339)
		wantLines(t, lines, []string{
			"EUR -1000.00 × 1.085 = -1085.00 via EUR/USD KSTLGB2L " + stamp,
			"SGD -1230.00 × 0.7425 = -913.28 via SGD/USD KSTLGB2L " + stamp,
		})
		if h, ok := x.Headroom(); x.Currency != "USD" || !x.DebitKnown || x.DebitMinor != 1_998_28 || !x.NetKnown || x.NetMinor != -1_998_28 || !ok || h != 1_72 {
			t.Fatalf("exposure %+v", x)
		}
		// Everyone's: KSTLGB2L delivered EUR into escrow and received SGD.
		rep, err := e.s.Exposures(ctx, store.ParticipantFilter{})
		if err != nil || rep.Currency != "USD" || rep.CycleID != 1 || len(rep.Participants) != 5 {
			t.Fatalf("report %+v %v", rep, err)
		}
		for _, p := range rep.Participants {
			if p.Participant == storetest.FXProviderBIC && (len(p.Lines) != 2 || p.Lines[0].NetMinor >= 0 || p.Lines[1].NetMinor <= 0 || p.Cap.Set()) {
				t.Fatalf("provider exposure %+v", p)
			}
		}

		// A day later SGD/USD has expired: OCBCSGSG's SGD debit cannot be
		// converted, so even a same-currency EUR hold is refused, not guessed.
		e.clock.advance(24*time.Hour + time.Second)
		before = e.snapshot(t)
		_, err = e.holdCap(t, "1.00", "EUR")
		wantCode(t, err, "exposure_rate_unavailable", "currency")
		if !strings.Contains(err.Error(), "its debit in SGD cannot be converted into USD") || !strings.Contains(err.Error(), "SGD/USD") {
			t.Fatalf("message: %v", err)
		}
		e.unchanged(t, before)
		x = exposureOf(t, e.s, capBank)
		if l, _ := x.Line("SGD"); l.Converted || !strings.Contains(l.Missing, "stale rate") || x.DebitKnown || x.NetKnown {
			t.Fatalf("exposure without a rate %+v", x)
		}
		// Banks without a multi-currency cap need no rate.
		if _, err := e.s.Hold(ctx, clearing.HoldRequest{BuyerBankID: "DBSSSGSG", MerchantID: e.w.Merchants[0].ID, Amount: amount(t, "1.00", "EUR")}, storetest.Operator); err != nil {
			t.Fatal(err)
		}
		e.ledgerOK(t)
	})
}

// Racing holds in two currencies never take the bank past its
// multi-currency cap, and none is refused while it would still have fit.
func TestRacingHoldsRespectTheMultiCurrencyCap(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := newCapEnv(t, engine)
			if _, err := e.holdCap(t, "1000.00", "SGD"); err != nil { // 742.50 USD
				t.Fatal(err)
			}
			const n = 16 // 8 × 108.50 (100.00 EUR) + 8 × 74.25 (100.00 SGD) = 1,462.00 > the 1,257.50 left
			errs := make([]error, n)
			race(n, func(i int) {
				ccy := "EUR"
				if i%2 == 1 {
					ccy = "SGD"
				}
				_, errs[i] = e.holdCap(t, "100.00", ccy)
			})
			var held, refused [2]int
			for i, err := range errs {
				switch ce, _ := clearing.AsError(err); {
				case err == nil:
					held[i%2]++
				case ce != nil && ce.Code == "net_debit_cap_total_exceeded":
					refused[i%2]++
				default:
					t.Fatalf("hold %d: %v", i, err)
				}
			}
			x := exposureOf(t, e.s, capBank)
			want := int64(742_50 + held[0]*108_50 + held[1]*74_25)
			h, _ := x.Headroom()
			t.Logf("held %d EUR and %d SGD, refused %d and %d; total debit %d, headroom %d", held[0], held[1], refused[0], refused[1], x.DebitMinor, h)
			if x.DebitMinor != want || x.DebitMinor > 2_000_00 {
				t.Fatalf("total debit %d, the holds say %d (cap 2,000.00)", x.DebitMinor, want)
			}
			if refused[0]+refused[1] == 0 || (refused[0] > 0 && h >= 108_50) || (refused[1] > 0 && h >= 74_25) {
				t.Fatalf("refused %v with %d headroom left", refused, h)
			}
			e.ledgerOK(t)
		})
	}
}

package store_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

// TestRandomHistoriesBalance drives the real store with random holds (a
// third of them cross-currency, converted by an FX provider with a fee and a
// spread), partial releases, releases, disputes, resolutions, refunds (of
// cross-currency payments at fresh rates the provider keeps moving),
// auto-releases and cycle closes across random banks and currencies (0, 2
// and 3 minor units), then checks the books after every close. Seed 1
// books the FX result of refunds to the operator, seed 2 charges it to the
// merchant's bank.
func TestRandomHistoriesBalance(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			for seed := uint64(1); seed <= 2; seed++ {
				t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { randomHistory(t, engine, seed) })
			}
		})
	}
}

func randomHistory(t *testing.T, engine string, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	c := newClock()
	book := &fx.Book{}
	charge := clearing.ChargeOperator
	if seed%2 == 0 {
		charge = clearing.ChargeMerchant
	}
	s := storetest.Open(t, engine, store.Options{Now: c.now, ReleaseAfter: 72 * time.Hour,
		FX: store.FXOptions{Book: book, Provider: "FFFFGB2L", FeeBps: 25, SpreadBps: 40, ResultChargedTo: charge}})
	currencies := []string{"EUR", "JPY", "BHD", "USD"}
	settles := make([]clearing.SettlementCurrency, len(currencies))
	for i, ccy := range currencies {
		settles[i] = clearing.SettlementCurrency{Currency: ccy, NetDebitCapMinor: 5_000_000}
	}
	var banks []string
	for i, bic := range []string{"AAAADEFF", "BBBBSGSG", "CCCCUS33", "DDDDJPJT", "EEEEBHBM"} {
		country := bic[4:6]
		p, err := s.CreateParticipant(ctx, clearing.Participant{Kind: clearing.Bank, BIC: bic, Name: fmt.Sprint("bank ", i), Country: country, Jurisdiction: country, Currencies: settles}, storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		banks = append(banks, p.ID)
	}
	if _, err := s.CreateParticipant(ctx, clearing.Participant{Kind: clearing.FXProvider, BIC: "FFFFGB2L", Name: "FX", Country: "GB", Jurisdiction: "GB", Currencies: settles}, storetest.Operator); err != nil {
		t.Fatal(err)
	}
	// Reference rates for the whole history; the provider's own, posted
	// now and then, move around them and take precedence.
	reference := map[string]decimal.Decimal{"JPY": decimal.RequireFromString("162.45"), "BHD": decimal.RequireFromString("0.4079"), "USD": decimal.RequireFromString("1.0835")}
	postRates := func(source string, move func(decimal.Decimal) decimal.Decimal) {
		var rs []fx.Rate
		for ccy, r := range reference {
			bid := move(r)
			rs = append(rs, fx.Rate{Pair: fx.Pair{Base: "EUR", Quote: ccy}, Bid: bid, Ask: bid.Add(bid.Mul(decimal.New(1, -3))).Truncate(8), Source: source,
				AsOf: c.now(), ValidUntil: c.now().Add(365 * 24 * time.Hour)})
		}
		if err := s.PostRates(ctx, rs, storetest.Operator); err != nil {
			t.Fatal(err)
		}
	}
	postRates(fx.SourceECB, func(d decimal.Decimal) decimal.Decimal { return d })
	var merchants []clearing.Merchant
	for i := 0; i < 8; i++ {
		m, err := s.CreateMerchant(ctx, clearing.Merchant{Name: fmt.Sprint("merchant ", i), Country: "DE", Currency: currencies[i%len(currencies)], Account: fmt.Sprint("ACC", i), BankID: banks[i%len(banks)]}, storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		merchants = append(merchants, m)
	}

	var live, liveFX []string
	refused := 0
	for step := 0; step < 400; step++ {
		c.advance(time.Duration(rng.IntN(3600)) * time.Second)
		switch op := rng.IntN(20); {
		case op < 7 || len(live) == 0:
			var reqs []clearing.HoldRequest
			for n := 1 + rng.IntN(4); n > 0; n-- {
				m := merchants[rng.IntN(len(merchants))]
				cur := fx.MustCurrency(m.Currency)
				if rng.IntN(3) == 0 {
					cur = fx.MustCurrency(currencies[rng.IntN(len(currencies))]) // cross-currency, unless it happens to match
				}
				reqs = append(reqs, clearing.HoldRequest{BuyerBankID: banks[rng.IntN(len(banks))], MerchantID: m.ID, Amount: cur.FromMinor(1 + rng.Int64N(400_000))})
			}
			res, err := s.HoldBatch(ctx, reqs, storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					refused++ // caps bite now and then
					continue
				}
				live = append(live, r.Payment.ID)
				if r.Payment.IsFX() {
					liveFX = append(liveFX, r.Payment.ID)
				}
			}
		case op < 16:
			id := live[rng.IntN(len(live))]
			if len(liveFX) > 0 && rng.IntN(3) == 0 {
				id = liveFX[rng.IntN(len(liveFX))]
			}
			a := clearing.Action{Kind: []clearing.ActionKind{clearing.ActionRelease, clearing.ActionDispute, clearing.ActionRefund, clearing.ActionResolve}[rng.IntN(4)]}
			if a.Kind == clearing.ActionRelease && rng.IntN(2) == 0 {
				p, _, err := s.Payment(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if h := p.HeldMinor(); h > 1 {
					a.AmountMinor = 1 + rng.Int64N(h-1)
				}
			}
			if a.Kind == clearing.ActionResolve {
				a.Decision = []clearing.Decision{clearing.DecideRelease, clearing.DecideRefund}[rng.IntN(2)]
			}
			if _, err := s.Act(ctx, id, a, storetest.Operator); err != nil {
				if _, domain := clearing.AsError(err); !domain {
					t.Fatalf("%s %s: %v", a.Kind, id, err)
				}
				refused++
			}
		case op < 17:
			// The provider moves its rates up to ±5 % around the reference.
			postRates("FFFFGB2L", func(d decimal.Decimal) decimal.Decimal {
				return d.Mul(decimal.New(int64(950+rng.IntN(101)), -3)).Truncate(8)
			})
		case op < 18:
			c.advance(24 * time.Hour)
			if _, err := s.ReleaseDue(ctx, 1000); err != nil {
				t.Fatal(err)
			}
		default:
			closeAndCheck(t, s)
		}
	}
	closeAndCheck(t, s)
	if refused == 0 || len(live) < 100 {
		t.Fatalf("the history is too tame: %d payments, %d refusals", len(live), refused)
	}
	var fxPayments, fxRefunded int
	if err := s.DB().NewRaw("SELECT COUNT(*) FROM payments WHERE sell_currency <> ''").Scan(ctx, &fxPayments); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().NewRaw("SELECT COUNT(*) FROM payments WHERE sell_currency <> '' AND refunded_minor > 0").Scan(ctx, &fxRefunded); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d payments, %d cross-currency, %d of them refunded", len(live), fxPayments, fxRefunded)
	if fxPayments < len(live)/6 || fxRefunded == 0 {
		t.Fatalf("too few cross-currency payments: %d of %d, %d refunded", fxPayments, len(live), fxRefunded)
	}
	// Every cross-currency payment records the configured bearer.
	var bearers []string
	if err := s.DB().NewRaw("SELECT DISTINCT CASE WHEN fx_result_owner = merchant_bank_id THEN 'merchant' ELSE fx_result_owner END FROM payments WHERE sell_currency <> ''").Scan(ctx, &bearers); err != nil {
		t.Fatal(err)
	}
	want := clearing.FXResultAccount
	if charge == clearing.ChargeMerchant {
		want = "merchant"
	}
	if len(bearers) != 1 || bearers[0] != want {
		t.Fatalf("FX result bearers %v, want %s", bearers, want)
	}
}

func closeAndCheck(t *testing.T, s *store.Store) {
	t.Helper()
	cyc, err := s.CloseCycle(ctx, storetest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	for _, p := range cyc.Result.Positions {
		sums[p.Currency] += p.NetMinor
		if p.NetMinor != p.ReceivedMinor-p.PaidMinor {
			t.Fatalf("position %+v: net ≠ received − paid", p)
		}
	}
	for ccy, sum := range sums {
		if sum != 0 {
			t.Fatalf("cycle %d: %s nets sum to %d", cyc.ID, ccy, sum)
		}
	}
	chk, err := s.CheckLedger(ctx)
	if err != nil || !chk.OK {
		t.Fatalf("after cycle %d: %+v %v", cyc.ID, chk, err)
	}
	// The cycle's FX results are the FX result legs of its refunds, each
	// borne by the account its payment recorded at hold time.
	var legs []struct {
		Bearer   string `bun:"bearer"`
		Currency string `bun:"currency"`
		Kind     string `bun:"kind"`
		Minor    int64  `bun:"minor"`
	}
	if err := s.DB().NewRaw("SELECT p.fx_result_owner AS bearer, po.currency, po.kind, po.amount_minor AS minor FROM postings po JOIN payments p ON p.id = po.payment_id WHERE po.cycle_id = ? AND po.kind IN (?, ?)",
		cyc.ID, clearing.PostFXResult, clearing.PostFXResultGain).Scan(ctx, &legs); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for _, l := range legs {
		if l.Kind == string(clearing.PostFXResult) {
			want[l.Bearer+" "+l.Currency] -= l.Minor
		} else {
			want[l.Bearer+" "+l.Currency] += l.Minor
		}
	}
	reloaded, err := s.Cycle(ctx, cyc.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range reloaded.Result.FXResults {
		got[r.Bearer+" "+r.Currency] = r.NetMinor
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(cyc.Result.FXResults) != len(reloaded.Result.FXResults) {
		t.Fatalf("cycle %d FX results %v (stored %v), the legs say %v", cyc.ID, cyc.Result.FXResults, got, want)
	}
	// the escrow balance equals what payments still hold, computed independently here
	held := map[string]int64{}
	fees := map[string]int64{} // what the fees account keeps: F less the refunded shares
	for cursor := ""; ; {
		page, err := s.Payments(ctx, store.PaymentFilter{Limit: store.MaxPage, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Payments {
			held[p.Currency] += p.HeldMinor()
			if p.IsFX() {
				_, fr, _ := p.RefundedSell()
				fees[p.SellCurrency] += p.FeeMinor - fr
			}
			if p.ReleasedMinor+p.RefundedMinor+p.HeldMinor() != p.AmountMinor {
				t.Fatalf("payment %+v does not add up", p)
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	for _, c := range chk.Currencies {
		if c.EscrowBalanceMinor != held[c.Currency] {
			t.Fatalf("%s escrow %d, payments hold %d", c.Currency, c.EscrowBalanceMinor, held[c.Currency])
		}
	}
	var kept []struct {
		Currency string `bun:"currency"`
		Minor    int64  `bun:"minor"`
	}
	if err := s.DB().NewRaw("SELECT currency, SUM(received_minor - paid_minor) AS minor FROM positions WHERE owner = ? GROUP BY currency", clearing.FeesAccount).Scan(ctx, &kept); err != nil {
		t.Fatal(err)
	}
	for _, k := range kept {
		if k.Minor != fees[k.Currency] {
			t.Fatalf("the fees account holds %d %s, the payments say %d", k.Minor, k.Currency, fees[k.Currency])
		}
		delete(fees, k.Currency)
	}
	for ccy, f := range fees {
		if f != 0 {
			t.Fatalf("the fees account has no %s, the payments say %d", ccy, f)
		}
	}
}

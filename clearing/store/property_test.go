package store_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

// TestRandomHistoriesBalance drives the real store with random holds,
// partial releases, releases, disputes, resolutions, refunds, auto-releases
// and cycle closes across random banks and currencies (0, 2 and 3 minor
// units), then checks the books after every close.
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
	s := storetest.Open(t, engine, store.Options{Now: c.now, ReleaseAfter: 72 * time.Hour})
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
	var merchants []clearing.Merchant
	for i := 0; i < 8; i++ {
		m, err := s.CreateMerchant(ctx, clearing.Merchant{Name: fmt.Sprint("merchant ", i), Country: "DE", Currency: currencies[i%len(currencies)], Account: fmt.Sprint("ACC", i), BankID: banks[i%len(banks)]}, storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		merchants = append(merchants, m)
	}

	var live []string
	refused := 0
	for step := 0; step < 400; step++ {
		c.advance(time.Duration(rng.IntN(3600)) * time.Second)
		switch op := rng.IntN(20); {
		case op < 7 || len(live) == 0:
			var reqs []clearing.HoldRequest
			for n := 1 + rng.IntN(4); n > 0; n-- {
				m := merchants[rng.IntN(len(merchants))]
				cur := fx.MustCurrency(m.Currency)
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
			}
		case op < 16:
			id := live[rng.IntN(len(live))]
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
	// the escrow balance equals what payments still hold, computed independently here
	held := map[string]int64{}
	for cursor := ""; ; {
		page, err := s.Payments(ctx, store.PaymentFilter{Limit: store.MaxPage, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Payments {
			held[p.Currency] += p.HeldMinor()
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
}

package store_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

// benchPaymentsEnv sets how many payments BenchmarkCloseCycleCrossCurrency
// builds its cycle from; default DefaultBenchPayments.
const (
	benchPaymentsEnv     = "CROSSCLEAR_BENCH_PAYMENTS"
	DefaultBenchPayments = 1_000_000
)

func benchPayments(b *testing.B) int {
	v := os.Getenv(benchPaymentsEnv)
	if v == "" {
		return DefaultBenchPayments
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number of payments", benchPaymentsEnv, v)
	}
	return n
}

// BenchmarkCloseCycleCrossCurrency times closing a cycle of cross-currency
// payments: the cycle is built outside the timer with HoldBatch (batches
// of store.MaxBatch payments, each quoted at hold time, so four postings
// each: fee, spread, conversion, delivery), then CloseCycle nets every
// posting, checks the nets against the running positions and stores the
// result. Building 1,000,000 payments takes minutes; set
// CROSSCLEAR_BENCH_PAYMENTS for a smaller cycle:
//
//	CROSSCLEAR_BENCH_PAYMENTS=100000 go test ./clearing/store -run XXX -bench CloseCycleCrossCurrency -benchtime 1x -timeout 3h
func BenchmarkCloseCycleCrossCurrency(b *testing.B) {
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) { benchCloseCycleFX(b, engine, benchPayments(b)) })
	}
}

func benchCloseCycleFX(b *testing.B, engine string, n int) {
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	book := &fx.Book{}
	const provider = "FXBKGB2L"
	s := storetest.Open(b, engine, store.Options{Now: clock, FX: store.FXOptions{Book: book, Provider: provider, FeeBps: 30, SpreadBps: 50, QuoteTTL: time.Hour}})
	// Buyers' banks pay in their currency, merchants are settled in EUR, USD or GBP.
	sells := []string{"SGD", "JPY", "CHF", "AUD", "CAD", "HKD", "SEK", "NOK"}
	buys := []string{"EUR", "USD", "GBP"}
	all := append(append([]string{}, sells...), buys...)
	unlimited := func(ccys []string) []clearing.SettlementCurrency {
		var cs []clearing.SettlementCurrency
		for _, c := range ccys {
			cs = append(cs, clearing.SettlementCurrency{Currency: c, NetDebitCapMinor: fx.MaxMinor})
		}
		return cs
	}
	if _, err := s.CreateParticipant(ctx, clearing.Participant{Kind: clearing.FXProvider, BIC: provider, Name: "FX", Country: "GB", Jurisdiction: "GB", Currencies: unlimited(all)}, storetest.Operator); err != nil {
		b.Fatal(err)
	}
	// 40 banks, each the buyer's bank of payments in its currency and the
	// bank of one merchant.
	var buyers, merchants, buyerCcy []string
	for i := 0; i < 40; i++ {
		bic := fmt.Sprintf("BK%c%cSGSG", 'A'+i/26, 'A'+i%26)
		p, err := s.CreateParticipant(ctx, clearing.Participant{Kind: clearing.Bank, BIC: bic, Name: bic, Country: "SG", Jurisdiction: "SG", Currencies: unlimited(all)}, storetest.Operator)
		if err != nil {
			b.Fatal(err)
		}
		buyers = append(buyers, p.ID)
		buyerCcy = append(buyerCcy, sells[i%len(sells)])
		m, err := s.CreateMerchant(ctx, clearing.Merchant{Name: "m" + bic, Country: "SG", Currency: buys[i%len(buys)], Account: "ACC", BankID: p.ID}, storetest.Operator)
		if err != nil {
			b.Fatal(err)
		}
		merchants = append(merchants, m.ID)
	}
	var rates []fx.Rate
	for i, sell := range sells {
		for j, buy := range buys {
			bid := decimal.New(int64(5000+731*i+97*j), -4)
			rates = append(rates, fx.Rate{Pair: fx.Pair{Base: sell, Quote: buy}, Bid: bid, Ask: bid.Add(decimal.New(5, -4)), Source: provider, AsOf: now, ValidUntil: now.Add(24 * time.Hour)})
		}
	}
	if err := s.PostRates(ctx, rates, storetest.Operator); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var closeTime time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		start := time.Now()
		reqs := make([]clearing.HoldRequest, 0, store.MaxBatch)
		for done := 0; done < n; done += len(reqs) {
			reqs = reqs[:0]
			for k := 0; k < min(store.MaxBatch, n-done); k++ {
				j := done + k
				buyer, merchant := j%len(buyers), (j*7+3)%len(merchants) // sells and buys never meet: every payment converts
				reqs = append(reqs, clearing.HoldRequest{UETR: uuid.NewString(), BuyerBankID: buyers[buyer], MerchantID: merchants[merchant],
					Amount: fx.MustCurrency(buyerCcy[buyer]).FromMinor(int64(10_000 + j%90_000))})
			}
			res, err := s.HoldBatch(ctx, reqs, storetest.Operator)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil || !r.Payment.IsFX() {
					b.Fatalf("hold: %v %+v", r.Err, r.Payment)
				}
			}
		}
		b.Logf("%s: built a cycle of %d cross-currency payments in %s", engine, n, time.Since(start).Round(time.Second))
		b.StartTimer()
		t0 := time.Now()
		c, err := s.CloseCycle(ctx, storetest.Operator)
		closeTime += time.Since(t0)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		holds := 0
		for _, t := range c.Result.Currencies {
			holds += t.Holds
		}
		if holds != n || len(c.Result.Positions) == 0 {
			b.Fatalf("cycle %d: %d holds netted, want %d", c.ID, holds, n)
		}
		b.StartTimer()
	}
	secs := closeTime.Seconds() / float64(b.N)
	b.ReportMetric(secs, "s/close")
	b.ReportMetric(float64(n)/secs, "payments/s")
	b.ReportMetric(float64(4*n)/secs, "postings/s")
}

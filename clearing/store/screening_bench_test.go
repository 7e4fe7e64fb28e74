package store_test

import (
	"fmt"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/compliance/compliancetest"
	"github.com/crossclear/crossclear/fx"
)

// BenchmarkScreenedHold measures durable holds behind compliance
// screening: the sample lists and the example rules (velocity and
// structuring read the recorded decisions), batches of 1,000, every
// decision recorded. Compare with BenchmarkDurableHoldRelease.
//
//	go test ./clearing/store -run XXX -bench ScreenedHold -benchtime 20x
func BenchmarkScreenedHold(b *testing.B) {
	rules, err := compliance.LoadRules("../../compliance/rules.example.json")
	if err != nil {
		b.Fatal(err)
	}
	rules.BaseCurrency = "EUR" // no FX rate book here
	sc := compliancetest.Screener(b, compliance.Config{Rules: rules})
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			s := storetest.Open(b, engine, store.Options{Screener: sc})
			var banks, merchants []string
			for i, bic := range []string{"AAAADEFF", "BBBBSGSG", "CCCCUS33", "DDDDGB2L"} {
				p, err := s.CreateParticipant(ctx, clearing.Participant{Kind: clearing.Bank, BIC: bic, Name: "Bank " + bic, Country: bic[4:6], Jurisdiction: bic[4:6],
					Currencies: []clearing.SettlementCurrency{{Currency: "EUR", NetDebitCapMinor: fx.MaxMinor}}}, storetest.Operator)
				if err != nil {
					b.Fatal(err)
				}
				banks = append(banks, p.ID)
				m, err := s.CreateMerchant(ctx, clearing.Merchant{Name: fmt.Sprintf("Shop %d Trading", i), Country: bic[4:6], Currency: "EUR", Account: fmt.Sprint("ACC", i), BankID: p.ID}, storetest.Operator)
				if err != nil {
					b.Fatal(err)
				}
				merchants = append(merchants, m.ID)
			}
			eur := fx.MustCurrency("EUR")
			const batch = 1000
			reqs := make([]clearing.HoldRequest, batch)
			held := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range reqs {
					reqs[j] = clearing.HoldRequest{BuyerBankID: banks[j%len(banks)], MerchantID: merchants[(j+1)%len(merchants)], Amount: eur.FromMinor(int64(100 + j))}
				}
				res, err := s.HoldBatch(ctx, reqs, storetest.Operator)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					if r.Err == nil {
						held++
					}
				}
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "payments/s")
			b.ReportMetric(float64(held)/float64(batch*b.N), "held/payment")
		})
	}
}

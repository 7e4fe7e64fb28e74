package store_test

import (
	"fmt"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

// BenchmarkDurableHoldRelease measures durable escrow transitions: each
// iteration holds a batch of payments in one transaction and releases them
// in another, so 2×batch transitions are committed per iteration.
//
//	go test ./clearing/store -run XXX -bench DurableHoldRelease -benchtime 20x
func BenchmarkDurableHoldRelease(b *testing.B) {
	for _, engine := range storetest.Engines {
		for _, batch := range []int{1, 100, 1000} {
			b.Run(fmt.Sprintf("%s/batch=%d", engine, batch), func(b *testing.B) { benchHoldRelease(b, engine, batch) })
		}
	}
}

func benchHoldRelease(b *testing.B, engine string, batch int) {
	s := storetest.Open(b, engine, store.Options{})
	var banks []string
	for _, bic := range []string{"AAAADEFF", "BBBBSGSG", "CCCCUS33", "DDDDGB2L"} {
		p, err := s.CreateParticipant(ctx, clearing.Participant{Kind: clearing.Bank, BIC: bic, Name: bic, Country: bic[4:6], Jurisdiction: bic[4:6],
			Currencies: []clearing.SettlementCurrency{{Currency: "EUR", NetDebitCapMinor: fx.MaxMinor}}}, storetest.Operator)
		if err != nil {
			b.Fatal(err)
		}
		banks = append(banks, p.ID)
	}
	var merchants []string
	for i, bank := range banks {
		m, err := s.CreateMerchant(ctx, clearing.Merchant{Name: fmt.Sprint("m", i), Country: "DE", Currency: "EUR", Account: "ACC", BankID: bank}, storetest.Operator)
		if err != nil {
			b.Fatal(err)
		}
		merchants = append(merchants, m.ID)
	}
	eur := fx.MustCurrency("EUR")
	reqs := make([]clearing.HoldRequest, batch)
	acts := make([]store.ActRequest, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range reqs {
			reqs[j] = clearing.HoldRequest{BuyerBankID: banks[j%len(banks)], MerchantID: merchants[(j+1)%len(merchants)], Amount: eur.FromMinor(int64(100 + j))}
		}
		res, err := s.HoldBatch(ctx, reqs, storetest.Operator)
		if err != nil {
			b.Fatal(err)
		}
		for j, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			acts[j] = store.ActRequest{PaymentID: r.Payment.ID, Action: clearing.Action{Kind: clearing.ActionRelease}, By: storetest.Operator}
		}
		out, err := s.ActBatch(ctx, acts)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range out {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
	b.ReportMetric(float64(2*batch*b.N)/b.Elapsed().Seconds(), "transitions/s")
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "payments/s") // each held and released
}

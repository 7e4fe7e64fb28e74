package storetest

import (
	"context"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
)

// Operator is the actor test fixtures act as.
var Operator = clearing.Actor{Role: clearing.RoleOperator, Subject: "key_test"}

// World is a small scheme: three banks in three jurisdictions and a
// merchant at each.
type World struct {
	Banks     []clearing.Participant // DEUTDEFF (DE, EUR), DBSSSGSG (SG, SGD+EUR), CHASUS33 (US-NY, USD+EUR)
	Merchants []clearing.Merchant    // one per bank, in EUR at DE, SGD at SG, USD at US
}

// CapMinor is every fixture bank's net debit cap in every currency.
const CapMinor = 1_000_000_00

// Seed creates the World in s.
func Seed(t testing.TB, s *store.Store) World {
	t.Helper()
	ctx := context.Background()
	var w World
	for _, p := range []clearing.Participant{
		{Kind: clearing.Bank, BIC: "DEUTDEFF", Name: "Deutsche Test Bank", Country: "DE", Jurisdiction: "DE",
			Currencies: []clearing.SettlementCurrency{{Currency: "EUR", NetDebitCapMinor: CapMinor}}},
		{Kind: clearing.Bank, BIC: "DBSSSGSG", Name: "DBS Test", Country: "SG", Jurisdiction: "SG",
			Currencies: []clearing.SettlementCurrency{{Currency: "SGD", NetDebitCapMinor: CapMinor}, {Currency: "EUR", NetDebitCapMinor: CapMinor}}},
		{Kind: clearing.Bank, BIC: "CHASUS33", Name: "Chase Test", Country: "US", Jurisdiction: "US-NY",
			Currencies: []clearing.SettlementCurrency{{Currency: "USD", NetDebitCapMinor: CapMinor}, {Currency: "EUR", NetDebitCapMinor: CapMinor}}},
	} {
		created, err := s.CreateParticipant(ctx, p, Operator)
		if err != nil {
			t.Fatalf("seed %s: %v", p.BIC, err)
		}
		w.Banks = append(w.Banks, created)
	}
	for i, m := range []clearing.Merchant{
		{Name: "Berlin Books", Country: "DE", Currency: "EUR", Account: "DE89370400440532013000"},
		{Name: "Lion City Gadgets", Country: "SG", Currency: "SGD", Account: "0123456789"},
		{Name: "Hudson Crafts", Country: "US", Currency: "USD", Account: "021000021-12345"},
	} {
		m.BankID = w.Banks[i].ID
		created, err := s.CreateMerchant(ctx, m, Operator)
		if err != nil {
			t.Fatalf("seed merchant %s: %v", m.Name, err)
		}
		w.Merchants = append(w.Merchants, created)
	}
	return w
}

// FXProviderBIC is the fixture FX provider's BIC (and id).
const FXProviderBIC = "KSTLGB2L"

// SeedFX creates the fixture FX provider, KSTLGB2L in GB, converting
// between EUR, SGD and USD, with the fixture cap in each.
func SeedFX(t testing.TB, s *store.Store) clearing.Participant {
	t.Helper()
	p, err := s.CreateParticipant(context.Background(), clearing.Participant{Kind: clearing.FXProvider, BIC: FXProviderBIC, Name: "Kestrel FX Test", Country: "GB", Jurisdiction: "GB",
		Currencies: []clearing.SettlementCurrency{{Currency: "EUR", NetDebitCapMinor: CapMinor}, {Currency: "SGD", NetDebitCapMinor: CapMinor}, {Currency: "USD", NetDebitCapMinor: CapMinor}}}, Operator)
	if err != nil {
		t.Fatalf("seed FX provider: %v", err)
	}
	return p
}

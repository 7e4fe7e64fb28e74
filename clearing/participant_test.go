package clearing

import (
	"strings"
	"testing"

	"github.com/crossclear/crossclear/fx"
)

func TestParticipantValidate(t *testing.T) {
	many := func(n int) []SettlementCurrency {
		all := fx.Currencies()
		out := make([]SettlementCurrency, n)
		for i := range out {
			out[i] = SettlementCurrency{Currency: all[i].Code}
		}
		return out
	}
	tests := []struct {
		name   string
		edit   func(*Participant)
		code   string // "" when valid
		field  string
		detail string // must appear in the message
	}{
		{name: "valid bank", edit: func(*Participant) {}},
		{name: "valid fx provider", edit: func(p *Participant) { p.Kind = FXProvider }},
		{name: "11 character BIC", edit: func(p *Participant) { p.BIC = "DBSSSGSGXXX" }},
		{name: "BIC with digits in location and branch", edit: func(p *Participant) { p.BIC = "DBSSSG2S123" }},
		{name: "subdivision jurisdiction", edit: func(p *Participant) {
			p.BIC, p.Country, p.Jurisdiction = "CHASUS33", "US", "US-NY"
		}},
		{name: "one-character subdivision", edit: func(p *Participant) {
			p.BIC, p.Country, p.Jurisdiction = "CHASUS33", "US", "US-1"
		}},
		{name: "name at the limit", edit: func(p *Participant) { p.Name = strings.Repeat("n", MaxNameLen) }},
		{name: "zero cap", edit: func(p *Participant) { p.Currencies[0].NetDebitCapMinor = 0 }},
		{name: "cap at MaxMinor", edit: func(p *Participant) { p.Currencies[0].NetDebitCapMinor = fx.MaxMinor }},
		{name: "currencies at the limit", edit: func(p *Participant) { p.Currencies = many(MaxCurrencies) }},
		{name: "currency with 0 minor units", edit: func(p *Participant) { p.Currencies = []SettlementCurrency{{"JPY", 1}} }},
		{name: "currency with 3 minor units", edit: func(p *Participant) { p.Currencies = []SettlementCurrency{{"BHD", 1}} }},

		{name: "empty kind", edit: func(p *Participant) { p.Kind = "" }, code: "invalid_kind", field: "kind"},
		{name: "unknown kind", edit: func(p *Participant) { p.Kind = "broker" }, code: "invalid_kind", field: "kind", detail: "broker"},
		{name: "empty BIC", edit: func(p *Participant) { p.BIC = "" }, code: "invalid_bic", field: "bic"},
		{name: "lower-case BIC", edit: func(p *Participant) { p.BIC = "dbsssgsg" }, code: "invalid_bic", field: "bic", detail: "dbsssgsg"},
		{name: "7 character BIC", edit: func(p *Participant) { p.BIC = "DBSSSGS" }, code: "invalid_bic", field: "bic"},
		{name: "9 character BIC", edit: func(p *Participant) { p.BIC = "DBSSSGSGX" }, code: "invalid_bic", field: "bic"},
		{name: "10 character BIC", edit: func(p *Participant) { p.BIC = "DBSSSGSGXX" }, code: "invalid_bic", field: "bic"},
		{name: "12 character BIC", edit: func(p *Participant) { p.BIC = "DBSSSGSGXXXX" }, code: "invalid_bic", field: "bic"},
		{name: "digit in bank code", edit: func(p *Participant) { p.BIC = "DB5SSGSG" }, code: "invalid_bic", field: "bic", detail: `institution code "DB5S" must be 4 letters`},
		{name: "digit in country code", edit: func(p *Participant) { p.BIC = "DBSS5GSG" }, code: "invalid_bic", field: "bic", detail: `country code "5G" must be 2 letters`},
		{name: "bad location code", edit: func(p *Participant) { p.BIC = "DBSSSG_G" }, code: "invalid_bic", field: "bic", detail: `location code "_G"`},
		{name: "bad branch code", edit: func(p *Participant) { p.BIC = "DBSSSGSG-01" }, code: "invalid_bic", field: "bic", detail: `branch code "-01"`},
		{name: "lower-case BIC says capitals", edit: func(p *Participant) { p.BIC = "dbsssgsg" }, code: "invalid_bic", field: "bic", detail: "capitals"},
		{name: "BIC with spaces", edit: func(p *Participant) { p.BIC = "DBSS SGSG" }, code: "invalid_bic", field: "bic", detail: "9 characters"},
		{name: "unassigned country", edit: func(p *Participant) {
			p.BIC, p.Country, p.Jurisdiction = "DBSSZZSG", "ZZ", "ZZ"
		}, code: "invalid_country", field: "country", detail: `"ZZ"`},
		{name: "BIC country mismatch", edit: func(p *Participant) { p.BIC = "DEUTDEFF" }, code: "bic_country_mismatch", field: "country", detail: "DE"},
		{name: "lower-case country", edit: func(p *Participant) { p.Country = "sg" }, code: "bic_country_mismatch", field: "country"},
		{name: "empty country", edit: func(p *Participant) { p.Country = "" }, code: "bic_country_mismatch", field: "country"},
		{name: "empty name", edit: func(p *Participant) { p.Name = "" }, code: "invalid_name", field: "name"},
		{name: "name too long", edit: func(p *Participant) { p.Name = strings.Repeat("n", MaxNameLen+1) }, code: "invalid_name", field: "name"},
		{name: "empty jurisdiction", edit: func(p *Participant) { p.Jurisdiction = "" }, code: "invalid_jurisdiction", field: "jurisdiction"},
		{name: "lower-case jurisdiction", edit: func(p *Participant) { p.Jurisdiction = "sg" }, code: "invalid_jurisdiction", field: "jurisdiction"},
		{name: "alpha-3 jurisdiction", edit: func(p *Participant) { p.Jurisdiction = "SGP" }, code: "invalid_jurisdiction", field: "jurisdiction"},
		{name: "subdivision too long", edit: func(p *Participant) {
			p.BIC, p.Country, p.Jurisdiction = "CHASUS33", "US", "US-NYCX"
		}, code: "invalid_jurisdiction", field: "jurisdiction"},
		{name: "underscore subdivision", edit: func(p *Participant) {
			p.BIC, p.Country, p.Jurisdiction = "CHASUS33", "US", "US_NY"
		}, code: "invalid_jurisdiction", field: "jurisdiction"},
		{name: "empty subdivision", edit: func(p *Participant) {
			p.BIC, p.Country, p.Jurisdiction = "CHASUS33", "US", "US-"
		}, code: "invalid_jurisdiction", field: "jurisdiction"},
		{name: "jurisdiction in another country", edit: func(p *Participant) { p.Jurisdiction = "MY" }, code: "jurisdiction_country_mismatch", field: "jurisdiction"},
		{name: "subdivision of another country", edit: func(p *Participant) { p.Jurisdiction = "US-NY" }, code: "jurisdiction_country_mismatch", field: "jurisdiction"},
		{name: "nil currencies", edit: func(p *Participant) { p.Currencies = nil }, code: "no_currencies", field: "currencies"},
		{name: "empty currencies", edit: func(p *Participant) { p.Currencies = []SettlementCurrency{} }, code: "no_currencies", field: "currencies"},
		{name: "too many currencies", edit: func(p *Participant) { p.Currencies = many(MaxCurrencies + 1) }, code: "too_many_currencies", field: "currencies"},
		{name: "unknown currency", edit: func(p *Participant) { p.Currencies[1].Currency = "ZZZ" }, code: "unknown_currency", field: "currencies", detail: "ZZZ"},
		{name: "lower-case currency", edit: func(p *Participant) { p.Currencies[1].Currency = "usd" }, code: "unknown_currency", field: "currencies", detail: "USD"},
		{name: "empty currency", edit: func(p *Participant) { p.Currencies[0].Currency = "" }, code: "unknown_currency", field: "currencies"},
		{name: "withdrawn currency", edit: func(p *Participant) { p.Currencies[0].Currency = "HRK" }, code: "unknown_currency", field: "currencies"},
		{name: "duplicate currency", edit: func(p *Participant) { p.Currencies[2].Currency = "SGD" }, code: "duplicate_currency", field: "currencies", detail: "SGD"},
		{name: "negative cap", edit: func(p *Participant) { p.Currencies[1].NetDebitCapMinor = -1 }, code: "invalid_net_debit_cap", field: "currencies", detail: "USD"},
		{name: "cap above MaxMinor", edit: func(p *Participant) { p.Currencies[0].NetDebitCapMinor = fx.MaxMinor + 1 }, code: "invalid_net_debit_cap", field: "currencies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := buyerBank()
			tt.edit(&p)
			err := p.Validate()
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			e := wantError(t, err, Invalid, tt.code, tt.field)
			if !strings.Contains(e.Msg, tt.detail) {
				t.Errorf("message %q does not mention %q", e.Msg, tt.detail)
			}
		})
	}
}

func TestParticipantSettles(t *testing.T) {
	p := buyerBank()
	c, ok := p.Settles("USD")
	if !ok || c != (SettlementCurrency{"USD", 1_000_000_00}) {
		t.Errorf("Settles(USD) = %+v, %v", c, ok)
	}
	if c, ok := p.Settles("EUR"); ok || c != (SettlementCurrency{}) {
		t.Errorf("Settles(EUR) = %+v, %v, want nothing", c, ok)
	}
	if _, ok := p.Settles("usd"); ok {
		t.Error("Settles is case-insensitive")
	}
}

func TestSortCurrencies(t *testing.T) {
	cs := []SettlementCurrency{{"USD", 1}, {"EUR", 2}, {"JPY", 3}, {"BHD", 4}}
	SortCurrencies(cs)
	var got []string
	for _, c := range cs {
		got = append(got, c.Currency)
	}
	if strings.Join(got, ",") != "BHD,EUR,JPY,USD" {
		t.Errorf("sorted %v", got)
	}
	if cs[0].NetDebitCapMinor != 4 || cs[3].NetDebitCapMinor != 1 {
		t.Errorf("caps did not move with their currencies: %+v", cs)
	}
}

func TestMerchantValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Merchant, *Participant)
		kind  Kind
		code  string // "" when valid
		field string
	}{
		{name: "valid", edit: func(*Merchant, *Participant) {}},
		{name: "merchant in another country than its bank", edit: func(m *Merchant, _ *Participant) { m.Country = "FR" }},
		{name: "account at the limit", edit: func(m *Merchant, _ *Participant) { m.Account = strings.Repeat("1", MaxAccountLen) }},
		{name: "name at the limit", edit: func(m *Merchant, _ *Participant) { m.Name = strings.Repeat("n", MaxNameLen) }},

		{name: "empty name", edit: func(m *Merchant, _ *Participant) { m.Name = "" }, kind: Invalid, code: "invalid_name", field: "name"},
		{name: "name too long", edit: func(m *Merchant, _ *Participant) { m.Name = strings.Repeat("n", MaxNameLen+1) }, kind: Invalid, code: "invalid_name", field: "name"},
		{name: "empty country", edit: func(m *Merchant, _ *Participant) { m.Country = "" }, kind: Invalid, code: "invalid_country", field: "country"},
		{name: "lower-case country", edit: func(m *Merchant, _ *Participant) { m.Country = "de" }, kind: Invalid, code: "invalid_country", field: "country"},
		{name: "alpha-3 country", edit: func(m *Merchant, _ *Participant) { m.Country = "DEU" }, kind: Invalid, code: "invalid_country", field: "country"},
		{name: "unknown currency", edit: func(m *Merchant, _ *Participant) { m.Currency = "ZZZ" }, kind: Invalid, code: "unknown_currency", field: "currency"},
		{name: "lower-case currency", edit: func(m *Merchant, _ *Participant) { m.Currency = "usd" }, kind: Invalid, code: "unknown_currency", field: "currency"},
		{name: "empty account", edit: func(m *Merchant, _ *Participant) { m.Account = "" }, kind: Invalid, code: "invalid_account", field: "account"},
		{name: "account too long", edit: func(m *Merchant, _ *Participant) { m.Account = strings.Repeat("1", MaxAccountLen+1) }, kind: Invalid, code: "invalid_account", field: "account"},
		{name: "bank is an fx provider", edit: func(_ *Merchant, b *Participant) { b.Kind = FXProvider }, kind: Invalid, code: "not_a_bank", field: "bank_id"},
		{name: "suspended bank", edit: func(_ *Merchant, b *Participant) { b.Status = Suspended }, kind: Refused, code: "participant_suspended", field: "bank_id"},
		{name: "bank with no status", edit: func(_ *Merchant, b *Participant) { b.Status = "" }, kind: Refused, code: "participant_suspended", field: "bank_id"},
		{name: "currency not settled by the bank", edit: func(m *Merchant, _ *Participant) { m.Currency = "SGD" }, kind: Invalid, code: "currency_not_settled", field: "currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, b := testMerchant(), merchantBank()
			tt.edit(&m, &b)
			err := m.Validate(b)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			wantError(t, err, tt.kind, tt.code, tt.field)
		})
	}
}

func TestFixturesAreValid(t *testing.T) {
	for _, p := range []Participant{buyerBank(), merchantBank()} {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", p.ID, err)
		}
	}
	if err := testMerchant().Validate(merchantBank()); err != nil {
		t.Error(err)
	}
}

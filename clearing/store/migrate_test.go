package store_test

import (
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// A database at schema version 2, with a participant and a cross-currency
// payment written by that version, upgrades to version 3: the participant
// has no multi-currency cap, the payment's FX result stays the operator's.
func TestUpgradingAVersion2Database(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			s, err := store.Open(ctx, storetest.DSN(t, engine), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.MigrateTo(ctx, 2); err != nil {
				t.Fatal(err)
			}
			if v, err := s.SchemaVersion(ctx); err != nil || v != 2 {
				t.Fatalf("version %d %v", v, err)
			}
			for _, q := range []string{
				"INSERT INTO cycles (id, state, opened_at) VALUES (1, 'open', CURRENT_TIMESTAMP)",
				"INSERT INTO participants (id, kind, bic, name, country, jurisdiction, status, created_at) VALUES ('DBSSSGSG', 'bank', 'DBSSSGSG', 'DBS', 'SG', 'SG', 'active', CURRENT_TIMESTAMP)",
				"INSERT INTO participant_currencies (participant_id, currency, net_debit_cap_minor) VALUES ('DBSSSGSG', 'SGD', 100), ('DBSSSGSG', 'EUR', 100)",
				"INSERT INTO merchants (id, name, country, currency, account, bank_id, status, created_at) VALUES ('mer_1', 'Shop', 'SG', 'EUR', 'A', 'DBSSSGSG', 'active', CURRENT_TIMESTAMP)",
				`INSERT INTO payments (id, end_to_end_id, reference, buyer_bank_id, merchant_id, merchant_bank_id, buyer_jurisdiction, merchant_jurisdiction,
					currency, amount_minor, released_minor, refunded_minor, state, hold_cycle_id, version, created_at, updated_at,
					sell_currency, sell_minor, fee_minor, spread_minor, converted_minor, fx_provider_id, quote_id, fx_rate)
					VALUES ('3f2504e0-4f89-41d3-9a0c-0305e82c3301', '', '', 'DBSSSGSG', 'mer_1', 'DBSSSGSG', 'SG', 'SG', 'EUR', 67902, 0, 0, 'held', 1, 1,
					CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'SGD', 100000, 300, 500, 99200, 'KSTLGB2L', 'fxq_1', '0.6845')`,
			} {
				if _, err := s.DB().ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			// Upgrading runs migration 3 first, then every later one, over
			// the version-2 rows.
			applied, err := s.Migrate(ctx)
			if err != nil || len(applied) < 1 || applied[0] != "3 exposure and FX results" {
				t.Fatalf("upgrade: %v %v", applied, err)
			}
			p, err := s.Participant(ctx, "DBSSSGSG")
			if err != nil || p.NetDebitCapTotal.Set() || len(p.Currencies) != 2 {
				t.Fatalf("participant %+v %v", p, err)
			}
			pay, _, err := s.Payment(ctx, "3f2504e0-4f89-41d3-9a0c-0305e82c3301")
			if err != nil || pay.FXResultOwner != "" || pay.FXResultBearer() != clearing.FXResultAccount || !pay.IsFX() {
				t.Fatalf("payment %+v %v", pay, err)
			}
			c, err := s.CloseCycle(ctx, clearing.Actor{Role: clearing.RoleOperator, Subject: "test"})
			if err != nil || len(c.Result.FXResults) != 0 {
				t.Fatalf("close %+v %v", c, err)
			}
		})
	}
}

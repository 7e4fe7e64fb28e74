package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

// TestParticipantLimits: the CLI changes caps as the API does, prints the
// warning for a cap below the position, names the flag at fault, and the
// next hold sees the new cap.
func TestParticipantLimits(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, engine)
			env := map[string]string{"CROSSCLEAR_DATABASE": dsn}
			mustRun(t, env, "migrate")
			s := openTestStore(t, dsn)
			w := storetest.Seed(t, s)
			amt, _ := fx.ParseAmount("600.00", "EUR")
			if _, err := s.Hold(ctx, clearing.HoldRequest{BuyerBankID: w.Banks[1].ID, MerchantID: w.Merchants[0].ID, Amount: amt}, storetest.Operator); err != nil {
				t.Fatal(err)
			}
			out := mustRun(t, env, "participant", "limits", "DBSSSGSG", "--currency", "EUR", "--cap", "500.00", "--alarm-pct", "90", "--reason", "credit review")
			for _, want := range []string{"Participant DBSSSGSG (DBS Test): limits", "EUR", "500.00", "-600.00", "ALARM", "cap below position", "cap alarm at 90%",
				"warning: the net debit cap of 500.00 EUR is below the current debit of 600.00 EUR"} {
				if !strings.Contains(out, want) {
					t.Errorf("participant limits lacks %q:\n%s", want, out)
				}
			}
			one, _ := fx.ParseAmount("1.00", "EUR")
			if _, err := s.Hold(ctx, clearing.HoldRequest{BuyerBankID: w.Banks[1].ID, MerchantID: w.Merchants[0].ID, Amount: one}, storetest.Operator); err == nil {
				t.Fatal("a hold past the lowered cap passed")
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(mustRun(t, env, "participant", "limits", "DBSSSGSG", "--total-cap", "2000.00", "--reason", "board", "--json")), &doc); err != nil {
				t.Fatal(err)
			}
			if doc["net_debit_cap_total"] != "2000.00" || doc["alarm_threshold_pct"] != 90.0 || len(doc["warnings"].([]any)) != 1 {
				t.Fatalf("--json: %v", doc)
			}
			for _, c := range []struct {
				args []string
				code int
				want string
			}{
				{[]string{"DBSSSGSG", "--currency", "EUR", "--reason", "x"}, 2, "each --currency needs its --cap"},
				{[]string{"DBSSSGSG", "--currency", "EUR", "--cap", "1.005", "--reason", "x"}, 2, "--cap 1.005 (for EUR): "},
				{[]string{"DBSSSGSG", "--remove-currency", "EUR", "--reason", "x"}, 1, "--remove-currency EUR: cannot remove EUR"},
				{[]string{"DBSSSGSG", "--alarm-pct", "90"}, 2, "--reason is required"},
				{[]string{"DBSSSGSG", "--reason", "x"}, 2, "nothing to change"},
				{[]string{"NOPEDEFF", "--alarm-pct", "50", "--reason", "x"}, 1, "no participant NOPEDEFF"},
			} {
				code, _, errs := crossclear(t, env, append([]string{"participant", "limits"}, c.args...)...)
				if code != c.code || !strings.Contains(errs, c.want) {
					t.Errorf("participant limits %v: exit %d, want %d with %q:\n%s", c.args, code, c.code, c.want, errs)
				}
			}
		})
	}
}

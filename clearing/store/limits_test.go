package store_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

func intp(n int) *int { return &n }

// limitsAudits reads the participant.limits audit entries of id, oldest first.
func limitsAudits(t *testing.T, e env, id string) []struct {
	Actor, Detail string
} {
	t.Helper()
	var rows []struct {
		Actor, Detail string
	}
	if err := e.s.DB().NewRaw("SELECT actor, detail FROM audit_log WHERE action = 'participant.limits' AND object = ? ORDER BY id", id).Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestLowerCapBelowPosition: a cap lowered below the current debit is
// accepted with a warning and audited with old, new, who and why; the next
// debit is refused at once, a credit still passes, and a raised cap lets
// the next hold through.
func TestLowerCapBelowPosition(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		sg := e.w.Banks[1].ID
		e.hold(t, 1, 0, "400.00")
		small := e.hold(t, 1, 0, "200.00")

		var seen []clearing.CapUsage
		e.s.ObserveCaps(func(participant string, pct int, u clearing.CapUsage) {
			if participant == sg {
				seen = append(seen, u)
			}
		})
		l, err := e.s.UpdateParticipantLimits(ctx, sg, store.LimitsChange{
			Set: []clearing.SettlementCurrency{{Currency: "EUR", NetDebitCapMinor: 500_00}}, Reason: "credit review"}, storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		var eur clearing.CapUsage
		for _, u := range l.Usage {
			if u.Currency == "EUR" {
				eur = u
			}
		}
		if eur.CapMinor != 500_00 || eur.NetMinor != -600_00 || eur.HeadroomMinor() != -100_00 || !eur.BelowPosition() || !eur.Alarm(l.Participant.AlarmThresholdPct) {
			t.Fatalf("EUR usage after lowering: %+v", eur)
		}
		if w := l.Warnings(); len(w) != 1 || !strings.Contains(w[0], "500.00 EUR is below the current debit of 600.00 EUR") || !strings.Contains(w[0], "refused") {
			t.Fatalf("warnings: %q", w)
		}
		audits := limitsAudits(t, e, sg)
		if len(audits) != 1 || audits[0].Actor != storetest.Operator.String() {
			t.Fatalf("audit: %+v", audits)
		}
		var detail struct {
			Reason   string
			Old, New struct {
				Currencies        map[string]string
				AlarmThresholdPct int `json:"alarm_threshold_pct"`
			}
		}
		if err := json.Unmarshal([]byte(audits[0].Detail), &detail); err != nil {
			t.Fatal(err)
		}
		if detail.Reason != "credit review" || detail.Old.Currencies["EUR"] != "1000000.00" || detail.New.Currencies["EUR"] != "500.00" ||
			detail.New.Currencies["SGD"] != "1000000.00" || detail.New.AlarmThresholdPct != clearing.DefaultAlarmThresholdPct {
			t.Fatalf("audit detail: %s", audits[0].Detail)
		}

		_, err = e.s.Hold(ctx, clearing.HoldRequest{BuyerBankID: sg, MerchantID: e.w.Merchants[0].ID, Amount: amount(t, "0.01", "EUR")}, storetest.Operator)
		wantCode(t, err, "net_debit_cap_exceeded", "amount")
		e.act(t, small.ID, clearing.Action{Kind: clearing.ActionRefund, Reason: "out of stock"}) // a credit to the bank passes
		e.hold(t, 1, 0, "50.00")                                                                 // -450.00 of 500.00
		if n := len(seen); n == 0 || seen[n-1] != (clearing.CapUsage{Currency: "EUR", CapMinor: 500_00, NetMinor: -450_00}) {
			t.Fatalf("the cap observer after the hold saw %+v", seen)
		}
		_, err = e.s.Hold(ctx, clearing.HoldRequest{BuyerBankID: sg, MerchantID: e.w.Merchants[0].ID, Amount: amount(t, "60.00", "EUR")}, storetest.Operator)
		wantCode(t, err, "net_debit_cap_exceeded", "amount")
		if _, err := e.s.UpdateParticipantLimits(ctx, sg, store.LimitsChange{
			Set: []clearing.SettlementCurrency{{Currency: "EUR", NetDebitCapMinor: 1000_00}}, Reason: "raised again"}, storetest.Operator); err != nil {
			t.Fatal(err)
		}
		e.hold(t, 1, 0, "60.00")
		if got := len(limitsAudits(t, e, sg)); got != 2 {
			t.Fatalf("%d audit entries, want 2", got)
		}
		e.ledgerOK(t)
	})
}

// TestLimitsCurrenciesTotalAndAlarm: adding and removing currencies (not
// while in use), the multi-currency cap and the alarm threshold; refused
// changes name their field and change nothing.
func TestLimitsCurrenciesTotalAndAlarm(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		sg := e.w.Banks[1]
		if sg.AlarmThresholdPct != clearing.DefaultAlarmThresholdPct {
			t.Fatalf("a new participant's alarm threshold is %d", sg.AlarmThresholdPct)
		}
		e.hold(t, 1, 0, "10.00")

		l, err := e.s.UpdateParticipantLimits(ctx, "DBSSSGSGXXX", store.LimitsChange{
			Set:   []clearing.SettlementCurrency{{Currency: "USD", NetDebitCapMinor: 300_000_00}},
			Total: &clearing.TotalCap{Currency: "USD", Minor: 2_000_000_00}, AlarmThresholdPct: intp(90), Reason: "new corridor"}, storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		p := l.Participant
		if c, ok := p.Settles("USD"); !ok || c.NetDebitCapMinor != 300_000_00 || p.NetDebitCapTotal != (clearing.TotalCap{Currency: "USD", Minor: 2_000_000_00}) || p.AlarmThresholdPct != 90 {
			t.Fatalf("after the change: %+v", p)
		}
		if got, _ := e.s.Participant(ctx, sg.ID); got.AlarmThresholdPct != 90 || len(got.Currencies) != 3 || !got.NetDebitCapTotal.Set() {
			t.Fatalf("stored: %+v", got)
		}

		// EUR has an open position, SGD an active merchant: both stay.
		_, err = e.s.UpdateParticipantLimits(ctx, sg.ID, store.LimitsChange{Remove: []string{"USD", "EUR"}, Reason: "x"}, storetest.Operator)
		wantCode(t, err, "currency_in_use", "remove_currencies[1]")
		if ce, _ := clearing.AsError(err); !strings.Contains(ce.Msg, "EUR") || !strings.Contains(ce.Msg, "-10.00") {
			t.Fatalf("the refusal names the currency and position: %s", ce.Msg)
		}
		_, err = e.s.UpdateParticipantLimits(ctx, sg.ID, store.LimitsChange{Remove: []string{"SGD"}, Reason: "x"}, storetest.Operator)
		wantCode(t, err, "currency_in_use", "remove_currencies[0]")
		if got, _ := e.s.Participant(ctx, sg.ID); len(got.Currencies) != 3 {
			t.Fatalf("a refused removal removed: %+v", got.Currencies)
		}

		// Refused input names its field and changes nothing.
		for _, c := range []struct {
			ch          store.LimitsChange
			code, field string
		}{
			{store.LimitsChange{Set: []clearing.SettlementCurrency{{Currency: "EUR", NetDebitCapMinor: 1}, {Currency: "XYZ", NetDebitCapMinor: 1}}, Reason: "x"}, "unknown_currency", "currencies[1].currency"},
			{store.LimitsChange{Set: []clearing.SettlementCurrency{{Currency: "EUR", NetDebitCapMinor: -1}}, Reason: "x"}, "invalid_net_debit_cap", "currencies[0].net_debit_cap"},
			{store.LimitsChange{Set: []clearing.SettlementCurrency{{Currency: "EUR", NetDebitCapMinor: 1}}, Remove: []string{"EUR"}, Reason: "x"}, "conflicting_change", "remove_currencies[0]"},
			{store.LimitsChange{Remove: []string{"JPY"}, Reason: "x"}, "currency_not_settled", "remove_currencies[0]"},
			{store.LimitsChange{AlarmThresholdPct: intp(101), Reason: "x"}, "invalid_alarm_threshold", "alarm_threshold_pct"},
			{store.LimitsChange{AlarmThresholdPct: intp(50)}, "reason_required", "reason"},
			{store.LimitsChange{AlarmThresholdPct: intp(50), Reason: strings.Repeat("x", clearing.MaxReasonLen+1)}, "invalid_reason", "reason"},
			{store.LimitsChange{Reason: "x"}, "nothing_to_change", ""},
		} {
			_, err := e.s.UpdateParticipantLimits(ctx, sg.ID, c.ch, storetest.Operator)
			wantCode(t, err, c.code, c.field)
		}
		_, err = e.s.UpdateParticipantLimits(ctx, "NOPEDEFF", store.LimitsChange{AlarmThresholdPct: intp(50), Reason: "x"}, storetest.Operator)
		wantCode(t, err, "participant_not_found", "id")
		if got := len(limitsAudits(t, e, sg.ID)); got != 1 {
			t.Fatalf("%d audit entries, want 1: refusals are not audited", got)
		}

		// USD is unused: it goes; the multi-currency cap is removed; the alarm turned off.
		l, err = e.s.UpdateParticipantLimits(ctx, sg.ID, store.LimitsChange{Remove: []string{"USD"}, Total: &clearing.TotalCap{}, AlarmThresholdPct: intp(0), Reason: "corridor closed"}, storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := l.Participant.Settles("USD"); ok || l.Participant.NetDebitCapTotal.Set() || l.Participant.AlarmThresholdPct != 0 {
			t.Fatalf("after removing: %+v", l.Participant)
		}
		if _, err := e.s.Hold(ctx, clearing.HoldRequest{BuyerBankID: sg.ID, MerchantID: e.w.Merchants[2].ID, Amount: amount(t, "1.00", "USD")}, storetest.Operator); err == nil {
			t.Fatal("a hold in a currency no longer settled passed")
		}
	})
}

// TestAlarmThresholdInPositions: positions carry the participant's alarm
// threshold, and usage crosses it at the percentage.
func TestAlarmThresholdInPositions(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		sg := e.w.Banks[1].ID
		if _, err := e.s.UpdateParticipantLimits(ctx, sg, store.LimitsChange{
			Set: []clearing.SettlementCurrency{{Currency: "EUR", NetDebitCapMinor: 100_00}}, AlarmThresholdPct: intp(75), Reason: "test"}, storetest.Operator); err != nil {
			t.Fatal(err)
		}
		e.hold(t, 1, 0, "74.99")
		find := func() store.Position {
			ps, err := e.s.OpenPositions(ctx, sg)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				if p.Currency == "EUR" {
					return p
				}
			}
			t.Fatal("no EUR position")
			return store.Position{}
		}
		if p := find(); p.AlarmThresholdPct != 75 || p.Usage().Alarm(p.AlarmThresholdPct) {
			t.Fatalf("below the threshold: %+v", p)
		}
		e.hold(t, 1, 0, "0.01")
		if p := find(); !p.Usage().Alarm(p.AlarmThresholdPct) || p.Usage().Ratio() != 0.75 {
			t.Fatalf("at the threshold: %+v", p)
		}
		l, err := e.s.ParticipantLimits(ctx, sg)
		if err != nil || l.CycleID != 1 || len(l.Usage) != 2 || l.Usage[0].Currency != "EUR" || l.Usage[0].NetMinor != -75_00 {
			t.Fatalf("limits: %+v, %v", l, err)
		}
	})
}

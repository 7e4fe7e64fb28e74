package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// limitsOf finds currency's entry in a participant view's limits.
func limitsOf(t *testing.T, view map[string]any, currency string) map[string]any {
	t.Helper()
	ls, _ := view["limits"].([]any)
	for _, l := range ls {
		if m := l.(map[string]any); m["currency"] == currency {
			return m
		}
	}
	t.Fatalf("no %s in limits: %v", currency, view)
	return nil
}

// metricLine is the value line of a series in /metrics, "" when absent.
func (e *env) metricLine(series string) string {
	e.t.Helper()
	for _, line := range strings.Split(string(e.must(http.StatusOK, "", "GET", "/metrics", nil).Body), "\n") {
		if strings.HasPrefix(line, series+" ") {
			return line
		}
	}
	return ""
}

// TestParticipantLimitsAPI: the operator lowers a cap below the position
// (accepted, with a warning, audited); the next hold is refused at once, the
// view, the positions and the metrics show the alarm; a raised cap lets
// holds through; the multi-currency cap is set and removed.
func TestParticipantLimitsAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.holdSGtoDE("600.00")
		path := "/v1/participants/" + sgBank + "/limits"
		r := e.must(http.StatusOK, e.op, "POST", path, map[string]any{
			"currencies": []any{map[string]any{"currency": "EUR", "net_debit_cap": "500.00"}}, "alarm_threshold_pct": 90, "reason": "credit review"})
		conformsTo(t, r, "Participant")
		view := r.obj(t)
		eur := limitsOf(t, view, "EUR")
		if view["alarm_threshold_pct"] != 90.0 || eur["net_debit_cap"] != "500.00" || eur["net"] != "-600.00" || eur["headroom"] != "-100.00" ||
			eur["cap_below_position"] != true || eur["alarm"] != true || eur["cap_usage"] != 1.2 {
			t.Fatalf("after lowering: %s", r.Body)
		}
		if ws, _ := view["warnings"].([]any); len(ws) != 1 || !strings.Contains(ws[0].(string), "further debits in EUR are refused") {
			t.Fatalf("warnings: %s", r.Body)
		}
		var actor, detail string
		if err := e.st.DB().NewRaw("SELECT actor, detail FROM audit_log WHERE action = 'participant.limits' AND object = ?", sgBank).Scan(context.Background(), &actor, &detail); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(actor, "operator:") || !strings.Contains(detail, `"reason":"credit review"`) ||
			!strings.Contains(detail, `"old":{"currencies":{"EUR":"1000000.00","SGD":"1000000.00"},"net_debit_cap_total":"","alarm_threshold_pct":80}`) ||
			!strings.Contains(detail, `"new":{"currencies":{"EUR":"500.00","SGD":"1000000.00"},"net_debit_cap_total":"","alarm_threshold_pct":90}`) {
			t.Fatalf("audit: %s %s", actor, detail)
		}

		// Holds see the new cap at once; the bank's own view says why.
		wantError(t, e.call(e.bankSG, "POST", "/v1/payments", map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "0.01", "currency": "EUR"}),
			http.StatusUnprocessableEntity, "net_debit_cap_exceeded", "amount")
		own := e.must(http.StatusOK, e.bankSG, "GET", "/v1/participants/"+sgBank, nil).obj(t)
		if as, _ := own["alarms"].([]any); len(as) != 1 || as[0].(map[string]any)["currency"] != "EUR" || !strings.Contains(as[0].(map[string]any)["message"].(string), "120.0% of the net debit cap of 500.00 EUR") {
			t.Fatalf("the bank's view lacks the alarm: %v", own)
		}
		positions, _ := e.must(http.StatusOK, e.op, "GET", "/v1/positions", nil).obj(t)["positions"].([]any)
		found := false
		for _, x := range positions {
			p := x.(map[string]any)
			if p["participant"] == sgBank && p["currency"] == "EUR" {
				found = true
				if p["cap_usage"] != 1.2 || p["alarm"] != true || p["cap_below_position"] != true {
					t.Fatalf("position: %v", p)
				}
			}
			if p["participant"] == "escrow" && (p["alarm"] != nil || p["cap_usage"] != nil) {
				t.Fatalf("the escrow has no cap: %v", p)
			}
		}
		if !found {
			t.Fatalf("no EUR position of %s: %v", sgBank, positions)
		}
		if got := e.metricLine(`crossclear_cap_usage_ratio{currency="EUR",participant="DBSSSGSG"}`); !strings.HasSuffix(got, " 1.2") {
			t.Fatalf("usage metric: %q", got)
		}
		if got := e.metricLine(`crossclear_cap_alarm{currency="EUR",participant="DBSSSGSG"}`); !strings.HasSuffix(got, " 1") {
			t.Fatalf("alarm metric: %q", got)
		}

		// Raised: holds pass again; below the threshold the alarm clears,
		// and a hold that crosses it raises it (the metric follows holds).
		e.must(http.StatusOK, e.op, "POST", path, map[string]any{"currencies": []any{map[string]any{"currency": "EUR", "net_debit_cap": "1000.00"}}, "reason": "raised"})
		e.holdSGtoDE("100.00") // 700.00 of 1000.00: under 90 %
		if got := e.metricLine(`crossclear_cap_alarm{currency="EUR",participant="DBSSSGSG"}`); !strings.HasSuffix(got, " 0") {
			t.Fatalf("alarm metric under the threshold: %q", got)
		}
		e.holdSGtoDE("200.00") // 900.00: 90 %
		if got := e.metricLine(`crossclear_cap_alarm{currency="EUR",participant="DBSSSGSG"}`); !strings.HasSuffix(got, " 1") {
			t.Fatalf("alarm metric after the crossing hold: %q", got)
		}
		if got := e.metricLine(`crossclear_cap_usage_ratio{currency="EUR",participant="DBSSSGSG"}`); !strings.HasSuffix(got, " 0.9") {
			t.Fatalf("usage metric after the hold: %q", got)
		}

		// The multi-currency cap, in the reporting currency; "" removes it.
		v := e.must(http.StatusOK, e.op, "POST", path, map[string]any{"net_debit_cap_total": "2000.00", "reason": "board"}).obj(t)
		if v["net_debit_cap_total"] != "2000.00" || v["net_debit_cap_total_currency"] != "USD" {
			t.Fatalf("total cap: %v", v)
		}
		v = e.must(http.StatusOK, e.op, "POST", path, map[string]any{"net_debit_cap_total": "", "reason": "board"}).obj(t)
		if _, ok := v["net_debit_cap_total"]; ok {
			t.Fatalf("total cap not removed: %v", v)
		}

		// Add a currency, then remove it; EUR is in use.
		v = e.must(http.StatusOK, e.op, "POST", "/v1/participants/DBSSSGSGXXX/limits", map[string]any{"currencies": []any{map[string]any{"currency": "JPY", "net_debit_cap": "5000000"}}, "reason": "new corridor"}).obj(t)
		if limitsOf(t, v, "JPY")["net_debit_cap"] != "5000000" {
			t.Fatalf("JPY: %v", v)
		}
		e.must(http.StatusOK, e.op, "POST", path, map[string]any{"remove_currencies": []any{"JPY"}, "reason": "corridor closed"})
	})
}

// TestParticipantLimitsRefused: only operators; an unknown participant is
// 404; bad input is 422 (400 for wrong JSON types) naming the field, and
// changes nothing.
func TestParticipantLimitsRefused(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.holdSGtoDE("10.00")
		path := "/v1/participants/" + sgBank + "/limits"
		ok := map[string]any{"alarm_threshold_pct": 50, "reason": "x"}
		e.unchanged(func() {
			for _, key := range []string{e.bankSG, e.merSG} {
				wantError(t, e.call(key, "POST", path, ok), http.StatusForbidden, "forbidden", "")
			}
			wantError(t, e.call(e.regSG, "POST", path, ok), http.StatusForbidden, "read_only", "")
			wantError(t, e.call(e.op, "POST", "/v1/participants/NOPEDEFF/limits", ok), http.StatusNotFound, "participant_not_found", "id")
			cur := func(caps ...[2]string) []any {
				var out []any
				for _, c := range caps {
					out = append(out, map[string]any{"currency": c[0], "net_debit_cap": c[1]})
				}
				return out
			}
			for _, c := range []struct {
				body        map[string]any
				status      int
				code, field string
			}{
				{map[string]any{"currencies": cur([2]string{"EUR", "10.00"}, [2]string{"SGD", "1.005"}), "reason": "x"}, 422, "amount_too_precise", "currencies[1].net_debit_cap"},
				{map[string]any{"currencies": cur([2]string{"EUR", "-5.00"}), "reason": "x"}, 422, "invalid_net_debit_cap", "currencies[0].net_debit_cap"},
				{map[string]any{"currencies": cur([2]string{"EURO", "5.00"}), "reason": "x"}, 422, "unknown_currency", "currencies[0].currency"},
				{map[string]any{"currencies": cur([2]string{"EUR", ""}), "reason": "x"}, 422, "required", "currencies[0].net_debit_cap"},
				{map[string]any{"currencies": cur([2]string{"EUR", "5.00"}, [2]string{"EUR", "6.00"}), "reason": "x"}, 422, "duplicate_currency", "currencies[1].currency"},
				{map[string]any{"remove_currencies": []any{"EUR"}, "reason": "x"}, 422, "currency_in_use", "remove_currencies[0]"},
				{map[string]any{"remove_currencies": []any{"SGD"}, "reason": "x"}, 422, "currency_in_use", "remove_currencies[0]"},
				{map[string]any{"remove_currencies": []any{"USD"}, "reason": "x"}, 422, "currency_not_settled", "remove_currencies[0]"},
				{map[string]any{"net_debit_cap_total": "abc", "reason": "x"}, 422, "amount_malformed", "net_debit_cap_total"},
				{map[string]any{"alarm_threshold_pct": 101, "reason": "x"}, 422, "invalid_alarm_threshold", "alarm_threshold_pct"},
				{map[string]any{"alarm_threshold_pct": -1, "reason": "x"}, 422, "invalid_alarm_threshold", "alarm_threshold_pct"},
				{map[string]any{"alarm_threshold_pct": "80", "reason": "x"}, 400, "malformed_json", "alarm_threshold_pct"},
				{map[string]any{"alarm_threshold_pct": 50}, 422, "reason_required", "reason"},
				{map[string]any{"alarm_threshold_pct": 50, "reason": strings.Repeat("x", 501)}, 422, "invalid_reason", "reason"},
				{map[string]any{"reason": "x"}, 422, "nothing_to_change", ""},
			} {
				wantError(t, e.call(e.op, "POST", path, c.body), c.status, c.code, c.field)
			}
		})
		var n int
		if err := e.st.DB().NewRaw("SELECT COUNT(*) FROM audit_log WHERE action = 'participant.limits'").Scan(context.Background(), &n); err != nil || n != 0 {
			t.Fatalf("refusals audited: %d %v", n, err)
		}
	})
}

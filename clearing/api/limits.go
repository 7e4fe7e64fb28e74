package api

import (
	"fmt"
	"math"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
)

// LimitsRequest changes a participant's caps (POST
// /v1/participants/{id}/limits; the CLI builds the same). Fields left out
// stay as they are.
type LimitsRequest struct {
	// Currencies adds currencies or changes their caps.
	Currencies []CurrencyCap `json:"currencies"`
	// RemoveCurrencies stops settling currencies not in use.
	RemoveCurrencies []string `json:"remove_currencies"`
	// NetDebitCapTotal sets the multi-currency cap in the reporting
	// currency; "" removes it.
	NetDebitCapTotal *string `json:"net_debit_cap_total"`
	// AlarmThresholdPct is the cap alarm threshold, 0 (off) to 100.
	AlarmThresholdPct *int   `json:"alarm_threshold_pct"`
	Reason            string `json:"reason"`
}

// CurrencyCap is a currency and its net debit cap, a decimal string.
type CurrencyCap struct {
	Currency    string `json:"currency"`
	NetDebitCap string `json:"net_debit_cap"`
}

// parseCap reads a net debit cap: money in its own currency, zero allowed
// (a bank that may only ever be a net receiver), negative not.
func parseCap(value, ccy, field, ccyField string) (int64, error) {
	a, err := fx.ParseAmount(value, ccy)
	if err != nil {
		return 0, amountError(err, field, ccyField)
	}
	if a.Minor < 0 {
		return 0, clearing.Errorf(clearing.Invalid, "invalid_net_debit_cap", field, "must not be negative, got %s", value)
	}
	return a.Minor, nil
}

// Change turns the request into the store's change: every amount parsed
// in its currency (the multi-currency cap in reportingCcy), errors naming
// the field (currencies[1].net_debit_cap).
func (req LimitsRequest) Change(reportingCcy string) (store.LimitsChange, error) {
	ch := store.LimitsChange{Remove: req.RemoveCurrencies, AlarmThresholdPct: req.AlarmThresholdPct, Reason: req.Reason}
	if req.Reason == "" {
		return ch, clearing.Errorf(clearing.Invalid, "reason_required", "reason", "say why the limits change (it is audited)")
	}
	if err := checkReason(req.Reason); err != nil {
		return ch, err
	}
	for i, in := range req.Currencies {
		field := fmt.Sprintf("currencies[%d].", i)
		if in.Currency == "" {
			return ch, required(field + "currency")
		}
		if in.NetDebitCap == "" {
			return ch, required(field + "net_debit_cap")
		}
		minor, err := parseCap(in.NetDebitCap, in.Currency, field+"net_debit_cap", field+"currency")
		if err != nil {
			return ch, err
		}
		ch.Set = append(ch.Set, clearing.SettlementCurrency{Currency: in.Currency, NetDebitCapMinor: minor})
	}
	if total := req.NetDebitCapTotal; total != nil {
		t := clearing.TotalCap{}
		if *total != "" {
			minor, err := parseCap(*total, reportingCcy, "net_debit_cap_total", "net_debit_cap_total")
			if err != nil {
				return ch, err
			}
			t = clearing.TotalCap{Currency: reportingCcy, Minor: minor}
		}
		ch.Total = &t
	}
	return ch, nil
}

// setLimits changes a participant's caps, currencies and alarm threshold;
// operators only.
func (h *handlers) setLimits(c *fiber.Ctx) error {
	var req LimitsRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ch, err := req.Change(h.st.FX().ReportingCurrency)
	if err != nil {
		return err
	}
	l, err := h.st.UpdateParticipantLimits(c.UserContext(), c.Params("id"), ch, actor(c))
	if err != nil {
		return err
	}
	for _, ccy := range ch.Remove {
		forgetCap(l.Participant.ID, ccy)
	}
	return c.JSON(LimitsDocument(l))
}

// limitJSON is where a participant's open-cycle position in one currency
// stands against its cap.
type limitJSON struct {
	Currency    string `json:"currency"`
	NetDebitCap string `json:"net_debit_cap"`
	Net         string `json:"net"`      // received − paid in the open cycle
	Headroom    string `json:"headroom"` // negative when the cap is below the debit
	// CapUsage is the debit as a fraction of the cap, absent for a debit
	// against a cap of zero.
	CapUsage         *float64 `json:"cap_usage,omitempty"`
	Alarm            bool     `json:"alarm"`
	CapBelowPosition bool     `json:"cap_below_position"`
	Settled          bool     `json:"settled"` // false: a position in a currency no longer settled
}

// alarmJSON is an entry of a participant's view: a position at or past its
// alarm threshold.
type alarmJSON struct {
	Currency     string   `json:"currency"`
	ThresholdPct int      `json:"threshold_pct"`
	CapUsage     *float64 `json:"cap_usage,omitempty"`
	Message      string   `json:"message"`
}

// usageRatio is u's cap usage rounded to four decimals, nil when it is
// infinite (a debit against a cap of zero).
func usageRatio(u clearing.CapUsage) *float64 {
	r := u.Ratio()
	if math.IsInf(r, 0) {
		return nil
	}
	r = math.Round(r*10000) / 10000
	return &r
}

// LimitsDocument is a participant with its limits, alarms and warnings, as
// GET /v1/participants/{id} and POST /v1/participants/{id}/limits answer
// and `crossclear participant limits --json` prints. Reading it updates the
// cap metrics.
func LimitsDocument(l store.Limits) participantJSON {
	p := l.Participant
	out := toParticipant(p)
	cycle := l.CycleID
	out.CycleID = &cycle
	limits, alarms, warnings := []limitJSON{}, []alarmJSON{}, l.Warnings()
	if warnings == nil {
		warnings = []string{}
	}
	for _, u := range l.Usage {
		_, settled := p.Settles(u.Currency)
		alarm := u.Alarm(p.AlarmThresholdPct)
		limits = append(limits, limitJSON{Currency: u.Currency, NetDebitCap: money(u.CapMinor, u.Currency), Net: money(u.NetMinor, u.Currency),
			Headroom: money(u.HeadroomMinor(), u.Currency), CapUsage: usageRatio(u), Alarm: alarm, CapBelowPosition: u.BelowPosition(), Settled: settled})
		if alarm {
			alarms = append(alarms, alarmJSON{Currency: u.Currency, ThresholdPct: p.AlarmThresholdPct, CapUsage: usageRatio(u),
				Message: alarmMessage(p, u)})
		}
		observeCap(p.ID, p.AlarmThresholdPct, u)
	}
	out.Limits, out.Alarms, out.Warnings = &limits, &alarms, &warnings
	return out
}

func alarmMessage(p clearing.Participant, u clearing.CapUsage) string {
	var b strings.Builder
	fmt.Fprintf(&b, "debit of %s %s ", money(u.DebitMinor(), u.Currency), u.Currency)
	if u.CapMinor == 0 {
		fmt.Fprintf(&b, "against a net debit cap of 0 %s", u.Currency)
	} else {
		fmt.Fprintf(&b, "is %.1f%% of the net debit cap of %s %s", u.Ratio()*100, money(u.CapMinor, u.Currency), u.Currency)
	}
	fmt.Fprintf(&b, " (alarm at %d%%)", p.AlarmThresholdPct)
	if u.BelowPosition() {
		fmt.Fprintf(&b, ": the cap is below the position, further debits in %s are refused", u.Currency)
	}
	return b.String()
}

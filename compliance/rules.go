package compliance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/fx"
)

// Rules are the AML rules, configurable per jurisdiction: a default set
// and, per jurisdiction, the rules that differ from it. A payment is
// checked against the rules of both its banks' jurisdictions (the buyer's
// and the merchant's regulator), so each regulator's rules apply to what
// touches it. A jurisdiction like US-NY without rules of its own takes
// those of its country (US), else the default.
//
// Amounts may be written in any currency ("10000.00 USD", "200000.00
// CNY"); they are compared in BaseCurrency, into which every payment is
// converted at the rate book's mid rate when it is screened (kept with
// the decision, so that velocity and structuring add up one currency).
// Conversions round against the payment: its amount up, a threshold down.
type Rules struct {
	BaseCurrency  string             `json:"base_currency"`
	FATF          string             `json:"fatf"`             // the embedded FATF lists to use, default LatestFATF()
	Policy        *Policy            `json:"policy,omitempty"` // the sanctions thresholds; DefaultPolicy when absent
	Default       RuleSet            `json:"default"`
	Jurisdictions map[string]RuleSet `json:"jurisdictions"`

	fatf *FATFLists
}

// RuleSet is one jurisdiction's rules; a nil rule is not checked (in the
// default) or taken from the default (in a jurisdiction).
type RuleSet struct {
	LargeValue  *LargeValueRule  `json:"large_value,omitempty"`
	Structuring *StructuringRule `json:"structuring,omitempty"`
	Velocity    []VelocityRule   `json:"velocity,omitempty"`
	HighRisk    *HighRiskRule    `json:"high_risk,omitempty"`
	TravelRule  *TravelRuleCheck `json:"travel_rule,omitempty"`
}

// Action is what a rule that fires asks for: flag (recorded and reported,
// the payment is held), review, or reject.
type Action string

const (
	ActionFlag   Action = "flag"
	ActionReview Action = "review"
	ActionReject Action = "reject"
)

func (a Action) outcome() Outcome {
	switch a {
	case ActionReview:
		return Review
	case ActionReject:
		return Reject
	}
	return Pass
}

func (a Action) valid() bool { return a == ActionFlag || a == ActionReview || a == ActionReject }

// LargeValueRule flags a payment at or above Threshold.
type LargeValueRule struct {
	Threshold Money  `json:"threshold"`
	Action    Action `json:"action"`
}

// StructuringRule catches amounts kept just under a threshold: a payment
// in [Band × Threshold, Threshold) that makes MinCount such payments from
// one payer, or to one payee, within Window.
type StructuringRule struct {
	Threshold Money           `json:"threshold"`
	Band      decimal.Decimal `json:"band"` // 0.8: the band starts at 80 % of the threshold
	Window    Duration        `json:"window"`
	MinCount  int             `json:"min_count"`
	Action    Action          `json:"action"`
}

// VelocityRule limits how many payments, and how much, one payer, payee
// (merchant) or bank (the buyer's bank) sends or receives within Window,
// this payment included.
type VelocityRule struct {
	Party     KeyKind  `json:"party"`
	Window    Duration `json:"window"`
	MaxCount  int      `json:"max_count,omitempty"`  // 0: no count limit
	MaxAmount *Money   `json:"max_amount,omitempty"` // nil: no amount limit
	Action    Action   `json:"action"`
}

// HighRiskRule says what a party or agent in a FATF-listed jurisdiction
// asks for, per list.
type HighRiskRule struct {
	CallForAction       Action `json:"call_for_action"`
	IncreasedMonitoring Action `json:"increased_monitoring"`
}

// TravelRuleCheck (FATF Recommendation 16): a cross-border payment at or
// above Threshold must carry the originator's name, account and address
// or national identifier or date and place of birth, and the
// beneficiary's name and account.
type TravelRuleCheck struct {
	Threshold Money  `json:"threshold"`
	Action    Action `json:"action"`
}

// Money is an amount in a currency, written "10000.00 USD".
type Money struct{ fx.Amount }

func (m *Money) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`must be a string like "10000.00 USD"`)
	}
	value, code, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return fmt.Errorf(`must be an amount and a currency like "10000.00 USD", got %q`, s)
	}
	a, err := fx.ParsePositiveAmount(value, strings.TrimSpace(code))
	if err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	m.Amount = a
	return nil
}

func (m Money) MarshalJSON() ([]byte, error) { return json.Marshal(m.String()) }

// Duration is a Go duration written as a string ("24h").
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`must be a duration string like "24h"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return fmt.Errorf(`must be a positive duration like "24h", got %q`, s)
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// Limits on rules.
const (
	MaxWindow         = 31 * 24 * time.Hour
	MaxVelocityRules  = 32
	MaxJurisdictions  = 512
	MaxRulesFileBytes = 1 << 20
)

// LoadRules reads a rules file (JSON) and checks it.
func LoadRules(path string) (*Rules, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("AML rules: %w", err)
	}
	if len(raw) > MaxRulesFileBytes {
		return nil, fmt.Errorf("AML rules %s: larger than %d bytes", path, MaxRulesFileBytes)
	}
	r, err := ParseRules(raw)
	if err != nil {
		return nil, fmt.Errorf("AML rules %s: %w", path, err)
	}
	return r, nil
}

// ParseRules reads rules from JSON: unknown fields are errors, and every
// error names the field at fault.
func ParseRules(raw []byte) (*Rules, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var r Rules
	if err := dec.Decode(&r); err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *Rules) check() error {
	if r.BaseCurrency == "" {
		r.BaseCurrency = "USD"
	}
	if _, err := fx.LookupCurrency(r.BaseCurrency); err != nil {
		return &FieldError{Field: "base_currency", Msg: err.Error()}
	}
	if r.FATF == "" {
		r.FATF = LatestFATF()
	}
	f, err := LoadFATF(r.FATF)
	if err != nil {
		return &FieldError{Field: "fatf", Msg: err.Error()}
	}
	r.fatf = f
	if r.Policy != nil {
		if err := r.Policy.Validate(); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return &FieldError{Field: "policy." + fe.Field, Msg: fe.Msg}
			}
			return err
		}
	}
	if len(r.Jurisdictions) > MaxJurisdictions {
		return &FieldError{Field: "jurisdictions", Msg: fmt.Sprintf("at most %d, got %d", MaxJurisdictions, len(r.Jurisdictions))}
	}
	if err := r.Default.check("default"); err != nil {
		return err
	}
	for j, set := range r.Jurisdictions {
		if !jurisdictionRe.MatchString(j) {
			return &FieldError{Field: "jurisdictions." + j, Msg: "must be a jurisdiction like SG or US-NY"}
		}
		if err := set.check("jurisdictions." + j); err != nil {
			return err
		}
	}
	return nil
}

func (s RuleSet) check(at string) error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{Field: at + "." + field, Msg: fmt.Sprintf(format, args...)}
	}
	action := func(field string, a Action) error {
		if !a.valid() {
			return bad(field, "must be flag, review or reject, got %q", a)
		}
		return nil
	}
	window := func(field string, d Duration) error {
		if d.Duration <= 0 || d.Duration > MaxWindow {
			return bad(field, "must be a duration up to %s, got %s", MaxWindow, d.Duration)
		}
		return nil
	}
	if v := s.LargeValue; v != nil {
		if err := errors.Join(required(bad, "large_value.threshold", v.Threshold), action("large_value.action", v.Action)); err != nil {
			return err
		}
	}
	if v := s.Structuring; v != nil {
		if err := errors.Join(required(bad, "structuring.threshold", v.Threshold), window("structuring.window", v.Window), action("structuring.action", v.Action)); err != nil {
			return err
		}
		if !v.Band.IsPositive() || v.Band.GreaterThanOrEqual(decimal.NewFromInt(1)) {
			return bad("structuring.band", "must be a fraction between 0 and 1 like 0.8, got %s", v.Band)
		}
		if v.MinCount < 2 {
			return bad("structuring.min_count", "must be at least 2, got %d", v.MinCount)
		}
	}
	if len(s.Velocity) > MaxVelocityRules {
		return bad("velocity", "at most %d rules, got %d", MaxVelocityRules, len(s.Velocity))
	}
	for i, v := range s.Velocity {
		f := fmt.Sprintf("velocity[%d]", i)
		if v.Party != PayerKey && v.Party != PayeeKey && v.Party != BankKey {
			return bad(f+".party", "must be payer, payee or bank, got %q", v.Party)
		}
		if err := errors.Join(window(f+".window", v.Window), action(f+".action", v.Action)); err != nil {
			return err
		}
		if v.MaxCount < 0 || (v.MaxCount == 0 && v.MaxAmount == nil) {
			return bad(f, "needs max_count (a positive number) or max_amount")
		}
	}
	if v := s.HighRisk; v != nil {
		if err := errors.Join(action("high_risk.call_for_action", v.CallForAction), action("high_risk.increased_monitoring", v.IncreasedMonitoring)); err != nil {
			return err
		}
	}
	if v := s.TravelRule; v != nil {
		if err := errors.Join(required(bad, "travel_rule.threshold", v.Threshold), action("travel_rule.action", v.Action)); err != nil {
			return err
		}
	}
	return nil
}

func required(bad func(string, string, ...any) error, field string, m Money) error {
	if m.Currency.Code == "" {
		return bad(field, `is required: an amount like "10000.00 USD"`)
	}
	return nil
}

// For returns the rules of a jurisdiction: its own, else its country's,
// each rule falling back to the default's.
func (r *Rules) For(jurisdiction string) RuleSet {
	own, ok := r.Jurisdictions[jurisdiction]
	if !ok {
		country, _, _ := strings.Cut(jurisdiction, "-")
		own = r.Jurisdictions[country]
	}
	out := r.Default
	if own.LargeValue != nil {
		out.LargeValue = own.LargeValue
	}
	if own.Structuring != nil {
		out.Structuring = own.Structuring
	}
	if own.Velocity != nil {
		out.Velocity = own.Velocity
	}
	if own.HighRisk != nil {
		out.HighRisk = own.HighRisk
	}
	if own.TravelRule != nil {
		out.TravelRule = own.TravelRule
	}
	return out
}

// FATFLists are the FATF lists the rules use.
func (r *Rules) FATFLists() *FATFLists { return r.fatf }

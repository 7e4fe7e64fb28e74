package compliance

import (
	"slices"
	"time"

	"github.com/crossclear/crossclear/fx"
)

// Reason codes: why a decision is what it is. The first two are sanctions
// hits; the rest are the AML flags regulators are told about.
const (
	CodeSanctionsHit    = "sanctions_hit"    // a party resembles a listed entry (score at a threshold)
	CodeExactName       = "exact_name"       // a party's name is a listed name after normalisation
	CodeLargeValue      = "large_value"      // at or above a jurisdiction's large-value threshold
	CodeStructuring     = "structuring"      // several payments just under the threshold from one payer or to one payee
	CodeVelocity        = "velocity"         // too many payments, or too much, per payer, payee or bank within a window
	CodeHighRisk        = "high_risk"        // a party or agent in a FATF high-risk or monitored jurisdiction
	CodeTravelRule      = "travel_rule"      // a cross-border payment without complete originator and beneficiary data
	CodeRateUnavailable = "rate_unavailable" // the amount could not be converted for the AML thresholds
)

// ISO 20022 reasons (ExternalStatusReason1Code) a bank is answered with:
// a pacs.002 PDNG while a payment waits for review, RJCT once rejected.
const (
	ISORegulatory         = "RR04" // RegulatoryReason: sanctions, AML and high-risk decisions
	ISOMissingDebtorID    = "RR01" // MissingDebtorAccountOrIdentification
	ISOMissingDebtorName  = "RR02" // MissingDebtorNameOrAddress
	ISOMissingCreditorAny = "RR03" // MissingCreditorNameOrAddress
)

// Reason is one rule that fired.
type Reason struct {
	Code         string  `json:"code"`
	Outcome      Outcome `json:"outcome"` // what the rule asks for; pass records a flag only
	Role         Role    `json:"party,omitempty"`
	Jurisdiction string  `json:"jurisdiction,omitempty"` // whose AML rule, for the AML flags
	ISOReason    string  `json:"iso_reason"`
	Message      string  `json:"message"`
}

// Decision is what screening decided for one payment (or one name asked
// about), with everything it rests on: the lists screened against with
// their content hashes, the matched entries and their scores, and every
// rule that fired.
type Decision struct {
	Outcome Outcome    `json:"outcome"`
	Score   float64    `json:"score"` // the best match's score, 0 without one
	Matches []Match    `json:"matches"`
	Reasons []Reason   `json:"reasons"`
	Lists   []ListInfo `json:"lists"`
	// Base is the payment's amount in the AML rules' base currency (zero
	// when there are no AML rules or no rate to convert it).
	Base       fx.Amount `json:"-"`
	ScreenedAt time.Time `json:"screened_at"`
}

// Flags are the distinct reason codes, in order: what the regulator
// reports list ("sanctions_hit", "large_value", …).
func (d Decision) Flags() []string {
	var out []string
	for _, r := range d.Reasons {
		code := r.Code
		if code == CodeExactName {
			code = CodeSanctionsHit
		}
		if !slices.Contains(out, code) {
			out = append(out, code)
		}
	}
	return out
}

// ISOReason is the reason code the bank is told: that of the first reason
// asking for the decision's outcome; "" for a pass.
func (d Decision) ISOReason() string {
	if d.Outcome == Pass {
		return ""
	}
	for _, r := range d.Reasons {
		if r.Outcome == d.Outcome {
			return r.ISOReason
		}
	}
	return ISORegulatory
}

func (d *Decision) add(r Reason) {
	d.Reasons = append(d.Reasons, r)
	d.Outcome = worst(d.Outcome, r.Outcome)
}

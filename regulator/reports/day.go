package reports

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/compliance"
)

// DayReport is one UTC day's compliance events touching the jurisdiction
// (store.ComplianceEvents: decisions screened or resolved that day), by
// what they are about. An event with several flags is in each section it
// concerns: a large-value payment without travel-rule data is both.
type DayReport struct {
	LargeValue    []ComplianceEvent `json:"large_value"`
	SanctionsHits []ComplianceEvent `json:"sanctions_hits"`         // with their resolution
	TravelRule    []ComplianceEvent `json:"travel_rule_exceptions"` // cross-border payments without complete originator/beneficiary data
	Suspicious    []ComplianceEvent `json:"suspicious"`             // structuring, velocity, high-risk jurisdictions, amounts that could not be converted
}

// ComplianceEvent is one screening decision as a regulator reads it.
type ComplianceEvent struct {
	Screening    string      `json:"screening_id"`
	Payment      string      `json:"payment"` // the UETR
	Flags        []string    `json:"flags"`
	Outcome      string      `json:"outcome"` // pass (flagged, held), review, reject
	Status       string      `json:"status"`  // at the end of the day: held, refused, pending, approved, approval_refused, rejected
	BuyerBank    string      `json:"buyer_bank"`
	MerchantBank string      `json:"merchant_bank"`
	Merchant     string      `json:"merchant"`
	Amount       string      `json:"amount"`
	Currency     string      `json:"currency"`
	BaseAmount   string      `json:"base_amount,omitempty"` // in the AML rules' base currency
	BaseCurrency string      `json:"base_currency,omitempty"`
	ScreenedAt   time.Time   `json:"screened_at"`
	Resolution   *Resolution `json:"resolution,omitempty"` // a compliance officer's decision, if made by the end of the day
	Reasons      []Reason    `json:"reasons"`
	Matches      []Match     `json:"matches"`
	Lists        []List      `json:"lists"` // screened against
}

// Resolution is a compliance officer's decision on a review.
type Resolution struct {
	By        string    `json:"by"`
	At        time.Time `json:"at"`
	Comment   string    `json:"comment"`
	HoldError string    `json:"hold_error,omitempty"` // approved, but the hold itself was refused
}

// Reason is one rule that fired.
type Reason struct {
	Code         string `json:"code"`
	Outcome      string `json:"outcome"`
	Party        string `json:"party,omitempty"`
	Jurisdiction string `json:"jurisdiction,omitempty"`
	ISOReason    string `json:"iso_reason"`
	Message      string `json:"message"`
}

// Match is a sanctions list entry a party resembled. The score is
// watchman's similarity printed with four decimals: text, so that the
// report stays free of floats.
type Match struct {
	Role      string `json:"role"`
	Party     string `json:"party"`
	List      string `json:"list"`
	ListHash  string `json:"list_hash"`
	EntryID   string `json:"entry_id"`
	EntryName string `json:"entry_name"`
	Score     string `json:"score"`
}

// List is a sanctions list a decision was screened against.
type List struct {
	Name string `json:"name"`
	Hash string `json:"hash"`
}

// DayInput is what BuildDay reads: the events of [day, day+24h) and every
// participant.
type DayInput struct {
	Day          time.Time // 00:00 UTC
	Events       []store.ComplianceEvent
	Participants []clearing.Participant
}

// DayPeriod names a day as reports do.
func DayPeriod(day time.Time) string { return day.UTC().Format(time.DateOnly) }

// BuildDay builds jurisdiction j's report of one UTC day, numbered seq.
// Resolutions after the day's end are not shown: the report says where
// each event stood when the day ended (the next day's report has them).
func BuildDay(j string, seq int64, in DayInput) (Report, error) {
	day := in.Day.UTC()
	if !day.Equal(day.Truncate(24 * time.Hour)) {
		return Report{}, fmt.Errorf("day report: %s is not the start of a UTC day", day.Format(time.RFC3339))
	}
	end := day.Add(24 * time.Hour)
	r := Report{Schema: Schema, ID: ReportID(j, KindDay, DayPeriod(day)), Jurisdiction: j, Kind: KindDay, Period: DayPeriod(day),
		PeriodStart: day, PeriodEnd: end, Seq: seq}
	dr := DayReport{LargeValue: []ComplianceEvent{}, SanctionsHits: []ComplianceEvent{}, TravelRule: []ComplianceEvent{}, Suspicious: []ComplianceEvent{}}
	for _, e := range in.Events {
		if e.BuyerJurisdiction != j && e.MerchantJurisdiction != j {
			continue
		}
		if e.ScreenedAt.Before(day) && (e.ResolvedAt.IsZero() || e.ResolvedAt.Before(day)) || !e.ScreenedAt.Before(end) {
			return Report{}, fmt.Errorf("day report %s: event %s is outside the day", r.ID, e.ScreeningID)
		}
		ev := dayEvent(e, end)
		if slices.Contains(e.Flags, compliance.CodeLargeValue) {
			dr.LargeValue = append(dr.LargeValue, ev)
		}
		if slices.Contains(e.Flags, compliance.CodeSanctionsHit) || slices.Contains(e.Flags, compliance.CodeExactName) {
			dr.SanctionsHits = append(dr.SanctionsHits, ev)
		}
		if slices.Contains(e.Flags, compliance.CodeTravelRule) {
			dr.TravelRule = append(dr.TravelRule, ev)
		}
		if slices.ContainsFunc(e.Flags, func(f string) bool {
			return f == compliance.CodeStructuring || f == compliance.CodeVelocity || f == compliance.CodeHighRisk || f == compliance.CodeRateUnavailable
		}) {
			dr.Suspicious = append(dr.Suspicious, ev)
		}
	}
	if len(dr.LargeValue)+len(dr.SanctionsHits)+len(dr.TravelRule)+len(dr.Suspicious) == 0 {
		r.Nil = true
		return r, nil
	}
	r.Day = &dr
	return r, nil
}

// dayEvent renders an event as it stood at end.
func dayEvent(e store.ComplianceEvent, end time.Time) ComplianceEvent {
	ev := ComplianceEvent{Screening: e.ScreeningID, Payment: e.PaymentID, Flags: append([]string{}, e.Flags...), Outcome: string(e.Outcome),
		Status: e.Status, BuyerBank: e.BuyerBankID, MerchantBank: e.MerchantBankID, Merchant: e.MerchantID,
		Amount: e.Amount.Value(), Currency: e.Amount.Currency.Code, ScreenedAt: e.ScreenedAt.UTC(),
		Reasons: []Reason{}, Matches: []Match{}, Lists: []List{}}
	if e.Base.Currency.Code != "" {
		ev.BaseAmount, ev.BaseCurrency = e.Base.Value(), e.Base.Currency.Code
	}
	switch {
	case e.ResolvedAt.IsZero():
	case e.ResolvedAt.Before(end):
		ev.Resolution = &Resolution{By: e.ResolvedBy, At: e.ResolvedAt.UTC(), Comment: e.Comment, HoldError: e.HoldError}
	default:
		ev.Status = store.ScreeningPending // resolved after the day: still waiting then
	}
	for _, rs := range e.Reasons {
		ev.Reasons = append(ev.Reasons, Reason{Code: rs.Code, Outcome: string(rs.Outcome), Party: string(rs.Role), Jurisdiction: rs.Jurisdiction,
			ISOReason: rs.ISOReason, Message: rs.Message})
	}
	for _, m := range e.Matches {
		ev.Matches = append(ev.Matches, Match{Role: string(m.Role), Party: m.Party, List: m.List, ListHash: m.ListHash, EntryID: m.EntryID,
			EntryName: m.EntryName, Score: strconv.FormatFloat(m.Score, 'f', 4, 64)})
	}
	for _, l := range e.Lists {
		ev.Lists = append(ev.Lists, List{Name: l.Name, Hash: l.Hash})
	}
	return ev
}

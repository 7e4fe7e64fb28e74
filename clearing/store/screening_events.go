package store

import (
	"context"
	"fmt"
	"time"

	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/fx"
)

// ComplianceEvent is a screening decision regulators are told about: a
// sanctions hit, a large-value, structuring or velocity flag, a party in
// a FATF-listed jurisdiction, a travel-rule exception (or an amount that
// could not be converted for the thresholds), with its resolution and the
// participants and jurisdictions involved, so that a report can be
// scoped to one jurisdiction.
type ComplianceEvent struct {
	ScreeningID          string
	PaymentID            string   // the UETR
	Flags                []string // compliance reason codes: sanctions_hit, large_value, structuring, velocity, high_risk, travel_rule, rate_unavailable
	Outcome              compliance.Outcome
	Status               string // what became of it: held, refused, pending, approved, approval_refused, rejected
	Reasons              []compliance.Reason
	Matches              []compliance.Match
	Lists                []compliance.ListInfo // screened against, with their content hashes
	Score                float64
	BuyerBankID          string
	MerchantID           string
	MerchantBankID       string
	BuyerJurisdiction    string
	MerchantJurisdiction string
	Amount               fx.Amount
	Base                 fx.Amount // in the AML base currency; zero when unknown
	ScreenedAt           time.Time
	ResolvedBy           string // the compliance officer; "" while pending and for automatic decisions
	ResolvedAt           time.Time
	Comment              string
	HoldError            string // why the hold was refused after passing or approval
}

// Jurisdictions are those the event touches: a regulator of either sees it.
func (e ComplianceEvent) Jurisdictions() []string {
	if e.BuyerJurisdiction == e.MerchantJurisdiction {
		return []string{e.BuyerJurisdiction}
	}
	return []string{e.BuyerJurisdiction, e.MerchantJurisdiction}
}

// ComplianceEvents returns every flagged screening decision screened or
// resolved in [from, to), oldest first: hits and flags of the period with
// their resolution so far, and the resolutions in the period of earlier
// ones. Passes without a flag are not events.
func (s *Store) ComplianceEvents(ctx context.Context, from, to time.Time) ([]ComplianceEvent, error) {
	var rows []screeningRow
	err := s.conn(ctx).NewSelect().Model(&rows).Where("flags <> ''").
		Where("((screened_at >= ? AND screened_at < ?) OR (resolved_at >= ? AND resolved_at < ?))", from.UTC(), to.UTC(), from.UTC(), to.UTC()).
		OrderExpr("screened_at, id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("load compliance events: %w", err)
	}
	out := make([]ComplianceEvent, len(rows))
	for i, r := range rows {
		sc, err := r.domain()
		if err != nil {
			return nil, err
		}
		out[i] = ComplianceEvent{ScreeningID: sc.ID, PaymentID: sc.PaymentID, Flags: sc.Flags, Outcome: sc.Outcome, Status: sc.Status,
			Reasons: sc.Reasons, Matches: sc.Matches, Lists: sc.Lists, Score: sc.Score, BuyerBankID: sc.BuyerBankID, MerchantID: sc.MerchantID,
			MerchantBankID: sc.MerchantBankID, BuyerJurisdiction: sc.BuyerJurisdiction, MerchantJurisdiction: sc.MerchantJurisdiction,
			Amount: sc.Amount, Base: sc.Base, ScreenedAt: sc.ScreenedAt, ResolvedBy: sc.ResolvedBy, ResolvedAt: sc.ResolvedAt,
			Comment: sc.Comment, HoldError: sc.HoldError}
	}
	return out, nil
}

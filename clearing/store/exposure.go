package store

import (
	"context"
	"time"

	"github.com/crossclear/crossclear/clearing"
)

// ExposureReport is the open cycle's exposure of some participants, each
// converted into Currency (the reporting currency) at the book's mid rates
// at At: see clearing.Exposure for the rounding and the totals.
type ExposureReport struct {
	Currency     string
	CycleID      int64
	At           time.Time
	Participants []clearing.Exposure // by participant id
}

// Exposures reports the exposure of the participants f selects: every
// currency in which it has an open-cycle position, converted into the
// reporting currency at the mid rates of the book (the configured
// provider's rates first, else the ECB's), with its multi-currency net
// debit cap. A position without a usable rate is reported unconverted,
// with why, and the totals it would change are left unknown.
func (s *Store) Exposures(ctx context.Context, f ParticipantFilter) (ExposureReport, error) {
	ps, err := s.Participants(ctx, f)
	if err != nil {
		return ExposureReport{}, err
	}
	cy, err := s.CurrentCycle(ctx)
	if err != nil {
		return ExposureReport{}, err
	}
	only := ""
	if len(f.IDs) == 1 {
		only = f.IDs[0]
	}
	positions, err := s.OpenPositions(ctx, only)
	if err != nil {
		return ExposureReport{}, err
	}
	nets := map[string]map[string]int64{}
	for _, p := range positions {
		if nets[p.Participant] == nil {
			nets[p.Participant] = map[string]int64{}
		}
		nets[p.Participant][p.Currency] = p.NetMinor
	}
	now := s.now()
	rep := ExposureReport{Currency: s.fx.ReportingCurrency, CycleID: cy.ID, At: now, Participants: make([]clearing.Exposure, 0, len(ps))}
	mids := s.midRates(now)
	for _, p := range ps {
		e := clearing.NewExposure(p.ID, rep.Currency, nets[p.ID], mids)
		e.Cap = p.NetDebitCapTotal
		rep.Participants = append(rep.Participants, e)
	}
	return rep, nil
}

package regulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/regulator/checkpoint"
	"github.com/crossclear/crossclear/regulator/internal/dbx"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/push"
	"github.com/crossclear/crossclear/regulator/reports"
)

// Producer builds, logs, seals and checkpoints the reports.
type Producer struct {
	Store     *store.Store
	Archive   *reports.Archive
	Log       *merklelog.Log
	Files     signing.Signer        // signs report files
	Publisher *checkpoint.Publisher // signs checkpoints
	Interval  time.Duration         // between passes; 10 s when 0
	Logger    *slog.Logger
}

// NewProducer wires a producer over st: files sign the reports, checkpoints
// (an ed25519 key) the log's checkpoints under origin.
func NewProducer(st *store.Store, files, checkpoints signing.Signer, origin string) *Producer {
	log := merklelog.New(st.DB())
	return &Producer{Store: st, Archive: reports.NewArchive(st.DB()), Log: log, Files: files,
		Publisher: &checkpoint.Publisher{Log: log, Origin: origin, Signer: checkpoints, Now: st.Now}}
}

// Limits of one pass, so that a first start over a long history works in
// steps and the transactions stay small.
const (
	maxCyclesPerPass = 50
	maxDaysPerPass   = 31
	maxSealsPerPass  = 200
)

// Pass is what one pass did.
type Pass struct {
	Reports    int    // added to the log
	Sealed     int    // signed
	Checkpoint uint64 // size of the checkpoint it signed, 0 if none
}

// Run makes a pass at once and then every Interval until ctx ends. A pass
// that fails (the signer is down, say) is logged and retried; what it
// could not finish waits, unpublished.
func (p *Producer) Run(ctx context.Context) {
	interval := p.Interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	log := p.logger()
	log.Info("regulator report producer started", "interval", interval.String())
	defer log.Info("regulator report producer stopped")
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false // errors are logged once when they start, then at debug level
	for {
		pass, err := p.Tick(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
		case err != nil && !failing:
			log.Error("regulator report pass failed: reports wait unpublished; retrying every interval", "err", err)
			failing = true
		case err != nil:
			log.Debug("regulator report pass failed again", "err", err)
		case failing:
			log.Info("regulator report pass succeeded again")
			failing = false
		}
		if pass.Reports+pass.Sealed > 0 || pass.Checkpoint > 0 {
			log.Info("regulator reports", "added", pass.Reports, "sealed", pass.Sealed, "checkpoint_size", pass.Checkpoint)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick makes one pass: add the missing reports, seal, sign a checkpoint.
// Each step runs even when an earlier one failed, so that a report added
// before the signer went down is sealed as soon as it is back.
func (p *Producer) Tick(ctx context.Context) (Pass, error) {
	var pass Pass
	var errs []error
	n, err := p.produceCycles(ctx)
	pass.Reports += n
	errs = append(errs, err)
	n, err = p.produceDays(ctx)
	pass.Reports += n
	errs = append(errs, err)
	pass.Sealed, err = p.seal(ctx)
	errs = append(errs, err)
	cp, signed, err := p.Publisher.Publish(ctx)
	if signed {
		pass.Checkpoint = cp.Size
	}
	errs = append(errs, err)
	return pass, errors.Join(errs...)
}

// produceCycles reports every closed cycle after the last one reported.
func (p *Producer) produceCycles(ctx context.Context) (int, error) {
	last, err := p.Archive.LastCycle(ctx)
	if err != nil {
		return 0, err
	}
	added := 0
	for id := last + 1; id <= last+maxCyclesPerPass; id++ {
		c, err := p.Store.Cycle(ctx, id)
		if ce, ok := clearing.AsError(err); ok && ce.Kind == clearing.NotFound {
			return added, nil
		}
		if err != nil {
			return added, err
		}
		if c.State == clearing.CycleOpen {
			return added, nil
		}
		n, err := p.produceCycle(ctx, id)
		added += n
		if err != nil {
			return added, fmt.Errorf("reports of cycle %d: %w", id, err)
		}
	}
	return added, nil
}

// DayGrace is how long after midnight (UTC) a day's reports wait, so that
// a decision stamped just before midnight and committed just after is in
// its day's report.
const DayGrace = 5 * time.Minute

// produceDays reports every day that has ended since the last one
// reported, from the day the first participant joined.
func (p *Producer) produceDays(ctx context.Context) (int, error) {
	participants, err := p.Store.Participants(ctx, store.ParticipantFilter{})
	if err != nil || len(participants) == 0 {
		return 0, err
	}
	last, err := p.Archive.LastDay(ctx)
	if err != nil {
		return 0, err
	}
	var day time.Time
	if last == "" {
		first := participants[0].CreatedAt
		for _, pt := range participants {
			if pt.CreatedAt.Before(first) {
				first = pt.CreatedAt
			}
		}
		day = first.UTC().Truncate(24 * time.Hour)
	} else {
		d, err := time.Parse(time.DateOnly, last)
		if err != nil {
			return 0, fmt.Errorf("last reported day %q: %w", last, err)
		}
		day = d.Add(24 * time.Hour)
	}
	added := 0
	now := p.Store.Now()
	for i := 0; i < maxDaysPerPass && !day.Add(24*time.Hour+DayGrace).After(now); i++ {
		n, err := p.produceDay(ctx, day, participants)
		added += n
		if err != nil {
			return added, fmt.Errorf("reports of %s: %w", reports.DayPeriod(day), err)
		}
		day = day.Add(24 * time.Hour)
	}
	return added, nil
}

// produceDay adds one day's reports, one per jurisdiction with a
// participant by the day's end, like produceCycle.
func (p *Producer) produceDay(ctx context.Context, day time.Time, participants []clearing.Participant) (int, error) {
	end := day.Add(24 * time.Hour)
	events, err := p.Store.ComplianceEvents(ctx, day, end)
	if err != nil {
		return 0, err
	}
	in := reports.DayInput{Day: day, Events: events, Participants: participants}
	return p.add(ctx, reports.KindDay, reports.DayPeriod(day), jurisdictionsBy(participants, end), func(j string, seq int64) (reports.Report, error) {
		return reports.BuildDay(j, seq, in)
	})
}

// jurisdictionsBy are the jurisdictions with a participant created before
// t, sorted.
func jurisdictionsBy(participants []clearing.Participant, t time.Time) []string {
	var out []string
	for _, pt := range participants {
		if pt.CreatedAt.Before(t) && !slices.Contains(out, pt.Jurisdiction) {
			out = append(out, pt.Jurisdiction)
		}
	}
	slices.Sort(out)
	return out
}

// add builds one period's reports, one per jurisdiction numbered after its
// last of kind, and adds them to the log and the push queue in one
// transaction that holds the log's lock; a period another process
// reported first is left alone.
func (p *Producer) add(ctx context.Context, kind reports.Kind, period string, jurisdictions []string, build func(j string, seq int64) (reports.Report, error)) (int, error) {
	if len(jurisdictions) == 0 {
		return 0, nil
	}
	var added []reports.Stored
	err := dbx.InTx(ctx, p.Store.DB(), func(ctx context.Context, tx bun.Tx) error {
		added = nil
		if _, err := p.Log.Lock(ctx, tx); err != nil {
			return err
		}
		if done, err := p.Archive.Exists(ctx, tx, kind, period); err != nil || done {
			return err
		}
		seqs, err := p.Archive.LastSeq(ctx, tx, kind)
		if err != nil {
			return err
		}
		reps := make([]reports.Report, 0, len(jurisdictions))
		for _, j := range jurisdictions {
			r, err := build(j, seqs[j].Seq+1)
			if err != nil {
				return err
			}
			reps = append(reps, r)
		}
		now := p.Store.Now()
		if added, err = p.Archive.Add(ctx, tx, p.Log, reps, now); err != nil {
			return err
		}
		return push.Enqueue(ctx, tx, added, now)
	})
	return len(added), err
}

// produceCycle adds one closed cycle's reports, one per jurisdiction with
// a participant at the close, in one transaction with their leaves and
// their push queue entries.
func (p *Producer) produceCycle(ctx context.Context, id int64) (int, error) {
	activity, err := p.Store.CycleActivity(ctx, id, reports.Ageing)
	if err != nil {
		return 0, err
	}
	participants, err := p.Store.Participants(ctx, store.ParticipantFilter{})
	if err != nil {
		return 0, err
	}
	in := reports.CycleInput{Activity: activity, Participants: participants}
	closed := activity.Cycle.ClosedAt
	return p.add(ctx, reports.KindCycle, strconv.FormatInt(id, 10), jurisdictionsBy(participants, closed.Add(time.Microsecond)),
		func(j string, seq int64) (reports.Report, error) { return reports.BuildCycle(j, seq, in) })
}

// seal signs the files of unsealed reports, oldest first, in one call to
// the signer.
func (p *Producer) seal(ctx context.Context) (int, error) {
	pending, contents, err := p.Archive.Unsealed(ctx, maxSealsPerPass)
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	var inputs [][]byte
	for _, c := range contents {
		inputs = append(inputs, c...)
	}
	sigs, err := p.Files.Sign(ctx, inputs...)
	if err != nil {
		return 0, fmt.Errorf("sign %d report files with %s: %w", len(inputs), p.Files.KeyName(), err)
	}
	if len(sigs) != len(inputs) {
		return 0, fmt.Errorf("sign report files: %d signatures for %d files", len(sigs), len(inputs))
	}
	now := p.Store.Now()
	sealed := 0
	for i, r := range pending {
		if err := p.Archive.Seal(ctx, r, sigs[:len(contents[i])], now); err != nil {
			return sealed, err
		}
		sigs = sigs[len(contents[i]):]
		sealed++
	}
	return sealed, nil
}

func (p *Producer) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.Default().With("worker", "regulator-reports")
	}
	return p.Logger.With("worker", "regulator-reports")
}

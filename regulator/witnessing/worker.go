package witnessing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"

	"github.com/crossclear/crossclear/messages/delivery"
	"github.com/crossclear/crossclear/regulator/cosignature"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/witness"
)

// Backoff after consecutive failures: 5 s doubling to 1 h, jittered.
const (
	minBackoff = 5 * time.Second
	maxBackoff = time.Hour
)

// maxConflicts bounds the 409 round trips of one attempt: a witness that
// names a new size each time is moving under us (another log instance
// writing to it?) and waits for the next pass.
const maxConflicts = 3

var failures = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "crossclear_regulator_witness_failures_total",
	Help: "Failed attempts to get a witness's cosignature of the regulator log's checkpoint, by witness.",
}, []string{"witness"})

func init() { prometheus.MustRegister(failures) }

// Worker asks every due witness to cosign the latest checkpoint.
type Worker struct {
	delivery.Worker
	Registry *Registry
	Log      *merklelog.Log
	// Refresh is how old a witness's newest cosignature may grow before it
	// is asked again for the same checkpoint (default 10 min): readers
	// check freshness against the cosignatures' timestamps.
	Refresh time.Duration
	// Interval is the wait between passes (default 10 s).
	Interval time.Duration
}

// Run makes a pass at once and then every Interval until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	interval := w.Interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := w.Pass(ctx); err != nil && ctx.Err() == nil {
			w.Worker.Log("witnessing").Error("witnessing pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Pass asks each due witness, all at once, for a cosignature of the
// latest checkpoint, and returns when all have answered or failed.
func (w *Worker) Pass(ctx context.Context) error {
	latest, err := w.Log.LatestCheckpoint(ctx)
	if errors.Is(err, merklelog.ErrNoCheckpoint) {
		return nil
	}
	if err != nil {
		return err
	}
	due, err := w.due(ctx, latest.Size)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(due))
	for i, wt := range due {
		wg.Go(func() { errs[i] = w.witness(ctx, wt, latest) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// due are the live witnesses to ask now: those whose wait is over, and
// those that are not failing and have not cosigned the latest size.
func (w *Worker) due(ctx context.Context, latest uint64) ([]witnessRow, error) {
	var rows []witnessRow
	err := w.Registry.DB.NewSelect().Model(&rows).Where("removed_at IS NULL").
		Where("(next_attempt_at <= ? OR (size < ? AND attempts = 0))", w.Clock(), int64(latest)).
		Where("(leased_until IS NULL OR leased_until < ?)", w.Clock()).OrderExpr("id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("due witnesses: %w", err)
	}
	return rows, nil
}

// witness gets one witness's cosignature of latest, under its lease (or
// leaves the witness to the worker that holds it).
func (w *Worker) witness(ctx context.Context, wt witnessRow, latest merklelog.Checkpoint) error {
	lease := delivery.Lease{DB: w.Registry.DB, Table: "regulator_witnesses", ID: wt.ID, For: w.LeaseFor()}
	_, err := lease.Hold(ctx, w.Clock, func(ctx context.Context) error { return w.ask(ctx, wt, latest) })
	return err
}

// ask sends latest to the witness, from the size it last cosigned, and
// keeps its answer.
func (w *Worker) ask(ctx context.Context, wt witnessRow, latest merklelog.Checkpoint) error {
	v, err := cosignature.NewVerifier(wt.VKey)
	if err != nil {
		return w.failed(ctx, wt, fmt.Errorf("stored verifier key: %w", err))
	}
	size := uint64(wt.Size)
	for range maxConflicts {
		if size > latest.Size {
			return w.failed(ctx, wt, fmt.Errorf("the witness has cosigned size %d, beyond our latest checkpoint %d: another history of this log was shown to it, or our database lost checkpoints", size, latest.Size))
		}
		var proof [][]byte
		if size > 0 && size < latest.Size {
			if proof, err = w.Log.ConsistencyProof(ctx, size, latest.Size); err != nil {
				return w.failed(ctx, wt, err)
			}
		}
		reqCtx, cancel := context.WithTimeout(ctx, w.Timeout())
		out := delivery.Post(reqCtx, w.HTTPClient(), strings.TrimSuffix(wt.URL, "/")+"/add-checkpoint",
			http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, []byte(witness.Request(size, proof, latest.Note)))
		cancel()
		if delivery.LeaseLost(ctx) {
			return context.Cause(ctx) // the new holder asks again: nothing more here
		}
		switch out.StatusCode {
		case http.StatusOK:
			return w.cosigned(ctx, wt, v, latest, out.Body)
		case http.StatusConflict:
			known, err := strconv.ParseUint(strings.TrimSpace(string(out.Body)), 10, 64)
			if err != nil {
				return w.failed(ctx, wt, fmt.Errorf("409 without a size: %q", out.Body))
			}
			size = known
			if _, err := w.Registry.DB.NewUpdate().Model((*witnessRow)(nil)).Set("size = ?", int64(known)).
				Where("id = ?", wt.ID).Exec(ctx); err != nil {
				return fmt.Errorf("record witness %s's size: %w", wt.ID, err)
			}
		case http.StatusForbidden, http.StatusNotFound:
			return w.failed(ctx, wt, fmt.Errorf("%w (does the witness know the log %s and its key? witness add-log)", out.Err, strings.SplitN(string(latest.Note), "\n", 2)[0]))
		default:
			return w.failed(ctx, wt, out.Err)
		}
	}
	return w.failed(ctx, wt, fmt.Errorf("the witness named a new size %d times in a row", maxConflicts))
}

// cosigned verifies the witness's answer against latest and keeps it.
func (w *Worker) cosigned(ctx context.Context, wt witnessRow, v *cosignature.Verifier, latest merklelog.Checkpoint, answer []byte) error {
	text, _, _ := bytes.Cut(latest.Note, []byte("\n\n"))
	signed := slices.Concat(text, []byte("\n\n"), answer) // a copy: latest is shared by the pass's witnesses
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return w.failed(ctx, wt, fmt.Errorf("the answer holds no valid cosignature by %s: %v", wt.ID, err))
	}
	sig := n.Sigs[0]
	at, err := cosignature.Timestamp(sig)
	if err != nil {
		return w.failed(ctx, wt, err)
	}
	if err := w.Log.SaveCosignature(ctx, latest.Size, wt.ID, fmt.Sprintf("— %s %s\n", sig.Name, sig.Base64), at); err != nil {
		return err
	}
	_, err = w.Registry.DB.NewUpdate().Model((*witnessRow)(nil)).Set("size = ?", int64(latest.Size)).Set("cosigned_at = ?", at).
		Set("attempts = 0").Set("last_error = ''").Set("next_attempt_at = ?", w.Clock().Add(w.refresh())).
		Where("id = ?", wt.ID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("record witness %s's cosignature: %w", wt.ID, err)
	}
	return nil
}

// failed records a failed attempt and when to try again.
func (w *Worker) failed(ctx context.Context, wt witnessRow, cause error) error {
	failures.WithLabelValues(wt.ID).Inc()
	attempts := wt.Attempts + 1
	next := w.Clock().Add(delivery.FullJitter(attempts, minBackoff, maxBackoff))
	if attempts == 1 {
		w.Worker.Log("witnessing").Warn("witness did not cosign; retrying with backoff", "witness", wt.ID, "url", wt.URL, "err", cause)
	}
	_, err := w.Registry.DB.NewUpdate().Model((*witnessRow)(nil)).Set("attempts = ?", attempts).
		Set("next_attempt_at = ?", next).Set("last_error = ?", truncate(cause.Error(), 1000)).
		Where("id = ?", wt.ID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("record witness %s's failure (%v): %w", wt.ID, cause, err)
	}
	return nil
}

func (w *Worker) refresh() time.Duration {
	if w.Refresh > 0 {
		return w.Refresh
	}
	return 10 * time.Minute
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

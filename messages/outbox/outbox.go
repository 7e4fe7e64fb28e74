// Package outbox seals the files crossclear writes into banks' mailboxes:
// every file is written unsigned in the transaction that produces it, and
// a Sealer signs the waiting files in batches and releases them. If the
// signer (Vault) is unreachable or refuses, the files simply wait — nothing
// unsigned ever leaves — and the Sealer's Health, /readyz and the metrics
// say the outbox is degraded until a pass succeeds again.
package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/signing"
)

var (
	filesSigned = promauto.NewCounter(prometheus.CounterOpts{
		Name: "crossclear_outbox_files_signed_total",
		Help: "Mailbox files signed and released to their banks.",
	})
	signingFailures = promauto.NewCounter(prometheus.CounterOpts{
		Name: "crossclear_outbox_signing_failures_total",
		Help: "Sealing passes that failed because the signer was unreachable or refused.",
	})
	signerUp = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "crossclear_outbox_signer_up",
		Help: "1 when the last sealing pass could sign, 0 while files wait for the signer (degraded).",
	})
	unsignedFiles = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "crossclear_outbox_unsigned_files",
		Help: "Mailbox files written but not yet signed (invisible to their banks).",
	})
)

// DefaultBatch is how many files one Sign call covers.
const DefaultBatch = 100

// Sealer signs waiting mailbox files. It is safe for concurrent use, and
// several processes may run one on the same database.
type Sealer struct {
	Store  *store.Store
	Signer signing.Signer
	Batch  int          // files per signing call; default DefaultBatch
	Logger *slog.Logger // nil discards

	kick    chan struct{}
	once    sync.Once
	pass    sync.Mutex // one pass at a time in this process
	mu      sync.Mutex
	failing error     // the last pass's error, nil when it succeeded
	since   time.Time // when the current failure started
}

// Health is the outbox's state for /readyz.
type Health struct {
	Degraded     bool      `json:"degraded"`
	Error        string    `json:"error,omitempty"` // why the signer failed
	FailingSince time.Time `json:"failing_since,omitzero"`
	Unsigned     int       `json:"unsigned_files"`
	Oldest       time.Time `json:"oldest_unsigned_at,omitzero"`
}

func (s *Sealer) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Sealer) kicks() chan struct{} {
	s.once.Do(func() { s.kick = make(chan struct{}, 1) })
	return s.kick
}

// Kick asks Run for a pass now (a file was just written); it never blocks.
func (s *Sealer) Kick() {
	select {
	case s.kicks() <- struct{}{}:
	default:
	}
}

// SealPending signs and releases every waiting file, in batches, oldest
// first. It stops at the first signing failure and returns it; the files
// stay waiting for the next pass.
func (s *Sealer) SealPending(ctx context.Context) (int, error) {
	s.pass.Lock()
	defer s.pass.Unlock()
	batch := s.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	total := 0
	for {
		files, err := s.Store.UnsealedMailboxFiles(ctx, batch)
		if err != nil {
			return total, err
		}
		if len(files) == 0 {
			s.record(nil)
			return total, nil
		}
		contents := make([][]byte, len(files))
		for i, f := range files {
			contents[i] = f.Content
		}
		sigs, err := s.Signer.Sign(ctx, contents...)
		if err == nil && len(sigs) != len(files) {
			err = fmt.Errorf("signer returned %d signatures for %d files", len(sigs), len(files))
		}
		if err != nil {
			err = fmt.Errorf("sign %d mailbox files with %s: %w", len(files), s.Signer.KeyName(), err)
			s.record(err)
			return total, err
		}
		seals := make([]store.Seal, len(files))
		for i, f := range files {
			seals[i] = store.Seal{FileID: f.ID, Signature: sigs[i].Marshal()}
		}
		n, err := s.Store.SealMailboxFiles(ctx, seals)
		if err != nil {
			return total, err
		}
		total += n
		filesSigned.Add(float64(n)) // a Prometheus counter, not money
		if len(files) < batch {
			s.record(nil)
			return total, nil
		}
	}
}

// record keeps the outcome of a signing attempt for Health and metrics.
func (s *Sealer) record(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil && s.failing == nil:
		s.since = time.Now()
		s.logger().Error("signer unavailable: outbound files wait unsigned in the outbox", "err", err)
	case err == nil && s.failing != nil:
		s.logger().Info("signer back: outbox draining", "was_failing_since", s.since)
	}
	s.failing = err
	if err != nil {
		signingFailures.Inc()
		signerUp.Set(0)
	} else {
		signerUp.Set(1)
	}
}

// Health reports the last pass's outcome and what is waiting.
func (s *Sealer) Health(ctx context.Context) (Health, error) {
	n, oldest, err := s.Store.UnsealedStats(ctx)
	if err != nil {
		return Health{}, err
	}
	unsignedFiles.Set(float64(n))
	s.mu.Lock()
	defer s.mu.Unlock()
	h := Health{Unsigned: n}
	if n > 0 {
		h.Oldest = oldest
	}
	if s.failing != nil {
		h.Degraded, h.Error, h.FailingSince = true, s.failing.Error(), s.since
	}
	return h, nil
}

// Run seals on every Kick and every interval until ctx ends.
func (s *Sealer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.SealPending(ctx); err != nil && ctx.Err() == nil {
			s.logger().Debug("sealing pass failed", "err", err)
		}
		if _, err := s.Health(ctx); err != nil && ctx.Err() == nil {
			s.logger().Warn("outbox health", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kicks():
		}
	}
}

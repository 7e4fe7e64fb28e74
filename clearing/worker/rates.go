package worker

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/crossclear/crossclear/clearing/store"
)

var (
	rateReloads = promauto.NewCounter(prometheus.CounterOpts{
		Name: "crossclear_fx_rate_reloads_total",
		Help: "Reloads of the FX rates posted by any process into this process's rate book.",
	})
	rateReloadErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "crossclear_fx_rate_reload_errors_total",
		Help: "FX rate reloads that failed (retried at the next interval).",
	})
	ecbRatesPosted = promauto.NewCounter(prometheus.CounterOpts{
		Name: "crossclear_fx_ecb_rates_posted_total",
		Help: "ECB reference rates posted by the scheduled ECB refresh of this process.",
	})
	ecbRefreshErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "crossclear_fx_ecb_refresh_errors_total",
		Help: "Scheduled ECB refreshes that failed (retried at the next interval).",
	})
)

// Defaults of the rate workers.
const (
	DefaultRateReloadInterval = 30 * time.Second
	DefaultECBRefreshInterval = time.Hour
)

// RateReloader keeps a serve process's rate book fresh: every Interval it
// loads the rates posted since its last load by any process sharing the
// database (store.ReloadRates), so that a rate posted to one process is
// quoted by all of them within one interval.
type RateReloader struct {
	Store    *store.Store
	Interval time.Duration // DefaultRateReloadInterval when 0
	Logger   *slog.Logger  // slog.Default() when nil
}

// Run reloads every Interval until ctx is cancelled; it then returns nil.
// The first reload happens after one interval: serve loads every rate at
// start. A failed reload is logged and retried at the next interval.
func (r *RateReloader) Run(ctx context.Context) error {
	interval := r.Interval
	if interval <= 0 {
		interval = DefaultRateReloadInterval
	}
	log := logger(r.Logger, "fx-rate-reload")
	log.Info("FX rate reloader started", "interval", interval.String())
	defer log.Info("FX rate reloader stopped")
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		n, err := r.Store.ReloadRates(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			rateReloadErrors.Inc()
			log.Error("FX rate reload failed; retrying at the next interval", "err", err)
		case err == nil:
			rateReloads.Inc()
			log.Debug("FX rates reloaded", "rates", n)
		}
	}
}

// ECBRefresh loads the ECB's euro reference rates from Source (a file path
// or an http(s) URL in the eurofxref-daily.xml format) at once and then
// every Interval, and posts those newer than the book's
// (store.RefreshECB): in the database, so that the other processes get
// them at their next reload.
type ECBRefresh struct {
	Store    *store.Store
	Source   string
	Interval time.Duration // DefaultECBRefreshInterval when 0
	Client   *http.Client  // for an http(s) Source; a client with a 30 s timeout when nil
	Logger   *slog.Logger  // slog.Default() when nil
}

// Run refreshes at once, then every Interval, until ctx is cancelled; it
// then returns nil. A failed refresh (the feed unreachable, malformed, or
// only expired rates) is logged and retried at the next interval: the book
// keeps the rates it has until they expire.
func (e *ECBRefresh) Run(ctx context.Context) error {
	if e.Source == "" {
		return errors.New("ECB refresh: no source")
	}
	interval := e.Interval
	if interval <= 0 {
		interval = DefaultECBRefreshInterval
	}
	log := logger(e.Logger, "ecb-refresh")
	log.Info("ECB refresh started", "source", e.Source, "interval", interval.String())
	defer log.Info("ECB refresh stopped")
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := e.Refresh(ctx); err != nil && ctx.Err() == nil {
			ecbRefreshErrors.Inc()
			log.Error("ECB refresh failed; retrying at the next interval", "source", e.Source, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Refresh loads and posts once and returns how many rates it posted.
func (e *ECBRefresh) Refresh(ctx context.Context) (int, error) {
	n, err := e.Store.RefreshECB(ctx, e.Source, e.Client)
	if err != nil {
		return 0, err
	}
	ecbRatesPosted.Add(float64(n))
	if n > 0 {
		logger(e.Logger, "ecb-refresh").Info("posted new ECB reference rates", "rates", n, "source", e.Source)
	}
	return n, nil
}

func logger(l *slog.Logger, worker string) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	return l.With("worker", worker)
}

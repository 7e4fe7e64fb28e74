package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/crossclear/crossclear/compliance"
)

var (
	sanctionsReloads = promauto.NewCounter(prometheus.CounterOpts{
		Name: "crossclear_sanctions_reloads_total",
		Help: "Scheduled reloads of the sanctions lists (a failed list keeps its last version).",
	})
	sanctionsReloadErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "crossclear_sanctions_reload_errors_total",
		Help: "Scheduled sanctions list reloads in which a list failed to load (retried at the next interval).",
	})
	sanctionsEntries = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "crossclear_sanctions_list_entries",
		Help: "Entries of each sanctions list screening uses now.",
	}, []string{"list"})
)

// DefaultSanctionsReloadInterval is how often serve reloads the lists
// unless configured: OFAC and the UN publish changes a few times a week.
const DefaultSanctionsReloadInterval = 6 * time.Hour

// SanctionsReloader reloads the sanctions lists every Interval
// (compliance.Screener.Reload): each new version is swapped in while
// screening goes on, and a list that fails to load keeps its last version
// and is retried at the next interval.
type SanctionsReloader struct {
	Screener *compliance.Screener
	Interval time.Duration // DefaultSanctionsReloadInterval when 0
	Logger   *slog.Logger  // slog.Default() when nil
}

// Run reloads every Interval until ctx is cancelled; it then returns nil.
// The first reload happens after one interval: serve loads at start.
func (r *SanctionsReloader) Run(ctx context.Context) error {
	interval := r.Interval
	if interval <= 0 {
		interval = DefaultSanctionsReloadInterval
	}
	log := logger(r.Logger, "sanctions-reload")
	log.Info("sanctions list reloader started", "interval", interval.String())
	defer log.Info("sanctions list reloader stopped")
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		r.Reload(ctx)
	}
}

// Reload reloads once, logs what screening now uses, and returns it.
func (r *SanctionsReloader) Reload(ctx context.Context) ([]compliance.ListInfo, error) {
	log := logger(r.Logger, "sanctions-reload")
	lists, err := r.Screener.Reload(ctx)
	sanctionsReloads.Inc()
	if err != nil && ctx.Err() == nil {
		sanctionsReloadErrors.Inc()
		log.Error("sanctions list reload failed; retrying at the next interval", "err", err)
	}
	for _, l := range lists {
		sanctionsEntries.WithLabelValues(l.Name).Set(float64(l.Entries))
		log.Info("sanctions list in use", "list", l.Name, "entries", l.Entries, "sha256", l.Hash, "loaded_at", l.LoadedAt.Format(time.RFC3339), "source", l.Source)
	}
	return lists, err
}

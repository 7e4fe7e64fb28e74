package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/console"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/worker"
	"github.com/crossclear/crossclear/messages/cyclefiles"
	"github.com/crossclear/crossclear/messages/outbox"
	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/messages/webhook"
)

var serveCmd = &command{
	name:    "serve",
	summary: "run the HTTP API, the auto-release worker and the cycle scheduler",
	about: `
Migrates the database (safe with several processes), then serves the HTTP
API on --listen together with the background workers:

  auto-release     every auto_release_interval, releases held payments whose
                   deadline (auto_release_after after the hold) has passed
                   without a dispute
  cycle scheduler  when cycle_period > 0, closes the open settlement cycle
                   once it is that old; the age is read from the database,
                   so restarts keep the rhythm and several serve processes
                   on one database close each cycle once
  rate reload      every fx_rates_reload_interval, loads the FX rates posted
                   to any serve process on the database into this one's
                   rate book, so that all of them quote the same rates
  ECB refresh      when fx_ecb_url is set, loads the ECB's reference rates
                   from it at start and every fx_ecb_refresh_interval, and
                   posts the new ones (once per ECB day) for every process
  cycle files      writes each closed cycle's pacs.009 (per net position),
                   camt.053 (per bank and currency) and camt.054 (per
                   merchant's bank) into the mailboxes, whichever process
                   closed it
  outbox sealer    signs the files written into banks' mailboxes (Vault
                   transit, or the development key file) and releases
                   them; while the signer is down they wait, /readyz says
                   "degraded", and every seal_retry_interval it tries again
  sanctions reload when sanctions lists are configured (sanctions_ofac,
                   sanctions_un), loads them at start (a list that fails
                   stops serve) and every sanctions_reload_interval, and
                   swaps each new version in while screening goes on
  regulator reports
                   every regulator_interval, reports each closed cycle and
                   each ended UTC day to every jurisdiction, appends them to
                   the Merkle log, signs their files and a checkpoint
  regulator push   every regulator_interval, posts reports to regulators'
                   endpoints in order, backing off while one is down
  webhooks         every webhook_interval, posts events to the endpoints
                   banks, merchants and the operator subscribed, in order
                   per subscription, signed (Standard Webhooks), backing
                   off with jitter and pausing after webhook_max_failures

It also serves the regulator gateway on regulator_listen (by default the
API's port + 1): read-only, regulator keys only, rate-limited, audited.

Requests authenticate with 'Authorization: Bearer <secret>'; make the first
operator key with 'crossclear apikey create --role operator'. SIGINT or
SIGTERM shuts down gracefully: requests in flight finish, workers stop.`,
	example: `  crossclear serve
  crossclear serve --listen :8080 --cycle-period 24h
  CROSSCLEAR_DATABASE='postgres://crossclear:secret@db:5432/crossclear' crossclear serve
  crossclear serve --config /etc/crossclear/crossclear.toml`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, settingKeys()...)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("serve", args); err != nil {
				return err
			}
			cfg, err := cf.load(c.getenv)
			if err != nil {
				return err
			}
			log := c.logger(cfg)
			s, err := openStore(ctx, cfg, true)
			if err != nil {
				return err
			}
			defer s.Close()
			applied, err := s.Migrate(ctx)
			if err != nil {
				return err
			}
			for _, m := range applied {
				log.Info("applied migration", "migration", m)
			}
			n, err := s.LoadRates(ctx)
			if err != nil {
				return err
			}
			log.Info("FX rates loaded", "rates", n, "provider", cfg.FXProvider)
			return serveAPI(ctx, c, cfg, s, log, time.Now, nil)
		}
	},
}

// cycleFilesSweep is how often serve looks for closed cycles without their
// files (closed by another process, or before a crash).
const cycleFilesSweep = 10 * time.Second

// serveAPI serves the API and runs the workers on s until ctx is done,
// then shuts down gracefully. now is the store's clock, for the scheduler;
// ready, when set, prints more once the address is known.
func serveAPI(ctx context.Context, c *cli, cfg Config, s *store.Store, log *slog.Logger, now func() time.Time, ready func(base, gateway string)) error {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	workCtx, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	stopTracing, err := startTracing(cfg.OTLPTracesEndpoint, buildVersion())
	if err != nil {
		return err
	}
	defer func() {
		flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(flush); err != nil {
			log.Warn("flushing traces", "err", err)
		}
	}()
	keys, err := openSigners(workCtx, cfg, c.getenv, log)
	if err != nil {
		return err
	}
	screener, err := openScreener(ctx, cfg)
	if err != nil {
		return err
	}
	s.SetScreener(screener)
	s.CacheAPIKeys(workCtx, cfg.APIKeyCacheTTL, log)
	sealer := &outbox.Sealer{Store: s, Signer: keys.Files, Logger: log}
	files := &cyclefiles.Builder{Store: s, Operator: cfg.OperatorBIC, Written: sealer.Kick, Logger: log}
	readiness := map[string]func(context.Context) (any, error){} // filled below, before the app serves
	app := api.New(s, api.Config{BodyLimit: cfg.BodyLimitBytes, Readiness: readiness, FileLimit: cfg.FileLimitBytes, OperatorBIC: cfg.OperatorBIC,
		Version: buildVersion(), Logger: log, Sealer: sealer, CycleFiles: files, SettlementBankBIC: cfg.SettlementBankBIC,
		SigningKeys: map[string]signing.Signer{"files": keys.Files, "checkpoints": keys.Checkpoints},
		ReadTimeout: cfg.HTTPReadTimeout, WriteTimeout: cfg.HTTPWriteTimeout, IdleTimeout: cfg.HTTPIdleTimeout,
		AuthLimit: api.AuthLimit{Failures: cfg.AuthFailureLimit, Window: cfg.AuthFailureWindow}, DegradedStatus: cfg.DegradedStatus,
		WebhookHTTPHosts: commaList(cfg.Webhooks.HTTPHosts), GroupCommit: cfg.GroupCommit})
	replica, err := openReplica(ctx, cfg, log)
	if err != nil {
		return err
	}
	if replica != nil {
		defer replica.Close()
	}
	regulators, err := startRegulator(cfg, s, replica, keys, log)
	if err != nil {
		return err
	}
	console.Mount(app, s, console.Config{Sealer: sealer, CycleFiles: files, OperatorBIC: cfg.OperatorBIC,
		SettlementBankBIC: cfg.SettlementBankBIC, FileLimit: cfg.FileLimitBytes, Reads: replica, Logger: log,
		Push: regulators.pusher.Outbox, Witnesses: regulators.witnesses.Registry})
	queues.watch(s, regulators.pusher.Outbox, regulators.witnesses.Registry)
	readiness["witnesses"] = regulators.witnessLag

	base := baseURL(ln.Addr().String())
	if ready != nil {
		ready(base, regulators.base)
	}
	// The banner is written at once, so that whoever waits for "serving
	// on" reads all of it.
	var banner strings.Builder
	fmt.Fprintf(&banner, "crossclear %s serving on %s\n", buildVersion(), base)
	fmt.Fprintf(&banner, "  API           %s/v1/  (Authorization: Bearer <key>; 'crossclear apikey create --role operator' makes one)\n", base)
	fmt.Fprintf(&banner, "  console       %s/console/  (sign in with an API key)\n", base)
	if regulators.base != "" {
		fmt.Fprintf(&banner, "  reg. console  %s/console/  (regulator keys only: reports verified in the browser)\n", regulators.base)
	}
	fmt.Fprintf(&banner, "  OpenAPI       %s/openapi.json\n", base)
	fmt.Fprintf(&banner, "  metrics       %s/metrics\n", base)
	fmt.Fprintf(&banner, "  health        %s/healthz  %s/readyz\n", base, base)
	fmt.Fprintf(&banner, "  database      %s\n", engineName(s, cfg.Database))
	fmt.Fprintf(&banner, "  signing       %s\n", keys.Describe())
	fmt.Fprintf(&banner, "  screening     %s\n", describeScreening(screener, cfg, log))
	fmt.Fprintf(&banner, "  regulators    %s\n", regulators.describe(cfg))
	fmt.Fprintf(&banner, "  auto-release  %s after the hold, checked every %s\n", cfg.AutoReleaseAfter, cfg.AutoReleaseInterval)
	if cfg.FXRatesReload > 0 {
		fmt.Fprintf(&banner, "  FX rates      reloaded from the database every %s", cfg.FXRatesReload)
	} else {
		fmt.Fprintf(&banner, "  FX rates      never reloaded from the database (fx_rates_reload_interval = 0)")
	}
	if cfg.FXECBURL != "" {
		fmt.Fprintf(&banner, "; ECB reference rates from %s every %s", cfg.FXECBURL, cfg.FXECBRefresh)
	}
	fmt.Fprintf(&banner, "; FX result charged to the %s; exposure in %s\n", cfg.FXResultChargedTo, cfg.ReportingCurrency)
	if cfg.CyclePeriod > 0 {
		fmt.Fprintf(&banner, "  cycles        closed every %s (by age of the open cycle)\n", cfg.CyclePeriod)
	} else {
		fmt.Fprintf(&banner, "  cycles        closed on command only ('crossclear cycle close' or POST /v1/cycles/close)\n")
	}
	fmt.Fprintln(&banner, "Press Ctrl-C to stop.")
	io.WriteString(c.stdout, banner.String())
	log.Info("serving", "addr", ln.Addr().String(), "engine", s.Engine(), "database", store.Redact(cfg.Database), "version", buildVersion())

	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()

	var wg sync.WaitGroup
	wg.Go(func() { sealer.Run(workCtx, cfg.SealRetryInterval) })
	wg.Go(func() { files.Run(workCtx, cycleFilesSweep) })
	regulators.run(workCtx, &wg)
	if cfg.SanctionsReload > 0 && len(screener.Sources()) > 0 {
		wg.Go(func() {
			(&worker.SanctionsReloader{Screener: screener, Interval: cfg.SanctionsReload, Logger: log}).Run(workCtx)
		})
	}
	wg.Go(func() {
		(&webhook.Worker{Store: s, Interval: cfg.Webhooks.Interval, MaxBackoff: cfg.Webhooks.MaxBackoff,
			MaxFailures: cfg.Webhooks.MaxFailures, Logger: log, Lease: cfg.DeliveryLease}).Run(workCtx)
	})
	wg.Go(func() {
		(&worker.AutoRelease{Store: s, Interval: cfg.AutoReleaseInterval, Logger: log}).Run(workCtx)
	})
	if cfg.CyclePeriod > 0 {
		wg.Go(func() {
			(&worker.CycleScheduler{Store: s, Period: cfg.CyclePeriod, Now: now, Logger: log}).Run(workCtx)
		})
	}
	if cfg.FXRatesReload > 0 {
		wg.Go(func() {
			(&worker.RateReloader{Store: s, Interval: cfg.FXRatesReload, Logger: log}).Run(workCtx)
		})
	}
	if cfg.FXECBURL != "" {
		wg.Go(func() {
			(&worker.ECBRefresh{Store: s, Source: cfg.FXECBURL, Interval: cfg.FXECBRefresh, Logger: log}).Run(workCtx)
		})
	}

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "reason", context.Cause(ctx))
	case serveErr = <-served:
		served <- nil // already returned
		log.Error("HTTP server stopped", "err", serveErr)
	}
	shutdownErr := errors.Join(app.ShutdownWithTimeout(10*time.Second), regulators.shutdown())
	<-served
	stopWork()
	wg.Wait()
	log.Info("stopped")
	if serveErr != nil {
		return fmt.Errorf("serve HTTP: %w", serveErr)
	}
	if shutdownErr != nil && !errors.Is(shutdownErr, context.Canceled) {
		return fmt.Errorf("shut down HTTP: %w", shutdownErr)
	}
	return nil
}

// baseURL is the URL to reach a listen address from this machine: an
// unspecified host (":8080", "0.0.0.0:8080") is reached on localhost.
func baseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// commaList splits a comma-separated value (webhook_http_hosts, bench --target), dropping blanks.
func commaList(v string) []string {
	var out []string
	for _, h := range strings.Split(v, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

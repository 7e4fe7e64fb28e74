package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/delivery"
	"github.com/crossclear/crossclear/regulator"
	"github.com/crossclear/crossclear/regulator/bundle"
	"github.com/crossclear/crossclear/regulator/gateway"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/push"
	"github.com/crossclear/crossclear/regulator/witnessing"
)

// regulatorPushTimeout bounds one push to a regulator's endpoint.
const regulatorPushTimeout = 30 * time.Second

// logOrigin is the regulator log's origin.
func logOrigin(cfg Config) string {
	if cfg.Regulator.LogOrigin != "" {
		return cfg.Regulator.LogOrigin
	}
	return "crossclear/" + cfg.OperatorBIC + "/regulator-log"
}

// regulatorAddr is where the gateway listens: the configured address, or
// the API's host with its port + 1 (port 0 stays 0: any free port); "" for
// none.
func regulatorAddr(cfg Config, apiAddr string) string {
	switch cfg.Regulator.Listen {
	case "off":
		return ""
	case "":
		host, port, err := net.SplitHostPort(apiAddr)
		if err != nil {
			return ""
		}
		n, _ := strconv.Atoi(port)
		if n > 0 {
			n++
		}
		return net.JoinHostPort(host, strconv.Itoa(n))
	}
	return cfg.Regulator.Listen
}

// regulatorService is what serve runs for regulators: the report producer,
// the push worker, the witnessing worker and the gateway.
type regulatorService struct {
	app       interface{ ShutdownWithTimeout(time.Duration) error }
	served    chan error
	base      string // the gateway's URL, "" without one
	producer  *regulator.Producer
	pusher    *push.Worker
	witnesses *witnessing.Worker
}

// startRegulator opens the gateway's listener (when configured) and
// prepares the workers; run starts them.
// replica, when not nil, is the store the gateway reads reports from.
func startRegulator(cfg Config, s, replica *store.Store, keys signers, log *slog.Logger) (*regulatorService, error) {
	origin := logOrigin(cfg)
	producer := regulator.NewProducer(s, keys.Files, keys.Checkpoints, origin)
	producer.Interval, producer.Logger = cfg.Regulator.Interval, log
	pusher := &push.Worker{Outbox: push.NewOutbox(s.DB(), producer.Log), Archive: producer.Archive, Log: producer.Log,
		Client: &http.Client{Timeout: regulatorPushTimeout}, Interval: cfg.Regulator.Interval, Logger: log, Lease: cfg.DeliveryLease}
	witnesses := &witnessing.Worker{Worker: delivery.Worker{Client: &http.Client{Timeout: regulatorPushTimeout}, Logger: log, Lease: cfg.DeliveryLease},
		Registry: &witnessing.Registry{DB: s.DB(), Now: s.Now}, Log: producer.Log,
		Refresh: cfg.Regulator.CheckpointInterval, Interval: cfg.Regulator.Interval}
	rs := &regulatorService{producer: producer, pusher: pusher, witnesses: witnesses}
	addr := regulatorAddr(cfg, cfg.Listen)
	if addr == "" {
		return rs, nil
	}
	tlsCfg, err := gateway.TLSConfig(cfg.Regulator.TLSCert, cfg.Regulator.TLSKey, cfg.Regulator.TLSClientCA)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("regulator gateway: listen on %s: %w", addr, err)
	}
	scheme := "http"
	if tlsCfg != nil {
		ln, scheme = tls.NewListener(ln, tlsCfg), "https"
	}
	gcfg := gateway.Config{RatePerMinute: cfg.Regulator.RateLimit, Burst: max(cfg.Regulator.RateLimit/6, 1), Logger: log,
		ReadTimeout: cfg.HTTPReadTimeout, WriteTimeout: cfg.HTTPWriteTimeout, IdleTimeout: cfg.HTTPIdleTimeout,
		Keys: func(ctx context.Context) (bundle.Keys, error) {
			return bundle.PublishedKeys(ctx, origin, keys.Checkpoints, keys.Files)
		}}
	if replica != nil {
		gcfg.Reads = replica.DB()
	}
	app := gateway.New(s, gcfg)
	rs.app, rs.served = app, make(chan error, 1)
	rs.base = strings.Replace(baseURL(ln.Addr().String()), "http://", scheme+"://", 1)
	go func() { rs.served <- app.Listener(ln) }()
	return rs, nil
}

// openReplica opens database_replica, nil when it is not set. A replica
// that does not answer at start is an error: a wrong URL should not wait
// for the first regulator to find it.
func openReplica(ctx context.Context, cfg Config, log *slog.Logger) (*store.Store, error) {
	if cfg.DatabaseReplica == "" {
		return nil, nil
	}
	r, err := store.Open(ctx, cfg.DatabaseReplica, store.Options{Pool: cfg.DatabasePool})
	if err != nil {
		return nil, fmt.Errorf("database_replica: %w", err)
	}
	log.Info("the regulator gateway and the console's read-only pages read from a replica", "database_replica", store.Redact(cfg.DatabaseReplica))
	return r, nil
}

// describe is serve's banner line.
func (rs *regulatorService) describe(cfg Config) string {
	where := "no gateway (regulator_listen = off)"
	if rs.base != "" {
		where = rs.base + "/v1/  (regulator keys only"
		if cfg.Regulator.TLSClientCA != "" {
			where += ", mutual TLS"
		}
		where += fmt.Sprintf(", %d requests/min)", cfg.Regulator.RateLimit)
	}
	return fmt.Sprintf("%s; log %s", where, logOrigin(cfg))
}

// run runs the workers until ctx ends.
func (rs *regulatorService) run(ctx context.Context, wg *sync.WaitGroup) {
	wg.Go(func() { rs.producer.Run(ctx) })
	wg.Go(func() { rs.pusher.Run(ctx) })
	wg.Go(func() { rs.witnesses.Run(ctx) })
}

// witnessLag is /readyz's "witnesses" section: each witness's lag behind
// the latest checkpoint (leaves not cosigned, age of its newest
// cosignature) and why it is failing, if it is.
func (rs *regulatorService) witnessLag(ctx context.Context) (any, error) {
	latest, err := rs.producer.Log.LatestCheckpoint(ctx)
	if err != nil && !errors.Is(err, merklelog.ErrNoCheckpoint) {
		return nil, err
	}
	ws, err := rs.witnesses.Registry.List(ctx, latest.Size)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(ws))
	for i, w := range ws {
		out[i] = map[string]any{"name": w.Name, "size": w.Size, "lag_size": w.LagSize, "lag_seconds": w.LagSeconds, "last_error": w.LastError}
	}
	return map[string]any{"checkpoint_size": latest.Size, "witnesses": out}, nil
}

// shutdown stops the gateway.
func (rs *regulatorService) shutdown() error {
	if rs.app == nil {
		return nil
	}
	err := rs.app.ShutdownWithTimeout(10 * time.Second)
	<-rs.served
	return err
}

var regulatorKeysCmd = &command{
	name:    "regulator keys",
	summary: "print the keys document regulators verify reports with",
	about: `
Prints the JSON document 'crossclear verify --keys' takes: the log's origin,
the checkpoint verifier keys (C2SP signed-note format, every key version)
and the public keys that sign report files. Publish it out of band (the
gateway also serves it at GET /v1/keys, but a regulator should pin a copy
it got another way: everything it verifies rests on it).`,
	example: `  crossclear regulator keys > crossclear-regulator-keys.json`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, append(signerKeys, "operator_bic", "regulator_log_origin")...)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("regulator keys", args); err != nil {
				return err
			}
			cfg, err := cf.load(c.getenv)
			if err != nil {
				return err
			}
			ss, err := openSigners(ctx, cfg, c.getenv, c.logger(cfg))
			if err != nil {
				return err
			}
			k, err := bundle.PublishedKeys(ctx, logOrigin(cfg), ss.Checkpoints, ss.Files)
			if err != nil {
				return err
			}
			b, _ := json.MarshalIndent(k, "", "  ") // strings and ints
			fmt.Fprintf(c.stdout, "%s\n", b)
			return nil
		}
	},
}

var regulatorAddEndpointCmd = &command{
	name:    "regulator add-endpoint",
	summary: "register a regulator's HTTPS endpoint for pushed reports",
	about: `
Registers an endpoint for a jurisdiction's reports and queues every report
of that jurisdiction already in the log, so the regulator receives its
history from the first report on. serve's push worker posts each report as
a bundle (the JSON 'crossclear verify' checks) with the header
Idempotency-Key: <report id>, in log order, retrying with backoff (5 s
doubling to 1 h) while the endpoint is down; any 2xx is a delivery.
The URL must be https (http is accepted on loopback, for a test receiver).`,
	example: `  crossclear regulator add-endpoint --jurisdiction SG --url https://reports.mas.example/crossclear`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "log_level")
		j := fs.String("jurisdiction", "", "the regulator's `JURISDICTION`, like SG or US-NY (required)")
		url := fs.String("url", "", "the endpoint's https `URL` (required)")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("regulator add-endpoint", args); err != nil {
				return err
			}
			if *j == "" || *url == "" {
				return usagef("regulator add-endpoint", "--jurisdiction and --url are required")
			}
			if err := push.CheckURL(*url); err != nil {
				return usagef("regulator add-endpoint", "--url: %v", err)
			}
			s, err := cf.openExisting(ctx, c)
			if err != nil {
				return err
			}
			defer s.Close()
			ep, err := push.NewOutbox(s.DB(), merklelog.New(s.DB())).AddEndpoint(ctx, *j, *url, operatorCLI, s.Now())
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(c.stdout, toEndpointJSON(ep, nil))
			}
			fmt.Fprintf(c.stdout, "endpoint %s: %s reports to %s; %d report(s) queued\n", ep.ID, ep.Jurisdiction, ep.URL, ep.Pending)
			return nil
		}
	},
}

var regulatorRemoveEndpointCmd = &command{
	name:    "regulator remove-endpoint",
	args:    "ID",
	summary: "stop pushing reports to an endpoint",
	about: `
Stops deliveries to the endpoint; what it received stays recorded.`,
	example: `  crossclear regulator remove-endpoint rep_0123456789abcdef`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "log_level")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) != 1 {
				return usagef("regulator remove-endpoint", "want the endpoint's id")
			}
			s, err := cf.openExisting(ctx, c)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := push.NewOutbox(s.DB(), merklelog.New(s.DB())).RemoveEndpoint(ctx, args[0], operatorCLI, s.Now()); err != nil {
				return err
			}
			if *asJSON {
				return printJSON(c.stdout, map[string]any{"id": args[0], "removed": true})
			}
			fmt.Fprintf(c.stdout, "endpoint %s removed\n", args[0])
			return nil
		}
	},
}

var regulatorEndpointsCmd = &command{
	name:    "regulator endpoints",
	summary: "list push endpoints with their deliveries",
	about: `
Lists every push endpoint: its jurisdiction and URL, how many reports it
received and how many wait, the checkpoint it last received, and why it is
stuck if it is. --deliveries N adds each endpoint's last N attempts.`,
	example: `  crossclear regulator endpoints
  crossclear regulator endpoints --deliveries 5`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "log_level")
		n := fs.Int("deliveries", 0, "also print each endpoint's last `N` delivery attempts")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("regulator endpoints", args); err != nil {
				return err
			}
			if *n < 0 || *n > 1000 {
				return usagef("regulator endpoints", "--deliveries must be from 0 to 1000")
			}
			s, err := cf.openExisting(ctx, c)
			if err != nil {
				return err
			}
			defer s.Close()
			outbox := push.NewOutbox(s.DB(), merklelog.New(s.DB()))
			eps, err := outbox.Endpoints(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				doc := struct {
					Endpoints []endpointJSON `json:"endpoints"`
				}{Endpoints: []endpointJSON{}}
				for _, ep := range eps {
					var ds []push.Delivery
					if *n > 0 {
						if ds, err = outbox.Deliveries(ctx, ep.ID, *n); err != nil {
							return err
						}
					}
					doc.Endpoints = append(doc.Endpoints, toEndpointJSON(ep, ds))
				}
				return printJSON(c.stdout, doc)
			}
			if len(eps) == 0 {
				fmt.Fprintln(c.stdout, "no endpoints (crossclear regulator add-endpoint registers one)")
				return nil
			}
			for _, ep := range eps {
				state := "active"
				if !ep.RemovedAt.IsZero() {
					state = "removed " + ep.RemovedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(c.stdout, "%s  %s  %s  (%s)\n  delivered %d, waiting %d, last checkpoint received: size %d\n",
					ep.ID, ep.Jurisdiction, ep.URL, state, ep.Delivered, ep.Pending, ep.DeliveredSize)
				if ep.LastError != "" {
					fmt.Fprintf(c.stdout, "  stuck: %s (next attempt %s)\n", ep.LastError, ep.NextAttemptAt.Format(time.RFC3339))
				}
				if *n == 0 {
					continue
				}
				ds, err := outbox.Deliveries(ctx, ep.ID, *n)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
				for _, d := range ds {
					outcome := strconv.Itoa(d.StatusCode)
					if d.Error != "" {
						outcome += " " + d.Error
					}
					fmt.Fprintf(tw, "    %s\t%s\tattempt %d\t%s\t%s\n", d.At.Format(time.RFC3339), d.ReportID, d.Attempt, d.Duration, outcome)
				}
				tw.Flush()
			}
			return nil
		}
	},
}

var regulatorAccessLogCmd = &command{
	name:    "regulator access-log",
	summary: "print the regulator gateway's access log",
	about: `
Prints the latest requests to the regulator gateway, newest first: when,
which key (and its jurisdiction), what, the answer's status and from where.
Every request is there, refused and rate-limited ones included.`,
	example: `  crossclear regulator access-log --limit 50`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "log_level")
		limit := fs.Int("limit", 100, "how many requests, at most 10000")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("regulator access-log", args); err != nil {
				return err
			}
			if *limit < 1 || *limit > 10000 {
				return usagef("regulator access-log", "--limit must be from 1 to 10000")
			}
			s, err := cf.openExisting(ctx, c)
			if err != nil {
				return err
			}
			defer s.Close()
			var rows []struct {
				At           time.Time
				KeyID        string `bun:"key_id"`
				Jurisdiction string
				Method       string
				Path         string
				Status       int
				RemoteAddr   string `bun:"remote_addr"`
			}
			err = s.DB().NewRaw(`SELECT at, key_id, jurisdiction, method, path, status, remote_addr
				FROM regulator_access_log ORDER BY id DESC LIMIT ?`, *limit).Scan(ctx, &rows)
			if err != nil {
				return fmt.Errorf("read the access log: %w", err)
			}
			if *asJSON {
				type requestJSON struct {
					At           string `json:"at"`
					KeyID        string `json:"key_id,omitempty"`
					Jurisdiction string `json:"jurisdiction,omitempty"`
					Method       string `json:"method"`
					Path         string `json:"path"`
					Status       int    `json:"status"`
					RemoteAddr   string `json:"remote_addr"`
				}
				doc := struct {
					Requests []requestJSON `json:"requests"`
				}{Requests: []requestJSON{}}
				for _, r := range rows {
					doc.Requests = append(doc.Requests, requestJSON{At: jsonTime(r.At), KeyID: r.KeyID, Jurisdiction: r.Jurisdiction,
						Method: r.Method, Path: r.Path, Status: r.Status, RemoteAddr: r.RemoteAddr})
				}
				return printJSON(c.stdout, doc)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			for _, r := range rows {
				who := "-"
				if r.KeyID != "" {
					who = r.KeyID + " (" + r.Jurisdiction + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s %s\t%d\t%s\n", r.At.UTC().Format(time.RFC3339), who, r.Method, r.Path, r.Status, r.RemoteAddr)
			}
			return tw.Flush()
		}
	},
}

// endpointJSON is a push endpoint as regulator endpoints --json and
// add-endpoint --json print it.
type endpointJSON struct {
	ID            string         `json:"id"`
	Jurisdiction  string         `json:"jurisdiction"`
	URL           string         `json:"url"`
	CreatedBy     string         `json:"created_by,omitempty"`
	CreatedAt     string         `json:"created_at,omitempty"`
	RemovedAt     string         `json:"removed_at,omitempty"`
	Delivered     int64          `json:"delivered"`
	Pending       int64          `json:"pending"`
	DeliveredSize uint64         `json:"delivered_checkpoint_size"`
	LastError     string         `json:"last_error,omitempty"`
	NextAttemptAt string         `json:"next_attempt_at,omitempty"`
	Deliveries    []deliveryJSON `json:"deliveries,omitempty"`
}

type deliveryJSON struct {
	At         string `json:"at"`
	ReportID   string `json:"report_id"`
	Attempt    int    `json:"attempt"`
	StatusCode int    `json:"status_code,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

func toEndpointJSON(ep push.Endpoint, ds []push.Delivery) endpointJSON {
	out := endpointJSON{ID: ep.ID, Jurisdiction: ep.Jurisdiction, URL: ep.URL, CreatedBy: ep.CreatedBy, CreatedAt: jsonTime(ep.CreatedAt),
		RemovedAt: jsonTime(ep.RemovedAt), Delivered: ep.Delivered, Pending: ep.Pending, DeliveredSize: ep.DeliveredSize}
	if ep.LastError != "" {
		out.LastError, out.NextAttemptAt = ep.LastError, jsonTime(ep.NextAttemptAt)
	}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, deliveryJSON{At: jsonTime(d.At), ReportID: d.ReportID, Attempt: d.Attempt,
			StatusCode: d.StatusCode, Error: d.Error, DurationMS: d.Duration.Milliseconds()})
	}
	return out
}

// jsonTime is a time as the API writes it (RFC 3339 in UTC), "" for none.
func jsonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

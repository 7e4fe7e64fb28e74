package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/delivery"
)

// Config is crossclear's configuration. Each key is read, lowest first,
// from the defaults, the TOML file (--config FILE or CROSSCLEAR_CONFIG), the
// environment (CROSSCLEAR_<KEY>) and the command's flags (--<key>).
type Config struct {
	Database            string        // SQLite file, or a postgres:// URL
	DatabaseReplica     string        // "" or a postgres:// URL of a replica, for the regulator gateway's reads
	Listen              string        // host:port of the HTTP API
	AutoReleaseAfter    time.Duration // deadline of a held payment
	AutoReleaseInterval time.Duration // between auto-release passes
	CyclePeriod         time.Duration // 0: cycles close only on command
	BodyLimitBytes      int
	LogLevel            slog.Level
	LogFormat           string        // "text" (key=value lines) or "json" (one object a line, for log shippers)
	OTLPTracesEndpoint  string        // OTLP/HTTP collector for traces; "" keeps tracing off
	FXProvider          string        // participant id of the FX provider; "" refuses cross-currency payments
	FXFeeBps            int           // scheme fee of a cross-currency payment, basis points of what the buyer pays
	FXSpreadBps         int           // FX provider's spread, basis points of what the buyer pays
	FXMaxRateAge        time.Duration // 0: a rate is good until its valid_until
	FXQuoteTTL          time.Duration // how long a quote may be used
	FXResultChargedTo   string        // "operator" or "merchant": who bears the FX result of cross-currency refunds
	ReportingCurrency   string        // what exposure is converted into, and the currency of multi-currency caps
	FXRatesReload       time.Duration // how often serve reloads the rates posted by any process; 0: never
	FXECBURL            string        // ECB reference rates (file or URL) serve refreshes on a schedule; "" for none
	FXECBRefresh        time.Duration // how often serve refreshes them
	FileLimitBytes      int           // largest ISO 20022 file a bank may upload
	OperatorBIC         string        // crossclear's own BIC: To of inbound files, From of outbound ones
	SettlementBankBIC   string        // the bank whose settlement confirmations mark net positions settled; "": only the operator's
	Signer              string        // "dev" (local key file) or "vault" (transit)
	DevKeyFile          string        // the development signer's ed25519 key (created when absent)
	VaultAddr           string
	VaultTokenFile      string // a file holding a Vault token; VAULT_TOKEN works too
	VaultRoleID         string // AppRole role id (with VaultSecretIDFile) instead of a token
	VaultSecretIDFile   string
	VaultTransitMount   string
	VaultKeyFiles       string        // transit key signing bank files
	VaultKeyCheckpoints string        // transit key signing regulator checkpoints
	SealRetryInterval   time.Duration // how often files waiting for a signature are retried
	SanctionsOFAC       string        // OFAC's SDN list (four CSV files): a directory or a base URL; "": not screened against
	SanctionsUN         string        // the UN consolidated list (XML): a file or a URL; "": not screened against
	SanctionsEU         string        // the EU consolidated financial sanctions list (CSV): a file or a URL; "": not screened against
	SanctionsUK         string        // the UK Sanctions List (CSV or ODS) or OFSI's ConList.csv: a file or a URL; "": not screened against
	SanctionsReload     time.Duration // how often serve reloads the lists; 0: never (POST /v1/lists/reload still does)
	ComplianceRules     string        // the compliance rules file (JSON): AML rules, sanctions thresholds; "": no AML rules
	HTTPReadTimeout     time.Duration // a request's head (and small body); each read of a streamed body
	HTTPWriteTimeout    time.Duration // writing one answer
	HTTPIdleTimeout     time.Duration // a kept-alive connection waiting for its next request
	AuthFailureLimit    int           // failed authentications per address and per key in AuthFailureWindow
	AuthFailureWindow   time.Duration
	DegradedStatus      int // /readyz's status while degraded: 200 or 503
	DatabasePool        store.Pool
	APIKeyCacheTTL      time.Duration     // how long serve trusts a cached API key (revocations elsewhere take effect within it)
	GroupCommit         store.GroupConfig // single-payment requests committed together
	Regulator           RegulatorConfig
	Webhooks            WebhookConfig
	DeliveryLease       time.Duration // a destination's lease between its holder's heartbeats (webhooks, regulator push, witnesses)
}

// WebhookConfig is the webhook delivery worker's.
type WebhookConfig struct {
	Interval    time.Duration // between delivery passes
	MaxBackoff  time.Duration // the longest wait after a failed attempt
	MaxFailures int           // failed attempts in a row that pause a subscription
	HTTPHosts   string        // comma-separated hosts a webhook URL may name over plain http ("" : loopback only)
}

// RegulatorConfig is the regulator gateway's and the report log's.
type RegulatorConfig struct {
	Listen      string // gateway host:port; "" is the API's host with its port + 1; "off" serves none
	RateLimit   int    // requests a minute per regulator key
	LogOrigin   string // the log's origin line; "" is crossclear/<operator_bic>/regulator-log
	TLSCert     string // the gateway's certificate and key (PEM); empty serves plain HTTP
	TLSKey      string
	TLSClientCA string        // CA of regulators' client certificates: mutual TLS
	Interval    time.Duration // how often serve looks for cycles to report and reports to push
	// CheckpointInterval: every witness cosigns the latest checkpoint at
	// least this often, even when nothing was appended (freshness).
	CheckpointInterval time.Duration
}

// configEnv names the file to read when --config is not given.
const configEnv = "CROSSCLEAR_CONFIG"

// setting is one configuration key and every way to set it.
type setting struct {
	key    string // TOML key; the flag is the same with dashes
	def    string // default, as it would be written in the environment
	meta   string // flag placeholder in help
	usage  string
	expect string // what a valid value looks like, for errors
	isInt  bool   // a TOML integer rather than a string
	apply  func(c *Config, v string) bool
}

func (s setting) env() string  { return "CROSSCLEAR_" + strings.ToUpper(s.key) }
func (s setting) flag() string { return strings.ReplaceAll(s.key, "_", "-") }

var settings = []setting{
	{key: "database", def: "crossclear.db", meta: "DSN", expect: "a SQLite file path or a postgres:// URL",
		usage: "SQLite file, or a postgres:// URL to use PostgreSQL",
		apply: func(c *Config, v string) bool { c.Database = v; return v != "" }},
	{key: "listen", def: "127.0.0.1:8080", meta: "ADDR", expect: `host:port like "127.0.0.1:8080" or ":8080"`,
		usage: "address the HTTP API listens on",
		apply: func(c *Config, v string) bool { c.Listen = v; return validListen(v) }},
	{key: "auto_release_after", def: "360h", meta: "DURATION", expect: `a positive Go duration like "360h" (15 days)`,
		usage: "how long a held payment waits for the buyer before it is released to the merchant",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.AutoReleaseAfter, false) }},
	{key: "auto_release_interval", def: "30s", meta: "DURATION", expect: `a positive Go duration like "30s"`,
		usage: "how often due payments are auto-released",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.AutoReleaseInterval, false) }},
	{key: "cycle_period", def: "0", meta: "DURATION", expect: `a Go duration like "24h", or "0" to close cycles only on command`,
		usage: "close the open settlement cycle once it is this old; 0 closes only on command",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.CyclePeriod, true) }},
	{key: "body_limit_bytes", def: "1048576", meta: "BYTES", expect: "a positive whole number of bytes like 1048576", isInt: true,
		usage: "largest HTTP request body accepted",
		apply: func(c *Config, v string) bool {
			n, err := strconv.Atoi(v)
			c.BodyLimitBytes = n
			return err == nil && n > 0
		}},
	{key: "database_max_conns", def: "0", meta: "N", expect: "a whole number of connections from 0 to 10000 (0: derived from the machine)", isInt: true,
		usage: "PostgreSQL connections this process may open; a request with an Idempotency-Key holds one from its claim to its commit. 0: 4 per CPU, at least 16 (SQLite: 4)",
		apply: func(c *Config, v string) bool {
			n, err := strconv.Atoi(v)
			c.DatabasePool.MaxConns = n
			return err == nil && n >= 0 && n <= 10000
		}},
	{key: "database_max_idle_conns", def: "0", meta: "N", expect: "a whole number of connections from 0 to 10000 (0: as many as database_max_conns)", isInt: true,
		usage: "connections kept open while idle; 0 keeps them all, so that a burst does not pay for new connections",
		apply: func(c *Config, v string) bool {
			n, err := strconv.Atoi(v)
			c.DatabasePool.MaxIdle = n
			return err == nil && n >= 0 && n <= 10000
		}},
	{key: "database_replica", def: "", meta: "DSN", expect: `"" or a postgres:// URL of a streaming replica`,
		usage: "PostgreSQL replica the regulator gateway reads reports, checkpoints and proofs from (behind a Patroni cluster, the haproxy replicas address); empty reads the primary. Authentication, the access log and everything that decides money use database",
		apply: func(c *Config, v string) bool { c.DatabaseReplica = v; return v == "" || store.IsPostgres(v) }},
	{key: "database_conn_max_lifetime", def: "30m", meta: "DURATION", expect: `a Go duration like "30m", or "0" to keep connections for ever`,
		usage: "how long a connection is reused before it is replaced (so that a proxy or a failover's new primary sees fresh connections)",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.DatabasePool.MaxLifetime, true) }},
	{key: "group_commit_max", def: "64", meta: "N", expect: "a whole number of requests from 1 to 1000", isInt: true,
		usage: "most single-payment requests (holds, releases, refunds, disputes, resolutions) committed together in one database transaction, their holds and actions made as batches (the default by measurement: docs/performance.md#group-commit); 1 gives every request its own transaction",
		apply: func(c *Config, v string) bool {
			n, err := strconv.Atoi(v)
			c.GroupCommit.Max = n
			return err == nil && n >= 1 && n <= 1000
		}},
	{key: "group_commit_window", def: "0", meta: "DURATION", expect: `a Go duration like "200us", or "0"`,
		usage: "how long a commit group waits for more requests before it starts when fewer than group_commit_max are waiting; 0 starts at once (under load the next group fills while one commits)",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.GroupCommit.Window, true) }},
	{key: "api_key_cache_ttl", def: "5s", meta: "DURATION", expect: `a positive Go duration like "5s"`,
		usage: "serve keeps authenticated API keys in memory for at most this long: a key revoked through another process stops working within it (on PostgreSQL every process is told at once, and this bounds only a lost listener)",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.APIKeyCacheTTL, false) }},
	{key: "http_read_timeout", def: "30s", meta: "DURATION", expect: `a positive Go duration like "30s"`,
		usage: "API and regulator gateway: how long a client may take to send a request's head (and a body up to body_limit_bytes); a larger, streamed body must make progress within it on every read",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.HTTPReadTimeout, false) }},
	{key: "http_write_timeout", def: "10m", meta: "DURATION", expect: `a positive Go duration like "10m"`,
		usage: "API and regulator gateway: how long writing one answer may take (a large file to a slow client)",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.HTTPWriteTimeout, false) }},
	{key: "http_idle_timeout", def: "2m", meta: "DURATION", expect: `a positive Go duration like "2m"`,
		usage: "API and regulator gateway: how long a kept-alive connection may wait for its next request",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.HTTPIdleTimeout, false) }},
	{key: "auth_failure_limit", def: "20", meta: "N", expect: "a whole number of failed authentications from 1 to 100000", isInt: true,
		usage: "failed authentications (unknown or revoked API keys) allowed per client address and per key in auth_failure_window; past it, 429 with Retry-After",
		apply: func(c *Config, v string) bool {
			n, err := strconv.Atoi(v)
			c.AuthFailureLimit = n
			return err == nil && n >= 1 && n <= 100000
		}},
	{key: "auth_failure_window", def: "1m", meta: "DURATION", expect: `a positive Go duration like "1m"`,
		usage: "the window of auth_failure_limit: after a burst, one more failure is allowed every window/limit",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.AuthFailureWindow, false) }},
	{key: "readyz_degraded_status", def: "200", meta: "STATUS", expect: "200 or 503", isInt: true,
		usage: "status of /readyz while degraded (the signer is down; the body says \"degraded\" either way): 200 keeps every node in its load balancer, since payments need no signer; 503 for balancers that read only codes and should prefer nodes that can sign",
		apply: func(c *Config, v string) bool {
			n, err := strconv.Atoi(v)
			c.DegradedStatus = n
			return err == nil && (n == 200 || n == 503)
		}},
	{key: "fx_provider", def: "", meta: "BIC", expect: "the participant id (BIC) of an FX provider, like KSTLGB2L, or empty",
		usage: "FX provider that converts cross-currency payments; empty refuses them",
		apply: func(c *Config, v string) bool { c.FXProvider = v; return v == "" || bicLike.MatchString(v) }},
	{key: "fx_fee_bps", def: "0", meta: "BPS", expect: "a whole number of basis points from 0 to 9999, like 30", isInt: true,
		usage: "scheme fee of a cross-currency payment, in basis points of what the buyer's bank pays",
		apply: func(c *Config, v string) bool { return parseBps(v, &c.FXFeeBps) }},
	{key: "fx_spread_bps", def: "0", meta: "BPS", expect: "a whole number of basis points from 0 to 9999, like 50", isInt: true,
		usage: "FX provider's spread on a cross-currency payment, in basis points of what the buyer's bank pays",
		apply: func(c *Config, v string) bool { return parseBps(v, &c.FXSpreadBps) }},
	{key: "fx_max_rate_age", def: "0", meta: "DURATION", expect: `a Go duration like "15m", or "0" to use rates until their valid_until`,
		usage: "rates older than this are not quoted; 0 uses a rate until its valid_until",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.FXMaxRateAge, true) }},
	{key: "fx_quote_ttl", def: "2m", meta: "DURATION", expect: `a positive Go duration like "2m"`,
		usage: "how long a quote may be used for a payment",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.FXQuoteTTL, false) }},
	{key: "fx_result_charged_to", def: "operator", meta: "WHO", expect: `"operator" or "merchant"`,
		usage: "who bears the FX result of a cross-currency refund (locked minus fresh conversion): operator (the fx_result account) or merchant (the merchant's bank, in the buyer's currency)",
		apply: func(c *Config, v string) bool {
			c.FXResultChargedTo = v
			return clearing.FXResultCharge(v).Valid()
		}},
	{key: "reporting_currency", def: "USD", meta: "CCY", expect: "an ISO 4217 currency code like USD or EUR",
		usage: "currency exposure is converted into (at the rate book's mid rates), and of multi-currency net debit caps",
		apply: func(c *Config, v string) bool {
			c.ReportingCurrency = v
			_, err := fx.LookupCurrency(v)
			return err == nil
		}},
	{key: "fx_rates_reload_interval", def: "30s", meta: "DURATION", expect: `a Go duration like "30s", or "0" never to reload`,
		usage: "how often serve reloads the FX rates posted to any process sharing the database; 0 never does",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.FXRatesReload, true) }},
	{key: "fx_ecb_url", def: "", meta: "URL", expect: "an http(s) URL or a file path of the ECB's eurofxref-daily.xml, or empty",
		usage: "ECB euro reference rates (eurofxref-daily.xml format, an http(s) URL or a file) that serve loads at start and then every fx_ecb_refresh_interval; empty: none",
		apply: func(c *Config, v string) bool { c.FXECBURL = v; return !strings.ContainsAny(v, "\x00\n") }},
	{key: "fx_ecb_refresh_interval", def: "1h", meta: "DURATION", expect: `a positive Go duration like "1h"`,
		usage: "how often serve refreshes the ECB rates from fx_ecb_url",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.FXECBRefresh, false) }},
	{key: "file_limit_bytes", def: "33554432", meta: "BYTES", expect: "a positive whole number of bytes like 33554432 (32 MiB)", isInt: true,
		usage: "largest ISO 20022 file a bank may upload",
		apply: func(c *Config, v string) bool {
			n, err := strconv.Atoi(v)
			c.FileLimitBytes = n
			return err == nil && n > 0
		}},
	{key: "operator_bic", def: "XCLRGB2L", meta: "BIC", expect: "a BIC like XCLRGB2L",
		usage: "crossclear's own BIC: the To of the files banks send and the From of the files it sends",
		apply: func(c *Config, v string) bool { c.OperatorBIC = v; return bicLike.MatchString(v) }},
	{key: "settlement_bank_bic", def: "", meta: "BIC", expect: "a BIC like ECBFDEFF, or empty",
		usage: "the bank (a participant) that may upload settlement confirmations (a pacs.002 or camt.054 about crossclear's pacs.009s) marking net positions settled; empty: only the operator may",
		apply: func(c *Config, v string) bool { c.SettlementBankBIC = v; return v == "" || bicLike.MatchString(v) }},
	{key: "signer", def: "dev", meta: "KIND", expect: `"dev" (a local key file, never for production) or "vault" (HashiCorp Vault transit)`,
		usage: "what signs outbound files and checkpoints: dev (local ed25519 key file named dev-…) or vault",
		apply: func(c *Config, v string) bool { c.Signer = v; return v == "dev" || v == "vault" }},
	{key: "dev_key_file", def: "", meta: "FILE", expect: "a file path",
		usage: "the development signer's ed25519 private key, created when absent (signer = dev); empty: crossclear-dev.key beside the SQLite database; on PostgreSQL crossclear-dev-<hash of the database URL>.key in the user's config directory (~/.config/crossclear), one key per database",
		apply: func(c *Config, v string) bool { c.DevKeyFile = v; return true }},
	{key: "vault_addr", def: "", meta: "URL", expect: `a URL like "https://vault.internal:8200"`,
		usage: "Vault address (signer = vault); empty reads VAULT_ADDR",
		apply: func(c *Config, v string) bool {
			c.VaultAddr = v
			return v == "" || strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://")
		}},
	{key: "vault_token_file", def: "", meta: "FILE", expect: "a file path",
		usage: "file holding the Vault token (signer = vault); empty uses VAULT_TOKEN or AppRole",
		apply: func(c *Config, v string) bool { c.VaultTokenFile = v; return true }},
	{key: "vault_approle_role_id", def: "", meta: "ID", expect: "an AppRole role id",
		usage: "log in to Vault with this AppRole role id and the secret id in vault_approle_secret_id_file",
		apply: func(c *Config, v string) bool { c.VaultRoleID = v; return true }},
	{key: "vault_approle_secret_id_file", def: "", meta: "FILE", expect: "a file path",
		usage: "file holding the AppRole secret id (never put the secret itself in the configuration)",
		apply: func(c *Config, v string) bool { c.VaultSecretIDFile = v; return true }},
	{key: "vault_transit_mount", def: "transit", meta: "PATH", expect: `a mount path like "transit"`,
		usage: "where Vault's transit engine is mounted",
		apply: func(c *Config, v string) bool { c.VaultTransitMount = v; return v != "" }},
	{key: "vault_key_files", def: "crossclear-bank-files", meta: "NAME", expect: "a transit key name not starting with dev-",
		usage: "transit key that signs the files in banks' mailboxes",
		apply: func(c *Config, v string) bool { c.VaultKeyFiles = v; return v != "" && !strings.HasPrefix(v, "dev-") }},
	{key: "vault_key_checkpoints", def: "crossclear-regulator-checkpoints", meta: "NAME", expect: "an ed25519 transit key name not starting with dev-",
		usage: "transit key that signs the regulator log's checkpoints (ed25519)",
		apply: func(c *Config, v string) bool {
			c.VaultKeyCheckpoints = v
			return v != "" && !strings.HasPrefix(v, "dev-")
		}},
	{key: "seal_retry_interval", def: "5s", meta: "DURATION", expect: `a positive Go duration like "5s"`,
		usage: "how often files waiting for a signature (the signer was down) are retried",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.SealRetryInterval, false) }},
	{key: "regulator_listen", def: "", meta: "ADDR", expect: `host:port like "127.0.0.1:8081", "" for the API's port + 1, or "off"`,
		usage: "address of the regulator gateway (regulator keys only, read-only); empty: the API's host with its port + 1 (127.0.0.1:8081); off: no gateway",
		apply: func(c *Config, v string) bool {
			c.Regulator.Listen = v
			return v == "" || v == "off" || validListen(v)
		}},
	{key: "regulator_rate_limit", def: "120", meta: "N", expect: "a whole number of requests a minute from 1 to 100000", isInt: true,
		usage: "requests a minute each regulator key may make at the gateway (bursts up to a sixth of it); failed authentications are limited alike per address",
		apply: func(c *Config, v string) bool {
			n, err := strconv.Atoi(v)
			c.Regulator.RateLimit = n
			return err == nil && n >= 1 && n <= 100000
		}},
	{key: "regulator_log_origin", def: "", meta: "ORIGIN", expect: `a log name without spaces like "crossclear.example.com/regulator-log"`,
		usage: "the regulator log's origin, the first line of every checkpoint; empty: crossclear/<operator_bic>/regulator-log. Never change it once regulators verify",
		apply: func(c *Config, v string) bool {
			c.Regulator.LogOrigin = v
			return !strings.ContainsAny(v, " \t\r\n+")
		}},
	{key: "regulator_tls_cert", def: "", meta: "FILE", expect: "a PEM certificate file",
		usage: "the regulator gateway's TLS certificate (with regulator_tls_key); empty serves plain HTTP (behind a TLS proxy)",
		apply: func(c *Config, v string) bool { c.Regulator.TLSCert = v; return true }},
	{key: "regulator_tls_key", def: "", meta: "FILE", expect: "a PEM private key file",
		usage: "the regulator gateway's TLS private key",
		apply: func(c *Config, v string) bool { c.Regulator.TLSKey = v; return true }},
	{key: "regulator_tls_client_ca", def: "", meta: "FILE", expect: "a PEM CA certificate file",
		usage: "mutual TLS: the CA that issues regulators' client certificates; a client without one cannot connect (the API key is still required)",
		apply: func(c *Config, v string) bool { c.Regulator.TLSClientCA = v; return true }},
	{key: "regulator_interval", def: "5s", meta: "DURATION", expect: `a positive Go duration like "5s"`,
		usage: "how often serve looks for closed cycles to report and for reports to push (a failed push backs off on its own, 5s doubling to 1h)",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.Regulator.Interval, false) }},
	{key: "regulator_checkpoint_interval", def: "10m", meta: "DURATION", expect: `a positive Go duration like "10m"`,
		usage: "the regulator log's checkpoint is cosigned afresh by every witness at least this often, even when nothing was appended, so verifiers can check freshness (crossclear verify --max-age)",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.Regulator.CheckpointInterval, false) }},
	{key: "webhook_interval", def: "5s", meta: "DURATION", expect: `a positive Go duration like "5s"`,
		usage: "how often serve looks for webhook events to deliver (a failing subscription backs off on its own, 5s up to webhook_max_backoff, with jitter)",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.Webhooks.Interval, false) }},
	{key: "webhook_max_backoff", def: "1h", meta: "DURATION", expect: `a positive Go duration like "1h"`,
		usage: "the longest wait before retrying a webhook that failed",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.Webhooks.MaxBackoff, false) }},
	{key: "webhook_max_failures", def: "20", meta: "N", expect: "a whole number of attempts from 1 to 100000", isInt: true,
		usage: "failed attempts in a row after which a webhook subscription is paused (POST /v1/webhooks/{id}/resume resumes it)",
		apply: func(c *Config, v string) bool {
			n, err := strconv.Atoi(v)
			c.Webhooks.MaxFailures = n
			return err == nil && n >= 1 && n <= 100000
		}},
	{key: "webhook_http_hosts", def: "", meta: "HOSTS", expect: `comma-separated host names or IPs like "receiver.dev.internal", or empty`,
		usage: "hosts a webhook URL may name over plain http (development receivers); loopback always may, every other URL must be https",
		apply: func(c *Config, v string) bool { c.Webhooks.HTTPHosts = v; return !strings.ContainsAny(v, " \t\r\n/") }},
	{key: "delivery_lease", def: delivery.DefaultLease.String(), meta: "DURATION", expect: `a Go duration of at least 3s like "15s"`,
		usage: "how long a node's lease on a webhook subscription, regulator endpoint or witness lasts between the heartbeats (every third of it) that keep it while the node delivers: a killed node's destinations wait up to this long for another node",
		apply: func(c *Config, v string) bool {
			return parseDuration(v, &c.DeliveryLease, false) && c.DeliveryLease >= 3*time.Second
		}},
	{key: "sanctions_ofac", def: "", meta: "DIR|URL", expect: "a directory or an http(s) base URL holding sdn.csv, add.csv, alt.csv and sdn_comments.csv, or empty",
		usage: "OFAC's SDN list, its four legacy CSV files: a directory, or a base URL like https://www.treasury.gov/ofac/downloads/; empty: not screened against",
		apply: func(c *Config, v string) bool { c.SanctionsOFAC = v; return !strings.ContainsAny(v, "\x00\n") }},
	{key: "sanctions_un", def: "", meta: "FILE|URL", expect: "a file or an http(s) URL of the UN consolidated list XML, or empty",
		usage: "the UN Security Council consolidated list (XML), like https://scsanctions.un.org/resources/xml/en/consolidated.xml; empty: not screened against",
		apply: func(c *Config, v string) bool { c.SanctionsUN = v; return !strings.ContainsAny(v, "\x00\n") }},
	{key: "sanctions_eu", def: "", meta: "FILE|URL", expect: "a file or an http(s) URL of the EU consolidated financial sanctions list CSV, or empty",
		usage: "the EU consolidated financial sanctions list, its CSV (semicolon separated, from https://webgate.ec.europa.eu/fsd/fsf); empty: not screened against",
		apply: func(c *Config, v string) bool { c.SanctionsEU = v; return !strings.ContainsAny(v, "\x00\n") }},
	{key: "sanctions_uk", def: "", meta: "FILE|URL", expect: "a file or an http(s) URL of the UK Sanctions List (CSV or ODS) or OFSI's ConList.csv, or empty",
		usage: "the UK Sanctions List (FCDO), CSV like https://sanctionslist.fcdo.gov.uk/docs/UK-Sanctions-List.csv or its .ods, or OFSI's consolidated list ConList.csv; empty: not screened against",
		apply: func(c *Config, v string) bool { c.SanctionsUK = v; return !strings.ContainsAny(v, "\x00\n") }},
	{key: "sanctions_reload_interval", def: "6h", meta: "DURATION", expect: `a Go duration like "6h", or "0" never to reload on a schedule`,
		usage: "how often serve reloads the sanctions lists (new versions swapped in while screening goes on; a list that fails keeps its last version)",
		apply: func(c *Config, v string) bool { return parseDuration(v, &c.SanctionsReload, true) }},
	{key: "compliance_rules", def: "", meta: "FILE", expect: "a JSON rules file (see compliance/rules.example.json), or empty",
		usage: "the compliance rules: AML rules per jurisdiction (large value, structuring, velocity, FATF high-risk lists, travel rule) and the sanctions thresholds; empty: no AML rules",
		apply: func(c *Config, v string) bool { c.ComplianceRules = v; return !strings.ContainsAny(v, "\x00\n") }},
	{key: "otlp_traces_endpoint", def: "", meta: "URL", expect: "an http:// or https:// URL of an OTLP/HTTP collector like http://127.0.0.1:4318, or empty",
		usage: "send OpenTelemetry traces (a span per request and per database transaction, with UETRs and MsgIds) to this OTLP/HTTP collector; empty: tracing off",
		apply: func(c *Config, v string) bool {
			c.OTLPTracesEndpoint = v
			return v == "" || (strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://")) && !strings.ContainsAny(v, " \x00\n")
		}},
	{key: "log_format", def: "text", meta: "FORMAT", expect: "text or json",
		usage: "how logs are written to stderr: text (key=value lines) or json (one object a line, for log shippers)",
		apply: func(c *Config, v string) bool {
			c.LogFormat = strings.ToLower(v)
			return c.LogFormat == "text" || c.LogFormat == "json"
		}},
	{key: "log_level", def: "info", meta: "LEVEL", expect: "one of debug, info, warn, error",
		usage: "least severe log level written to stderr: debug, info, warn or error",
		apply: func(c *Config, v string) bool {
			switch strings.ToLower(v) {
			case "debug":
				c.LogLevel = slog.LevelDebug
			case "info":
				c.LogLevel = slog.LevelInfo
			case "warn", "warning":
				c.LogLevel = slog.LevelWarn
			case "error":
				c.LogLevel = slog.LevelError
			default:
				return false
			}
			return true
		}},
}

func lookupSetting(key string) (setting, bool) {
	i := slices.IndexFunc(settings, func(s setting) bool { return s.key == key })
	if i < 0 {
		return setting{}, false
	}
	return settings[i], true
}

func settingKeys() []string {
	out := make([]string, len(settings))
	for i, s := range settings {
		out[i] = s.key
	}
	return out
}

var bicLike = regexp.MustCompile(`^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$`)

func parseBps(v string, dst *int) bool {
	n, err := strconv.Atoi(v)
	*dst = n
	return err == nil && n >= 0 && n < 10000
}

func parseDuration(v string, dst *time.Duration, zeroOK bool) bool {
	d, err := time.ParseDuration(v)
	*dst = d
	return err == nil && (d > 0 || (zeroOK && d == 0))
}

func validListen(v string) bool {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// defaultConfig is the configuration before any file, variable or flag.
func defaultConfig() Config {
	var c Config
	for _, s := range settings {
		if !s.apply(&c, s.def) {
			panic("bad default for " + s.key)
		}
	}
	return c
}

// configError is a configuration mistake: it names where the value came
// from, the key and what was expected.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func invalid(source string, s setting, shown string) error {
	return &configError{fmt.Sprintf("%s: invalid %s %s: expected %s", source, s.key, shown, s.expect)}
}

// metaPrefix marks a flag's placeholder for printUsage, which strips it
// from the text: flag.UnquoteUsage only finds a `NAME` quoted in the usage.
func metaPrefix(meta string) string { return "`" + meta + "`" + metaSep }

const metaSep = "\x00"

// configFlags are the configuration flags registered on one command.
type configFlags struct {
	fs     *flag.FlagSet
	file   *string
	values map[string]*string // by key
}

// addConfigFlags registers --config and a flag for each of keys on fs.
func addConfigFlags(fs *flag.FlagSet, keys ...string) *configFlags {
	cf := &configFlags{fs: fs, values: map[string]*string{}}
	cf.file = fs.String("config", "", "read configuration from this TOML `FILE` (default $"+configEnv+")")
	for _, k := range keys {
		s, ok := lookupSetting(k)
		if !ok {
			panic("unknown setting " + k)
		}
		usage := fmt.Sprintf("%s (env %s)", s.usage, s.env())
		cf.values[k] = fs.String(s.flag(), s.def, metaPrefix(s.meta)+usage)
	}
	return cf
}

// load builds the configuration: defaults < file < environment < flags set
// on the command line. getenv is os.Getenv outside tests.
func (cf *configFlags) load(getenv func(string) string) (Config, error) {
	c := defaultConfig()
	path := getenv(configEnv)
	if *cf.file != "" {
		path = *cf.file
	}
	if path != "" {
		if err := applyFile(&c, path); err != nil {
			return Config{}, err
		}
	}
	for _, s := range settings {
		if v := getenv(s.env()); v != "" {
			if !s.apply(&c, v) {
				return Config{}, invalid("environment "+s.env(), s, shown(s, v))
			}
		}
	}
	var err error
	cf.fs.Visit(func(f *flag.Flag) {
		key := strings.ReplaceAll(f.Name, "-", "_")
		s, ok := lookupSetting(key)
		if !ok || cf.values[key] == nil || err != nil {
			return
		}
		if !s.apply(&c, *cf.values[key]) {
			err = invalid("flag --"+f.Name, s, shown(s, *cf.values[key]))
		}
	})
	return c, err
}

// shown is a value quoted for an error message; a database URL is never
// echoed, since it may carry a password.
func shown(s setting, v string) string {
	if s.key == "database" || s.key == "database_replica" {
		return "(empty)"
	}
	return strconv.Quote(v)
}

// applyFile reads a TOML file over c. Unknown keys and values of the wrong
// type are errors naming the key.
func applyFile(c *Config, path string) error {
	var raw map[string]any
	md, err := toml.DecodeFile(path, &raw)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &configError{fmt.Sprintf("config file %s does not exist", path)}
		}
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return &configError{fmt.Sprintf("config file %s: line %d: %s", path, perr.Position.Line, perr.Message)}
		}
		return &configError{fmt.Sprintf("config file %s: %v", path, err)}
	}
	source := "config file " + path
	for _, k := range md.Keys() {
		if len(k) != 1 {
			continue // inside a table: the table itself is reported below
		}
		key := k[0]
		s, ok := lookupSetting(key)
		if !ok {
			kind := "key"
			if _, isTable := raw[key].(map[string]any); isTable {
				kind = "table"
			}
			return &configError{fmt.Sprintf("%s: unknown %s %q (known keys: %s)", source, kind, key, strings.Join(settingKeys(), ", "))}
		}
		var v string
		switch x := raw[key].(type) {
		case string:
			if s.isInt {
				return invalid(source, s, "string "+strconv.Quote(x)+" (write the number without quotes)")
			}
			v = x
		case int64:
			if !s.isInt {
				return invalid(source, s, fmt.Sprintf("number %d (write it as a string)", x))
			}
			v = strconv.FormatInt(x, 10)
		default:
			return invalid(source, s, fmt.Sprintf("%s value", md.Type(key)))
		}
		if !s.apply(c, v) {
			return invalid(source, s, shown(s, v))
		}
	}
	return nil
}

package main

import (
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing/store"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadWith parses args as a serve command would and loads the configuration.
func loadWith(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cf := addConfigFlags(fs, settingKeys()...)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cf.load(envOf(env))
}

func TestConfigDefaults(t *testing.T) {
	c, err := loadWith(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Database: "crossclear.db", Listen: "127.0.0.1:8080", AutoReleaseAfter: 360 * time.Hour,
		AutoReleaseInterval: 30 * time.Second, CyclePeriod: 0, BodyLimitBytes: 1 << 20, LogLevel: slog.LevelInfo, LogFormat: "text", FXQuoteTTL: 2 * time.Minute,
		FXResultChargedTo: "operator", ReportingCurrency: "USD", FXRatesReload: 30 * time.Second, FXECBRefresh: time.Hour,
		FileLimitBytes: 32 << 20, OperatorBIC: "XCLRGB2L", Signer: "dev", VaultTransitMount: "transit",
		VaultKeyFiles: "crossclear-bank-files", VaultKeyCheckpoints: "crossclear-regulator-checkpoints", SealRetryInterval: 5 * time.Second, SanctionsReload: 6 * time.Hour,
		HTTPReadTimeout: 30 * time.Second, HTTPWriteTimeout: 10 * time.Minute, HTTPIdleTimeout: 2 * time.Minute, DatabasePool: store.Pool{MaxLifetime: 30 * time.Minute}, APIKeyCacheTTL: 5 * time.Second, GroupCommit: store.GroupConfig{Max: 64},
		AuthFailureLimit: 20, AuthFailureWindow: time.Minute, DegradedStatus: 200,
		Regulator: RegulatorConfig{RateLimit: 120, Interval: 5 * time.Second, CheckpointInterval: 10 * time.Minute},
		Webhooks:  WebhookConfig{Interval: 5 * time.Second, MaxBackoff: time.Hour, MaxFailures: 20}, DeliveryLease: 15 * time.Second}
	if c != want {
		t.Fatalf("defaults\n got %+v\nwant %+v", c, want)
	}
}

func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "c.toml", `
database = "file.db"
listen = "127.0.0.1:1111"
auto_release_after = "48h"
auto_release_interval = "10s"
cycle_period = "24h"
body_limit_bytes = 2048
log_level = "warn"
fx_provider = "KSTLGB2L"
fx_fee_bps = 30
fx_spread_bps = 50
fx_max_rate_age = "15m"
fx_quote_ttl = "90s"
fx_result_charged_to = "merchant"
reporting_currency = "EUR"
fx_rates_reload_interval = "0"
fx_ecb_url = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
fx_ecb_refresh_interval = "2h"
signer = "vault"
vault_addr = "https://vault.internal:8200"
vault_approle_role_id = "role-1"
vault_approle_secret_id_file = "/run/secrets/sid"
vault_key_files = "bank-files"
settlement_bank_bic = "ECBFDEFF"
`)
	// The file over the defaults.
	c, err := loadWith(t, map[string]string{"CROSSCLEAR_CONFIG": file})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Database: "file.db", Listen: "127.0.0.1:1111", AutoReleaseAfter: 48 * time.Hour,
		AutoReleaseInterval: 10 * time.Second, CyclePeriod: 24 * time.Hour, BodyLimitBytes: 2048, LogLevel: slog.LevelWarn, LogFormat: "text",
		FXProvider: "KSTLGB2L", FXFeeBps: 30, FXSpreadBps: 50, FXMaxRateAge: 15 * time.Minute, FXQuoteTTL: 90 * time.Second,
		FXResultChargedTo: "merchant", ReportingCurrency: "EUR", FXRatesReload: 0, FXECBURL: "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml", FXECBRefresh: 2 * time.Hour,
		FileLimitBytes: 32 << 20, OperatorBIC: "XCLRGB2L", SettlementBankBIC: "ECBFDEFF", Signer: "vault", VaultAddr: "https://vault.internal:8200",
		VaultRoleID: "role-1", VaultSecretIDFile: "/run/secrets/sid", VaultTransitMount: "transit",
		VaultKeyFiles: "bank-files", VaultKeyCheckpoints: "crossclear-regulator-checkpoints", SealRetryInterval: 5 * time.Second, SanctionsReload: 6 * time.Hour,
		HTTPReadTimeout: 30 * time.Second, HTTPWriteTimeout: 10 * time.Minute, HTTPIdleTimeout: 2 * time.Minute, DatabasePool: store.Pool{MaxLifetime: 30 * time.Minute}, APIKeyCacheTTL: 5 * time.Second, GroupCommit: store.GroupConfig{Max: 64},
		AuthFailureLimit: 20, AuthFailureWindow: time.Minute, DegradedStatus: 200,
		Regulator: RegulatorConfig{RateLimit: 120, Interval: 5 * time.Second, CheckpointInterval: 10 * time.Minute},
		Webhooks:  WebhookConfig{Interval: 5 * time.Second, MaxBackoff: time.Hour, MaxFailures: 20}, DeliveryLease: 15 * time.Second}
	if c != want {
		t.Fatalf("file\n got %+v\nwant %+v", c, want)
	}

	// The environment over the file.
	env := map[string]string{
		"CROSSCLEAR_CONFIG":       file,
		"CROSSCLEAR_LISTEN":       "127.0.0.1:2222",
		"CROSSCLEAR_CYCLE_PERIOD": "1h",
		"CROSSCLEAR_LOG_LEVEL":    "debug",
	}
	c, err = loadWith(t, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:2222" || c.CyclePeriod != time.Hour || c.LogLevel != slog.LevelDebug || c.Database != "file.db" || c.BodyLimitBytes != 2048 {
		t.Fatalf("env over file: %+v", c)
	}

	// Flags over the environment; a flag left at its default does not
	// override anything.
	c, err = loadWith(t, env, "--listen", "127.0.0.1:3333", "--body-limit-bytes", "4096")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:3333" || c.BodyLimitBytes != 4096 || c.CyclePeriod != time.Hour || c.Database != "file.db" {
		t.Fatalf("flags over env: %+v", c)
	}

	// --config wins over CROSSCLEAR_CONFIG.
	other := writeFile(t, "other.toml", `database = "other.db"`)
	c, err = loadWith(t, map[string]string{"CROSSCLEAR_CONFIG": file}, "--config", other)
	if err != nil {
		t.Fatal(err)
	}
	if c.Database != "other.db" || c.Listen != "127.0.0.1:8080" {
		t.Fatalf("--config over CROSSCLEAR_CONFIG: %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string // TOML; "" for none
		env  map[string]string
		args []string
		want []string // substrings of the error
	}{
		{name: "unknown key", file: "listen = \"127.0.0.1:1\"\nlisten_addr = \"x\"\n", want: []string{`unknown key "listen_addr"`, "known keys: database, listen"}},
		{name: "unknown table", file: "[server]\nlisten = \"x\"\n", want: []string{`unknown table "server"`}},
		{name: "duration as number", file: "auto_release_interval = 30\n", want: []string{"auto_release_interval", "number 30", `Go duration like "30s"`}},
		{name: "bad duration", file: "auto_release_after = \"15 days\"\n", want: []string{"config file", `invalid auto_release_after "15 days"`, `Go duration like "360h"`}},
		{name: "negative duration", file: "cycle_period = \"-1h\"\n", want: []string{"cycle_period", `"-1h"`}},
		{name: "zero interval", file: "auto_release_interval = \"0s\"\n", want: []string{"auto_release_interval", "positive"}},
		{name: "quoted number", file: "body_limit_bytes = \"1MB\"\n", want: []string{"body_limit_bytes", "without quotes"}},
		{name: "bool", file: "log_level = true\n", want: []string{"log_level", "bool"}},
		{name: "bad level", file: "log_level = \"loud\"\n", want: []string{"log_level", "debug, info, warn, error"}},
		{name: "bad listen", file: "listen = \"localhost\"\n", want: []string{"listen", "host:port"}},
		{name: "syntax", file: "listen = \n", want: []string{"config file", "line 1"}},
		{name: "missing file", env: map[string]string{"CROSSCLEAR_CONFIG": "/nonexistent/crossclear.toml"}, want: []string{"/nonexistent/crossclear.toml does not exist"}},
		{name: "bad env", env: map[string]string{"CROSSCLEAR_AUTO_RELEASE_INTERVAL": "soon"}, want: []string{"environment CROSSCLEAR_AUTO_RELEASE_INTERVAL", "auto_release_interval", `"soon"`}},
		{name: "bad flag", args: []string{"--body-limit-bytes", "-5"}, want: []string{"flag --body-limit-bytes", "body_limit_bytes", "positive whole number"}},
		{name: "empty database", file: "database = \"\"\n", want: []string{"invalid database"}},
		{name: "bad provider", file: "fx_provider = \"kestrel\"\n", want: []string{"invalid fx_provider", "BIC"}},
		{name: "bps too large", file: "fx_fee_bps = 10000\n", want: []string{"fx_fee_bps", "0 to 9999"}},
		{name: "negative bps", args: []string{"--fx-spread-bps", "-1"}, want: []string{"flag --fx-spread-bps", "fx_spread_bps"}},
		{name: "FX result charged to nobody", file: "fx_result_charged_to = \"buyer\"\n", want: []string{`invalid fx_result_charged_to "buyer"`, `"operator" or "merchant"`}},
		{name: "lower-case reporting currency", env: map[string]string{"CROSSCLEAR_REPORTING_CURRENCY": "usd"}, want: []string{"environment CROSSCLEAR_REPORTING_CURRENCY", "reporting_currency", "ISO 4217"}},
		{name: "unknown reporting currency", args: []string{"--reporting-currency", "XYZ"}, want: []string{"flag --reporting-currency", "reporting_currency"}},
		{name: "negative reload", file: "fx_rates_reload_interval = \"-30s\"\n", want: []string{"fx_rates_reload_interval", `"0" never to reload`}},
		{name: "zero ECB refresh", file: "fx_ecb_refresh_interval = \"0\"\n", want: []string{"fx_ecb_refresh_interval", "positive"}},
		{name: "readyz status neither 200 nor 503", file: "readyz_degraded_status = 500\n", want: []string{`invalid readyz_degraded_status "500"`, "200 or 503"}},
		{name: "zero read timeout", env: map[string]string{"CROSSCLEAR_HTTP_READ_TIMEOUT": "0"}, want: []string{"environment CROSSCLEAR_HTTP_READ_TIMEOUT", "http_read_timeout", "positive"}},
		{name: "no failed authentications", args: []string{"--auth-failure-limit", "0"}, want: []string{"flag --auth-failure-limit", "auth_failure_limit", "from 1"}},
		{name: "settlement bank not a BIC", env: map[string]string{"CROSSCLEAR_SETTLEMENT_BANK_BIC": "ecb"}, want: []string{"environment CROSSCLEAR_SETTLEMENT_BANK_BIC", `invalid settlement_bank_bic "ecb"`, "a BIC like ECBFDEFF, or empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tc.env {
				env[k] = v
			}
			if tc.file != "" {
				env["CROSSCLEAR_CONFIG"] = writeFile(t, "c.toml", tc.file)
			}
			_, err := loadWith(t, env, tc.args...)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestConfigNeverEchoesDatabase: a database URL may carry a password.
func TestConfigNeverEchoesDatabase(t *testing.T) {
	_, err := loadWith(t, map[string]string{"CROSSCLEAR_DATABASE": "postgres://u:hunter2@db/x", "CROSSCLEAR_LISTEN": "nope"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v", err)
	}
}

// TestExampleConfig checks that crossclear.example.toml documents exactly
// the keys there are, with their defaults, and still parses uncommented.
func TestExampleConfig(t *testing.T) {
	raw, err := os.ReadFile("crossclear.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	// As shipped, everything is commented out: the defaults.
	c, err := loadWith(t, map[string]string{"CROSSCLEAR_CONFIG": "crossclear.example.toml"})
	if err != nil || c != defaultConfig() {
		t.Fatalf("shipped example: %+v, %v", c, err)
	}
	// Uncomment the first example of every key: it must parse and give the defaults.
	assignment := regexp.MustCompile(`^# ([a-z_]+) = (.*?)(\s+#.*)?$`)
	seen := map[string]bool{}
	var uncommented []string
	for _, line := range strings.Split(string(raw), "\n") {
		m := assignment.FindStringSubmatch(line)
		if m == nil || seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		uncommented = append(uncommented, m[1]+" = "+m[2])
		s, ok := lookupSetting(m[1])
		if !ok {
			t.Errorf("example documents unknown key %q", m[1])
			continue
		}
		if !strings.Contains(string(raw), s.env()) || !strings.Contains(string(raw), "--"+s.flag()) {
			t.Errorf("example does not name %s and --%s for %s", s.env(), s.flag(), s.key)
		}
	}
	for _, k := range settingKeys() {
		if !seen[k] {
			t.Errorf("example does not document %q", k)
		}
	}
	c, err = loadWith(t, map[string]string{"CROSSCLEAR_CONFIG": writeFile(t, "c.toml", strings.Join(uncommented, "\n"))})
	if err != nil || c != defaultConfig() {
		t.Fatalf("uncommented example: %+v, %v\n%s", c, err, strings.Join(uncommented, "\n"))
	}
}

// TestDeployConfig keeps deploy/postgres/crossclear.toml loadable.
func TestDeployConfig(t *testing.T) {
	c, err := loadWith(t, map[string]string{"CROSSCLEAR_CONFIG": "../../deploy/postgres/crossclear.toml"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:8080" || c.CyclePeriod != 24*time.Hour || c.Database != "crossclear.db" {
		t.Fatalf("%+v", c)
	}
}

// TestLogFormat: log_format json writes one JSON object a line.
func TestLogFormat(t *testing.T) {
	var buf strings.Builder
	c := &cli{stderr: &buf}
	for _, format := range []string{"json", "text"} {
		cfg, err := loadWith(t, map[string]string{"CROSSCLEAR_LOG_FORMAT": format})
		if err != nil {
			t.Fatal(err)
		}
		buf.Reset()
		c.logger(cfg).Info("hello", "k", "v")
		line := buf.String()
		if isJSON := strings.HasPrefix(line, "{") && strings.Contains(line, `"msg":"hello"`); isJSON != (format == "json") {
			t.Errorf("%s: %q", format, line)
		}
	}
	if _, err := loadWith(t, map[string]string{"CROSSCLEAR_LOG_FORMAT": "xml"}); err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Errorf("log_format xml: %v", err)
	}
}

// TestDevKeyFilePerDatabase: the development key sits beside a SQLite
// file; on PostgreSQL each database URL (whatever its password) has a key
// of its own in the user's config directory.
func TestDevKeyFilePerDatabase(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	path := func(db string) string {
		t.Helper()
		p, err := devKeyFile(Config{Database: db})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got := path("/var/lib/crossclear/x.db"); got != "/var/lib/crossclear/crossclear-dev.key" {
		t.Errorf("SQLite: %s", got)
	}
	a, b := path("postgres://crossclear:one@db:5432/a"), path("postgres://crossclear:two@db:5432/a")
	c := path("postgres://crossclear:one@db:5432/b")
	if a != b || a == c || !strings.HasPrefix(filepath.Base(a), "crossclear-dev-") || filepath.Dir(a) != filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "crossclear") {
		t.Errorf("PostgreSQL keys: %s %s %s", a, b, c)
	}
	if got := path(""); got == "" {
		t.Error("no path")
	}
}

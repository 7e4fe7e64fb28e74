package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/inbound"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// crossclear runs the command line with no environment but env.
func crossclear(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb syncBuffer
	code = run(context.Background(), args, &out, &errb, envOf(env))
	return code, out.String(), errb.String()
}

func mustRun(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	code, out, errs := crossclear(t, env, args...)
	if code != 0 {
		t.Fatalf("crossclear %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func openTestStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn, store.Options{Refunds: inbound.RefundFile("")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestDemo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	start := time.Now()
	out := mustRun(t, nil, "demo", "--no-serve", "--database", db)
	t.Logf("demo took %s", time.Since(start))
	ctx := context.Background()
	s := openTestStore(t, db)

	c, err := s.Cycle(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != clearing.CycleClosed || c.Result == nil || len(c.Result.Currencies) != 5 {
		t.Fatalf("cycle 1: state %s, result %+v", c.State, c.Result)
	}
	sums := map[string]int64{}
	for _, p := range c.Result.Positions {
		sums[p.Currency] += p.NetMinor
	}
	for ccy, sum := range sums {
		if sum != 0 {
			t.Errorf("%s nets sum to %d", ccy, sum)
		}
	}
	for _, ct := range c.Result.Currencies {
		if ct.GrossMinor <= 0 || !strings.Contains(out, fmt.Sprintf("%s  gross %s", ct.Currency, money(ct.Currency, ct.GrossMinor))) {
			t.Errorf("summary does not show %s gross %s", ct.Currency, money(ct.Currency, ct.GrossMinor))
		}
		if !strings.Contains(out, "netting efficiency "+percent(ct)) {
			t.Errorf("summary does not show %s efficiency %s", ct.Currency, percent(ct))
		}
	}
	if n := strings.Count(out, "Σ nets"); n != 5 || strings.Count(out, "✓ balanced") != 5 {
		t.Errorf("summary shows Σ nets %d times, want 5 balanced currencies", n)
	}
	chk, err := s.CheckLedger(ctx)
	if err != nil || !chk.OK {
		t.Fatalf("ledger: %+v %v", chk, err)
	}
	if code, lout, _ := crossclear(t, nil, "ledger", "check", "--database", db); code != 0 || !strings.Contains(lout, "OK") {
		t.Fatalf("ledger check: exit %d\n%s", code, lout)
	}

	count := func(q string, args ...any) int {
		var n int
		if err := s.DB().NewRaw(q, args...).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, st := range []clearing.State{clearing.Released, clearing.Refunded, clearing.Held, clearing.Disputed} {
		if n := count("SELECT COUNT(*) FROM payments WHERE state = ?", st); n == 0 {
			t.Errorf("no payment is %s", st)
		}
	}
	for _, typ := range []clearing.EventType{clearing.EventReleased, clearing.EventAutoReleased, clearing.EventPartiallyReleased,
		clearing.EventResolvedRefund, clearing.EventResolvedRelease, clearing.EventRefunded, clearing.EventDisputed} {
		if n := count("SELECT COUNT(*) FROM payment_events WHERE type = ?", typ); n == 0 {
			t.Errorf("no %s event", typ)
		}
	}
	// Merchant refunds were made by merchants, resolutions by the operator.
	if n := count("SELECT COUNT(*) FROM payment_events WHERE type = ? AND actor LIKE 'merchant:%'", clearing.EventRefunded); n == 0 {
		t.Error("no refund by a merchant")
	}
	m := regexp.MustCompile(`(\d+) held, (\d+) refused at a net debit cap`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no refusal count in the output:\n%s", out)
	}
	held, _ := strconv.Atoi(m[1])
	refused, _ := strconv.Atoi(m[2])
	if refused == 0 || held+refused != 3000 {
		t.Errorf("held %d + refused %d, want 3000 with some refused", held, refused)
	}
	if n := count("SELECT COUNT(*) FROM payments"); n != held {
		t.Errorf("%d payments in the database, the demo says %d held", n, held)
	}
	if !strings.Contains(out, "net_debit_cap_exceeded: holding") {
		t.Error("no refusal message printed")
	}
	// Only the auto-release group was due: every auto-release happened in the pass.
	if n := count("SELECT COUNT(*) FROM payment_events WHERE type = ?", clearing.EventAutoReleased); !strings.Contains(out, fmt.Sprintf("real time: %d payments", n)) {
		t.Errorf("output does not report %d auto-released", n)
	}
	// Cross-currency: buyers' banks paying in at least four currencies for
	// merchants settled in two or three, converted by KSTLGB2L; the summary
	// shows its legs per currency and the fees account.
	if n := count("SELECT COUNT(DISTINCT sell_currency) FROM payments WHERE sell_currency <> ''"); n < 4 {
		t.Errorf("cross-currency payments in %d sell currencies", n)
	}
	if n := count("SELECT COUNT(DISTINCT currency) FROM payments WHERE sell_currency <> ''"); n < 2 || n > 3 {
		t.Errorf("cross-currency payments to merchants in %d currencies", n)
	}
	if n := count("SELECT COUNT(*) FROM payments WHERE sell_currency <> '' AND fx_provider_id = 'KSTLGB2L' AND state = 'refunded'"); n == 0 {
		t.Error("no cross-currency refund")
	}
	fxn := count("SELECT COUNT(*) FROM payments WHERE sell_currency <> ''")
	if !strings.Contains(out, fmt.Sprintf("Cross-currency: %d payments converted by KSTLGB2L", fxn)) || !strings.Contains(out, "fees account (scheme fees kept") {
		t.Errorf("no FX summary for %d payments:\n%s", fxn, out)
	}
	for _, p := range c.Result.Positions {
		if p.Participant == "KSTLGB2L" && !strings.Contains(out, fmt.Sprintf("    %s  ", p.Currency)) {
			t.Errorf("the FX summary does not show KSTLGB2L's %s legs", p.Currency)
		}
	}
	if open, err := s.CurrentCycle(ctx); err != nil || open.ID != 2 {
		t.Errorf("open cycle %+v %v, want 2", open, err)
	}

	// The same seed gives the same netting; another seed does not.
	again := filepath.Join(t.TempDir(), "again.db")
	mustRun(t, nil, "demo", "--no-serve", "--database", again)
	c2, err := openTestStore(t, again).Cycle(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c2.Result.Currencies) != fmt.Sprint(c.Result.Currencies) {
		t.Errorf("same seed, different totals:\n%v\n%v", c.Result.Currencies, c2.Result.Currencies)
	}
	other := filepath.Join(t.TempDir(), "other.db")
	mustRun(t, nil, "demo", "--no-serve", "--database", other, "--seed", "2", "--payments", "300")
	c3, _ := openTestStore(t, other).Cycle(ctx, 1)
	if fmt.Sprint(c3.Result.Currencies) == fmt.Sprint(c.Result.Currencies) {
		t.Error("another seed gave the same totals")
	}

	// Running it again recreates the file (the demo recognises its own database).
	mustRun(t, nil, "demo", "--no-serve", "--database", other, "--payments", "50")
	if n := count2(t, other, "SELECT COUNT(*) FROM participants"); n != 6 {
		t.Errorf("%d participants after re-running the demo, want 6", n)
	}
}

// TestDemoECBCopy keeps the demo's built-in ECB file equal to the sample.
func TestDemoECBCopy(t *testing.T) {
	sample, err := os.ReadFile("../../" + demoECBPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sample, demoECB) {
		t.Fatal("cmd/crossclear/demo_ecb.xml differs from " + demoECBPath + ": copy it over")
	}
}

func count2(t *testing.T, dsn, q string) int {
	t.Helper()
	s := openTestStore(t, dsn)
	var n int
	if err := s.DB().NewRaw(q).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// startServing runs args in the background until the test ends and
// returns the base URL it serves on and its output.
func startServing(t *testing.T, env map[string]string, args ...string) (base string, out *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	var errs syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, out, &errs, envOf(env)) }()
	serving := regexp.MustCompile(`serving on (http://\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := serving.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("%v exited %d\nstdout:\n%s\nstderr:\n%s", args, code, out.String(), errs.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("%v did not start serving\nstdout:\n%s\nstderr:\n%s", args, out.String(), errs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopped := false
	code := 0
	stop = func() int {
		if stopped {
			return code
		}
		stopped = true
		cancel()
		select {
		case code = <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%v did not stop on cancel", args)
		}
		if strings.Contains(errs.String(), "level=ERROR") {
			t.Errorf("errors logged:\n%s", errs.String())
		}
		return code
	}
	t.Cleanup(func() { stop() })
	return base, out, stop
}

func httpGet(t *testing.T, url, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestDemoServes: without --no-serve the demo prints keys and curl lines
// for the address it really listens on, and they work.
func TestDemoServes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	base, out, stop := startServing(t, map[string]string{"CROSSCLEAR_LISTEN": "127.0.0.1:0"}, "demo", "--database", db, "--payments", "200")
	// Every curl line works as printed, in a shell that sourced the file
	// the demo names; the mailbox line shows the cycle's signed files.
	env := demoEnvPath(db)
	if !strings.Contains(out.String(), ". "+env+" sets them") {
		t.Fatalf("the demo does not say to source %s:\n%s", env, out.String())
	}
	if b, err := os.ReadFile(env); err != nil || !strings.Contains(string(b), "API="+base+"\n") {
		t.Fatalf("%s: %v\n%s", env, err, b)
	}
	var curls []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "curl ") {
			l, _, _ = strings.Cut(l, "    # ") // the comment: options go before it
			curls = append(curls, l)
		}
	}
	if len(curls) < 8 {
		t.Fatalf("%d curl lines:\n%s", len(curls), out.String())
	}
	shell := func(line string) string {
		cmd := exec.Command("bash", "-c", ". "+env+"\n"+line)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", line, err, b)
		}
		return string(b)
	}
	for _, c := range curls {
		if status := shell(c + " -s -o /dev/null -w '%{http_code}'"); !strings.HasPrefix(status, "2") {
			t.Errorf("a curl line the demo printed answers %s: %s", status, c)
		}
		if strings.Contains(c, "/v1/files") {
			waitUntil(t, "the cycle's signed files in the bank's mailbox", func() bool {
				body := shell(c + " -s")
				return strings.Contains(body, `"kind":"pacs.009.001.09"`) && strings.Contains(body, `"kind":"camt.053.001.08"`) &&
					strings.Contains(body, `"key":"dev-crossclear"`)
			})
		}
		if strings.Contains(c, "/v1/quotes") && !strings.Contains(shell(c+" -s"), `"buy_currency":"USD"`) {
			t.Errorf("the quote line gives no quote: %s", c)
		}
	}
	for _, role := range []string{"operator", "bank HANSDEFF", "merchant mer_", "regulator SG", "fx_provider KSTLGB2L"} {
		if !strings.Contains(out.String(), "  "+role) {
			t.Errorf("no %s key printed", role)
		}
	}
	regulatorConsole(t, out.String())
	if code := stop(); code != 0 {
		t.Fatalf("demo exited %d", code)
	}
}

// regulatorConsole: the regulator's console the demo prints signs in the
// printed $REG key and lists SG's reports (their verification in a browser
// is clearing/console's TestRegulatorBrowser).
func regulatorConsole(t *testing.T, out string) {
	t.Helper()
	m := regexp.MustCompile(`The regulator's console: open (\S+)/console/ and sign in with the regulator's key \(\$REG\)`).FindStringSubmatch(out)
	key := regexp.MustCompile(`\$REG +regulator SG +(cck_\S+)`).FindStringSubmatch(out)
	if m == nil || key == nil {
		t.Fatalf("no regulator console URL or $REG key printed:\n%s", out)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	res, err := client.Get(m[1] + "/console/signin")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if csrf == nil {
		t.Fatalf("the regulator console's sign-in page: %d %s", res.StatusCode, page)
	}
	req, _ := http.NewRequest(http.MethodPost, m[1]+"/console/signin", strings.NewReader(url.Values{"csrf": {string(csrf[1])}, "key": {key[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", m[1])
	if res, err = client.Do(req); err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	// The demo's serve publishes the reports in its first producer pass,
	// which may still be running on a busy machine: look again until then.
	for deadline := time.Now().Add(60 * time.Second); res.StatusCode == http.StatusOK && !strings.Contains(string(page), "SG-cycle-1") && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		if res, err = client.Get(m[1] + "/console/reports"); err != nil {
			t.Fatal(err)
		}
		page, _ = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), "SG-cycle-1") || !strings.Contains(string(page), "verify.js") {
		t.Fatalf("the regulator's reports after signing in: %d %s", res.StatusCode, page)
	}
}

func TestDemoRefusesForeignFile(t *testing.T) {
	dir := t.TempDir()
	precious := filepath.Join(dir, "precious.db")
	mustRun(t, nil, "migrate", "--database", precious)
	code, _, errs := crossclear(t, nil, "demo", "--no-serve", "--database", precious, "--payments", "10")
	if code != 1 || !strings.Contains(errs, "not created by 'crossclear demo'") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat(precious); err != nil {
		t.Fatal("the file is gone")
	}
	mustRun(t, nil, "demo", "--no-serve", "--database", precious, "--payments", "10", "--force")
	if code, _, errs := crossclear(t, nil, "demo", "--database", "postgres://x@y/z"); code != 2 || !strings.Contains(errs, "SQLite") {
		t.Fatalf("demo on postgres: exit %d %s", code, errs)
	}
}

func TestMigrateTwice(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			dsn := storetest.DSN(t, engine)
			out := mustRun(t, map[string]string{"CROSSCLEAR_DATABASE": dsn}, "migrate")
			m := regexp.MustCompile(`is at schema version (\d+)`).FindStringSubmatch(out)
			if !strings.Contains(out, "applied migration 1") || m == nil || !strings.Contains(out, "applied migration "+m[1]+" ") || len(m[1]) < 1 || m[1] == "0" {
				t.Fatalf("first migrate:\n%s", out)
			}
			out = mustRun(t, nil, "migrate", "--database", dsn)
			if !strings.Contains(out, "up to date (schema version "+m[1]+")") || strings.Contains(out, "applied") {
				t.Fatalf("second migrate:\n%s", out)
			}
			s := openTestStore(t, dsn)
			if c, err := s.CurrentCycle(context.Background()); err != nil || c.ID != 1 {
				t.Fatalf("open cycle %+v %v", c, err)
			}
		})
	}
}

// TestRedactsPassword: the database password never reaches the output,
// neither on success nor in a connection error.
func TestRedactsPassword(t *testing.T) {
	u, err := url.Parse(storetest.DSN(t, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	secret, has := u.User.Password()
	if !has { // the local test server trusts connections, so any password connects
		secret = "hunter2"
		u.User = url.UserPassword(u.User.Username(), secret)
	}
	dsn := u.String()
	code, out, errs := crossclear(t, nil, "migrate", "--database", dsn)
	if code != 0 || strings.Contains(out+errs, secret) || !strings.Contains(out, ":xxxxx@") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	code, out, errs = crossclear(t, nil, "ledger", "check", "--database", "postgres://crossclear:hunter2@127.0.0.1:1/x?connect_timeout=2")
	if code != 1 || strings.Contains(out+errs, "hunter2") || !strings.Contains(errs, "xxxxx") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
}

func TestAPIKeyCreate(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, engine)
			env := map[string]string{"CROSSCLEAR_DATABASE": dsn}
			if code, _, errs := crossclear(t, env, "apikey", "create", "--role", "operator"); code != 1 || !strings.Contains(errs, "migrate") {
				t.Fatalf("apikey create before migrate: exit %d %s", code, errs)
			}
			mustRun(t, env, "migrate")
			out := mustRun(t, env, "apikey", "create", "--role", "operator", "--name", "first operator")
			secret := regexp.MustCompile(`cck_[0-9a-f]{64}`).FindString(out)
			if secret == "" || !strings.Contains(out, "shown only now") || !strings.Contains(out, "curl -H 'Authorization: Bearer "+secret+"'") {
				t.Fatalf("output:\n%s", out)
			}
			s := openTestStore(t, dsn)
			k, err := s.Authenticate(ctx, secret)
			if err != nil || k.Role != clearing.RoleOperator || k.Name != "first operator" || k.CreatedBy != "operator:cli" {
				t.Fatalf("authenticate: %+v %v", k, err)
			}

			w := storetest.Seed(t, s)
			quiet := strings.TrimSpace(mustRun(t, env, "apikey", "create", "--role", "bank", "--subject", w.Banks[0].ID, "--quiet"))
			if k, err := s.Authenticate(ctx, quiet); err != nil || k.Role != clearing.RoleBank || k.Subject != w.Banks[0].ID {
				t.Fatalf("bank key %q: %+v %v", quiet, k, err)
			}
			for _, tc := range []struct {
				args []string
				code int
				want string
			}{
				{[]string{"--role", "bank"}, 2, "needs --subject"},
				{[]string{"--role", "operator", "--subject", "x"}, 2, "no --subject"},
				{[]string{"--role", "king"}, 2, "--role must be"},
				{[]string{}, 2, "--role is required"},
				{[]string{"--role", "bank", "--subject", "NOSUCHBANK"}, 1, "no participant"},
				{[]string{"--role", "regulator", "--subject", "Singapore"}, 1, "jurisdiction"},
			} {
				code, _, errs := crossclear(t, env, append([]string{"apikey", "create"}, tc.args...)...)
				if code != tc.code || !strings.Contains(errs, tc.want) {
					t.Errorf("apikey create %v: exit %d, %q; want %d and %q", tc.args, code, errs, tc.code, tc.want)
				}
			}
		})
	}
}

func TestCycleCommands(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, engine)
			env := map[string]string{"CROSSCLEAR_DATABASE": dsn}
			mustRun(t, env, "migrate")
			s := openTestStore(t, dsn)
			w := storetest.Seed(t, s)
			amt, _ := fx.ParseAmount("1234.56", "EUR")
			p, err := s.Hold(ctx, clearing.HoldRequest{BuyerBankID: w.Banks[1].ID, MerchantID: w.Merchants[0].ID, Amount: amt}, storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Act(ctx, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 100000}, storetest.Operator); err != nil {
				t.Fatal(err)
			}

			open := mustRun(t, env, "cycle", "show")
			for _, want := range []string{"Cycle 1: open", "EUR  gross 2,234.56", "DBSSSGSG  DBS Test", "-1,234.56", "+1,000.00", "escrow", "+234.56", "✓ balanced"} {
				if !strings.Contains(open, want) {
					t.Errorf("cycle show (open) lacks %q:\n%s", want, open)
				}
			}
			closed := mustRun(t, env, "cycle", "close")
			for _, want := range []string{"Cycle 1: closed", "by operator:cli", "EUR  gross 2,234.56", "settles 1,234.56 after netting",
				"netting efficiency 44.75%", "postings: 1 hold · 1 release (a payment released in parts counts once per part)", "Σ nets", "0.00  ✓ balanced", "Cycle 2 is now open."} {
				if !strings.Contains(closed, want) {
					t.Errorf("cycle close lacks %q:\n%s", want, closed)
				}
			}
			shown := mustRun(t, env, "cycle", "show", "1")
			if !strings.HasPrefix(closed, shown) {
				t.Errorf("cycle show 1 differs from what cycle close printed:\n%s\n---\n%s", shown, closed)
			}
			if out := mustRun(t, nil, "cycle", "show", "--database", dsn, "2"); !strings.Contains(out, "Cycle 2: open") || !strings.Contains(out, "No money moved") {
				t.Errorf("cycle show 2:\n%s", out)
			}
			if code, _, errs := crossclear(t, env, "cycle", "show", "9"); code != 1 || !strings.Contains(errs, "no cycle 9") {
				t.Errorf("cycle show 9: exit %d %s", code, errs)
			}
			// By id it is safe to repeat: cycle 1 again prints its netting
			// and closes nothing; cycle 2 then closes once.
			again := mustRun(t, env, "cycle", "close", "--cycle", "1")
			if !strings.HasPrefix(again, shown) || !strings.Contains(again, "Cycle 2 is now open.") {
				t.Errorf("cycle close --cycle 1 again:\n%s", again)
			}
			for range 2 {
				if out := mustRun(t, env, "cycle", "close", "--cycle", "2"); !strings.Contains(out, "Cycle 2: settled") /* nothing to settle */ || !strings.Contains(out, "Cycle 3 is now open.") {
					t.Errorf("cycle close --cycle 2:\n%s", out)
				}
			}
			if code, _, errs := crossclear(t, env, "cycle", "close", "--cycle", "7"); code != 1 || !strings.Contains(errs, "no cycle 7") {
				t.Errorf("cycle close --cycle 7: exit %d %s", code, errs)
			}
		})
	}
}

func TestLedgerCheckFails(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "books.db")
	mustRun(t, nil, "demo", "--no-serve", "--database", db, "--payments", "100")
	mustRun(t, nil, "ledger", "check", "--database", db)
	s := openTestStore(t, db)
	if _, err := s.DB().ExecContext(ctx, "UPDATE positions SET received_minor = received_minor + 1 WHERE owner = 'HANSDEFF' AND currency = 'EUR'"); err != nil {
		t.Fatal(err)
	}
	code, out, _ := crossclear(t, nil, "ledger", "check", "--database", db)
	if code != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, "problem: HANSDEFF EUR") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestServe(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			dsn := storetest.DSN(t, engine)
			env := map[string]string{"CROSSCLEAR_DATABASE": dsn, "CROSSCLEAR_LISTEN": "127.0.0.1:0", "CROSSCLEAR_CYCLE_PERIOD": "24h"}
			base, out, stop := startServing(t, env, "serve", "--auto-release-interval", "50ms")
			for _, want := range []string{base + "/openapi.json", base + "/metrics", engine + " at ", "closed every 24h0m0s"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("serve output lacks %q:\n%s", want, out.String())
				}
			}
			if code, body := httpGet(t, base+"/healthz", ""); code != 200 || !strings.Contains(body, `"ok"`) {
				t.Fatalf("/healthz: %d %s", code, body)
			}
			if code, body := httpGet(t, base+"/readyz", ""); code != 200 {
				t.Fatalf("/readyz: %d %s", code, body)
			}
			// serve migrated the database: a key made now authenticates.
			key := strings.TrimSpace(mustRun(t, env, "apikey", "create", "--role", "operator", "--quiet"))
			if code, _ := httpGet(t, base+"/v1/cycles/current", ""); code != 401 {
				t.Errorf("/v1/cycles/current without a key: %d, want 401", code)
			}
			if code, body := httpGet(t, base+"/v1/cycles/current", key); code != 200 || !strings.Contains(body, `"open"`) {
				t.Errorf("/v1/cycles/current with the key: %d %s", code, body)
			}
			code, body := httpGet(t, base+"/metrics", "")
			for _, want := range []string{"crossclear_auto_released_total", "crossclear_db_connections_open ", "crossclear_db_connection_waits_total ",
				"crossclear_review_queue_depth 0", "crossclear_review_queue_oldest_seconds 0"} {
				if code != 200 || !strings.Contains(body, want) {
					t.Errorf("/metrics: %d, %q missing", code, want)
				}
			}
			if code := stop(); code != 0 {
				t.Fatalf("serve exited %d after cancel", code)
			}
			if _, err := http.Get(base + "/healthz"); err == nil {
				t.Error("still serving after shutdown")
			}
		})
	}
}

func TestServeListenError(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	code, _, errs := crossclear(t, nil, "serve", "--database", db, "--listen", "256.0.0.1:80")
	if code != 1 || !strings.Contains(errs, "listen on 256.0.0.1:80") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

func TestHelp(t *testing.T) {
	for _, cmd := range commands {
		t.Run(cmd.name, func(t *testing.T) {
			args := append(strings.Fields(cmd.name), "--help")
			code, out, _ := crossclear(t, nil, args...)
			if code != 0 {
				t.Fatalf("%v: exit %d", args, code)
			}
			if !strings.HasPrefix(out, "Usage: crossclear "+cmd.name) || !strings.Contains(out, "Examples:\n  crossclear "+strings.Fields(cmd.name)[0]) {
				t.Errorf("%v:\n%s", args, out)
			}
			fs := newFlagSet(cmd)
			cmd.setup(fs)
			fs.VisitAll(func(f *flag.Flag) {
				if !strings.Contains(out, "--"+f.Name) {
					t.Errorf("%v does not mention --%s", args, f.Name)
				}
			})
			// -h and `help <command>` print the same.
			if _, out2, _ := crossclear(t, nil, append(strings.Fields(cmd.name), "-h")...); out2 != out {
				t.Errorf("-h differs from --help")
			}
			if _, out3, _ := crossclear(t, nil, append([]string{"help"}, strings.Fields(cmd.name)...)...); out3 != out {
				t.Errorf("help %s differs from --help", cmd.name)
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{nil, 2, "", "Commands:"},
		{[]string{"help"}, 0, "Commands:", ""},
		{[]string{"--help"}, 0, "cycle close", ""},
		{[]string{"version"}, 0, "crossclear dev (go", ""},
		{[]string{"--version"}, 0, "crossclear dev", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"help", "frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"cycle"}, 2, "", `"cycle" needs a subcommand: close, show`},
		{[]string{"cycle", "open"}, 2, "", `unknown command "cycle open"`},
		{[]string{"ledger"}, 2, "", "needs a subcommand: check"},
		{[]string{"rates"}, 2, "", `"rates" needs a subcommand: load-ecb, list`},
		{[]string{"rates", "load"}, 2, "", `unknown command "rates load" (did you mean one of: rates load-ecb, rates list?)`},
		{[]string{"payment"}, 2, "", `"payment" needs a subcommand: show`},
		{[]string{"payment", "show"}, 2, "", "expected the payment ID"},
		{[]string{"rates", "load-ecb"}, 2, "", "expected the FILE or URL"},
		{[]string{"rates", "list", "extra"}, 2, "", `unexpected argument "extra"`},
		{[]string{"rates", "list", "--pair", "EUR-USD"}, 2, "", "--pair: unknown currency pair"},
		{[]string{"quote"}, 2, "", "--bank is required"},
		{[]string{"quote", "--bank", "DBSSSGSG", "--sell", "1.5", "--sell-currency", "JPY", "--buy-currency", "USD"}, 2, "", "--sell: too many decimals: JPY allows 0"},
		{[]string{"quote", "--bank", "DBSSSGSG", "--sell", "1.50", "--sell-currency", "EUR", "--buy-currency", "USD"}, 2, "", "no FX provider is configured"},
		{[]string{"--help"}, 0, "payment show", ""},
		{[]string{"help"}, 0, "rates load-ecb", ""},
		{[]string{"help"}, 0, "quote", ""},
		{[]string{"serve", "--bogus"}, 2, "", "unknown flag --bogus"},
		{[]string{"migrate", "extra"}, 2, "", `unexpected argument "extra"`},
		{[]string{"cycle", "show", "one"}, 2, "", "positive whole number"},
		{[]string{"cycle", "show", "1", "2"}, 2, "", "at most one cycle ID"},
		{[]string{"demo", "--payments", "0"}, 2, "", "--payments must be between"},
		{[]string{"serve", "--listen", "nowhere"}, 2, "", "flag --listen: invalid listen"},
		{[]string{"ledger", "check", "--database", filepath.Join(t.TempDir(), "missing.db")}, 1, "", "no database at"},
	} {
		code, out, errs := crossclear(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errs, tc.stderr) {
			t.Errorf("crossclear %v: exit %d (want %d)\nstdout: %s\nstderr: %s", tc.args, code, tc.code, out, errs)
		}
	}
}

// TestMigrateStatus: 'migrate status' lists what is applied and what is
// pending, changes nothing, and exits 1 while anything is pending.
func TestMigrateStatus(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			dsn := storetest.DSN(t, engine)
			mustRun(t, nil, "migrate", "--database", dsn)
			out := mustRun(t, nil, "migrate", "status", "--database", dsn)
			if !strings.Contains(out, "  1  clearing core") || strings.Contains(out, "pending") || !regexp.MustCompile(`: (\d+) of (\d+) migrations applied`).MatchString(out) {
				t.Fatalf("status after migrate:\n%s", out)
			}
			s := openTestStore(t, dsn)
			var last int64
			if err := s.DB().NewRaw("SELECT MAX(version) FROM schema_migrations").Scan(context.Background(), &last); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB().NewRaw("DELETE FROM schema_migrations WHERE version = ?", last).Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
			code, out, _ := crossclear(t, nil, "migrate", "status", "--database", dsn, "--json")
			var doc struct {
				Pending    int
				Migrations []struct {
					Version   int64
					AppliedAt *string `json:"applied_at"`
				}
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 1 || doc.Pending != 1 {
				t.Fatalf("status with one pending: exit %d %v\n%s", code, err, out)
			}
			if m := doc.Migrations[len(doc.Migrations)-1]; m.Version != last || m.AppliedAt != nil {
				t.Fatalf("last migration: %+v", m)
			}
			var n int
			if err := s.DB().NewRaw("SELECT COUNT(*) FROM schema_migrations WHERE version = ?", last).Scan(context.Background(), &n); err != nil || n != 0 {
				t.Fatalf("status applied something: %d %v", n, err)
			}
		})
	}
}

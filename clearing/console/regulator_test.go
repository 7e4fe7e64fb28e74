package console_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/console"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/regulator"
	"github.com/crossclear/crossclear/regulator/bundle"
	"github.com/crossclear/crossclear/regulator/gateway"
	"github.com/crossclear/crossclear/regulator/reports"
)

// regEnv is env with the regulator gateway serving its console: the
// closed cycle reported (signed, logged, checkpointed) by the producer,
// as serve runs it, and a regulator key for DE beside env's for SG.
type regEnv struct {
	*env
	gw       *env // env as seen through the gateway: its base is the gateway's
	routes   []string
	reportSG string // a published report of SG's
	reportDE string // one of DE's
	periodSG string // reportSG's period
	producer *regulator.Producer
}

const testOrigin = "test.crossclear.example/log"

func newRegEnv(t testing.TB, engine string) *regEnv {
	t.Helper()
	e := newEnv(t, engine)
	_, secret, err := e.st.CreateAPIKey(ctx, clearing.RoleRegulator, "DE", "regDE", storetest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	e.keys["regDE"] = secret
	dir := t.TempDir()
	files, err := signing.OpenDevSigner(filepath.Join(dir, "files.key"), "crossclear")
	if err != nil {
		t.Fatal(err)
	}
	cps, err := signing.OpenDevSigner(filepath.Join(dir, "checkpoints.key"), "crossclear-checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	r := &regEnv{env: e, producer: regulator.NewProducer(e.st, files, cps, testOrigin)}
	if _, err := r.producer.Tick(ctx); err != nil {
		t.Fatalf("producer pass: %v", err)
	}
	for _, j := range []struct {
		jurisdiction string
		id           *string
	}{{"SG", &r.reportSG}, {"DE", &r.reportDE}} {
		rs, err := r.producer.Archive.List(ctx, reports.Filter{Jurisdiction: j.jurisdiction, AfterLeaf: -1, BelowLeaf: 1 << 40, Kind: reports.KindCycle})
		if err != nil || len(rs) == 0 {
			t.Fatalf("no cycle report for %s: %v", j.jurisdiction, err)
		}
		*j.id = rs[0].ID
		if j.jurisdiction == "SG" {
			r.periodSG = rs[0].Period
		}
	}
	app := gateway.New(e.st, gateway.Config{RatePerMinute: 6000, Burst: 1000,
		Console: console.Config{Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))},
		Keys: func(ctx context.Context) (bundle.Keys, error) {
			return bundle.PublishedKeys(ctx, testOrigin, cps, files)
		}})
	for _, rt := range app.GetRoutes(true) {
		if strings.HasPrefix(rt.Path, console.Prefix) && rt.Method != http.MethodHead {
			r.routes = append(r.routes, rt.Method+" "+rt.Path)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.ShutdownWithTimeout(5 * time.Second) })
	gw := *e
	gw.base = "http://" + ln.Addr().String()
	r.gw = &gw
	return r
}

// tamper changes one stored byte of a report's CSV file, as an attacker
// with the database (or a broken disk) would.
func (r *regEnv) tamper(t *testing.T, id string) {
	t.Helper()
	var content []byte
	if err := r.st.DB().NewSelect().Table("regulator_report_files").Column("content").
		Where("report_id = ? AND format = 'csv'", id).Scan(ctx, &content); err != nil {
		t.Fatal(err)
	}
	content[len(content)/2] ^= 0x01
	if _, err := r.st.DB().NewUpdate().Table("regulator_report_files").Set("content = ?", content).
		Where("report_id = ? AND format = 'csv'", id).Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

// withhold hides a report from its regulator's listing, as an operator
// holding back an awkward report would: its leaf stays in the log.
func (r *regEnv) withhold(t *testing.T, id string) {
	t.Helper()
	if _, err := r.st.DB().NewUpdate().Table("regulator_reports").Set("jurisdiction = 'XX'").Where("id = ?", id).Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRegulatorRoleIsolation opens every route of the regulator's console
// as every role: only regulators sign in, each sees and downloads its own
// jurisdiction's reports only, another's report is "not found" exactly
// like one that does not exist. The table must name every route the
// gateway's console registers.
func TestRegulatorRoleIsolation(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { regulatorIsolation(t, newRegEnv(t, engine)) })
	}
}

func regulatorIsolation(t *testing.T, r *regEnv) {
	const ok, see, no, none = http.StatusOK, http.StatusSeeOther, http.StatusForbidden, http.StatusNotFound
	sg, de := r.reportSG, r.reportDE
	regs := func(sgStatus, deStatus int) map[string]int {
		return map[string]int{"regSG": sgStatus, "regDE": deStatus}
	}
	table := []access{
		{route: "GET /console/assets/:name", path: "/console/assets/verify.js", want: regs(ok, ok)},
		{route: "GET /console/signin", path: "/console/signin", want: regs(ok, ok)},
		{route: "POST /console/signin", path: "/console/signin", want: regs(no, no)}, // without the sign-in form's token
		{route: "GET /console/", path: "/console/", want: regs(see, see)},
		{route: "POST /console/language", path: "/console/language", want: regs(http.StatusUnprocessableEntity, http.StatusUnprocessableEntity)}, // no language named
		{route: "GET /console/reports", path: "/console/reports", want: regs(ok, ok),
			shows: map[string][]string{"regSG": {sg}, "regDE": {de}}, hides: map[string][]string{"regSG": {de}, "regDE": {sg}}},
		{route: "GET /console/reports", path: "/console/reports?kind=cycle&period=" + url.QueryEscape(r.periodSG), want: regs(ok, ok),
			shows: map[string][]string{"regSG": {sg}}, hides: map[string][]string{"regSG": {de}, "regDE": {sg}}},
		{route: "GET /console/reports", path: "/console/reports?kind=yearly", want: regs(http.StatusBadRequest, http.StatusBadRequest)},
		{route: "GET /console/v1/keys", path: "/console/v1/keys", want: regs(ok, ok), shows: map[string][]string{"regSG": {testOrigin}}},
		{route: "GET /console/v1/checkpoint", path: "/console/v1/checkpoint", want: regs(ok, ok), shows: map[string][]string{"regSG": {testOrigin}}},
		{route: "GET /console/v1/proofs/consistency", path: "/console/v1/proofs/consistency?from=1", want: regs(ok, ok)},
		{route: "GET /console/v1/reports/:id/bundle", path: "/console/v1/reports/" + sg + "/bundle", want: regs(ok, none), shows: map[string][]string{"regSG": {sg}}},
		{route: "GET /console/v1/reports/:id/bundle", path: "/console/v1/reports/" + de + "/bundle", want: regs(none, ok)},
		{route: "GET /console/v1/reports/:id/files/:format", path: "/console/v1/reports/" + sg + "/files/json", want: regs(ok, none), shows: map[string][]string{"regSG": {`"jurisdiction":"SG"`}}},
		{route: "GET /console/v1/reports/:id/files/:format", path: "/console/v1/reports/" + de + "/files/csv", want: regs(none, ok)},
		{route: "GET /console/v1/reports/:id/files/:format", path: "/console/v1/reports/none/files/csv", want: regs(none, none)},
		{route: "POST /console/signout", path: "/console/signout", want: regs(see, see)}, // last: it ends the session
	}
	covered := map[string]bool{}
	for _, a := range table {
		covered[a.route] = true
	}
	for _, rt := range r.routes {
		if !covered[rt] {
			t.Errorf("route %s is not in the regulator console's role-isolation table", rt)
		}
	}

	for _, who := range []string{"regSG", "regDE"} {
		b := r.gw.browser()
		b.signIn(who)
		token := b.csrf("/console/reports")
		for _, a := range table {
			a.check(t, b, who, token, a.want[who])
		}
		if p := b.get("/console/reports"); p.Status != http.StatusSeeOther {
			t.Errorf("%s still signed in after signing out: %d", who, p.Status)
		}
	}

	// Every other role is refused at sign-in, and a session of the API's
	// console is none here: its cookie, sent under the regulator console's
	// name, opens nothing.
	for _, who := range callers {
		b := r.gw.browser()
		p := b.post("/console/signin", url.Values{"csrf": {b.csrf("/console/signin")}, "key": {r.keys[who]}})
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "console on the API listener") {
			t.Errorf("%s signing in to the regulator console: %d %s", who, p.Status, p.Body)
		}
		api := r.browser()
		api.signIn(who)
		u, _ := url.Parse(r.base + "/console/")
		var token string
		for _, c := range api.http.Jar.Cookies(u) {
			if c.Name == "crossclear_console" {
				token = c.Value
			}
		}
		if token == "" {
			t.Fatalf("%s: no API console session cookie", who)
		}
		p = r.gw.browser().do(http.MethodGet, "/console/reports", nil, map[string]string{"Cookie": "crossclear_regulator_console=" + token})
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/signin" {
			t.Errorf("%s's API console session on the regulator console: %d %s", who, p.Status, p.Header.Get("Location"))
		}
		for _, path := range []string{"/console/v1/reports/" + sg + "/files/json", "/console/v1/keys"} {
			if p := r.gw.browser().do(http.MethodGet, path, nil, map[string]string{"Cookie": "crossclear_regulator_console=" + token}); p.Status != http.StatusSeeOther {
				t.Errorf("%s's API console session reads %s: %d", who, path, p.Status)
			}
		}
	}
	// And the API's console refuses a regulator.
	b := r.browser()
	p := b.post("/console/signin", url.Values{"csrf": {b.csrf("/console/signin")}, "key": {r.keys["regSG"]}})
	if p.Status != http.StatusUnauthorized {
		t.Errorf("regulator signing in to the API console: %d", p.Status)
	}
}

// BenchmarkRegulatorPages renders the regulator's reports page and serves
// what its script reads (a bundle, a file) through the real gateway, signed
// in, over 40 cycles' reports, and reports each one's p95:
//
//	go test -run XXX -bench BenchmarkRegulatorPages -benchtime 200x ./clearing/console/
func BenchmarkRegulatorPages(b *testing.B) {
	r := newRegEnv(b, "sqlite")
	for range 40 {
		if _, err := r.st.CloseCycle(ctx, storetest.Operator); err != nil {
			b.Fatal(err)
		}
		if _, err := r.producer.Tick(ctx); err != nil {
			b.Fatal(err)
		}
	}
	reg := r.gw.browser()
	reg.signIn("regSG")
	if n := strings.Count(reg.get("/console/reports").Body, "data-report="); n != 20 {
		b.Fatalf("the first page lists %d reports, want a full page of 20", n)
	}
	for _, p := range []struct{ name, path string }{
		{"reports", "/console/reports"},
		{"reports-by-period", "/console/reports?kind=cycle&period=" + r.periodSG},
		{"bundle", "/console/v1/reports/" + r.reportSG + "/bundle"},
		{"file", "/console/v1/reports/" + r.reportSG + "/files/csv"},
	} {
		b.Run(p.name, func(b *testing.B) {
			times := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				if got := reg.get(p.path); got.Status != http.StatusOK {
					b.Fatalf("%s: %d", p.path, got.Status)
				}
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

// TestRegulatorConsoleSafety: the regulator's console has the API
// console's locks — its own HttpOnly, SameSite=Strict session cookie, the
// CSP and frame headers on every page, no key on any page, CSRF on every
// POST, revocation ending the session — and every request of a session is
// in the gateway's access log under its key, as a /v1 call is.
func TestRegulatorConsoleSafety(t *testing.T) {
	r := newRegEnv(t, "sqlite")
	b := r.gw.browser()
	p := b.post("/console/signin", url.Values{"csrf": {b.csrf("/console/signin")}, "key": {r.keys["regSG"]}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/reports" {
		t.Fatalf("sign in: %d %s", p.Status, p.Header.Get("Location"))
	}
	var cookie string
	for _, c := range p.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "crossclear_regulator_console=") {
			cookie = c
		}
	}
	for _, want := range []string{"httponly", "samesite=strict", "path=/console"} {
		if !strings.Contains(strings.ToLower(cookie), want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	for _, path := range []string{"/console/reports", "/console/reports?kind=yearly", "/console/v1/reports/" + r.reportDE + "/bundle"} {
		p := b.get(path)
		if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
			p.Header.Get("X-Frame-Options") != "DENY" || p.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s headers: %v", path, p.Header)
		}
		if strings.Contains(p.Body, r.keys["regSG"]) || strings.Contains(p.Body, "<script>") {
			t.Errorf("%s shows the key or an inline script", path)
		}
	}
	if p := b.post("/console/signout", url.Values{"csrf": {"forged"}}); p.Status != http.StatusForbidden {
		t.Errorf("sign-out with a forged token: %d", p.Status)
	}
	var logged []struct {
		KeyID string `bun:"key_id"`
		Path  string `bun:"path"`
	}
	if err := r.st.DB().NewRaw("SELECT key_id, path FROM regulator_access_log WHERE path LIKE '/console/%' ORDER BY id").Scan(ctx, &logged); err != nil {
		t.Fatal(err)
	}
	var ofSession int
	for _, l := range logged {
		if strings.Contains(l.Path, r.keys["regSG"]) {
			t.Errorf("the access log has the key in %s", l.Path)
		}
		if strings.HasPrefix(l.Path, "/console/reports") || strings.HasPrefix(l.Path, "/console/v1/") {
			ofSession++
			if l.KeyID == "" {
				t.Errorf("%s is logged without its key", l.Path)
			}
		}
	}
	if ofSession != 3 {
		t.Errorf("%d of the session's requests are in the access log, want 3: %+v", ofSession, logged)
	}
	k, err := r.st.Authenticate(ctx, r.keys["regSG"])
	if err != nil {
		t.Fatal(err)
	}
	if err := r.st.RevokeAPIKey(ctx, k.ID, storetest.Operator); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/console/reports"); p.Status != http.StatusSeeOther {
		t.Errorf("a revoked key's session still opens the reports: %d", p.Status)
	}
}

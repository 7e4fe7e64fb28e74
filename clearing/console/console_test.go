package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// A browser without a session is sent to sign in; a key signs in, lands on
// its role's page, and signing out ends the session for good.
func TestSignInAndOut(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			b := e.browser()
			if p := b.get("/console/overview"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/signin" {
				t.Fatalf("no session: %d %s", p.Status, p.Header.Get("Location"))
			}

			// A wrong key is refused on the page, and says nothing more.
			p := b.post("/console/signin", url.Values{"csrf": {b.csrf("/console/signin")}, "key": {"cck_0000"}})
			if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "unknown or revoked API key") {
				t.Fatalf("wrong key: %d %s", p.Status, p.Body)
			}
			// A regulator's key belongs on the gateway.
			p = b.post("/console/signin", url.Values{"csrf": {b.csrf("/console/signin")}, "key": {e.keys["regSG"]}})
			if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "regulator gateway") {
				t.Fatalf("regulator key: %d %s", p.Status, p.Body)
			}

			p = b.post("/console/signin", url.Values{"csrf": {b.csrf("/console/signin")}, "key": {e.keys["operator"]}})
			if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/overview" {
				t.Fatalf("sign in: %d %s", p.Status, p.Header.Get("Location"))
			}
			cookie := sessionCookie(t, p.Header)
			for _, want := range []string{"httponly", "samesite=strict", "path=/console"} {
				if !strings.Contains(strings.ToLower(cookie), want) {
					t.Errorf("session cookie %q lacks %s", cookie, want)
				}
			}
			if strings.Contains(cookie, e.keys["operator"]) || strings.Contains(cookie, "Secure") {
				t.Errorf("session cookie %q carries the key, or Secure over plain HTTP", cookie)
			}
			if p := b.get("/console/overview"); p.Status != http.StatusOK || !strings.Contains(p.Body, "Open cycle") {
				t.Fatalf("overview: %d %s", p.Status, p.Body)
			}
			// Readiness shows the regulator push backlog and the witnesses.
			p = b.get("/console/overview")
			for _, want := range []string{`id="regulator-push"`, "SG: 0 report(s) waiting", `id="witnesses"`, "latest checkpoint: 0 leaves", "witness.example/w1: cosigned 0, 0 behind"} {
				if !strings.Contains(p.Body, want) {
					t.Errorf("overview lacks %q", want)
				}
			}

			p = b.post("/console/signout", url.Values{"csrf": {b.csrf("/console/overview")}})
			if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/signin" {
				t.Fatalf("sign out: %d %s", p.Status, p.Body)
			}
			// Even a browser that kept the cookie is out: the session is gone.
			replay := e.browser()
			replay.http.Jar.SetCookies(mustURL(t, e.base+"/console/"), []*http.Cookie{{Name: "crossclear_console", Value: cookieValue(cookie)}})
			if p := replay.get("/console/overview"); p.Status != http.StatusSeeOther {
				t.Fatalf("a signed-out session still opens pages: %d", p.Status)
			}
		})
	}
}

// Revoking the key ends its sessions at once.
func TestRevokedKeyEndsSession(t *testing.T) {
	e := newEnv(t, "sqlite")
	b := e.browser()
	b.signIn("bankDE")
	if p := b.get("/console/payments"); p.Status != http.StatusOK {
		t.Fatalf("payments: %d", p.Status)
	}
	keys, err := e.st.APIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(keys, func(k store.APIKey) bool { return k.Name == "bankDE" })
	if err := e.st.RevokeAPIKey(ctx, keys[i].ID, storetest.Operator); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/console/payments"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/signin" {
		t.Fatalf("a revoked key's session opens pages: %d", p.Status)
	}
}

// Every page is served with a strict CSP and no framing, and no page ever
// shows the key; every form needs the session's CSRF token and the
// console's own origin.
func TestSafetyHeadersAndCSRF(t *testing.T) {
	e := newEnv(t, "sqlite")
	b := e.browser()
	signin := b.get("/console/signin")
	csp := signin.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || signin.Header.Get("X-Frame-Options") != "DENY" || signin.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers: %v", signin.Header)
	}
	if strings.Contains(strings.ToLower(signin.Body), "<script>") || strings.Contains(signin.Body, " style=") || strings.Contains(signin.Body, "onclick") {
		t.Error("the sign-in page has inline script or style")
	}

	// The sign-in form needs its token too (login CSRF).
	if p := b.post("/console/signin", url.Values{"key": {e.keys["operator"]}}); p.Status != http.StatusForbidden {
		t.Fatalf("sign-in without the form's token: %d", p.Status)
	}
	b.signIn("operator")
	for _, path := range []string{"/console/overview", "/console/cycles", "/console/participants", "/console/payments", "/console/files",
		"/console/payments/" + e.paySGtoDE, "/console/cycles/" + strconv.FormatInt(e.closedCycle, 10)} {
		p := b.get(path)
		if p.Status != http.StatusOK || p.Header.Get("X-Frame-Options") != "DENY" || p.Header.Get("Content-Security-Policy") != csp || p.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %v", path, p.Status, p.Header)
		}
		for _, secret := range e.keys {
			if strings.Contains(p.Body, secret) {
				t.Errorf("%s shows an API key", path)
			}
		}
		if strings.Contains(p.Body, "<script>") || strings.Contains(p.Body, " style=\"") {
			t.Errorf("%s has inline script or style", path)
		}
	}

	open, err := e.st.CurrentCycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	closePath := "/console/cycles/" + strconv.FormatInt(open.ID, 10) + "/close"
	if p := b.post(closePath, url.Values{}); p.Status != http.StatusForbidden {
		t.Fatalf("close without a CSRF token: %d", p.Status)
	}
	if p := b.post(closePath, url.Values{"csrf": {"forged"}}); p.Status != http.StatusForbidden {
		t.Fatalf("close with a forged CSRF token: %d", p.Status)
	}
	token := b.csrf("/console/cycles")
	cross := b.do(http.MethodPost, closePath, strings.NewReader(url.Values{"csrf": {token}}.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"})
	if cross.Status != http.StatusForbidden {
		t.Fatalf("close from another origin: %d", cross.Status)
	}
	// Another session's token is no good either.
	other := e.browser()
	other.signIn("operator")
	if p := b.post(closePath, url.Values{"csrf": {other.csrf("/console/cycles")}}); p.Status != http.StatusForbidden {
		t.Fatalf("close with another session's token: %d", p.Status)
	}
	if cy, _ := e.st.CurrentCycle(ctx); cy.ID != open.ID {
		t.Fatal("a refused form closed the cycle")
	}
	if p := b.post(closePath, url.Values{"csrf": {token}}); p.Status != http.StatusSeeOther {
		t.Fatalf("close: %d %s", p.Status, p.Body)
	}
	if cy, _ := e.st.CurrentCycle(ctx); cy.ID == open.ID {
		t.Fatal("the cycle is still open")
	}
}

func sessionCookie(t *testing.T, h http.Header) string {
	t.Helper()
	for _, c := range h.Values("Set-Cookie") {
		if strings.HasPrefix(c, "crossclear_console=") {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", h)
	return ""
}

func cookieValue(setCookie string) string {
	v, _, _ := strings.Cut(strings.TrimPrefix(setCookie, "crossclear_console="), ";")
	return v
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// The language: from Accept-Language until chosen; the switch works on the
// sign-in page (a cookie) and signed in (the session row, so the session
// keeps it without the cookie); its form needs the page's CSRF token and
// returns only inside the console.
func TestLanguages(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			b := e.browser()
			zhBrowser := map[string]string{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
			get := func(b *browser, path string, header map[string]string, want ...string) page {
				t.Helper()
				p := b.do(http.MethodGet, path, nil, header)
				for _, w := range want {
					if !strings.Contains(p.Body, w) {
						t.Fatalf("%s does not say %q: %d %s", path, w, p.Status, p.Body)
					}
				}
				return p
			}
			if p := get(b, "/console/signin", zhBrowser, `<html lang="zh-Hans">`, "<h1>登录</h1>", "API 密钥", "闲置 30 分钟或满 8 小时"); strings.Contains(p.Body, "。 ") {
				t.Error("a space after a Chinese full stop") // sentences are joined by format.sentences
			}
			get(b, "/console/signin", nil, `<html lang="en">`, "<h1>Sign in</h1>")

			choose := func(b *browser, lang, csrf, back string) page {
				t.Helper()
				return b.post("/console/language", url.Values{"lang": {lang}, "csrf": {csrf}, "back": {back}})
			}
			if p := choose(b, "en", "forged", "/console/signin"); p.Status != http.StatusForbidden {
				t.Fatalf("a forged token switched the language: %d", p.Status)
			}
			if p := choose(b, "en", b.csrf("/console/signin"), "/console/signin"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/signin" {
				t.Fatalf("switch on the sign-in page: %d %s", p.Status, p.Header.Get("Location"))
			}
			get(b, "/console/signin", zhBrowser, "<h1>Sign in</h1>") // the choice beats the browser
			for _, back := range []string{"https://evil.example/", "//evil.example/console/", "/console//evil.example", "/elsewhere"} {
				if p := choose(b, "zh-Hans", b.csrf("/console/signin"), back); p.Header.Get("Location") != "/console/" {
					t.Errorf("back %q went to %q", back, p.Header.Get("Location"))
				}
			}

			// Chosen before signing in, kept by the session.
			b.signIn("operator")
			p := get(b, "/console/overview", nil, "<h1>概览</h1>", "当前清算周期", "监管报送", "SG：0 份报告待送达", "见证方")
			if !regexp.MustCompile(`开启于 \d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d UTC`).MatchString(p.Body) {
				t.Fatalf("overview's dates are not Chinese: %s", p.Body)
			}
			get(b, "/console/payments/"+e.paySGtoDE, nil, "125.50 EUR", "已放款", "账务分录")
			alone := e.browser() // the session cookie alone, a browser asking for English
			for _, c := range b.http.Jar.Cookies(mustURL(t, e.base+"/console/")) {
				if c.Name == "crossclear_console" {
					alone.http.Jar.SetCookies(mustURL(t, e.base+"/console/"), []*http.Cookie{c})
				}
			}
			get(alone, "/console/overview", map[string]string{"Accept-Language": "en"}, "<h1>概览</h1>")

			// Switched back while signed in: the session's token, the session's row.
			if p := choose(b, "en", "forged", "/console/cycles"); p.Status != http.StatusForbidden {
				t.Fatalf("a forged token switched a session's language: %d", p.Status)
			}
			if p := choose(b, "en", b.csrf("/console/overview"), "/console/cycles"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/cycles" {
				t.Fatalf("switch signed in: %d %s", p.Status, p.Header.Get("Location"))
			}
			get(alone, "/console/overview", map[string]string{"Accept-Language": "zh-CN"}, "<h1>Overview</h1>")

			// Errors the console raises speak the reader's language too.
			if p := get(alone, "/console/reviews", map[string]string{"Accept-Language": "zh-CN"}, "operator keys may not open this page"); p.Status != http.StatusForbidden {
				t.Fatalf("forbidden page: %d", p.Status)
			}
			if p := choose(b, "zh-Hans", b.csrf("/console/overview"), "/console/overview"); p.Status != http.StatusSeeOther {
				t.Fatal(p.Status)
			}
			get(b, "/console/reviews", nil, "<h1>禁止访问</h1>", "运营方密钥无权打开此页面")
			get(b, "/console/cycles/999999", nil, "清算周期不存在")

			// A bank that chose Chinese before signing in reads its upload's
			// refusal in Chinese, with what the check found.
			bk := e.browser()
			choose(bk, "zh-Hans", bk.csrf("/console/signin"), "/console/signin")
			bk.signIn("bankSG")
			p = bk.do(http.MethodPost, "/console/upload", strings.NewReader("not xml"), map[string]string{"Content-Type": "application/xml",
				"Accept": "application/json", "X-CSRF-Token": bk.csrf("/console/upload"), "Origin": e.base})
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "文件不是有效的 ISO 20022 报文：") {
				t.Fatalf("a malformed upload in Chinese: %d %s", p.Status, p.Body)
			}
		})
	}
}

package console_test

import (
	"net/http"
	"net/url"
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

package console

import (
	"crypto/subtle"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/access"
	"github.com/crossclear/crossclear/clearing/store"
)

// Signing in exchanges an API key, posted once in a form body, for a
// random session token in an HttpOnly, SameSite=Strict cookie (Secure over
// TLS). The key is never put in a URL, a cookie, a log or a page; the
// session lives in the database (store.StartConsoleSession), ends on
// sign-out, after IdleTimeout unused, after Lifetime, or at once when its
// key is revoked. Every POST carries the session's CSRF token and must
// come from this origin.

const (
	csrfField    = "csrf"
	csrfHeader   = "X-CSRF-Token"
	localSession = "console.session"
)

// signInCookie carries the token the sign-in form must echo: there is no
// session yet to bind a CSRF token to (login CSRF).
func (cs *console) signInCookie() string { return cs.site.cookie + "_signin" }

// securityHeaders: nothing loads from elsewhere, no inline script or
// style, no framing, no referrer, no caching of pages with data.
func securityHeaders(c *fiber.Ctx) error {
	c.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.Set("X-Frame-Options", "DENY")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set("Cache-Control", "no-store")
	return c.Next()
}

func (cs *console) cookie(c *fiber.Ctx, name, value string, maxAge int) {
	c.Cookie(&fiber.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge, HTTPOnly: true,
		Secure: c.Protocol() == "https", SameSite: fiber.CookieSameSiteStrictMode})
}

func (cs *console) signInPage(c *fiber.Ctx) error {
	token, err := store.RandomToken()
	if err != nil {
		return err
	}
	cs.cookie(c, cs.signInCookie(), token, 3600)
	return cs.render(c, "signin", page{Title: localeOf(c).T("title.signin"), CSRF: token, Data: cs.expiry(c)})
}

func (cs *console) signIn(c *fiber.Ctx) error {
	form := c.Cookies(cs.signInCookie())
	if form == "" || !equal(form, c.FormValue(csrfField)) {
		return fail(fiber.StatusForbidden, "error.signin_expired")
	}
	addr := c.IP()
	if !cs.signins.Peek(addr) {
		return fail(fiber.StatusTooManyRequests, "error.too_many_signins")
	}
	secret := strings.TrimSpace(c.FormValue("key"))
	key, err := cs.st.Authenticate(c.UserContext(), secret)
	if ce, ok := clearing.AsError(err); ok && ce.Kind == clearing.NotFound || err == nil && !slices.Contains(cs.site.roles, key.Role) {
		cs.signins.Allow(addr)
		l := localeOf(c)
		why := l.T("error.unknown_key")
		if err == nil {
			why = l.T(cs.site.other, "role", l.Term("role", string(key.Role)))
		}
		c.Status(fiber.StatusUnauthorized)
		return cs.render(c, "signin", page{Title: l.T("title.signin"), CSRF: form, Error: why, Data: cs.expiry(c)})
	}
	if err != nil {
		return err
	}
	token, _, err := cs.st.StartConsoleSession(c.UserContext(), key, cs.cfg.Lifetime, localeOf(c).Tag)
	if err != nil {
		return err
	}
	cs.cookie(c, cs.signInCookie(), "", -1)
	cs.cookie(c, cs.site.cookie, token, int(cs.cfg.Lifetime.Seconds()))
	cs.log.Info("console sign-in", "key_id", key.ID, "role", key.Role)
	return c.Redirect(Prefix+homes[key.Role], fiber.StatusSeeOther)
}

// expiry is what the sign-in page tells about sessions, and whose keys
// sign in here.
func (cs *console) expiry(c *fiber.Ctx) map[string]any {
	whose := localeOf(c).T("signin.regulators_elsewhere")
	if slices.Contains(cs.site.roles, regulator) {
		whose = localeOf(c).T("signin.regulators_only")
	}
	return map[string]any{"Idle": cs.cfg.IdleTimeout, "Lifetime": cs.cfg.Lifetime, "Whose": whose}
}

func (cs *console) signOut(c *fiber.Ctx) error {
	if err := cs.st.EndConsoleSession(c.UserContext(), c.Cookies(cs.site.cookie)); err != nil {
		return err
	}
	cs.cookie(c, cs.site.cookie, "", -1)
	return c.Redirect(Prefix+"/signin", fiber.StatusSeeOther)
}

// session loads the caller's live session, else sends it to sign in; a
// session of a role this console does not serve is none.
func (cs *console) session(c *fiber.Ctx) error {
	token := c.Cookies(cs.site.cookie)
	if token == "" {
		return c.Redirect(Prefix+"/signin", fiber.StatusSeeOther)
	}
	s, err := cs.st.ConsoleSessionOf(c.UserContext(), token, cs.cfg.IdleTimeout)
	if ce, ok := clearing.AsError(err); ok && ce.Kind == clearing.NotFound || err == nil && !slices.Contains(cs.site.roles, s.Key.Role) {
		cs.cookie(c, cs.site.cookie, "", -1)
		return c.Redirect(Prefix+"/signin", fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	c.Locals(localSession, s)
	if cs.site.admit != nil {
		if err := cs.site.admit(c, s.Key); err != nil {
			return err
		}
	}
	return c.Next()
}

func sessionOf(c *fiber.Ctx) store.ConsoleSession {
	s, _ := c.Locals(localSession).(store.ConsoleSession)
	return s
}

// callerOf is who the request acts as; the zero Actor can do nothing.
func callerOf(c *fiber.Ctx) clearing.Actor { return sessionOf(c).Key.Actor() }

// scopeOf is the caller's scope: the API's rules of who sees what, on the
// primary (for actions and what decides them).
func (cs *console) scopeOf(c *fiber.Ctx) access.Scope { return access.For(cs.st, callerOf(c)) }

// readScope is the caller's scope for a read-only page: on Config.Reads.
func (cs *console) readScope(c *fiber.Ctx) access.Scope { return access.For(cs.reads, callerOf(c)) }

// allow lets only the given roles open a route, as the API's route table.
func allow(roles ...clearing.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !slices.Contains(roles, callerOf(c).Role) {
			return fail(fiber.StatusForbidden, "error.page_forbidden", "role", localeOf(c).Term("role", string(callerOf(c).Role)))
		}
		return c.Next()
	}
}

// checkCSRF refuses a POST without the session's token, in the form or
// (for scripts) in X-CSRF-Token.
func checkCSRF(c *fiber.Ctx) error {
	if c.Method() != fiber.MethodPost {
		return c.Next()
	}
	sent := c.Get(csrfHeader)
	if sent == "" && !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEMultipartForm) {
		sent = c.FormValue(csrfField)
	}
	if sent == "" {
		if form, err := c.MultipartForm(); err == nil && len(form.Value[csrfField]) > 0 {
			sent = form.Value[csrfField][0]
		}
	}
	if !equal(sent, sessionOf(c).CSRF) {
		return fail(fiber.StatusForbidden, "error.csrf")
	}
	return c.Next()
}

// sameOrigin refuses a POST whose Origin (or, without one, Referer)
// names another site; browsers send one of them on every form and fetch.
func sameOrigin(c *fiber.Ctx) error {
	if c.Method() != fiber.MethodPost {
		return c.Next()
	}
	from := c.Get(fiber.HeaderOrigin)
	if from == "" || from == "null" {
		from = c.Get(fiber.HeaderReferer)
	}
	if from == "" {
		return c.Next() // not a browser: the CSRF token still applies
	}
	u, err := url.Parse(from)
	if err != nil || u.Host != c.Hostname() {
		return fail(fiber.StatusForbidden, "error.cross_origin")
	}
	return c.Next()
}

func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

package console

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/console/i18n"
)

// The reader's language: the one chosen with the switch on every page
// (kept in the session row once signed in, and in a cookie for the
// sign-in page and the next sign-in), else the best match for the
// browser's Accept-Language, else English (docs/console.md, Languages).

const (
	langCookie = "crossclear_console_lang"
	localLang  = "console.lang"
)

// localeOf is the language of this request's pages.
func localeOf(c *fiber.Ctx) *i18n.Locale {
	if l, ok := c.Locals(localLang).(*i18n.Locale); ok {
		return l
	}
	chosen := sessionOf(c).Lang
	if chosen == "" {
		chosen = c.Cookies(langCookie)
	}
	l := i18n.Negotiate(chosen, c.Get(fiber.HeaderAcceptLanguage))
	c.Locals(localLang, l)
	return l
}

// setLanguage is the switch: a form on every page, with the page's CSRF
// token (the session's, or on the sign-in page the sign-in form's). It
// stores the choice in the session row when signed in, and always in a
// cookie, then returns to the page.
func (cs *console) setLanguage(c *fiber.Ctx) error {
	l := i18n.Lookup(c.FormValue("lang"))
	if l == nil {
		return clearing.Errorf(clearing.Invalid, "invalid_language", "lang", "no language %q", c.FormValue("lang"))
	}
	sent := c.FormValue(csrfField)
	token := c.Cookies(cs.site.cookie)
	s, err := cs.st.ConsoleSessionOf(c.UserContext(), token, cs.cfg.IdleTimeout)
	switch ce, _ := clearing.AsError(err); {
	case err == nil:
		if !equal(sent, s.CSRF) {
			return fail(http.StatusForbidden, "error.csrf")
		}
		if err := cs.st.SetConsoleSessionLanguage(c.UserContext(), token, l.Tag); err != nil {
			return err
		}
	case ce != nil && ce.Kind == clearing.NotFound:
		if !equal(sent, c.Cookies(cs.signInCookie())) {
			return fail(http.StatusForbidden, "error.signin_expired")
		}
	default:
		return err
	}
	cs.cookie(c, langCookie, l.Tag, 365*24*3600)
	return c.Redirect(safeBack(c.FormValue("back")), fiber.StatusSeeOther)
}

// backTo is where a language switch on this page returns: the page itself
// when it was a GET, else the console's home.
func backTo(c *fiber.Ctx) string {
	if c.Method() == fiber.MethodGet {
		return c.OriginalURL()
	}
	return Prefix + "/"
}

// safeBack keeps a return address inside the console: no other site, no
// scheme, no protocol-relative path.
func safeBack(back string) string {
	if !strings.HasPrefix(back, Prefix+"/") || strings.ContainsAny(back, "\\\r\n") || strings.Contains(back, "//") {
		return Prefix + "/"
	}
	return back
}

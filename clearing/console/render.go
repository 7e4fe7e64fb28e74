package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/console/i18n"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets
var assetFiles embed.FS

// page is what every template gets: the layout's parts and the page's own
// data. Title, Error and Notice are already in the reader's language.
type page struct {
	Title  string
	Role   clearing.Role
	Who    string // the signed-in key's subject and name
	CSRF   string
	Error  string
	Notice string
	Nav    []navItem
	Active string
	Data   any
	Lang   *i18n.Locale   // the reader's language
	Langs  []*i18n.Locale // the language switch
	Back   string         // where switching language returns to
}

type navItem struct{ Path, Label string } // Label is a catalogue key

// navs are each role's menu: only pages its route table lets it open.
var navs = map[clearing.Role][]navItem{
	operator:  {{"/overview", "nav.overview"}, {"/cycles", "nav.cycles"}, {"/participants", "nav.participants"}, {"/payments", "nav.payments"}, {"/files", "nav.mailboxes"}, {"/audit", "nav.audit"}},
	officer:   {{"/reviews", "nav.review_queue"}, {"/reviews?status=all", "nav.decisions"}, {"/audit", "nav.audit"}},
	bank:      {{"/payments", "nav.payments"}, {"/participants", "nav.positions"}, {"/files", "nav.mailbox"}, {"/upload", "nav.upload"}},
	merchant:  {{"/payments", "nav.escrow"}, {"/payouts", "nav.payouts"}},
	regulator: {{"/reports", "nav.reports"}},
}

// funcsFor are the templates' functions in one language: t (a message
// with its placeholders), term (the name of a domain value: a state, a
// role), and money, time, date and dur by the locale's formats.
func funcsFor(l *i18n.Locale) template.FuncMap {
	return template.FuncMap{
		"t":     l.T,
		"term":  func(kind string, v any) string { return l.Term(kind, fmt.Sprint(v)) },
		"money": l.Money,
		"time":  l.Time,
		"date":  l.Date,
		"dur":   l.Duration,
		"prefix": func(p string) string {
			return Prefix + p
		},
		"short": func(s string) string {
			if len(s) > 13 {
				return s[:8] + "…"
			}
			return s
		},
	}
}

// templates are parsed once per language: each page with the layout.
var templates = parsePages(templateFiles, "templates/layout.html", "templates/*.html")

// parsePages parses every page matching glob with layout, once per
// locale: by locale tag, then page name (the file's base name).
func parsePages(fsys fs.FS, layout, glob string) map[string]map[string]*template.Template {
	names, err := fs.Glob(fsys, glob)
	if err != nil {
		panic(err)
	}
	out := map[string]map[string]*template.Template{}
	for _, l := range i18n.Locales {
		out[l.Tag] = map[string]*template.Template{}
		for _, n := range names {
			if n == layout {
				continue
			}
			name := strings.TrimSuffix(path.Base(n), ".html")
			out[l.Tag][name] = template.Must(template.New(path.Base(layout)).Funcs(funcsFor(l)).ParseFS(fsys, layout, n))
		}
	}
	return out
}

func (cs *console) render(c *fiber.Ctx, name string, p page) error {
	s := sessionOf(c)
	if s.Key.ID != "" {
		p.Role, p.Who, p.CSRF, p.Nav = s.Key.Role, s.Key.Subject, s.CSRF, navs[s.Key.Role]
		if s.Key.Name != "" {
			p.Who += " (" + s.Key.Name + ")"
		}
	}
	if p.Active == "" {
		p.Active = "/" + strings.SplitN(strings.TrimPrefix(c.Path(), Prefix+"/"), "/", 2)[0]
	}
	p.Lang, p.Langs, p.Back = localeOf(c), i18n.Locales, backTo(c)
	var buf bytes.Buffer
	if err := templates[p.Lang.Tag][name].Execute(&buf, p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Type("html", "utf-8")
	return c.Send(buf.Bytes())
}

// userError is an error the console itself raises, shown in the reader's
// language: Key is its message in the catalogue, Args its placeholders.
type userError struct {
	Status int
	Key    string
	Args   []any
}

func (e *userError) Error() string { return i18n.Default.T(e.Key, e.Args...) }

func fail(status int, key string, args ...any) error {
	return &userError{Status: status, Key: key, Args: args}
}

// statuses map the domain's error kinds, as the API does.
var statuses = map[clearing.Kind]int{
	clearing.Invalid:   http.StatusUnprocessableEntity,
	clearing.NotFound:  http.StatusNotFound,
	clearing.Forbidden: http.StatusForbidden,
	clearing.Conflict:  http.StatusConflict,
	clearing.Refused:   http.StatusUnprocessableEntity,
}

// renderErrors turns an error into a page (or, for the console's
// scripts, JSON) with the status the API would answer; unexpected errors
// are logged and shown without their details. A domain error whose code
// the catalogue knows (error.<code>) is said in the reader's language,
// with the domain's own words as {detail} where the message wants them
// (which element of an uploaded file); any other shows the domain's words.
func (cs *console) renderErrors(c *fiber.Ctx) error {
	err := c.Next()
	if err == nil {
		return nil
	}
	l := localeOf(c)
	status, msg := http.StatusInternalServerError, l.T("error.internal")
	var fe *fiber.Error
	var ue *userError
	if errors.As(err, &ue) {
		status, msg = ue.Status, l.T(ue.Key, ue.Args...)
	} else if ce, ok := clearing.AsError(err); ok {
		if s, ok := statuses[ce.Kind]; ok {
			status, msg = s, ce.Error()
			if key := "error." + ce.Code; l.Has(key) {
				msg = l.T(key, "detail", ce.Error())
			}
		}
	} else if errors.As(err, &fe) {
		status, msg = fe.Code, fe.Message
		if key := "status." + strconv.Itoa(fe.Code); l.Has(key) {
			msg = l.T(key)
		}
	}
	if status == http.StatusInternalServerError {
		cs.log.Error("console", "path", c.Path(), "err", err)
	}
	c.Status(status)
	if strings.Contains(c.Get(fiber.HeaderAccept), fiber.MIMEApplicationJSON) {
		return c.JSON(fiber.Map{"error": msg})
	}
	title := http.StatusText(status)
	if key := "status." + strconv.Itoa(status); l.Has(key) {
		title = l.T(key)
	}
	return cs.render(c, "error", page{Title: title, Error: msg})
}

// serveAsset sends an embedded script, style sheet or image.
func serveAsset(c *fiber.Ctx) error {
	name := c.Params("name")
	b, err := assetFiles.ReadFile("assets/" + name)
	if err != nil || strings.Contains(name, "/") {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderContentType, mime.TypeByExtension(path.Ext(name)))
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(b)
}

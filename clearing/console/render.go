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
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/fx"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets
var assetFiles embed.FS

// page is what every template gets: the layout's parts and the page's own
// data.
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
}

type navItem struct{ Path, Label string }

// navs are each role's menu: only pages its route table lets it open.
var navs = map[clearing.Role][]navItem{
	operator: {{"/overview", "Overview"}, {"/cycles", "Cycles"}, {"/participants", "Participants"}, {"/payments", "Payments"}, {"/files", "Mailboxes"}},
	officer:  {{"/reviews", "Review queue"}, {"/reviews?status=all", "Decisions"}},
	bank:     {{"/payments", "Payments"}, {"/participants", "Positions"}, {"/files", "Mailbox"}, {"/upload", "Upload"}},
	merchant: {{"/payments", "Escrow"}, {"/payouts", "Payouts"}},
}

var funcs = template.FuncMap{
	"money": money,
	"time":  func(t time.Time) string { return formatTime(t) },
	"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"pct":   func(f float64) string { return fmt.Sprintf("%.1f%%", f) },
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

func money(minor int64, ccy string) string {
	c, err := fx.LookupCurrency(ccy)
	if err != nil {
		c = fx.Currency{Code: ccy}
	}
	v := c.FromMinor(minor).Value()
	return groupThousands(v) + " " + ccy
}

// groupThousands writes 1234567.89 as 1,234,567.89.
func groupThousands(v string) string {
	sign := ""
	if strings.HasPrefix(v, "-") {
		sign, v = "-", v[1:]
	}
	whole, frac, hasFrac := strings.Cut(v, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// templates are parsed once: each page with the layout.
var templates = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", n))
	}
	return out
}()

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
	var buf bytes.Buffer
	if err := templates[name].Execute(&buf, p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Type("html", "utf-8")
	return c.Send(buf.Bytes())
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
// are logged and shown without their details.
func (cs *console) renderErrors(c *fiber.Ctx) error {
	err := c.Next()
	if err == nil {
		return nil
	}
	status, msg := http.StatusInternalServerError, "something went wrong; the server log says what"
	var fe *fiber.Error
	if ce, ok := clearing.AsError(err); ok {
		if s, ok := statuses[ce.Kind]; ok {
			status, msg = s, ce.Error()
		}
	} else if errors.As(err, &fe) {
		status, msg = fe.Code, fe.Message
	}
	if status == http.StatusInternalServerError {
		cs.log.Error("console", "path", c.Path(), "err", err)
	}
	c.Status(status)
	if strings.Contains(c.Get(fiber.HeaderAccept), fiber.MIMEApplicationJSON) {
		return c.JSON(fiber.Map{"error": msg})
	}
	return cs.render(c, "error", page{Title: http.StatusText(status), Error: msg})
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

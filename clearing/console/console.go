// Package console serves the web console at /console on the API listener:
// server-rendered pages (html/template) for operators, compliance officers,
// partner banks and merchants, with a few embedded scripts for what needs
// a browser (drag-and-drop upload). It is an edge like the JSON API: a
// signed-in session speaks for an API key, every page reads through the
// same scope (clearing/access) and acts through the same store and domain
// calls as the API, and nothing it serves loads from elsewhere
// (docs/console.md).
package console

import (
	"cmp"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/ratelimit"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/cyclefiles"
	"github.com/crossclear/crossclear/messages/outbox"
	"github.com/crossclear/crossclear/regulator/push"
	"github.com/crossclear/crossclear/regulator/witnessing"
)

// Prefix is where the console is mounted.
const Prefix = "/console"

// Config is what the console needs besides the store.
type Config struct {
	// Sealer reports the outbox in the overview and is kicked after a
	// page wrote files (an upload's pacs.002, a review's answer); nil
	// reports "no signer".
	Sealer *outbox.Sealer
	// CycleFiles writes a cycle's files right after the console closed it;
	// nil leaves them to serve's sweep.
	CycleFiles *cyclefiles.Builder
	// Push and Witnesses report the regulator push backlog and the
	// witnesses' lag in the overview's readiness, as /readyz and /metrics
	// read them; nil leaves them out.
	Push              *push.Outbox
	Witnesses         *witnessing.Registry
	OperatorBIC       string
	SettlementBankBIC string
	FileLimit         int // bytes of an uploaded file, as the API's
	// IdleTimeout ends a session unused for that long (default 30m);
	// Lifetime ends it however busy (default 8h).
	IdleTimeout time.Duration
	Lifetime    time.Duration
	// SignInFailures allowed per client address per SignInWindow (default
	// 20 a minute), like the API's failed-authentication limit.
	SignInFailures int
	SignInWindow   time.Duration
	// Reads serves the read-only pages (lists, details, downloads) —
	// a streaming replica (database_replica), stale by at most its lag
	// bound (docs/ha.md); nil reads st. Sign-in, sessions, every action
	// and the pages that decide (a review's detail before its decision)
	// use st, the primary.
	Reads  *store.Store
	Logger *slog.Logger
	Now    func() time.Time // for deadlines; default time.Now
}

// Defaults of Config.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultLifetime    = 8 * time.Hour
	defaultFileLimit   = 32 << 20
)

type console struct {
	st      *store.Store
	reads   *store.Store // read-only pages: Config.Reads, or st
	cfg     Config
	site    site
	log     *slog.Logger
	signins *ratelimit.Buckets
}

// site is what sets the two consoles apart — this one on the API
// listener and the regulator's on the gateway's (regulator.go) — while
// they share the sign-in, sessions, CSRF, headers and pages of this
// package.
type site struct {
	roles  []clearing.Role // whose keys sign in here
	cookie string          // the session cookie's name: one per console, so both can be open in one browser
	other  string          // the catalogue key of why another role's key is refused ({role})
	// admit, when set, runs for every signed-in request before its
	// handler: the gateway's own check of the session's key.
	admit func(c *fiber.Ctx, key store.APIKey) error
}

// Role shorthands for the route table.
const (
	operator  = clearing.RoleOperator
	bank      = clearing.RoleBank
	merchant  = clearing.RoleMerchant
	officer   = clearing.RoleCompliance
	regulator = clearing.RoleRegulator
)

// Mount adds the console's routes to app (the API's application).
func Mount(app *fiber.App, st *store.Store, cfg Config) {
	cs, in := mount(app, st, cfg, site{roles: []clearing.Role{operator, bank, merchant, officer}, cookie: "crossclear_console",
		other: "error.role_not_served"})

	in.Get("/overview", allow(operator), cs.overview)
	in.Get("/cycles", allow(operator), cs.cycles)
	in.Get("/cycles/:id", allow(operator), cs.cycle)
	in.Post("/cycles/:id/close", allow(operator), cs.closeCycle)
	in.Get("/participants", allow(operator, bank), cs.participants)
	in.Get("/payments", allow(operator, bank, merchant), cs.payments)
	in.Get("/payments/:id", allow(operator, bank, merchant), cs.payment)
	in.Get("/files", allow(operator, bank), cs.files)
	in.Get("/files/:id", allow(operator, bank), cs.downloadFile)
	in.Get("/files/:id/signature", allow(operator, bank), cs.downloadSignature)
	in.Post("/files/:id/ack", allow(bank), cs.ackFile)
	in.Get("/upload", allow(bank), cs.uploadPage)
	in.Post("/upload", allow(bank), cs.upload)

	in.Get("/reviews", allow(officer), cs.reviews)
	in.Get("/reviews/:id", allow(officer), cs.review)
	in.Post("/reviews/:id/:decision", allow(officer), cs.decide)

	in.Get("/payouts", allow(merchant), cs.payouts)

	in.Get("/audit", allow(operator, officer), cs.audit) // as GET /v1/audit
}

// mount adds what every console has under Prefix — assets, sign-in,
// sign-out, the home redirect — and returns the console and the group of
// routes a signed-in session reaches, every POST of it CSRF-checked.
func mount(app *fiber.App, st *store.Store, cfg Config, s site) (*console, fiber.Router) {
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, DefaultIdleTimeout)
	cfg.Lifetime = cmp.Or(cfg.Lifetime, DefaultLifetime)
	cfg.FileLimit = cmp.Or(cfg.FileLimit, defaultFileLimit)
	cfg.SignInFailures = cmp.Or(cfg.SignInFailures, 20)
	cfg.SignInWindow = cmp.Or(cfg.SignInWindow, time.Minute)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cs := &console{st: st, reads: cmp.Or(cfg.Reads, st), cfg: cfg, site: s, log: log, signins: ratelimit.PerWindow(cfg.SignInFailures, cfg.SignInWindow, nil)}

	g := app.Group(Prefix, securityHeaders, cs.renderErrors)
	g.Get("/assets/:name", serveAsset)
	g.Get("/signin", cs.signInPage)
	g.Post("/signin", sameOrigin, cs.signIn)
	g.Post("/language", sameOrigin, cs.setLanguage) // signed in or not: checks its own CSRF token

	// Everything below needs a session; every POST its CSRF token.
	in := g.Group("", cs.session, sameOrigin, checkCSRF)
	in.Post("/signout", cs.signOut)
	in.Get("/", cs.home)
	return cs, in
}

// homes are where each role lands after signing in.
var homes = map[clearing.Role]string{
	operator:  "/overview",
	bank:      "/payments",
	merchant:  "/payments",
	officer:   "/reviews",
	regulator: "/reports",
}

func (cs *console) home(c *fiber.Ctx) error {
	return c.Redirect(Prefix+homes[callerOf(c).Role], fiber.StatusSeeOther)
}

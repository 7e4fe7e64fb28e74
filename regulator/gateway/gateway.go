// Package gateway is the regulators' API: a fiber app of its own, served
// on its own listener (regulator_listen), read-only, for regulator API keys
// only. A regulator lists its jurisdiction's published reports, downloads
// their files (with the signature in headers) or a bundle that verifies
// offline, and fetches checkpoints and consistency proofs — or reads the
// log as c2sp.org/tlog-tiles with any standard client. Every request
// is rate-limited per key (failed authentications per address) and
// recorded in the access log (table regulator_access_log) before its
// answer leaves; if it cannot be recorded, the answer is withheld.
package gateway

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/console"
	"github.com/crossclear/crossclear/clearing/ratelimit"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/regulator/bundle"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/reports"
)

// Config tunes the gateway.
type Config struct {
	// RatePerMinute is each key's sustained request rate (default 120);
	// Burst how many it may send at once (default 20). Failed
	// authentications are limited the same way per client address.
	RatePerMinute int
	Burst         int
	// Keys returns the published keys document served at /v1/keys.
	Keys   func(context.Context) (bundle.Keys, error)
	Logger *slog.Logger
	Now    func() time.Time // also the rate limits' clock
	// ReadTimeout bounds reading a request (default 30s: a client that
	// dribbles its request line is cut off), WriteTimeout writing the
	// answer (default 10m: a bundle still downloads over a slow link),
	// IdleTimeout a kept-alive connection's wait for its next request
	// (default 2m).
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// Console tunes the regulator's console at /console (its sessions'
	// idle and absolute timeouts, sign-in failures); its Logger defaults to
	// Logger.
	Console console.Config
	// Reads is where reports, checkpoints and proofs are read: a streaming
	// replica, which may lag the primary by its staleness bound (docs/ha.md).
	// Nil reads st. Keys are authenticated, and accesses recorded, on st,
	// so that a revoked key stops at once and no access goes unrecorded.
	Reads *bun.DB
}

// Timeouts used when Config leaves them zero.
const (
	DefaultReadTimeout  = 30 * time.Second
	DefaultWriteTimeout = 10 * time.Minute
	DefaultIdleTimeout  = 2 * time.Minute
)

type gateway struct {
	st      *store.Store
	archive *reports.Archive
	log     *merklelog.Log
	bundles *bundle.Builder
	cfg     Config
	keys    *ratelimit.Buckets // per API key
	addrs   *ratelimit.Buckets // failed authentications per client address
	logger  *slog.Logger
}

// New builds the gateway app over st.
func New(st *store.Store, cfg Config) *fiber.App {
	if cfg.RatePerMinute <= 0 {
		cfg.RatePerMinute = 120
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.ReadTimeout = cmp.Or(cfg.ReadTimeout, DefaultReadTimeout)
	cfg.WriteTimeout = cmp.Or(cfg.WriteTimeout, DefaultWriteTimeout)
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, DefaultIdleTimeout)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reads := cfg.Reads
	if reads == nil {
		reads = st.DB()
	}
	log := merklelog.New(reads)
	archive := reports.NewArchive(reads)
	g := &gateway{st: st, archive: archive, log: log, bundles: &bundle.Builder{Archive: archive, Log: log}, cfg: cfg,
		keys: perMinute(cfg.RatePerMinute, cfg.Burst, cfg.Now), addrs: perMinute(cfg.RatePerMinute, cfg.Burst, cfg.Now), logger: logger}
	app := fiber.New(fiber.Config{
		AppName:               "crossclear-regulator-gateway",
		DisableStartupMessage: true,
		BodyLimit:             4 << 10, // read-only: no request has a body worth reading
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		ErrorHandler:          g.writeError,
	})
	app.Use(g.accessLog)
	app.Use(recover.New())
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	app.Get("/openapi.json", openAPI)
	v1 := app.Group("/v1", g.authenticate)
	v1.Get("/keys", g.getKeys)
	v1.Get("/checkpoint", g.latestCheckpoint)
	v1.Get("/checkpoints/:size", g.checkpointAt)
	v1.Get("/proofs/consistency", g.consistency)
	v1.Get("/reports", g.listReports)
	v1.Get("/reports/:id", g.getReport)
	v1.Get("/reports/:id/bundle", g.getBundle)
	v1.Get("/reports/:id/files/:format", g.getFile)
	// The log per c2sp.org/tlog-tiles (tiles.go), the gateway's root its prefix.
	app.Get("/checkpoint", g.authenticate, g.tlogCheckpoint)
	app.Get("/tile/*", g.authenticate, g.tile)
	if cfg.Console.Logger == nil {
		cfg.Console.Logger = logger
	}
	console.MountRegulator(app, st, cfg.Console, consoleReads{g})
	return app
}

// apiError is an error with its status, code and the field at fault.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func newError(status int, code, field, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// writeError renders any error as {"error":{…}}; what is not ours is a 500
// whose detail goes to the log only.
func (g *gateway) writeError(c *fiber.Ctx, err error) error {
	var ae *apiError
	var fe *fiber.Error
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &fe):
		ae = newError(fe.Code, strings.ToLower(strings.ReplaceAll(http.StatusText(fe.Code), " ", "_")), "", "%s", fe.Message)
	default:
		g.logger.Error("regulator gateway request failed", "method", c.Method(), "path", c.Path(), "err", err)
		ae = newError(http.StatusInternalServerError, "internal", "", "internal error")
	}
	return c.Status(ae.Status).JSON(fiber.Map{"error": ae})
}

// Locals.
const (
	localKey = "gateway.key"
)

func callerKey(c *fiber.Ctx) (store.APIKey, bool) {
	k, ok := c.Locals(localKey).(store.APIKey)
	return k, ok
}

// jurisdiction is the caller's: a regulator key's subject.
func jurisdiction(c *fiber.Ctx) string {
	k, _ := callerKey(c)
	return k.Subject
}

// authenticate admits live regulator keys only, within their rate.
func (g *gateway) authenticate(c *fiber.Ctx) error {
	addr := c.IP()
	if !g.addrs.Peek(addr) {
		return g.tooMany(c, g.addrs, addr)
	}
	scheme, secret, ok := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		g.addrs.Allow(addr)
		return newError(http.StatusUnauthorized, "unauthenticated", "Authorization", "send a regulator API key as Authorization: Bearer cck_…")
	}
	key, err := g.st.Authenticate(c.UserContext(), strings.TrimSpace(secret))
	if ce, ok := clearing.AsError(err); ok && ce.Kind == clearing.NotFound {
		g.addrs.Allow(addr)
		return newError(http.StatusUnauthorized, "invalid_api_key", "Authorization", "unknown or revoked API key")
	}
	if err != nil {
		return err
	}
	if err := g.admit(c, key); err != nil {
		return err
	}
	return c.Next()
}

// admit makes key the request's caller if it is a regulator's within its
// rate: for a bearer of it, and for the console's sessions.
func (g *gateway) admit(c *fiber.Ctx, key store.APIKey) error {
	c.Locals(localKey, key)
	if key.Role != clearing.RoleRegulator {
		return newError(http.StatusForbidden, "regulators_only", "Authorization", "the regulator gateway serves regulator keys only; this is %s key", key.Role.WithArticle())
	}
	if !g.keys.Allow(key.ID) {
		return g.tooMany(c, g.keys, key.ID)
	}
	return nil
}

func (g *gateway) tooMany(c *fiber.Ctx, l *ratelimit.Buckets, id string) error {
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(l.RetryAfter(id)))
	return newError(http.StatusTooManyRequests, "rate_limited", "", "more than %d requests a minute: retry later", g.cfg.RatePerMinute)
}

type accessRow struct {
	bun.BaseModel `bun:"table:regulator_access_log,alias:ra"`
	ID            int64     `bun:"id,pk,autoincrement"`
	At            time.Time `bun:"at"`
	KeyID         string    `bun:"key_id"`
	Jurisdiction  string    `bun:"jurisdiction"`
	Method        string    `bun:"method"`
	Path          string    `bun:"path"`
	Status        int       `bun:"status"`
	RemoteAddr    string    `bun:"remote_addr"`
}

// accessLog records every request with its outcome before the answer is
// sent; an answer that cannot be recorded is replaced by a 503.
func (g *gateway) accessLog(c *fiber.Ctx) error {
	if err := c.Next(); err != nil {
		if werr := g.writeError(c, err); werr != nil {
			return werr
		}
	}
	row := accessRow{At: g.cfg.Now().UTC(), Method: c.Method(), Path: truncate(c.OriginalURL(), 2000),
		Status: c.Response().StatusCode(), RemoteAddr: c.IP()}
	if k, ok := callerKey(c); ok {
		row.KeyID, row.Jurisdiction = k.ID, k.Subject
	}
	if _, err := g.st.DB().NewInsert().Model(&row).Exec(context.WithoutCancel(c.UserContext())); err != nil {
		g.logger.Error("regulator gateway: access not recorded; answer withheld", "err", err)
		c.Response().Reset()
		return c.Status(http.StatusServiceUnavailable).JSON(fiber.Map{"error": newError(http.StatusServiceUnavailable, "unavailable", "", "the access log is unavailable; retry later")})
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (g *gateway) getKeys(c *fiber.Ctx) error {
	if g.cfg.Keys == nil {
		return newError(http.StatusNotFound, "not_found", "", "this gateway does not publish keys")
	}
	k, err := g.cfg.Keys(c.UserContext())
	if err != nil {
		g.logger.Warn("regulator gateway: the signer cannot list its public keys", "err", err)
		return newError(http.StatusServiceUnavailable, "signer_unavailable", "", "the signer cannot list its public keys now; retry later")
	}
	return c.JSON(k)
}

func (g *gateway) latestCheckpoint(c *fiber.Ctx) error {
	cp, err := g.log.LatestCheckpoint(c.UserContext())
	if errors.Is(err, merklelog.ErrNoCheckpoint) {
		return newError(http.StatusNotFound, "no_checkpoint", "", "no checkpoint has been published yet")
	}
	if err != nil {
		return err
	}
	return sendCheckpoint(c, cp)
}

func (g *gateway) checkpointAt(c *fiber.Ctx) error {
	size, err := uintParam(c.Params("size"), "size")
	if err != nil {
		return err
	}
	cp, err := g.log.CheckpointAt(c.UserContext(), size)
	if errors.Is(err, merklelog.ErrNoCheckpoint) {
		return newError(http.StatusNotFound, "no_checkpoint", "size", "no checkpoint was published at size %d", size)
	}
	if err != nil {
		return err
	}
	return sendCheckpoint(c, cp)
}

func sendCheckpoint(c *fiber.Ctx, cp merklelog.Checkpoint) error {
	c.Set("X-Tree-Size", strconv.FormatUint(cp.Size, 10))
	c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
	return c.Send(cp.Cosigned())
}

// consistency proves the checkpoint of size to extends the tree of size
// from; to defaults to the latest checkpoint, and must be one.
func (g *gateway) consistency(c *fiber.Ctx) error {
	ctx := c.UserContext()
	from, err := uintParam(c.Query("from"), "from")
	if err != nil {
		return err
	}
	latest, err := g.log.LatestCheckpoint(ctx)
	if errors.Is(err, merklelog.ErrNoCheckpoint) {
		return newError(http.StatusNotFound, "no_checkpoint", "", "no checkpoint has been published yet")
	}
	if err != nil {
		return err
	}
	to := latest.Size
	if c.Query("to") != "" {
		if to, err = uintParam(c.Query("to"), "to"); err != nil {
			return err
		}
		if _, err := g.log.CheckpointAt(ctx, to); errors.Is(err, merklelog.ErrNoCheckpoint) {
			return newError(http.StatusNotFound, "no_checkpoint", "to", "no checkpoint was published at size %d", to)
		} else if err != nil {
			return err
		}
	}
	if from > to {
		return newError(http.StatusBadRequest, "invalid_range", "from", "from (%d) must not be after to (%d)", from, to)
	}
	hashes, err := g.log.ConsistencyProof(ctx, from, to)
	if err != nil {
		return err
	}
	return c.JSON(bundle.Consistency{FromSize: from, ToSize: to, Hashes: hashes})
}

// reportJSON is a report's metadata as listed.
type reportJSON struct {
	ID           string       `json:"id"`
	Jurisdiction string       `json:"jurisdiction"`
	Kind         reports.Kind `json:"kind"`
	Period       string       `json:"period"`
	Seq          int64        `json:"seq"`
	Nil          bool         `json:"nil"`
	LeafIndex    uint64       `json:"leaf_index"`
	CreatedAt    time.Time    `json:"created_at"`
	Files        []fileJSON   `json:"files"`
}

type fileJSON struct {
	Format    reports.Format `json:"format"`
	Name      string         `json:"name"`
	SHA256    string         `json:"sha256"`
	Size      int64          `json:"size"`
	Signature any            `json:"signature"`
}

func toJSON(r reports.Stored) reportJSON {
	out := reportJSON{ID: r.ID, Jurisdiction: r.Jurisdiction, Kind: r.Kind, Period: r.Period, Seq: r.Seq, Nil: r.Nil,
		LeafIndex: r.LeafIndex, CreatedAt: r.CreatedAt, Files: []fileJSON{}}
	for _, f := range r.Files {
		out.Files = append(out.Files, fileJSON{Format: f.Format, Name: f.Name, SHA256: f.SHA256, Size: f.Size, Signature: f.Signature})
	}
	return out
}

// published is the size below which leaves are published: the latest
// checkpoint's (0 before the first).
func (g *gateway) published(ctx context.Context) (merklelog.Checkpoint, error) {
	cp, err := g.log.LatestCheckpoint(ctx)
	if errors.Is(err, merklelog.ErrNoCheckpoint) {
		return merklelog.Checkpoint{}, nil
	}
	return cp, err
}

func (g *gateway) listReports(c *fiber.Ctx) error {
	p, err := g.reportPage(c, 100)
	if err != nil {
		return err
	}
	list := make([]reportJSON, len(p.Reports))
	for i, r := range p.Reports {
		list[i] = toJSON(r)
	}
	out := fiber.Map{"reports": list, "checkpoint_size": p.CheckpointSize}
	if p.More {
		out["next_after"] = p.NextAfter
	}
	return c.JSON(out)
}

// reportPage is the caller's published reports that c's query asks for
// (kind, period, after, limit: limit when it names none), in log order.
func (g *gateway) reportPage(c *fiber.Ctx, limit int) (console.ReportPage, error) {
	ctx := c.UserContext()
	f := reports.Filter{Jurisdiction: jurisdiction(c), Period: c.Query("period"), AfterLeaf: -1, Limit: limit}
	if k := c.Query("kind"); k != "" {
		if !reports.Kind(k).Valid() {
			return console.ReportPage{}, newError(http.StatusBadRequest, "invalid_kind", "kind", "must be %q or %q, got %q", reports.KindCycle, reports.KindDay, k)
		}
		f.Kind = reports.Kind(k)
	}
	if len(f.Period) > 64 {
		return console.ReportPage{}, newError(http.StatusBadRequest, "invalid_period", "period", "a day (2026-11-02) or a cycle's id, got %d characters", len(f.Period))
	}
	if a := c.Query("after"); a != "" {
		n, err := uintParam(a, "after")
		if err != nil {
			return console.ReportPage{}, err
		}
		f.AfterLeaf = int64(n)
	}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > reports.MaxList {
			return console.ReportPage{}, newError(http.StatusBadRequest, "invalid_limit", "limit", "must be a whole number from 1 to %d, got %q", reports.MaxList, l)
		}
		f.Limit = n
	}
	cp, err := g.published(ctx)
	if err != nil {
		return console.ReportPage{}, err
	}
	f.BelowLeaf = cp.Size
	rs, err := g.archive.List(ctx, f)
	if err != nil {
		return console.ReportPage{}, err
	}
	p := console.ReportPage{Reports: rs, CheckpointSize: cp.Size}
	if len(rs) == f.Limit {
		p.More, p.NextAfter = true, rs[len(rs)-1].LeafIndex
	}
	return p, nil
}

// report loads a published report of the caller's jurisdiction, else 404
// (exactly like one that does not exist).
func (g *gateway) report(c *fiber.Ctx) (reports.Stored, merklelog.Checkpoint, error) {
	ctx := c.UserContext()
	id := c.Params("id")
	notFound := newError(http.StatusNotFound, "report_not_found", "id", "no report %s", id)
	r, err := g.archive.Get(ctx, id)
	if errors.Is(err, reports.ErrNotFound) {
		return reports.Stored{}, merklelog.Checkpoint{}, notFound
	}
	if err != nil {
		return reports.Stored{}, merklelog.Checkpoint{}, err
	}
	cp, err := g.published(ctx)
	if err != nil {
		return reports.Stored{}, merklelog.Checkpoint{}, err
	}
	if r.Jurisdiction != jurisdiction(c) || r.SealedAt.IsZero() || r.LeafIndex >= cp.Size {
		return reports.Stored{}, merklelog.Checkpoint{}, notFound
	}
	return r, cp, nil
}

func (g *gateway) getReport(c *fiber.Ctx) error {
	r, _, err := g.report(c)
	if err != nil {
		return err
	}
	return c.JSON(toJSON(r))
}

// getBundle bundles a report against the latest checkpoint (or the one of
// tree_size), with a consistency proof from since_size.
func (g *gateway) getBundle(c *fiber.Ctx) error {
	ctx := c.UserContext()
	r, cp, err := g.report(c)
	if err != nil {
		return err
	}
	var since uint64
	if s := c.Query("since_size"); s != "" {
		if since, err = uintParam(s, "since_size"); err != nil {
			return err
		}
	}
	if s := c.Query("tree_size"); s != "" {
		size, err := uintParam(s, "tree_size")
		if err != nil {
			return err
		}
		if cp, err = g.log.CheckpointAt(ctx, size); errors.Is(err, merklelog.ErrNoCheckpoint) {
			return newError(http.StatusNotFound, "no_checkpoint", "tree_size", "no checkpoint was published at size %d", size)
		} else if err != nil {
			return err
		}
		if r.LeafIndex >= cp.Size {
			return newError(http.StatusBadRequest, "not_in_tree", "tree_size", "report %s (leaf %d) is not in the tree of size %d", r.ID, r.LeafIndex, size)
		}
	}
	if since > cp.Size {
		return newError(http.StatusBadRequest, "invalid_since_size", "since_size", "the checkpoint has %d leaves; since_size %d is beyond it", cp.Size, since)
	}
	b, err := g.bundles.Build(ctx, r, cp, since)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+r.ID+`.bundle.json"`)
	return c.Send(b.Marshal())
}

// getFile sends one file's exact bytes; its hash and signature ride in
// headers (X-Signature is the base64 of the signature JSON, the FILE.sig
// crossclear writes elsewhere).
func (g *gateway) getFile(c *fiber.Ctx) error {
	r, _, err := g.report(c)
	if err != nil {
		return err
	}
	format := reports.Format(c.Params("format"))
	var file *reports.StoredFile
	for i := range r.Files {
		if r.Files[i].Format == format {
			file = &r.Files[i]
		}
	}
	if file == nil {
		return newError(http.StatusNotFound, "file_not_found", "format", "report %s has no %q file (formats: json, csv)", r.ID, format)
	}
	content, err := g.archive.Content(c.UserContext(), r.ID, format)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, format.ContentType())
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+file.Name+`"`)
	c.Set("X-Content-SHA256", file.SHA256)
	c.Set("X-Signature", base64.StdEncoding.EncodeToString(file.Signature.Marshal()))
	c.Set("X-Leaf-Index", strconv.FormatUint(r.LeafIndex, 10))
	return c.Send(content)
}

func uintParam(v, field string) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, newError(http.StatusBadRequest, "invalid_"+field, field, "must be a whole number ≥ 0, got %q", v)
	}
	return n, nil
}

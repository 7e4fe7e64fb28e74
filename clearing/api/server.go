// Package api serves the clearing domain over HTTP with fiber: JSON under
// /v1 for partner banks, merchants, regulators and the operator, plus
// health, readiness, metrics and the OpenAPI document. Handlers stay thin
// (decode, call the store, encode); who may see what is decided in
// scope.go, the error mapping in errors.go.
package api

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/cyclefiles"
	"github.com/crossclear/crossclear/messages/outbox"
	"github.com/crossclear/crossclear/messages/signing"
)

// Config tunes the HTTP server.
type Config struct {
	BodyLimit   int          // bytes; default 1 MiB
	FileLimit   int          // bytes of an uploaded ISO 20022 file; default 32 MiB
	OperatorBIC string       // crossclear's BIC in the files it writes; default inbound.DefaultOperatorBIC
	Version     string       // reported by /healthz
	Logger      *slog.Logger // nil discards
	// Sealer signs the files written into mailboxes; without one they wait
	// unsigned and no bank can download them (fail closed).
	Sealer *outbox.Sealer
	// SigningKeys are crossclear's signers by purpose ("files",
	// "checkpoints"), whose public keys GET /v1/signing-keys publishes.
	SigningKeys map[string]signing.Signer
	// CycleFiles writes a cycle's pacs.009, camt.053 and camt.054 right
	// after a cycle is closed through the API; nil leaves them to serve's sweep.
	CycleFiles *cyclefiles.Builder
	// SettlementBankBIC is the bank allowed, besides the operator, to
	// upload settlement confirmations; "" for none.
	SettlementBankBIC string
	// ReadTimeout bounds the wait for a request's head and for a body of
	// up to BodyLimit, which fasthttp reads with it (default 30s: a client
	// dribbling its request line is cut off); a larger, streamed body must
	// make progress within it on every read instead, so that a 32 MiB file
	// still arrives over a slow link (body.go).
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one answer (default 10m: a large mailbox
	// file still downloads over a slow link, but a client that stops
	// reading does not hold its connection for ever).
	WriteTimeout time.Duration
	// IdleTimeout bounds a kept-alive connection's wait for its next
	// request (default 2m, longer than the usual load balancer's 60s so
	// that the balancer, not crossclear, closes idle connections).
	IdleTimeout time.Duration
	// AuthLimit slows down guessing at API keys (authlimit.go).
	AuthLimit AuthLimit
	// DegradedStatus is /readyz's status while the service is degraded
	// (the signer is down): 200 (default) or 503 (health.go).
	DegradedStatus int
	// Readiness adds sections to /readyz's answer, by name (the regulator
	// log's witnesses and their lag): they inform, they never fail it.
	Readiness map[string]func(context.Context) (any, error)
	// GroupCommit coalesces concurrent single-payment requests into shared
	// transactions (clearing/store/group.go); the zero value is
	// DefaultGroupCommit, Max 1 turns it off.
	GroupCommit store.GroupConfig
	// WebhookHTTPHosts are hosts a webhook URL may name over plain http
	// (development receivers); loopback always may, anything else needs
	// https.
	WebhookHTTPHosts []string
}

// Timeouts used when Config leaves them zero.
const (
	DefaultReadTimeout  = 30 * time.Second
	DefaultWriteTimeout = 10 * time.Minute
	DefaultIdleTimeout  = 2 * time.Minute
)

// DefaultGroupCommit is group commit's setting when Config leaves it zero:
// groups of up to 64, started at once — by measurement, on this project's
// 2-core machine it moves 3–7 times the single-payment transitions of one
// transaction per request at 64 clients and more, with a p99 8 to 15
// times shorter, on both engines (docs/performance.md#group-commit).
var DefaultGroupCommit = store.GroupConfig{Max: 64}

// DefaultBodyLimit bounds a request body: a batch of a few thousand holds.
const DefaultBodyLimit = 1 << 20

// handlers carries what every handler needs.
type handlers struct {
	st  *store.Store
	cfg Config
	log *slog.Logger
}

// Role shorthands for the route table.
const (
	operator  = clearing.RoleOperator
	bank      = clearing.RoleBank
	merchant  = clearing.RoleMerchant
	regulator = clearing.RoleRegulator
	provider  = clearing.RoleFXProvider
	officer   = clearing.RoleCompliance
)

// New builds the HTTP application over s.
func New(s *store.Store, cfg Config) *fiber.App {
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if cfg.FileLimit <= 0 {
		cfg.FileLimit = DefaultFileLimit
	}
	cfg.ReadTimeout = cmp.Or(cfg.ReadTimeout, DefaultReadTimeout)
	cfg.WriteTimeout = cmp.Or(cfg.WriteTimeout, DefaultWriteTimeout)
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, DefaultIdleTimeout)
	if cfg.DegradedStatus != http.StatusServiceUnavailable {
		cfg.DegradedStatus = http.StatusOK
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.GroupCommit.Max == 0 {
		cfg.GroupCommit = DefaultGroupCommit
	}
	h := &handlers{st: s, cfg: cfg, log: log}
	group := s.NewGroup(cfg.GroupCommit, func(n int) { commitGroupSize.Observe(float64(n)) })
	// one wraps a single-payment route: it runs in a commit group, its
	// store call batched with its group-mates'.
	one := func(b batchable) fiber.Handler { return batched(s, group, log, b) }
	s.ObserveCaps(observeCap) // cap usage metrics after holds (metrics.go)
	app := fiber.New(fiber.Config{
		AppName: "crossclear",
		// Bodies over BodyLimit are streamed, not refused: readBody holds
		// each route to its own limit (body.go).
		BodyLimit:                    cfg.BodyLimit,
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true, // else fasthttp spools multipart uploads of any size to disk
		DisableStartupMessage:        true,
		ReadTimeout:                  cfg.ReadTimeout,
		WriteTimeout:                 cfg.WriteTimeout,
		IdleTimeout:                  cfg.IdleTimeout,
		// Errors raised before any middleware runs (a body over the limit,
		// oversized headers) still get the JSON error body.
		ErrorHandler: func(c *fiber.Ctx, err error) error { return writeError(c, log, err) },
	})
	app.Use(requestid.New())
	app.Use(traced)
	app.Use(observe(log))
	app.Use(recover.New())
	app.Use(closeUnreadBodies, refuseDeclaredOversize(cfg))

	app.Get("/healthz", h.healthz)
	app.Get("/readyz", h.readyz)
	app.Get("/metrics", metricsHandler)
	app.Get("/openapi.json", openAPI)

	// Order matters: who you are, then whether you may write at all, then
	// the body (read only for callers we know), then its text (before
	// anything of it reaches the database), then the idempotency claim, then
	// the route's own role check.
	v1 := app.Group("/v1", authenticate(s, newAuthLimiter(cfg.AuthLimit)), readOnly, readBody(cfg), checkText, idempotent(s, log))
	everyone := allow(operator, bank, merchant, regulator)
	notMerchants := allow(operator, bank, regulator)

	v1.Post("/participants", allow(operator), h.createParticipant)
	v1.Get("/participants", notMerchants, h.listParticipants)
	v1.Get("/participants/:id", notMerchants, h.getParticipant)
	v1.Post("/participants/:id/suspend", allow(operator), h.setParticipantStatus(clearing.Suspended))
	v1.Post("/participants/:id/reactivate", allow(operator), h.setParticipantStatus(clearing.Active))
	v1.Post("/participants/:id/limits", allow(operator), h.setLimits)
	v1.Post("/participants/:id/keys", allow(operator, bank), h.addBankKey)
	v1.Get("/participants/:id/keys", notMerchants, h.listBankKeys)
	v1.Post("/participants/:id/keys/:key/:version/revoke", allow(operator, bank), h.revokeBankKey)
	v1.Post("/participants/:id/require-signed-files", allow(operator, bank), h.requireSignedFiles)
	v1.Get("/signing-keys", everyone, h.signingKeys)

	v1.Post("/merchants", allow(operator, bank), h.createMerchant)
	v1.Get("/merchants", everyone, h.listMerchants)
	v1.Get("/merchants/:id", everyone, h.getMerchant)
	v1.Post("/merchants/:id/suspend", allow(operator, bank), h.setMerchantStatus(clearing.Suspended))
	v1.Post("/merchants/:id/reactivate", allow(operator, bank), h.setMerchantStatus(clearing.Active))
	v1.Get("/merchants/:id/payouts", everyone, h.listPayouts)
	v1.Get("/merchants/:id/settlements", everyone, h.listSettlements)
	v1.Get("/merchants/:id/statement", everyone, h.merchantStatement)

	v1.Post("/payments", allow(operator, bank), one(h.holdPayment()))
	v1.Post("/payments/batch", allow(operator, bank), h.holdBatch)
	v1.Post("/payments/actions", everyone, h.actBatch) // each item permitted in the store, as the single routes
	v1.Get("/payments", everyone, h.listPayments)
	v1.Get("/payments/:id", everyone, h.getPayment)
	// Who may act on which payment is clearing.Actor.Permit's call, made
	// in the store's transaction; regulators never get here.
	v1.Post("/payments/:id/release", everyone, one(h.release()))
	v1.Post("/payments/:id/dispute", everyone, one(h.dispute()))
	v1.Post("/payments/:id/refund", everyone, one(h.refund()))
	v1.Post("/payments/:id/resolve", everyone, one(h.resolve()))
	v1.Get("/payments/:id/screening", allow(operator, bank, officer), h.paymentScreening)

	// Compliance (compliance.go): only compliance officers decide on reviews.
	v1.Post("/screen", allow(operator, officer), h.screen)
	v1.Get("/lists", allow(operator, officer), h.listLists)
	v1.Post("/lists/reload", allow(operator, officer), h.reloadLists)
	v1.Get("/reviews", allow(operator, officer), h.listReviews)
	v1.Get("/reviews/:id", allow(operator, officer), h.getReview)
	v1.Post("/reviews/:id/approve", allow(officer), h.approveReview)
	v1.Post("/reviews/:id/reject", allow(officer), h.rejectReview)

	v1.Post("/rates", allow(operator, provider), h.postRates)
	v1.Post("/rates/ecb", allow(operator), h.postECB)
	v1.Get("/rates", allow(operator, bank, provider), h.listRates)
	v1.Post("/quotes", allow(operator, bank), h.createQuote)
	v1.Get("/quotes/:id", allow(operator, bank, provider), h.getQuote)

	v1.Get("/cycles", notMerchants, h.listCycles)
	v1.Get("/cycles/current", notMerchants, h.currentCycle)
	v1.Post("/cycles/close", allow(operator), h.closeOpenCycle)
	v1.Post("/cycles/:id/close", allow(operator), h.closeCycle)
	v1.Get("/cycles/:id", notMerchants, h.getCycle)
	v1.Post("/cycles/:id/settlements", allow(operator), h.settlePosition)
	v1.Get("/positions", notMerchants, h.listPositions)
	v1.Get("/exposure", notMerchants, h.exposure)
	v1.Get("/ledger/check", allow(operator), h.checkLedger)

	v1.Post("/files", allow(operator, bank), h.uploadFile) // operators: settlement confirmations only
	v1.Get("/files", allow(operator, bank), h.listFiles)
	v1.Get("/files/:id", allow(operator, bank), h.getFile)
	v1.Get("/files/:id/signature", allow(operator, bank), h.getFileSignature)
	v1.Post("/files/:id/ack", allow(bank), h.ackFile)

	// Webhooks (webhooks.go): each caller its own subscriptions.
	webhookers := allow(operator, bank, merchant)
	v1.Post("/webhooks", webhookers, h.createWebhook)
	v1.Get("/webhooks", webhookers, h.listWebhooks)
	v1.Get("/webhooks/:id", webhookers, h.getWebhook)
	v1.Delete("/webhooks/:id", webhookers, h.deleteWebhook)
	v1.Post("/webhooks/:id/resume", webhookers, h.resumeWebhook)
	v1.Post("/webhooks/:id/replay", webhookers, h.replayWebhook)
	v1.Get("/webhooks/:id/deliveries", webhookers, h.webhookDeliveries)

	v1.Post("/api-keys", allow(operator), h.createAPIKey)
	v1.Get("/api-keys", everyone, h.listAPIKeys)
	v1.Delete("/api-keys/:id", allow(operator), h.revokeAPIKey)

	// Every audited change (audit.go): the operator's, and the compliance
	// officer's to oversee; nobody it is about.
	v1.Get("/audit", allow(operator, officer), h.listAudit)

	// Unmatched requests fall out of the chain as fiber's 404 (or 405 for
	// a known path), which observe renders as JSON like every error.
	return app
}

// requestID is the id requestid set for this request (also sent back as
// X-Request-ID), quoted in logs and in 500 answers to correlate them.
func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals("requestid").(string)
	return id
}

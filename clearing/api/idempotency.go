package api

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/access"
	"github.com/crossclear/crossclear/clearing/store"
)

// HeaderIdempotencyKey names the header a client sets to make a mutating
// call safe to retry; HeaderReplayed marks an answer served from the store.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderReplayed       = "Idempotent-Replayed"
)

// localReplayBody lets a handler store a different body for replay than
// the one it sends: an API key's secret must never be written to the
// database, so its replay carries the key without the secret.
const localReplayBody = "crossclear.replay_body"

// localResource is what a handler made or changed ("payment/<id>"), kept
// with the idempotency record so that a lost answer can be rebuilt.
const localResource = "crossclear.resource"

// idempotent makes mutating calls that carry an Idempotency-Key safe to
// retry (docs/idempotency.md). The key is claimed, the handler's effect
// made and its answer recorded in one database transaction: a retry after
// a crash finds either the answer (replayed) or no trace of the request
// (it runs), never an effect without its answer. A concurrent copy waits
// for the first to commit, then replays it. The fingerprint is method,
// path and body, so the same key on another request is refused. 5xx
// answers roll everything back: the failure was ours, and the retry should
// really run.
//
// Single-payment routes are left to their own wrapper, grouped, which runs
// the same atomic request in a commit group.
func idempotent(st *store.Store, log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if c.Get(HeaderIdempotencyKey) == "" || c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead || coalescable(c) {
			return c.Next()
		}
		a := newAtomicRequest(c, st, log)
		return a.finish(st.Atomically(a.outer, a.whole(c.Next)))
	}
}

// grouped runs a single-payment route's handler, keyed or not, as an
// atomic request in a commit group (clearing/store/group.go): many
// concurrent requests share one commit. The group may run the handler a
// second time, alone, when its first try rolled back with its group, so it
// is called directly rather than through the middleware chain (c.Next runs
// a chain once).
func grouped(st *store.Store, group *store.Group, log *slog.Logger, handler fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a := newAtomicRequest(c, st, log)
		return a.finish(group.Atomically(a.outer, a.whole(func() error { return handler(c) })))
	}
}

// batched runs a batchable route in a commit group with its store call
// batched with its group-mates' (store.Group.AtomicallyOp): its claim and
// its recorded answer stay its own. A request refused before any store
// call (an unreadable body, a bad amount) takes the plain grouped path,
// which answers it as before, and records that answer for a key.
func batched(st *store.Store, group *store.Group, log *slog.Logger, b batchable) fiber.Handler {
	handler := b.handler(st)
	if !group.Coalesces() {
		return grouped(st, group, log, handler)
	}
	return func(c *fiber.Ctx) error {
		op, err := b.prepare(c)
		if err != nil {
			return grouped(st, group, log, handler)(c)
		}
		a := newAtomicRequest(c, st, log)
		req := store.OpRequest{Op: op,
			Replay: func(stored *store.StoredResponse) { a.replay = stored },
			Answer: func(ctx context.Context, r store.Result) (*store.StoredResponse, error) {
				return a.render(ctx, func() error { return b.answer(c, r) })
			}}
		if a.key != "" {
			req.Claim = &store.IdempotencyClaim{Caller: a.caller, Key: a.key, Request: a.fingerprint}
		}
		return a.finish(group.AtomicallyOp(a.outer, req, a.whole(func() error { return handler(c) })))
	}
}

// atomicRequest is one request run as an atomic request — its idempotency
// claim when it carries a key, the handler's effect, its recorded answer —
// in one transaction (Store.Atomically's, or a commit group's).
type atomicRequest struct {
	c           *fiber.Ctx
	st          *store.Store
	log         *slog.Logger
	key, caller string
	fingerprint []byte
	outer       context.Context
	replay      *store.StoredResponse // the key's stored answer, when it had one
}

func newAtomicRequest(c *fiber.Ctx, st *store.Store, log *slog.Logger) *atomicRequest {
	return &atomicRequest{c: c, st: st, log: log, key: c.Get(HeaderIdempotencyKey), caller: callerKey(c).ID,
		fingerprint: bytes.Join([][]byte{[]byte(c.Method()), []byte(c.Path()), c.Body()}, []byte("\n")), outer: c.UserContext()}
}

// whole is the request's transaction for Atomically: claim, run, record.
func (a *atomicRequest) whole(run func() error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if ok, err := a.claim(ctx); !ok {
			return err
		}
		return a.respond(ctx, run)
	}
}

// claim claims the request's key in ctx's transaction: false (with
// ErrRollback) when the key has an answer already, to be replayed.
func (a *atomicRequest) claim(ctx context.Context) (bool, error) {
	a.replay = nil
	resetAnswer(a.c) // a group may run a request twice (its first try rolled back)
	if a.key == "" {
		return true, nil
	}
	stored, err := a.st.ClaimIdempotencyKey(ctx, a.caller, a.key, a.fingerprint)
	if err != nil {
		return false, err
	}
	if stored != nil {
		a.replay = stored
		return false, store.ErrRollback // nothing was written
	}
	return true, nil
}

// respond runs the handler's work (run) with ctx and records its answer
// for the key, in ctx's transaction.
func (a *atomicRequest) respond(ctx context.Context, run func() error) error {
	answer, err := a.render(ctx, run)
	if err != nil || answer == nil {
		return err
	}
	return a.st.RecordIdempotentAnswer(ctx, a.caller, a.key, *answer)
}

// render runs the handler's work (run) with ctx and returns the answer to
// record for the key: nil when there is no key, ErrRollback when the
// request is to leave nothing behind, ErrRetryAlone when it failed.
func (a *atomicRequest) render(ctx context.Context, run func() error) (*store.StoredResponse, error) {
	c := a.c
	c.SetUserContext(ctx)
	defer c.SetUserContext(a.outer)
	// Render errors here, not in the outer handler, so that what is
	// stored is exactly what the client receives.
	if err := run(); err != nil {
		if werr := writeError(c, a.log, err); werr != nil {
			return nil, werr
		}
	}
	status := c.Response().StatusCode()
	switch {
	case status >= 500:
		return nil, store.ErrRetryAlone // ours; perhaps caused by its group-mates
	case a.key == "" && status >= 400, !recordable(status):
		return nil, store.ErrRollback
	case a.key == "":
		return nil, nil
	}
	body := bytes.Clone(c.Response().Body()) // fasthttp reuses the buffer
	if redacted, ok := c.Locals(localReplayBody).([]byte); ok {
		body = redacted
	}
	resource, _ := c.Locals(localResource).(string)
	return &store.StoredResponse{StatusCode: status, Body: body, Resource: resource}, nil
}

// finish answers once the transaction is over: err from it, or the
// replayed answer, or what the handler wrote.
func (a *atomicRequest) finish(err error) error {
	if err != nil {
		// Nothing committed (the claim included): whatever the handler
		// wrote is not the answer, and a retry runs the request again.
		resetAnswer(a.c)
		return err
	}
	if a.replay != nil {
		return replayAnswer(a.c, a.st, *a.replay)
	}
	return nil
}

// resetAnswer forgets what a handler wrote for a request whose work did
// not commit.
func resetAnswer(c *fiber.Ctx) {
	c.Status(fiber.StatusOK)
	c.Response().ResetBody()
	c.Response().Header.Del(fiber.HeaderLocation)
	c.Response().Header.Del(HeaderReplayed)
}

// coalescable tells the single-payment requests that run in commit groups:
// holding one payment and acting on one, the routes server.go wraps in
// grouped (TestSinglePaymentRoutesReplay holds the two lists together).
// Batches have their own transaction already; everything else is rare
// enough to keep its own.
func coalescable(c *fiber.Ctx) bool {
	if c.Method() != fiber.MethodPost {
		return false
	}
	path := c.Path()
	if path == "/v1/payments" {
		return true
	}
	rest, ok := strings.CutPrefix(path, "/v1/payments/")
	if !ok {
		return false
	}
	id, action, ok := strings.Cut(rest, "/")
	if !ok || id == "" || id == "batch" || id == "actions" {
		return false
	}
	switch action {
	case "release", "dispute", "refund", "resolve":
		return true
	}
	return false
}

// recordable tells the answers kept for replay: every answer about the
// request itself, not those about the moment (429, 503) or our own
// failures (5xx), which the client should retry for real.
func recordable(status int) bool {
	return status < 500 && status != http.StatusTooManyRequests
}

// replayAnswer sends a stored answer again, byte for byte.
func replayAnswer(c *fiber.Ctx, st *store.Store, r store.StoredResponse) error {
	if r.StatusCode == 0 {
		var err error
		if r, err = rebuildAnswer(c, st, r.Resource); err != nil {
			return err
		}
	}
	c.Set(HeaderReplayed, "true")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(r.StatusCode).Send(r.Body)
}

// rebuildAnswer answers for a record that holds no answer: one left by a
// version that recorded answers after the effect's transaction, whose
// effect committed. The request is never run again; when the record names
// what it made, the answer is that object as it is now.
func rebuildAnswer(c *fiber.Ctx, st *store.Store, resource string) (store.StoredResponse, error) {
	var answer any
	status := http.StatusOK
	switch kind, id, _ := strings.Cut(resource, "/"); kind {
	case "payment":
		if p, _, err := st.Payment(c.UserContext(), id); err == nil && actor(c).CanSee(p) {
			answer = toPayment(p)
			if c.Path() == "/v1/payments" {
				status = http.StatusCreated
			}
		}
	case "cycle":
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && actor(c).Role == clearing.RoleOperator {
			if cy, err := st.Cycle(c.UserContext(), n); err == nil {
				answer = toCycle(cy, access.Everything)
			}
		}
	}
	if answer != nil {
		body, err := c.App().Config().JSONEncoder(answer)
		return store.StoredResponse{StatusCode: status, Body: body}, err
	}
	return store.StoredResponse{}, clearing.Errorf(clearing.Conflict, "idempotency_outcome_unknown", HeaderIdempotencyKey,
		"a request with key %q ran before but its answer was not recorded; it will not run again: look up its effect (GET the object, or list by reference) and use a new key for a new request", c.Get(HeaderIdempotencyKey))
}

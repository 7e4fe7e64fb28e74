package api

import (
	"bytes"
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

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

// idempotent makes mutating calls that carry an Idempotency-Key safe to
// retry: the key is claimed (per API key) before the handler runs, so two
// copies of one request cannot both run; the answer is stored and the same
// request is answered from the store. The fingerprint is method, path and
// body, so the same key on another request is refused. 5xx answers are not
// stored: the failure was ours, and the retry should really run.
func idempotent(st *store.Store, log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		key := c.Get(HeaderIdempotencyKey)
		if key == "" || c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
			return c.Next()
		}
		caller := callerKey(c).ID
		fingerprint := bytes.Join([][]byte{[]byte(c.Method()), []byte(c.Path()), c.Body()}, []byte("\n"))
		stored, err := st.ClaimIdempotencyKey(c.UserContext(), caller, key, fingerprint)
		if err != nil {
			return err
		}
		if stored != nil {
			c.Set(HeaderReplayed, "true")
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
			return c.Status(stored.StatusCode).Send(stored.Body)
		}
		// A panic below is answered 500 by the recover middleware; the claim
		// must not stay "in progress" for ever, or every retry would be 409.
		defer func() {
			if r := recover(); r != nil {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), 5*time.Second)
				defer cancel()
				if err := st.ReleaseIdempotencyKey(ctx, caller, key); err != nil {
					log.Error("release idempotency key", "caller", caller, "key", key, "err", err)
				}
				panic(r)
			}
		}()
		// Render errors here, not in the outer handler, so that what is
		// stored is exactly what the client receives.
		if err := c.Next(); err != nil {
			if werr := writeError(c, log, err); werr != nil {
				return werr
			}
		}
		// The claim must be settled even if the client went away.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), 5*time.Second)
		defer cancel()
		status := c.Response().StatusCode()
		if status >= 500 {
			if err := st.ReleaseIdempotencyKey(ctx, caller, key); err != nil {
				log.Error("release idempotency key", "caller", caller, "key", key, "err", err)
			}
			return nil
		}
		body := bytes.Clone(c.Response().Body()) // fasthttp reuses the buffer
		if redacted, ok := c.Locals(localReplayBody).([]byte); ok {
			body = redacted
		}
		if err := st.CompleteIdempotencyKey(ctx, caller, key, store.StoredResponse{StatusCode: status, Body: body}); err != nil {
			// The change is made; only the replay record is missing. The
			// claim stays "in progress", so a retry gets 409, never a
			// second execution.
			log.Error("complete idempotency key", "caller", caller, "key", key, "err", err)
		}
		return nil
	}
}

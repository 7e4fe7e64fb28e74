package api

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
)

// localKey is where the authenticated key is kept for the request.
const localKey = "crossclear.key"

// authenticate resolves "Authorization: Bearer cck_…" to a live API key.
// Missing, malformed, unknown and revoked keys all get the same 401 so that
// the answer tells nothing about which keys exist; unknown and revoked ones
// count against the address and the key in lim, which answers 429 past its
// limit before the database is asked.
func authenticate(st *store.Store, lim *authLimiter) fiber.Handler {
	return func(c *fiber.Ctx) error {
		scheme, secret, ok := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
		secret = strings.TrimSpace(secret)
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			secret = ""
		}
		if err := lim.check(c, c.IP(), secret); err != nil {
			return err
		}
		if secret == "" {
			return newError(http.StatusUnauthorized, "unauthenticated", "Authorization", "send an API key as Authorization: Bearer cck_…")
		}
		key, err := st.Authenticate(c.UserContext(), secret)
		if err != nil {
			if ce, ok := clearing.AsError(err); ok && ce.Kind == clearing.NotFound {
				lim.failed(c.IP(), secret)
				return newError(http.StatusUnauthorized, "invalid_api_key", "Authorization", "unknown or revoked API key")
			}
			return err
		}
		c.Locals(localKey, key)
		return c.Next()
	}
}

// callerKey is the key that authenticated this request.
func callerKey(c *fiber.Ctx) store.APIKey {
	k, _ := c.Locals(localKey).(store.APIKey)
	return k
}

// actor is who the request acts as; the zero Actor (no role) can do
// nothing, which is the safe default should a route miss authentication.
func actor(c *fiber.Ctx) clearing.Actor { return callerKey(c).Actor() }

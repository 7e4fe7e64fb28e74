package api

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/access"
	"github.com/crossclear/crossclear/clearing/store"
)

// Who may see what is clearing/access's call, shared with the console:
// handlers get their store filters and by-id lookups from scopeOf, so none
// of them can forget to narrow a listing. Who may call which route is the
// route table's (server.go), through allow and readOnly.

// allow lets only the given roles through to a route: the route table in
// server.go thereby states who may call what.
func allow(roles ...clearing.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !slices.Contains(roles, actor(c).Role) {
			return errForbidden(string(actor(c).Role) + " keys may not " + c.Method() + " " + c.Route().Path)
		}
		return c.Next()
	}
}

// readOnly refuses every mutating call from a regulator before anything
// else runs (including idempotency bookkeeping): supervisors observe.
func readOnly(c *fiber.Ctx) error {
	if actor(c).Role == clearing.RoleRegulator && c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		return errReadOnly
	}
	return c.Next()
}

// scopeOf is the caller's scope.
func scopeOf(c *fiber.Ctx, st *store.Store) access.Scope { return access.For(st, actor(c)) }

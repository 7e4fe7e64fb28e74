package gateway

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing/console"
	"github.com/crossclear/crossclear/clearing/store"
)

// consoleReads is the gateway as the regulator's console reads it
// (console.Gateway): the handlers and scope of /v1, for the key of a
// signed-in session instead of a bearer, with errors as the console
// renders them (the status and message of the gateway's own answer).
type consoleReads struct{ g *gateway }

var _ console.Gateway = consoleReads{}

func (r consoleReads) Admit(c *fiber.Ctx, key store.APIKey) error {
	return forConsole(r.g.admit(c, key))
}

func (r consoleReads) Reports(c *fiber.Ctx, limit int) (console.ReportPage, error) {
	p, err := r.g.reportPage(c, limit)
	return p, forConsole(err)
}

func (r consoleReads) Keys(c *fiber.Ctx) error        { return forConsole(r.g.getKeys(c)) }
func (r consoleReads) Checkpoint(c *fiber.Ctx) error  { return forConsole(r.g.latestCheckpoint(c)) }
func (r consoleReads) Consistency(c *fiber.Ctx) error { return forConsole(r.g.consistency(c)) }
func (r consoleReads) Bundle(c *fiber.Ctx) error      { return forConsole(r.g.getBundle(c)) }
func (r consoleReads) File(c *fiber.Ctx) error        { return forConsole(r.g.getFile(c)) }

// forConsole turns the gateway's API error into a fiber error of the same
// status and message, which the console shows as a page (or JSON to its
// script); anything else stays an internal error.
func forConsole(err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return fiber.NewError(ae.Status, ae.Message)
	}
	return err
}

package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing/store"
)

// auditEntryJSON is one audited change on the wire.
type auditEntryJSON struct {
	ID     int64  `json:"id"`
	At     string `json:"at"`
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Object string `json:"object"`
	Detail string `json:"detail"`
}

// listAudit reads the audit log (the route table lets operators and
// compliance officers in; both see all of it), newest first, paged like
// GET /v1/payments.
func (h *handlers) listAudit(c *fiber.Ctx) error {
	f := store.AuditFilter{Action: c.Query("action"), Actor: c.Query("actor"), Object: c.Query("object"), Cursor: c.Query("cursor")}
	var err error
	if f.Since, err = queryTime(c, "since"); err != nil {
		return err
	}
	if f.Until, err = queryTime(c, "until"); err != nil {
		return err
	}
	if f.Limit, err = queryInt(c, "limit", store.MaxPage); err != nil {
		return err
	}
	page, err := h.st.AuditLog(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := make([]auditEntryJSON, len(page.Entries))
	for i, a := range page.Entries {
		out[i] = auditEntryJSON{ID: a.ID, At: ts(a.At), Actor: a.Actor, Action: a.Action, Object: a.Object, Detail: a.Detail}
	}
	return c.JSON(fiber.Map{"entries": out, "next_cursor": page.NextCursor})
}

package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
)

// auditLogJSON is a page of the audit log on the wire.
type auditLogJSON struct {
	Entries    []auditEntryJSON `json:"entries"`
	NextCursor string           `json:"next_cursor"`
}

type auditEntryJSON struct {
	ID     int64  `json:"id"`
	At     string `json:"at"`
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Object string `json:"object"`
	Detail string `json:"detail"`
}

func toAuditLog(p store.AuditPage) auditLogJSON {
	out := auditLogJSON{Entries: make([]auditEntryJSON, len(p.Entries)), NextCursor: p.NextCursor}
	for i, a := range p.Entries {
		out.Entries[i] = auditEntryJSON{ID: a.ID, At: ts(a.At), Actor: a.Actor, Action: a.Action, Object: a.Object, Detail: a.Detail}
	}
	return out
}

// AuditTime reads the since or until of a reading of the audit log: an
// RFC 3339 time, the zero time when raw is empty, else 422 naming it. The
// API and the command line share it.
func AuditTime(name, raw string) (time.Time, error) {
	if raw == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, clearing.Errorf(clearing.Invalid, "invalid_time", name, "must be an RFC 3339 time like 2026-03-10T09:00:00Z, got %q", raw)
	}
	return t, nil
}

// listAudit reads the audit log (the route table lets operators and
// compliance officers in; both see all of it), newest first, paged like
// GET /v1/payments.
func (h *handlers) listAudit(c *fiber.Ctx) error {
	f := store.AuditFilter{Action: c.Query("action"), Actor: c.Query("actor"), Object: c.Query("object"), Cursor: c.Query("cursor")}
	var err error
	if f.Since, err = AuditTime("since", c.Query("since")); err != nil {
		return err
	}
	if f.Until, err = AuditTime("until", c.Query("until")); err != nil {
		return err
	}
	if f.Limit, err = queryInt(c, "limit", store.MaxPage); err != nil {
		return err
	}
	page, err := h.st.AuditLog(c.UserContext(), f)
	if err != nil {
		return err
	}
	return c.JSON(toAuditLog(page))
}

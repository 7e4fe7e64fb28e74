package console

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing/console/i18n"
	"github.com/crossclear/crossclear/clearing/store"
)

// The audit log, for operators and compliance officers (the route table's
// allow, as GET /v1/audit's): every audited change newest first, read with
// the API's store.AuditLog, filtered by a GET form and paged by its cursor.

type auditData struct {
	Entries    []store.AuditEntry
	Query      auditQuery
	NextCursor string
}

// auditQuery is the form as the reader typed it, to fill it again and to
// carry the filters into the next page's link.
type auditQuery struct {
	Action, Actor, Object, Since, Until, Cursor string
}

func (cs *console) audit(c *fiber.Ctx) error {
	l := localeOf(c)
	q := auditQuery{Action: strings.TrimSpace(c.Query("action")), Actor: strings.TrimSpace(c.Query("actor")), Object: strings.TrimSpace(c.Query("object")),
		Since: strings.TrimSpace(c.Query("since")), Until: strings.TrimSpace(c.Query("until")), Cursor: c.Query("cursor")}
	f := store.AuditFilter{Action: q.Action, Actor: q.Actor, Object: q.Object, Limit: pageSize, Cursor: q.Cursor}
	var err error
	if f.Since, err = auditDay(l, "audit.since", q.Since); err != nil {
		return err
	}
	if f.Until, err = auditDay(l, "audit.until", q.Until); err != nil {
		return err
	}
	if !f.Until.IsZero() {
		f.Until = f.Until.AddDate(0, 0, 1) // the form's until is a day, and that day is in
	}
	pg, err := cs.reads.AuditLog(c.UserContext(), f)
	if err != nil {
		return err
	}
	return cs.render(c, "audit", page{Title: l.T("title.audit"), Data: auditData{Entries: pg.Entries, Query: q, NextCursor: pg.NextCursor}})
}

// auditDay reads a date of the form (a date input's 2006-01-02, a day in
// UTC as every time the console shows): the zero time when raw is empty,
// else 422 naming the field by its label (a catalogue key).
func auditDay(l *i18n.Locale, label, raw string) (time.Time, error) {
	if raw == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, raw)
	if err != nil {
		return time.Time{}, fail(fiber.StatusUnprocessableEntity, "error.invalid_date", "field", l.T(label), "value", raw)
	}
	return t, nil
}

package store

import (
	"context"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/crossclear/crossclear/clearing"
)

// AuditEntry is one audited change: who made it, what it was, on what.
type AuditEntry struct {
	ID     int64
	Actor  string // role:subject, as clearing.Actor prints it
	Action string // participant.limits, apikey.create, witness.add…
	Object string // the id of what changed
	Detail string
	At     time.Time
}

// AuditFilter narrows a reading of the audit log. Empty fields match all.
type AuditFilter struct {
	// Action is matched exactly, or as a prefix when it ends in "."
	// ("witness." is every witness.* action).
	Action string
	Actor  string // exactly: "operator:", "bank:DEUTDEFF"
	Object string // exactly
	Since  time.Time
	Until  time.Time // Since <= at < Until; zero for no bound
	Limit  int       // default 100, at most MaxPage
	Cursor string    // from the previous page's NextCursor
}

// AuditPage is one page of the audit log, newest first.
type AuditPage struct {
	Entries    []AuditEntry
	NextCursor string // empty on the last page
}

// AuditLog reads the audit log newest first, a page at a time, with the
// same keyset paging as Payments: (at, id) descending, which migration 16
// indexes, so a page costs the same however deep it is.
func (s *Store) AuditLog(ctx context.Context, f AuditFilter) (AuditPage, error) {
	limit, err := pageSize(f.Limit)
	if err != nil {
		return AuditPage{}, err
	}
	f.Limit = limit
	var rows []auditRow
	q := s.conn(ctx).NewSelect().Model(&rows).OrderExpr("at DESC, id DESC").Limit(int64(f.Limit + 1))
	if prefix := f.Action; prefix != "" && prefix[len(prefix)-1] == '.' {
		// substr, not LIKE: actions hold "_" (LIKE's wildcard), and SQLite's
		// LIKE ignores case where PostgreSQL's does not.
		q.Where("substr(action, 1, ?) = ?", utf8.RuneCountInString(prefix), prefix)
	} else if f.Action != "" {
		q.Where("action = ?", f.Action)
	}
	if f.Actor != "" {
		q.Where("actor = ?", f.Actor)
	}
	if f.Object != "" {
		q.Where("object = ?", f.Object)
	}
	if !f.Since.IsZero() {
		q.Where("at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		q.Where("at < ?", f.Until)
	}
	if f.Cursor != "" {
		at, rawID, err := parseCursor(f.Cursor)
		id, idErr := strconv.ParseInt(rawID, 10, 64)
		if err != nil || idErr != nil {
			return AuditPage{}, clearing.Errorf(clearing.Invalid, "invalid_cursor", "cursor", "use the next_cursor of a previous page")
		}
		q.Where("(at < ? OR (at = ? AND id < ?))", at, at, id)
	}
	if err := q.Scan(ctx); err != nil {
		return AuditPage{}, fmt.Errorf("read the audit log: %w", err)
	}
	var page AuditPage
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		page.NextCursor = last.At.UTC().Format(time.RFC3339Nano) + "|" + strconv.FormatInt(last.ID, 10)
	}
	page.Entries = make([]AuditEntry, len(rows))
	for i, r := range rows {
		page.Entries[i] = AuditEntry{ID: r.ID, Actor: r.Actor, Action: r.Action, Object: r.Object, Detail: r.Detail, At: r.At.UTC()}
	}
	return page, nil
}

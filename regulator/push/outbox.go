// Package push delivers reports to the HTTPS endpoints regulators
// register, through a durable outbox: a report is queued for every
// endpoint of its jurisdiction in the transaction that adds it to the log,
// and the Worker posts each as a bundle (package bundle) in log order, one
// endpoint at a time, retrying with exponential backoff. A report that
// fails holds back the ones after it, so a regulator that was down gets
// everything, in order, when it returns. Every attempt is recorded; the
// Idempotency-Key header (the report's id) lets the receiver drop a repeat
// after a delivery whose answer was lost.
package push

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/delivery"
	"github.com/crossclear/crossclear/regulator/internal/dbx"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/reports"
)

// Outbox holds the endpoints and what is queued for them.
type Outbox struct {
	db  *bun.DB
	log *merklelog.Log
}

// NewOutbox is the outbox in db; it locks log when it queues.
func NewOutbox(db *bun.DB, log *merklelog.Log) *Outbox { return &Outbox{db: db, log: log} }

// Endpoint is a regulator's push endpoint with its delivery state.
type Endpoint struct {
	ID            string
	Jurisdiction  string
	URL           string
	CreatedBy     string
	CreatedAt     time.Time
	RemovedAt     time.Time
	DeliveredSize uint64 // tree size of the last checkpoint it received
	Delivered     int64
	Pending       int64
	OldestPending time.Time // when the oldest report not yet delivered to it was made; zero when none waits
	LastError     string    // of the report it is stuck on, if any
	NextAttemptAt time.Time
}

type endpointRow struct {
	bun.BaseModel `bun:"table:regulator_endpoints,alias:re"`
	ID            string       `bun:"id,pk"`
	Jurisdiction  string       `bun:"jurisdiction"`
	URL           string       `bun:"url"`
	CreatedBy     string       `bun:"created_by"`
	CreatedAt     time.Time    `bun:"created_at"`
	RemovedAt     bun.NullTime `bun:"removed_at"`
	DeliveredSize int64        `bun:"delivered_size"`
	LeasedUntil   bun.NullTime `bun:"leased_until"`
}

type outboxRow struct {
	bun.BaseModel `bun:"table:regulator_outbox,alias:ro"`
	ID            int64        `bun:"id,pk,autoincrement"`
	EndpointID    string       `bun:"endpoint_id"`
	ReportID      string       `bun:"report_id"`
	LeafIndex     int64        `bun:"leaf_index"`
	Attempts      int          `bun:"attempts"`
	NextAttemptAt time.Time    `bun:"next_attempt_at"`
	DeliveredAt   bun.NullTime `bun:"delivered_at"`
	LastError     string       `bun:"last_error"`
}

type deliveryRow struct {
	bun.BaseModel `bun:"table:regulator_deliveries,alias:rd"`
	ID            int64     `bun:"id,pk,autoincrement"`
	OutboxID      int64     `bun:"outbox_id"`
	Attempt       int       `bun:"attempt"`
	At            time.Time `bun:"at"`
	StatusCode    int       `bun:"status_code"`
	Error         string    `bun:"error"`
	DurationMS    int64     `bun:"duration_ms"`
}

// CheckURL accepts an https URL, or http on a loopback address (a
// regulator's test receiver on the same machine).
func CheckURL(raw string) error { return delivery.CheckURL(raw, nil) }

// AddEndpoint registers a jurisdiction's endpoint and queues every report
// of the jurisdiction already in the log, so the regulator receives its
// history from the first report on, in order. It takes the log's lock, so
// a report added meanwhile is queued exactly once.
func (o *Outbox) AddEndpoint(ctx context.Context, jurisdiction, rawURL string, by clearing.Actor, now time.Time) (Endpoint, error) {
	if !clearing.ValidJurisdiction(jurisdiction) {
		return Endpoint{}, fmt.Errorf("jurisdiction %q: want a code like SG or US-NY", jurisdiction)
	}
	if err := CheckURL(rawURL); err != nil {
		return Endpoint{}, err
	}
	row := endpointRow{ID: newID(), Jurisdiction: jurisdiction, URL: rawURL, CreatedBy: by.String(), CreatedAt: now.UTC()}
	err := dbx.InTx(ctx, o.db, func(ctx context.Context, tx bun.Tx) error {
		if _, err := o.log.Lock(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return fmt.Errorf("add endpoint: %w", err)
		}
		_, err := tx.NewRaw(`INSERT INTO regulator_outbox (endpoint_id, report_id, leaf_index, attempts, next_attempt_at, last_error)
			SELECT ?, id, leaf_index, 0, ?, '' FROM regulator_reports WHERE jurisdiction = ? ORDER BY leaf_index`,
			row.ID, now.UTC(), jurisdiction).Exec(ctx)
		if err != nil {
			return fmt.Errorf("queue the jurisdiction's reports: %w", err)
		}
		return store.Audit(ctx, tx, by, "regulator.endpoint.add", row.ID, jurisdiction+" "+rawURL, now)
	})
	if err != nil {
		return Endpoint{}, err
	}
	return o.Endpoint(ctx, row.ID)
}

// RemoveEndpoint stops deliveries to an endpoint; what was delivered stays
// recorded.
func (o *Outbox) RemoveEndpoint(ctx context.Context, id string, by clearing.Actor, now time.Time) error {
	return dbx.InTx(ctx, o.db, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*endpointRow)(nil)).Set("removed_at = ?", now.UTC()).Where("id = ? AND removed_at IS NULL", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("remove endpoint %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s", ErrNoEndpoint, id)
		}
		return store.Audit(ctx, tx, by, "regulator.endpoint.remove", id, "", now)
	})
}

// ErrNoEndpoint is an unknown (or already removed) endpoint.
var ErrNoEndpoint = errors.New("no such endpoint")

// Enqueue queues reports for every live endpoint of their jurisdictions,
// inside tx (the transaction adding them to the log).
func Enqueue(ctx context.Context, tx bun.Tx, reps []reports.Stored, now time.Time) error {
	for _, r := range reps {
		_, err := tx.NewRaw(`INSERT INTO regulator_outbox (endpoint_id, report_id, leaf_index, attempts, next_attempt_at, last_error)
			SELECT id, ?, ?, 0, ?, '' FROM regulator_endpoints WHERE jurisdiction = ? AND removed_at IS NULL`,
			r.ID, int64(r.LeafIndex), now.UTC(), r.Jurisdiction).Exec(ctx)
		if err != nil {
			return fmt.Errorf("queue report %s: %w", r.ID, err)
		}
	}
	return nil
}

// Endpoint loads one endpoint with its delivery state.
func (o *Outbox) Endpoint(ctx context.Context, id string) (Endpoint, error) {
	es, err := o.endpoints(ctx, id)
	if err != nil {
		return Endpoint{}, err
	}
	if len(es) == 0 {
		return Endpoint{}, fmt.Errorf("%w: %s", ErrNoEndpoint, id)
	}
	return es[0], nil
}

// Endpoints lists every endpoint, removed ones too, oldest first.
func (o *Outbox) Endpoints(ctx context.Context) ([]Endpoint, error) { return o.endpoints(ctx, "") }

func (o *Outbox) endpoints(ctx context.Context, id string) ([]Endpoint, error) {
	var rows []endpointRow
	q := o.db.NewSelect().Model(&rows).OrderExpr("created_at, id")
	if id != "" {
		q.Where("id = ?", id)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	out := make([]Endpoint, len(rows))
	for i, r := range rows {
		e := Endpoint{ID: r.ID, Jurisdiction: r.Jurisdiction, URL: r.URL, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(),
			DeliveredSize: uint64(r.DeliveredSize)}
		if !r.RemovedAt.IsZero() {
			e.RemovedAt = r.RemovedAt.Time.UTC()
		}
		var counts struct {
			Delivered int64
			Pending   int64
		}
		err := o.db.NewRaw(`SELECT COALESCE(SUM(CASE WHEN delivered_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS delivered,
			COALESCE(SUM(CASE WHEN delivered_at IS NULL THEN 1 ELSE 0 END), 0) AS pending
			FROM regulator_outbox WHERE endpoint_id = ?`, r.ID).Scan(ctx, &counts)
		if err != nil {
			return nil, fmt.Errorf("count deliveries of %s: %w", r.ID, err)
		}
		e.Delivered, e.Pending = counts.Delivered, counts.Pending
		var head outboxRow
		err = o.db.NewSelect().Model(&head).Where("endpoint_id = ? AND delivered_at IS NULL", r.ID).OrderExpr("leaf_index").Limit(1).Scan(ctx)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("next delivery of %s: %w", r.ID, err)
		default:
			e.LastError, e.NextAttemptAt = head.LastError, head.NextAttemptAt.UTC()
			if err := o.db.NewSelect().Table("regulator_reports").Column("created_at").Where("id = ?", head.ReportID).Scan(ctx, &e.OldestPending); err != nil {
				return nil, fmt.Errorf("age of the next delivery of %s: %w", r.ID, err)
			}
			e.OldestPending = e.OldestPending.UTC()
		}
		out[i] = e
	}
	return out, nil
}

// Delivery is one attempt to post a report to an endpoint.
type Delivery struct {
	ReportID   string
	Attempt    int
	At         time.Time
	StatusCode int // 0 when no answer came
	Error      string
	Duration   time.Duration
}

// Deliveries lists an endpoint's latest attempts, newest first.
func (o *Outbox) Deliveries(ctx context.Context, endpointID string, limit int) ([]Delivery, error) {
	var rows []struct {
		ReportID   string
		Attempt    int
		At         time.Time
		StatusCode int
		Error      string
		DurationMS int64 `bun:"duration_ms"`
	}
	err := o.db.NewRaw(`SELECT o.report_id, d.attempt, d.at, d.status_code, d.error, d.duration_ms
		FROM regulator_deliveries d JOIN regulator_outbox o ON o.id = d.outbox_id
		WHERE o.endpoint_id = ? ORDER BY d.id DESC LIMIT ?`, endpointID, limit).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("deliveries of %s: %w", endpointID, err)
	}
	out := make([]Delivery, len(rows))
	for i, r := range rows {
		out[i] = Delivery{ReportID: r.ReportID, Attempt: r.Attempt, At: r.At.UTC(), StatusCode: r.StatusCode, Error: r.Error,
			Duration: time.Duration(r.DurationMS) * time.Millisecond}
	}
	return out, nil
}

func newID() string {
	var b [8]byte
	rand.Read(b[:]) // never fails: crypto/rand panics rather than return short
	return "rep_" + hex.EncodeToString(b[:])
}

// Package witnessing is the operator's side of witnessing: the witnesses
// the operator registers (a c2sp.org/tlog-witness endpoint and its
// cosignature verifier key) and the durable worker that asks each of them
// to cosign the log's latest checkpoint. Each witness row is its own small
// outbox: what is due is always "the latest checkpoint", sent with the
// consistency proof from the size the witness last cosigned; a 409 names
// the witness's size and the request is sent again from it; a failure
// waits with a jittered backoff; a worker leases the witness
// (messages/delivery) so that several serve processes never race on one.
// Every answer's cosignature is verified before it is kept beside its
// checkpoint (merklelog), and a witness whose newest cosignature is older
// than Refresh is asked again even when the log has not grown, so that
// readers can always check freshness.
package witnessing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/delivery"
	"github.com/crossclear/crossclear/regulator/cosignature"
	"github.com/crossclear/crossclear/regulator/internal/dbx"
)

// Witness is one registered witness and what the operator knows of it.
type Witness struct {
	Name          string    `json:"name"` // from its verifier key
	VKey          string    `json:"vkey"`
	URL           string    `json:"url"` // the submission prefix: URL/add-checkpoint is posted to
	CreatedBy     string    `json:"created_by"`
	CreatedAt     time.Time `json:"created_at"`
	Size          uint64    `json:"size"`                  // the size it last cosigned, as far as we know
	CosignedAt    time.Time `json:"cosigned_at,omitzero"`  // its newest cosignature's timestamp
	Attempts      int       `json:"attempts"`              // consecutive failures
	NextAttemptAt time.Time `json:"next_attempt_at"`       // when it is due again
	LastError     string    `json:"last_error,omitempty"`  // why the last attempt failed
	RemovedAt     time.Time `json:"removed_at,omitzero"`   // no longer asked
	LagSize       uint64    `json:"lag_size"`              // leaves of the latest checkpoint it has not cosigned
	LagSeconds    float64   `json:"lag_seconds,omitempty"` // age of its newest cosignature (0 before the first)
}

type witnessRow struct {
	bun.BaseModel `bun:"table:regulator_witnesses,alias:rw"`
	ID            string       `bun:"id,pk"`
	VKey          string       `bun:"vkey"`
	URL           string       `bun:"url"`
	CreatedBy     string       `bun:"created_by"`
	CreatedAt     time.Time    `bun:"created_at"`
	RemovedAt     sql.NullTime `bun:"removed_at"`
	Size          int64        `bun:"size"`
	CosignedAt    sql.NullTime `bun:"cosigned_at"`
	Attempts      int          `bun:"attempts"`
	NextAttemptAt time.Time    `bun:"next_attempt_at"`
	LastError     string       `bun:"last_error"`
	LeasedUntil   sql.NullTime `bun:"leased_until"`
}

func (r witnessRow) domain() Witness {
	w := Witness{Name: r.ID, VKey: r.VKey, URL: r.URL, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), Size: uint64(r.Size),
		Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt.UTC(), LastError: r.LastError}
	if r.CosignedAt.Valid {
		w.CosignedAt = r.CosignedAt.Time.UTC()
	}
	if r.RemovedAt.Valid {
		w.RemovedAt = r.RemovedAt.Time.UTC()
	}
	return w
}

// Registry keeps the witnesses in the operator's database.
type Registry struct {
	DB        *bun.DB
	HTTPHosts []string // hosts a witness URL may name over plain http (loopback always may)
	Now       func() time.Time
}

func (r *Registry) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

// Add registers the witness of vkey (a cosignature/v1 verifier key) at
// url, asked at once, and audits it (witness.add, by) in the same
// transaction. A removed witness of the same name comes back with the new
// key and URL and what it cosigned before.
func (r *Registry) Add(ctx context.Context, vkey, url string, by clearing.Actor) (Witness, error) {
	v, err := cosignature.NewVerifier(vkey)
	if err != nil {
		return Witness{}, clearing.Errorf(clearing.Invalid, "invalid_vkey", "vkey", "%v", err)
	}
	if err := delivery.CheckURL(url, r.HTTPHosts); err != nil {
		return Witness{}, clearing.Errorf(clearing.Invalid, "invalid_url", "url", "%v", err)
	}
	now := r.now()
	row := witnessRow{ID: v.Name(), VKey: vkey, URL: url, CreatedBy: by.String(), CreatedAt: now, NextAttemptAt: now}
	err = dbx.InTx(ctx, r.DB, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(&row).On("CONFLICT (id) DO UPDATE").
			Set("vkey = EXCLUDED.vkey").Set("url = EXCLUDED.url").Set("removed_at = NULL").Set("attempts = 0").
			Set("next_attempt_at = EXCLUDED.next_attempt_at").Set("last_error = ''").
			Where("rw.removed_at IS NOT NULL").Exec(ctx)
		if err != nil {
			return fmt.Errorf("add witness %s: %w", v.Name(), err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return clearing.Errorf(clearing.Conflict, "witness_exists", "vkey", "witness %s is already registered: remove it first to change its key or URL", v.Name())
		}
		return store.Audit(ctx, tx, by, "witness.add", v.Name(), url+" "+vkey, now)
	})
	if err != nil {
		return Witness{}, err
	}
	return r.Get(ctx, v.Name())
}

// Remove stops asking the witness name, and audits it (witness.remove,
// by) in the same transaction.
func (r *Registry) Remove(ctx context.Context, name string, by clearing.Actor) error {
	now := r.now()
	return dbx.InTx(ctx, r.DB, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*witnessRow)(nil)).Set("removed_at = ?", now).
			Where("id = ? AND removed_at IS NULL", name).Exec(ctx)
		if err != nil {
			return fmt.Errorf("remove witness %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return clearing.Errorf(clearing.NotFound, "witness_not_found", "name", "no registered witness %s", name)
		}
		return store.Audit(ctx, tx, by, "witness.remove", name, "", now)
	})
}

// Get is one witness (removed or not).
func (r *Registry) Get(ctx context.Context, name string) (Witness, error) {
	var row witnessRow
	err := r.DB.NewSelect().Model(&row).Where("id = ?", name).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return Witness{}, clearing.Errorf(clearing.NotFound, "witness_not_found", "name", "no witness %s", name)
	}
	if err != nil {
		return Witness{}, fmt.Errorf("read witness %s: %w", name, err)
	}
	return row.domain(), nil
}

// List is every live witness with its lag behind the log's latest
// checkpoint of size latest: the leaves it has not cosigned and the age
// of its newest cosignature.
func (r *Registry) List(ctx context.Context, latest uint64) ([]Witness, error) {
	var rows []witnessRow
	if err := r.DB.NewSelect().Model(&rows).Where("removed_at IS NULL").OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list witnesses: %w", err)
	}
	now := r.now()
	out := make([]Witness, len(rows))
	for i, row := range rows {
		w := row.domain()
		if latest > w.Size {
			w.LagSize = latest - w.Size
		}
		if !w.CosignedAt.IsZero() {
			w.LagSeconds = max(0, now.Sub(w.CosignedAt).Seconds()) // a witness clock ahead of ours is not "fresher than now"
		}
		out[i] = w
	}
	return out, nil
}

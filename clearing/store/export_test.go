package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// MigrateTo applies the migrations up to version only, for tests that
// upgrade an old schema.
func (s *Store) MigrateTo(ctx context.Context, version int64) ([]string, error) {
	var ms []migration
	for _, m := range migrations {
		if m.Version <= version {
			ms = append(ms, m)
		}
	}
	return s.migrate(ctx, ms)
}

// InSnapshot exposes inSnapshot to the package's external tests.
func (s *Store) InSnapshot(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.inSnapshot(ctx, fn)
}

// ExecIn runs query in the atomic request ctx carries (or on the pool).
func (s *Store) ExecIn(ctx context.Context, query string) error {
	_, err := s.conn(ctx).ExecContext(ctx, query)
	return err
}

// InsertEvent writes an event of payment id through insertRows, or
// through bun's own insert when viaBun, for TestInsertRowsWritesAsBun.
func (s *Store) InsertEvent(ctx context.Context, viaBun bool, id string, seq int, reason string, at time.Time) error {
	return s.inTx(ctx, func(tx bun.Tx) error {
		rows := []eventRow{{PaymentID: id, Seq: seq, Type: "note", FromState: "held", ToState: "held", Actor: "test", Reason: reason, At: at}}
		if viaBun {
			_, err := tx.NewInsert().Model(&rows).Exec(ctx)
			return err
		}
		return insertRows(ctx, s, tx, rows)
	})
}

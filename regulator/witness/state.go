package witness

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"golang.org/x/mod/sumdb/note"
	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/crossclear/crossclear/regulator/merklelog"
)

// State is a witness's own SQLite database: the logs it witnesses, their
// keys, and for each the latest checkpoint it cosigned. It is the
// regulator's, on the regulator's machine — nothing of the operator's.
type State struct {
	db *bun.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS witness_logs (
	origin     TEXT PRIMARY KEY,
	size       INTEGER NOT NULL,
	root       BLOB NOT NULL,
	note       TEXT NOT NULL,
	updated_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS witness_log_keys (
	origin TEXT NOT NULL REFERENCES witness_logs (origin),
	vkey   TEXT NOT NULL,
	PRIMARY KEY (origin, vkey)
);`

// OpenState opens (creating it if needed) the state database at path.
func OpenState(ctx context.Context, path string) (*State, error) {
	// IMMEDIATE transactions: the check of the old size and the update
	// are one write transaction, so two requests can never roll back.
	dsn := "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("witness state %s: %w", path, err)
	}
	db := bun.NewDB(sqldb, sqlitedialect.New())
	for _, stmt := range strings.Split(schema, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("witness state %s: %w", path, err)
		}
	}
	return &State{db: db}, nil
}

// Close closes the database.
func (s *State) Close() error { return s.db.Close() }

type logRow struct {
	bun.BaseModel `bun:"table:witness_logs"`
	Origin        string    `bun:"origin,pk"`
	Size          int64     `bun:"size"`
	Root          []byte    `bun:"root"`
	Note          string    `bun:"note"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

type keyRow struct {
	bun.BaseModel `bun:"table:witness_log_keys"`
	Origin        string `bun:"origin,pk"`
	VKey          string `bun:"vkey,pk"`
}

// Log is one witnessed log: its keys and the latest checkpoint cosigned
// (size 0 and the empty root before the first).
type Log struct {
	Origin string   `json:"origin"`
	Keys   []string `json:"keys"`
	Size   uint64   `json:"size"`
	Root   []byte   `json:"root_hash"`
	Note   string   `json:"-"` // the latest cosigned checkpoint, with the log's and our signatures
}

// ErrUnknownLog is an origin the witness was not told to witness.
var ErrUnknownLog = errors.New("unknown log")

// AddLog starts witnessing origin at size 0. Adding a known log is an
// error: re-adding one would reset it and let a split view through.
func (s *State) AddLog(ctx context.Context, origin string) error {
	if origin == "" || strings.ContainsAny(origin, "\n") {
		return fmt.Errorf("origin %q: want one non-empty line", origin)
	}
	row := logRow{Origin: origin, Root: merklelog.Hasher.EmptyRoot(), UpdatedAt: time.Now().UTC()}
	res, err := s.db.NewInsert().Model(&row).On("CONFLICT (origin) DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("add log %s: %w", origin, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("log %s is already witnessed (at size it keeps): a log is never reset", origin)
	}
	return nil
}

// AddKey trusts vkey (a signed-note Ed25519 verifier key, named after the
// origin) for origin's checkpoints.
func (s *State) AddKey(ctx context.Context, origin, vkey string) error {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("log key %q: %w", vkey, err)
	}
	if v.Name() != origin {
		return fmt.Errorf("log key %q is named %q: a log's key must be named after its origin %q", vkey, v.Name(), origin)
	}
	if _, err := s.log(ctx, s.db, origin); err != nil {
		return err
	}
	if _, err := s.db.NewInsert().Model(&keyRow{Origin: origin, VKey: vkey}).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("add key for %s: %w", origin, err)
	}
	return nil
}

// RemoveKey stops trusting vkey for origin (to retire a log: its state
// stays, so it can never be re-added from zero).
func (s *State) RemoveKey(ctx context.Context, origin, vkey string) error {
	res, err := s.db.NewDelete().Model((*keyRow)(nil)).Where("origin = ? AND vkey = ?", origin, vkey).Exec(ctx)
	if err != nil {
		return fmt.Errorf("remove key of %s: %w", origin, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("log %s has no key %q", origin, vkey)
	}
	return nil
}

// Logs lists the witnessed logs.
func (s *State) Logs(ctx context.Context) ([]Log, error) {
	var rows []logRow
	if err := s.db.NewSelect().Model(&rows).OrderExpr("origin").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list logs: %w", err)
	}
	out := make([]Log, 0, len(rows))
	for _, r := range rows {
		l, err := s.withKeys(ctx, s.db, r)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// log reads one log with its keys inside db (a transaction or not).
func (s *State) log(ctx context.Context, db bun.IDB, origin string) (Log, error) {
	var r logRow
	err := db.NewSelect().Model(&r).Where("origin = ?", origin).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return Log{}, fmt.Errorf("%w %q", ErrUnknownLog, origin)
	}
	if err != nil {
		return Log{}, fmt.Errorf("read log %s: %w", origin, err)
	}
	return s.withKeys(ctx, db, r)
}

func (s *State) withKeys(ctx context.Context, db bun.IDB, r logRow) (Log, error) {
	var keys []keyRow
	if err := db.NewSelect().Model(&keys).Where("origin = ?", r.Origin).OrderExpr("vkey").Scan(ctx); err != nil {
		return Log{}, fmt.Errorf("read keys of %s: %w", r.Origin, err)
	}
	l := Log{Origin: r.Origin, Size: uint64(r.Size), Root: r.Root, Note: r.Note, Keys: []string{}}
	for _, k := range keys {
		l.Keys = append(l.Keys, k.VKey)
	}
	return l, nil
}

// Package merklelog keeps an append-only RFC 6962 Merkle log in the
// database (bun, on SQLite or PostgreSQL): the hashing of Certificate
// Transparency and the Go checksum database, leaf = SHA-256(0x00‖data),
// node = SHA-256(0x01‖left‖right).
//
// Every perfect subtree's hash is stored once, when its last leaf arrives,
// keyed by (level, index). An append loads the compact range of the
// current tree (at most 64 stored nodes), extends it with
// github.com/transparency-dev/merkle/compact and writes the new leaves and
// nodes, so appending costs O(log n) reads however large the log grows.
// Proofs name the nodes they need (proof.Inclusion, proof.Consistency);
// they are read by id in one query and the one ephemeral node is rehashed.
// The head row (size, root) is the log's lock: appends serialise on it.
//
// The log also keeps the signed checkpoints published for it (the notes
// themselves, see package checkpoint), by tree size.
package merklelog

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/regulator/internal/dbx"
)

// Hasher is the RFC 6962 hasher the log uses.
var Hasher = rfc6962.DefaultHasher

// MaxAppend bounds the leaves of one append (one transaction).
const MaxAppend = 100_000

// MaxLeafBytes bounds one leaf's data.
const MaxLeafBytes = 1 << 20

// ErrBeyondHead is returned for a tree size or leaf index the log has not
// reached.
var ErrBeyondHead = errors.New("beyond the log's size")

// Log is the Merkle log in the database behind db.
type Log struct {
	db *bun.DB
}

// New returns the log kept in db (migrated by clearing/store).
func New(db *bun.DB) *Log { return &Log{db: db} }

// Head is the log's size and the root hash of its tree.
type Head struct {
	Size uint64
	Root []byte // SHA-256 of the empty string for an empty log
}

type headRow struct {
	bun.BaseModel `bun:"table:merkle_head,alias:mh"`
	ID            int       `bun:"id,pk"`
	Size          int64     `bun:"size"`
	Root          []byte    `bun:"root"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

type leafRow struct {
	bun.BaseModel `bun:"table:merkle_leaves,alias:ml"`
	Idx           int64  `bun:"idx,pk"`
	Data          []byte `bun:"data"`
}

type nodeRow struct {
	bun.BaseModel `bun:"table:merkle_nodes,alias:mn"`
	Level         int    `bun:"level,pk"`
	Idx           int64  `bun:"idx,pk"`
	Hash          []byte `bun:"hash"`
}

// Append adds leaves to the end of the log inside tx and returns the index
// of the first one and the new head. The head row stays locked until tx
// ends, so concurrent appends queue and the caller's other writes commit
// (or roll back) with the leaves.
func (l *Log) Append(ctx context.Context, tx bun.Tx, leaves [][]byte) (first uint64, head Head, err error) {
	if len(leaves) > MaxAppend {
		return 0, Head{}, fmt.Errorf("append %d leaves: at most %d at once", len(leaves), MaxAppend)
	}
	for i, leaf := range leaves {
		if len(leaf) > MaxLeafBytes {
			return 0, Head{}, fmt.Errorf("append: leaf %d has %d bytes, at most %d", i, len(leaf), MaxLeafBytes)
		}
	}
	h, err := l.Lock(ctx, tx)
	if err != nil {
		return 0, Head{}, err
	}
	if len(leaves) == 0 {
		return h.Size, h, nil
	}
	r, err := l.rangeAt(ctx, tx, h.Size)
	if err != nil {
		return 0, Head{}, err
	}
	nodes := make([]nodeRow, 0, 2*len(leaves)+1)
	visit := func(id compact.NodeID, hash []byte) {
		nodes = append(nodes, nodeRow{Level: int(id.Level), Idx: int64(id.Index), Hash: hash})
	}
	rows := make([]leafRow, len(leaves))
	for i, leaf := range leaves {
		rows[i] = leafRow{Idx: int64(h.Size) + int64(i), Data: leaf}
		if err := r.Append(Hasher.HashLeaf(leaf), visit); err != nil {
			return 0, Head{}, fmt.Errorf("append leaf %d: %w", h.Size+uint64(i), err)
		}
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		return 0, Head{}, fmt.Errorf("root of size %d: %w", r.End(), err)
	}
	if err := insertChunks(ctx, tx, rows); err != nil {
		return 0, Head{}, fmt.Errorf("store leaves: %w", err)
	}
	if err := insertChunks(ctx, tx, nodes); err != nil {
		return 0, Head{}, fmt.Errorf("store nodes: %w", err)
	}
	_, err = tx.NewUpdate().Model((*headRow)(nil)).Set("size = ?", int64(r.End())).Set("root = ?", root).
		Set("updated_at = ?", time.Now().UTC()).Where("id = 1").Exec(ctx)
	if err != nil {
		return 0, Head{}, fmt.Errorf("update log head: %w", err)
	}
	return h.Size, Head{Size: r.End(), Root: root}, nil
}

// insertChunks writes rows in multi-row inserts small enough for either
// engine's statement limits.
func insertChunks[T any](ctx context.Context, tx bun.Tx, rows []T) error {
	const chunk = 2000
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		if _, err := tx.NewInsert().Model(&part).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Lock reads the head for update inside tx, creating it for an empty log:
// whoever holds it is the log's only writer until tx ends. Append takes it;
// a caller that must decide what to append from what is already stored
// (the next sequence number) takes it first.
func (l *Log) Lock(ctx context.Context, tx bun.Tx) (Head, error) {
	_, err := tx.NewInsert().Model(&headRow{ID: 1, Root: Hasher.EmptyRoot(), UpdatedAt: time.Now().UTC()}).
		On("CONFLICT (id) DO NOTHING").Exec(ctx)
	if err != nil {
		return Head{}, fmt.Errorf("create log head: %w", err)
	}
	var row headRow
	if err := dbx.ForUpdate(tx, tx.NewSelect().Model(&row).Where("id = 1")).Scan(ctx); err != nil {
		return Head{}, fmt.Errorf("lock log head: %w", err)
	}
	return Head{Size: uint64(row.Size), Root: row.Root}, nil
}

// Head is the log's current size and root.
func (l *Log) Head(ctx context.Context) (Head, error) {
	var row headRow
	err := l.db.NewSelect().Model(&row).Where("id = 1").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return Head{Size: 0, Root: Hasher.EmptyRoot()}, nil
	}
	if err != nil {
		return Head{}, fmt.Errorf("read log head: %w", err)
	}
	return Head{Size: uint64(row.Size), Root: row.Root}, nil
}

// Leaf returns the data of leaf index.
func (l *Log) Leaf(ctx context.Context, index uint64) ([]byte, error) {
	var row leafRow
	err := l.db.NewSelect().Model(&row).Where("idx = ?", int64(index)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("leaf %d: %w", index, ErrBeyondHead)
	}
	if err != nil {
		return nil, fmt.Errorf("read leaf %d: %w", index, err)
	}
	return row.Data, nil
}

// Root is the root hash of the tree of the first size leaves: any size the
// log has reached, so that an old checkpoint can be checked.
func (l *Log) Root(ctx context.Context, size uint64) ([]byte, error) {
	if err := l.reached(ctx, size); err != nil {
		return nil, err
	}
	if size == 0 {
		return Hasher.EmptyRoot(), nil
	}
	r, err := l.rangeAt(ctx, l.db, size)
	if err != nil {
		return nil, err
	}
	return r.GetRootHash(nil)
}

// InclusionProof proves that leaf index is in the tree of size leaves: the
// hashes proof.VerifyInclusion takes.
func (l *Log) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	if err := l.reached(ctx, size); err != nil {
		return nil, err
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof: %w", err)
	}
	return l.rehash(ctx, nodes)
}

// ConsistencyProof proves that the tree of size1 leaves is a prefix of the
// tree of size2 leaves: the hashes proof.VerifyConsistency takes.
func (l *Log) ConsistencyProof(ctx context.Context, size1, size2 uint64) ([][]byte, error) {
	if err := l.reached(ctx, size2); err != nil {
		return nil, err
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("consistency proof: %w", err)
	}
	return l.rehash(ctx, nodes)
}

func (l *Log) reached(ctx context.Context, size uint64) error {
	h, err := l.Head(ctx)
	if err != nil {
		return err
	}
	if size > h.Size {
		return fmt.Errorf("tree size %d: %w (%d leaves)", size, ErrBeyondHead, h.Size)
	}
	return nil
}

// rehash fetches the nodes a proof names and folds the ephemeral one.
func (l *Log) rehash(ctx context.Context, nodes proof.Nodes) ([][]byte, error) {
	hashes, err := l.nodeHashes(ctx, l.db, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hashes, Hasher.HashChildren)
}

// rangeAt loads the compact range [0, size) from the stored nodes.
func (l *Log) rangeAt(ctx context.Context, db bun.IDB, size uint64) (*compact.Range, error) {
	f := compact.RangeFactory{Hash: Hasher.HashChildren}
	hashes, err := l.nodeHashes(ctx, db, compact.RangeNodes(0, size, nil))
	if err != nil {
		return nil, err
	}
	r, err := f.NewRange(0, size, hashes)
	if err != nil {
		return nil, fmt.Errorf("compact range of size %d: %w", size, err)
	}
	return r, nil
}

// nodeHashes reads the hashes of ids, in the order of ids, in one query.
// A missing node means the stored tree is damaged: an error, never a guess.
func (l *Log) nodeHashes(ctx context.Context, db bun.IDB, ids []compact.NodeID) ([][]byte, error) {
	if len(ids) == 0 {
		return [][]byte{}, nil
	}
	var rows []nodeRow
	q := db.NewSelect().Model(&rows)
	for _, id := range ids {
		q.WhereGroup(" OR ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("level = ?", int(id.Level)).Where("idx = ?", int64(id.Index))
		})
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("read tree nodes: %w", err)
	}
	byID := make(map[compact.NodeID][]byte, len(rows))
	for _, r := range rows {
		byID[compact.NewNodeID(uint(r.Level), uint64(r.Idx))] = r.Hash
	}
	out := make([][]byte, len(ids))
	for i, id := range ids {
		h, ok := byID[id]
		if !ok || len(h) != Hasher.Size() {
			return nil, fmt.Errorf("tree node (level %d, index %d) is missing or damaged", id.Level, id.Index)
		}
		out[i] = h
	}
	return out, nil
}

// Checkpoint is a signed checkpoint as published: the note's exact bytes
// and the size and root it commits to, and the witnesses' cosignatures of
// it (signature lines, the newest of each witness, by witness name).
type Checkpoint struct {
	Size         uint64
	Root         []byte
	Note         []byte
	SignedAt     time.Time
	Cosignatures []byte
}

// Cosigned is the note with the witnesses' cosignatures appended: what
// readers get (c2sp.org/tlog-cosignature).
func (c Checkpoint) Cosigned() []byte {
	return append(append(make([]byte, 0, len(c.Note)+len(c.Cosignatures)), c.Note...), c.Cosignatures...)
}

type checkpointRow struct {
	bun.BaseModel `bun:"table:merkle_checkpoints,alias:mc"`
	Size          int64     `bun:"size,pk"`
	Root          []byte    `bun:"root"`
	Note          string    `bun:"note"`
	SignedAt      time.Time `bun:"signed_at"`
}

func (r checkpointRow) domain() Checkpoint {
	return Checkpoint{Size: uint64(r.Size), Root: r.Root, Note: []byte(r.Note), SignedAt: r.SignedAt.UTC()}
}

// ErrNoCheckpoint is returned when no checkpoint was published (yet, or at
// the size asked for).
var ErrNoCheckpoint = errors.New("no signed checkpoint")

// SaveCheckpoint records a signed checkpoint. Its root must be the log's
// root at its size: a note that does not describe this log is refused. A
// checkpoint already saved at that size is kept (the same size has the
// same root, so the two are equivalent).
func (l *Log) SaveCheckpoint(ctx context.Context, cp Checkpoint) error {
	root, err := l.Root(ctx, cp.Size)
	if err != nil {
		return err
	}
	if !bytes.Equal(root, cp.Root) {
		return fmt.Errorf("checkpoint at size %d has root %x, the log has %x", cp.Size, cp.Root, root)
	}
	row := checkpointRow{Size: int64(cp.Size), Root: cp.Root, Note: string(cp.Note), SignedAt: cp.SignedAt.UTC()}
	if _, err := l.db.NewInsert().Model(&row).On("CONFLICT (size) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("store checkpoint at size %d: %w", cp.Size, err)
	}
	return nil
}

// LatestCheckpoint is the largest signed checkpoint, or ErrNoCheckpoint.
func (l *Log) LatestCheckpoint(ctx context.Context) (Checkpoint, error) {
	var row checkpointRow
	err := l.db.NewSelect().Model(&row).OrderExpr("size DESC").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{}, ErrNoCheckpoint
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("read latest checkpoint: %w", err)
	}
	return l.withCosignatures(ctx, row.domain())
}

// CheckpointAt is the signed checkpoint of exactly size, or ErrNoCheckpoint.
func (l *Log) CheckpointAt(ctx context.Context, size uint64) (Checkpoint, error) {
	var row checkpointRow
	err := l.db.NewSelect().Model(&row).Where("size = ?", int64(size)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{}, fmt.Errorf("%w at size %d", ErrNoCheckpoint, size)
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("read checkpoint at size %d: %w", size, err)
	}
	return l.withCosignatures(ctx, row.domain())
}

type cosignatureRow struct {
	bun.BaseModel `bun:"table:merkle_cosignatures,alias:mcs"`
	Size          int64     `bun:"size,pk"`
	Witness       string    `bun:"witness,pk"`
	Line          string    `bun:"line"`
	SignedAt      time.Time `bun:"signed_at"`
}

// SaveCosignature keeps witness's cosignature line of the checkpoint of
// size, made at signedAt, unless a newer one of that witness is kept: the
// newest says the most about freshness.
func (l *Log) SaveCosignature(ctx context.Context, size uint64, witness, line string, signedAt time.Time) error {
	row := cosignatureRow{Size: int64(size), Witness: witness, Line: line, SignedAt: signedAt.UTC()}
	_, err := l.db.NewInsert().Model(&row).
		On("CONFLICT (size, witness) DO UPDATE").Set("line = EXCLUDED.line").Set("signed_at = EXCLUDED.signed_at").
		Where("mcs.signed_at < EXCLUDED.signed_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("store %s's cosignature of size %d: %w", witness, size, err)
	}
	return nil
}

func (l *Log) withCosignatures(ctx context.Context, cp Checkpoint) (Checkpoint, error) {
	var rows []cosignatureRow
	if err := l.db.NewSelect().Model(&rows).Where("size = ?", int64(cp.Size)).OrderExpr("witness").Scan(ctx); err != nil {
		return Checkpoint{}, fmt.Errorf("read cosignatures of size %d: %w", cp.Size, err)
	}
	for _, r := range rows {
		cp.Cosignatures = append(cp.Cosignatures, r.Line...)
	}
	return cp, nil
}

// Hashes returns the stored hashes at level, indexes [start, start+n), in
// order: a run of one tlog tile (level 8·L of the tree for tile level L).
// Every one must be there: a caller asks only for what a published tree
// covers.
func (l *Log) Hashes(ctx context.Context, level int, start uint64, n int) ([][]byte, error) {
	var rows []nodeRow
	err := l.db.NewSelect().Model(&rows).Where("level = ?", level).
		Where("idx >= ?", int64(start)).Where("idx < ?", int64(start)+int64(n)).OrderExpr("idx").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read tree nodes at level %d from %d: %w", level, start, err)
	}
	if len(rows) != n {
		return nil, fmt.Errorf("tree nodes at level %d from %d: %d of %d stored (damaged tree?)", level, start, len(rows), n)
	}
	out := make([][]byte, n)
	for i, r := range rows {
		if r.Idx != int64(start)+int64(i) || len(r.Hash) != Hasher.Size() {
			return nil, fmt.Errorf("tree node (level %d, index %d) is missing or damaged", level, start+uint64(i))
		}
		out[i] = r.Hash
	}
	return out, nil
}

// Leaves returns the data of leaves [start, start+n), in order.
func (l *Log) Leaves(ctx context.Context, start uint64, n int) ([][]byte, error) {
	var rows []leafRow
	err := l.db.NewSelect().Model(&rows).Where("idx >= ?", int64(start)).Where("idx < ?", int64(start)+int64(n)).
		OrderExpr("idx").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read leaves from %d: %w", start, err)
	}
	if len(rows) != n {
		return nil, fmt.Errorf("leaves from %d: %d of %d stored: %w", start, len(rows), n, ErrBeyondHead)
	}
	out := make([][]byte, n)
	for i, r := range rows {
		out[i] = r.Data
	}
	return out, nil
}

package reports

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/regulator/merklelog"
)

// Archive keeps the reports, their files and signatures in the database
// (tables regulator_reports and regulator_report_files, migration 7).
// A report is added unsigned, in the same transaction as its log leaf, and
// sealed (its files signed) afterwards: nothing waits on the signer while
// holding the log, and nothing unsigned is ever served.
type Archive struct {
	db *bun.DB
}

// NewArchive is the archive in db.
func NewArchive(db *bun.DB) *Archive { return &Archive{db: db} }

// Stored is an archived report without its bytes.
type Stored struct {
	ID           string
	Jurisdiction string
	Kind         Kind
	Period       string
	Seq          int64
	Nil          bool
	LeafIndex    uint64
	CreatedAt    time.Time
	SealedAt     time.Time // zero until every file is signed
	Files        []StoredFile
}

// StoredFile is one file of an archived report.
type StoredFile struct {
	Format    Format
	Name      string
	SHA256    string
	Size      int64
	Signature signing.Signature // zero until sealed
}

type reportRow struct {
	bun.BaseModel `bun:"table:regulator_reports,alias:rr"`
	ID            string       `bun:"id,pk"`
	Jurisdiction  string       `bun:"jurisdiction"`
	Kind          string       `bun:"kind"`
	Period        string       `bun:"period"`
	Seq           int64        `bun:"seq"`
	Items         int64        `bun:"items"`
	LeafIndex     int64        `bun:"leaf_index"`
	CreatedAt     time.Time    `bun:"created_at"`
	SealedAt      bun.NullTime `bun:"sealed_at"`
}

type fileRow struct {
	bun.BaseModel `bun:"table:regulator_report_files,alias:rf"`
	ReportID      string `bun:"report_id,pk"`
	Format        string `bun:"format,pk"`
	Name          string `bun:"name"`
	Content       []byte `bun:"content"`
	SHA256        string `bun:"sha256"`
	Signature     string `bun:"signature"` // JSON of signing.Signature; '' until sealed
}

// ErrNotFound is a report (or file) that does not exist.
var ErrNotFound = errors.New("no such report")

// Add renders each report, appends their entries to log and stores them,
// all inside tx: the reports and their leaves commit together or not at
// all. It returns them as stored, in order.
func (a *Archive) Add(ctx context.Context, tx bun.Tx, log *merklelog.Log, reps []Report, now time.Time) ([]Stored, error) {
	leaves := make([][]byte, len(reps))
	files := make([][]File, len(reps))
	for i, r := range reps {
		fs, err := Render(r)
		if err != nil {
			return nil, err
		}
		leaf, err := NewEntry(r, fs).Marshal()
		if err != nil {
			return nil, fmt.Errorf("entry of report %s: %w", r.ID, err)
		}
		leaves[i], files[i] = leaf, fs
	}
	first, _, err := log.Append(ctx, tx, leaves)
	if err != nil {
		return nil, err
	}
	out := make([]Stored, len(reps))
	rows := make([]reportRow, len(reps))
	var frows []fileRow
	for i, r := range reps {
		items := int64(1)
		if r.Nil {
			items = 0
		}
		rows[i] = reportRow{ID: r.ID, Jurisdiction: r.Jurisdiction, Kind: string(r.Kind), Period: r.Period, Seq: r.Seq, Items: items,
			LeafIndex: int64(first) + int64(i), CreatedAt: now}
		out[i] = rows[i].stored()
		for _, f := range files[i] {
			frows = append(frows, fileRow{ReportID: r.ID, Format: string(f.Format), Name: f.Name, Content: f.Content, SHA256: f.SHA256})
			out[i].Files = append(out[i].Files, StoredFile{Format: f.Format, Name: f.Name, SHA256: f.SHA256, Size: int64(len(f.Content))})
		}
	}
	if len(rows) == 0 {
		return out, nil
	}
	if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return nil, fmt.Errorf("store reports: %w", err)
	}
	if _, err := tx.NewInsert().Model(&frows).Exec(ctx); err != nil {
		return nil, fmt.Errorf("store report files: %w", err)
	}
	return out, nil
}

func (r reportRow) stored() Stored {
	s := Stored{ID: r.ID, Jurisdiction: r.Jurisdiction, Kind: Kind(r.Kind), Period: r.Period, Seq: r.Seq, Nil: r.Items == 0,
		LeafIndex: uint64(r.LeafIndex), CreatedAt: r.CreatedAt.UTC()}
	if !r.SealedAt.IsZero() {
		s.SealedAt = r.SealedAt.Time.UTC()
	}
	return s
}

// LastSeq is the newest (largest) sequence number of each jurisdiction's
// reports of kind, and the period it covered, read in db (a transaction
// holding the log's lock, for a producer).
func (a *Archive) LastSeq(ctx context.Context, db bun.IDB, kind Kind) (map[string]Stored, error) {
	var rows []reportRow
	err := db.NewSelect().Model(&rows).Where("kind = ?", kind).
		Where("seq = (SELECT MAX(x.seq) FROM regulator_reports AS x WHERE x.kind = rr.kind AND x.jurisdiction = rr.jurisdiction)").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("last %s reports: %w", kind, err)
	}
	out := make(map[string]Stored, len(rows))
	for _, r := range rows {
		out[r.Jurisdiction] = r.stored()
	}
	return out, nil
}

// Exists reports whether any report of kind covers period.
func (a *Archive) Exists(ctx context.Context, db bun.IDB, kind Kind, period string) (bool, error) {
	n, err := db.NewSelect().Model((*reportRow)(nil)).Where("kind = ? AND period = ?", kind, period).Count(ctx)
	if err != nil {
		return false, fmt.Errorf("look up %s reports of %s: %w", kind, period, err)
	}
	return n > 0, nil
}

// Filter selects published reports for listing.
type Filter struct {
	Jurisdiction string // required: a regulator sees its own
	Kind         Kind   // empty: both
	Period       string // empty: every period; else exactly this one
	AfterLeaf    int64  // cursor: reports after this leaf index (-1 for the start)
	BelowLeaf    uint64 // only leaves under this index: the latest checkpoint's size
	Limit        int
}

// MaxList bounds a listing page.
const MaxList = 1000

// List returns sealed reports matching f, in log order.
func (a *Archive) List(ctx context.Context, f Filter) ([]Stored, error) {
	if f.Jurisdiction == "" {
		return nil, errors.New("list reports: a jurisdiction is required")
	}
	if f.Limit <= 0 || f.Limit > MaxList {
		f.Limit = MaxList
	}
	var rows []reportRow
	q := a.db.NewSelect().Model(&rows).Where("jurisdiction = ?", f.Jurisdiction).Where("sealed_at IS NOT NULL").
		Where("leaf_index > ?", f.AfterLeaf).Where("leaf_index < ?", int64(f.BelowLeaf)).OrderExpr("leaf_index").Limit(int64(f.Limit))
	if f.Kind != "" {
		q.Where("kind = ?", f.Kind)
	}
	if f.Period != "" {
		q.Where("period = ?", f.Period)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	return a.withFiles(ctx, rows)
}

// Get loads one report with its files' metadata.
func (a *Archive) Get(ctx context.Context, id string) (Stored, error) {
	var row reportRow
	err := a.db.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return Stored{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Stored{}, fmt.Errorf("load report %s: %w", id, err)
	}
	out, err := a.withFiles(ctx, []reportRow{row})
	if err != nil {
		return Stored{}, err
	}
	return out[0], nil
}

// Content returns the bytes of one file of a report.
func (a *Archive) Content(ctx context.Context, id string, f Format) ([]byte, error) {
	var row fileRow
	err := a.db.NewSelect().Model(&row).Where("report_id = ? AND format = ?", id, f).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s.%s", ErrNotFound, id, f)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s of report %s: %w", f, id, err)
	}
	return row.Content, nil
}

func (a *Archive) withFiles(ctx context.Context, rows []reportRow) ([]Stored, error) {
	out := make([]Stored, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	at := make(map[string]int, len(rows))
	for i, r := range rows {
		out[i], ids[i], at[r.ID] = r.stored(), r.ID, i
	}
	var files []struct {
		ReportID  string
		Format    string
		Name      string
		SHA256    string `bun:"sha256"`
		Size      int64
		Signature string
	}
	err := a.db.NewRaw(`SELECT report_id, format, name, sha256, LENGTH(content) AS size, signature
		FROM regulator_report_files WHERE report_id IN (?)`, bun.In(ids)).Scan(ctx, &files)
	if err != nil {
		return nil, fmt.Errorf("load report files: %w", err)
	}
	for _, f := range files {
		sf := StoredFile{Format: Format(f.Format), Name: f.Name, SHA256: f.SHA256, Size: f.Size}
		if f.Signature != "" {
			if err := json.Unmarshal([]byte(f.Signature), &sf.Signature); err != nil {
				return nil, fmt.Errorf("signature of %s: %w", f.Name, err)
			}
		}
		i := at[f.ReportID]
		out[i].Files = append(out[i].Files, sf)
	}
	for i := range out {
		slices.SortFunc(out[i].Files, func(x, y StoredFile) int {
			return slices.Index(Formats, x.Format) - slices.Index(Formats, y.Format)
		})
	}
	return out, nil
}

// Unsealed are reports whose files are not signed yet, oldest first, with
// their files' bytes: what a sealer signs.
func (a *Archive) Unsealed(ctx context.Context, limit int) ([]Stored, [][][]byte, error) {
	var rows []reportRow
	if err := a.db.NewSelect().Model(&rows).Where("sealed_at IS NULL").OrderExpr("leaf_index").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, nil, fmt.Errorf("list unsealed reports: %w", err)
	}
	out, err := a.withFiles(ctx, rows)
	if err != nil {
		return nil, nil, err
	}
	contents := make([][][]byte, len(out))
	for i, r := range out {
		for _, f := range r.Files {
			b, err := a.Content(ctx, r.ID, f.Format)
			if err != nil {
				return nil, nil, err
			}
			contents[i] = append(contents[i], b)
		}
	}
	return out, contents, nil
}

// Seal stores the signatures of a report's files (in the order of its
// Files) and marks it sealed, in one transaction. A report sealed already
// keeps its first signatures.
func (a *Archive) Seal(ctx context.Context, r Stored, sigs []signing.Signature, now time.Time) error {
	if len(sigs) != len(r.Files) {
		return fmt.Errorf("seal report %s: %d signatures for %d files", r.ID, len(sigs), len(r.Files))
	}
	return a.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*reportRow)(nil)).Set("sealed_at = ?", now).Where("id = ? AND sealed_at IS NULL", r.ID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("seal report %s: %w", r.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // another sealer was first
		}
		for i, f := range r.Files {
			sig, err := json.Marshal(sigs[i])
			if err != nil {
				return err
			}
			if _, err := tx.NewUpdate().Model((*fileRow)(nil)).Set("signature = ?", string(sig)).
				Where("report_id = ? AND format = ?", r.ID, f.Format).Exec(ctx); err != nil {
				return fmt.Errorf("store signature of %s: %w", f.Name, err)
			}
		}
		return nil
	})
}

// LastCycle is the newest cycle any report covers, 0 before the first.
func (a *Archive) LastCycle(ctx context.Context) (int64, error) {
	var last int64
	err := a.db.NewRaw("SELECT COALESCE(MAX(CAST(period AS BIGINT)), 0) FROM regulator_reports WHERE kind = ?", KindCycle).Scan(ctx, &last)
	if err != nil {
		return 0, fmt.Errorf("last reported cycle: %w", err)
	}
	return last, nil
}

// LastDay is the newest day any report covers (2006-01-02), "" before the
// first.
func (a *Archive) LastDay(ctx context.Context) (string, error) {
	var last sql.NullString
	if err := a.db.NewRaw("SELECT MAX(period) FROM regulator_reports WHERE kind = ?", KindDay).Scan(ctx, &last); err != nil {
		return "", fmt.Errorf("last reported day: %w", err)
	}
	return last.String, nil
}

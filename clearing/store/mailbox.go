package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Mailbox files are written unsigned, in the transaction that produces
// them, and sealed (signed) afterwards by messages/outbox: a bank never
// sees an unsigned file, and a signer outage delays files without losing
// any. Sealing is idempotent: of two sealers racing on one file, the
// first signature stays.

// putMailboxFiles writes files into their banks' mailboxes inside tx,
// unsealed. It fills in Size, SHA256, CreatedAt and the ID, unless the
// caller chose one (NewFileID("mbx")) to name the file in an answer
// written with it.
func (s *Store) putMailboxFiles(ctx context.Context, tx bun.Tx, files ...MailboxFile) ([]MailboxFile, error) {
	if len(files) == 0 {
		return nil, nil
	}
	now := s.now()
	rows := make([]mailboxFileRow, len(files))
	for i := range files {
		f := &files[i]
		if f.ID == "" {
			f.ID = newID("mbx")
		}
		f.CreatedAt = now
		f.Size, f.SHA256 = int64(len(f.Content)), SHA256Hex(f.Content)
		rows[i] = mailboxFileRow{ID: f.ID, BankID: f.BankID, Kind: f.Kind, InReplyTo: f.InReplyTo, Content: f.Content,
			Size: f.Size, SHA256: f.SHA256, CreatedAt: now}
	}
	// Bounded statements: a cycle of many banks writes thousands of files.
	for start := 0; start < len(rows); start += 500 {
		chunk := rows[start:min(start+500, len(rows))]
		if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
			return nil, fmt.Errorf("insert mailbox files: %w", err)
		}
	}
	return files, nil
}

// UnsealedMailboxFiles returns up to limit files waiting for a signature,
// oldest first, with their content.
func (s *Store) UnsealedMailboxFiles(ctx context.Context, limit int) ([]MailboxFile, error) {
	var rows []mailboxFileRow
	err := s.conn(ctx).NewSelect().Model(&rows).Where("sealed_at IS NULL").OrderExpr("created_at, id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list unsealed mailbox files: %w", err)
	}
	out := make([]MailboxFile, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// Seal is a file's signature.
type Seal struct {
	FileID    string
	Signature []byte // signing.Signature JSON
}

// SealMailboxFiles stores signatures and releases the files to their
// banks. A file already sealed keeps its first signature. It returns how
// many files this call sealed.
func (s *Store) SealMailboxFiles(ctx context.Context, seals []Seal) (int, error) {
	sealed := 0
	err := s.inTx(ctx, func(tx bun.Tx) error {
		now := s.now()
		for _, se := range seals {
			res, err := tx.NewUpdate().Model((*mailboxFileRow)(nil)).Set("signature = ?", string(se.Signature)).Set("sealed_at = ?", now).
				Where("id = ? AND sealed_at IS NULL", se.FileID).Exec(ctx)
			if err != nil {
				return fmt.Errorf("seal mailbox file %s: %w", se.FileID, err)
			}
			n, _ := res.RowsAffected()
			sealed += int(n)
			if n == 1 { // now its bank may download it: tell its webhooks
				var f mailboxFileRow
				if err := tx.NewSelect().Model(&f).Column("id", "bank_id", "kind", "size", "sha256").Where("id = ?", se.FileID).Scan(ctx); err != nil {
					return fmt.Errorf("load mailbox file %s: %w", se.FileID, err)
				}
				if err := s.emit(ctx, tx, now, []webhookEvent{mailboxWebhookEvent(f)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return sealed, nil
}

// UnsealedStats is how many files wait for a signature and since when.
func (s *Store) UnsealedStats(ctx context.Context) (n int, oldest time.Time, err error) {
	var row struct {
		N      int          `bun:"n"`
		Oldest bun.NullTime `bun:"oldest"`
	}
	err = s.conn(ctx).NewRaw("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM mailbox_files WHERE sealed_at IS NULL").Scan(ctx, &row)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count unsealed mailbox files: %w", err)
	}
	return row.N, row.Oldest.Time.UTC(), nil
}

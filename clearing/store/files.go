package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// ISO 20022 files: what a bank uploads (one row per (sender, MsgId), with
// the answer it got) and each bank's mailbox of outbound files. A mailbox
// file never changes once written: a re-download gives the same bytes, and
// acknowledging it only stamps acknowledged_at.

// InboundFile is a file a bank uploaded and what became of it.
type InboundFile struct {
	ID         string
	Sender     string // the uploading bank
	MsgID      string // GrpHdr/MsgId
	Message    string // "pacs.008.001.08"
	SHA256     string // of the uploaded bytes
	Size       int64
	Status     string // ACSP, PART or RJCT
	Accepted   int
	Rejected   int
	ReplyID    string // the mailbox file answering it
	Result     []byte // the API's answer, replayed for an identical re-upload
	Signature  []byte // the verified signature the bank sent with it (signing.Signature JSON), nil for none
	ReceivedAt time.Time
	// Screening is what the file says about each transaction's parties,
	// by UETR, for compliance screening before the hold (not stored with
	// the file: the screening decisions keep it).
	Screening map[string]Instruction
}

// MailboxFile is one outbound file in a bank's mailbox.
type MailboxFile struct {
	ID             string
	BankID         string
	Kind           string // "pacs.002.001.10"
	InReplyTo      string // the inbound file it answers, "" for none
	Content        []byte
	Size           int64
	SHA256         string
	CreatedAt      time.Time
	AcknowledgedAt time.Time // zero until the bank acknowledges it
	Signature      []byte    // the detached signature (signing.Signature JSON); nil until sealed
	SealedAt       time.Time // zero until signed: only then may the bank fetch it
}

type inboundFileRow struct {
	bun.BaseModel `bun:"table:inbound_files,alias:f"`
	ID            string    `bun:"id,pk"`
	Sender        string    `bun:"sender"`
	MsgID         string    `bun:"msg_id"`
	Message       string    `bun:"message"`
	SHA256        string    `bun:"sha256"`
	Size          int64     `bun:"size"`
	Status        string    `bun:"status"`
	Accepted      int       `bun:"accepted"`
	Rejected      int       `bun:"rejected"`
	ReplyID       string    `bun:"reply_id"`
	Result        string    `bun:"result"`
	Signature     string    `bun:"signature"`
	ReceivedAt    time.Time `bun:"received_at"`
}

func (r inboundFileRow) domain() InboundFile {
	f := InboundFile{ID: r.ID, Sender: r.Sender, MsgID: r.MsgID, Message: r.Message, SHA256: r.SHA256, Size: r.Size, Status: r.Status,
		Accepted: r.Accepted, Rejected: r.Rejected, ReplyID: r.ReplyID, Result: []byte(r.Result), ReceivedAt: r.ReceivedAt.UTC()}
	if r.Signature != "" {
		f.Signature = []byte(r.Signature)
	}
	return f
}

type mailboxFileRow struct {
	bun.BaseModel  `bun:"table:mailbox_files,alias:mb"`
	ID             string       `bun:"id,pk"`
	BankID         string       `bun:"bank_id"`
	Kind           string       `bun:"kind"`
	InReplyTo      string       `bun:"in_reply_to"`
	Content        []byte       `bun:"content"`
	Size           int64        `bun:"size"`
	SHA256         string       `bun:"sha256"`
	CreatedAt      time.Time    `bun:"created_at"`
	AcknowledgedAt bun.NullTime `bun:"acknowledged_at"`
	Signature      string       `bun:"signature"`
	SealedAt       bun.NullTime `bun:"sealed_at"`
}

func (r mailboxFileRow) domain() MailboxFile {
	f := MailboxFile{ID: r.ID, BankID: r.BankID, Kind: r.Kind, InReplyTo: r.InReplyTo, Content: r.Content, Size: r.Size, SHA256: r.SHA256, CreatedAt: r.CreatedAt.UTC()}
	if !r.AcknowledgedAt.IsZero() {
		f.AcknowledgedAt = r.AcknowledgedAt.Time.UTC()
	}
	if !r.SealedAt.IsZero() {
		f.SealedAt, f.Signature = r.SealedAt.Time.UTC(), []byte(r.Signature)
	}
	return f
}

// SHA256Hex is the hex SHA-256 of b, as files are identified.
func SHA256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// NewFileID makes the id of an inbound or mailbox file.
func NewFileID(prefix string) string { return newID(prefix) }

// InboundFileByMsgID finds the file sender uploaded with msgID.
func (s *Store) InboundFileByMsgID(ctx context.Context, sender, msgID string) (InboundFile, bool, error) {
	var row inboundFileRow
	err := s.conn(ctx).NewSelect().Model(&row).Where("sender = ? AND msg_id = ?", sender, msgID).Limit(1).Scan(ctx)
	if isNoRows(err) {
		return InboundFile{}, false, nil
	}
	if err != nil {
		return InboundFile{}, false, fmt.Errorf("load inbound file: %w", err)
	}
	return row.domain(), true, nil
}

// ErrDuplicateMessage is returned by ReceiveFile when the sender's MsgId
// was taken meanwhile (by a concurrent upload): the caller looks it up.
var ErrDuplicateMessage = clearing.Errorf(clearing.Conflict, "duplicate_message", "MsgId", "this MsgId was already used by this bank")

// Reply builds, inside ReceiveFile's transaction, the answer to a file
// from what became of its holds: results match the holds given; existing
// holds the payments already in the database under the UETR of a hold
// refused as duplicate_uetr. It returns the outbound file for the
// sender's mailbox (Content set) and the inbound file's final fields
// (Status, Accepted, Rejected, Result).
type Reply func(results []Result, existing map[string]clearing.Payment) (MailboxFile, InboundFile, error)

// ReceiveFile records an uploaded file, holds its accepted transactions
// and puts the answer into the sender's mailbox, all in one transaction:
// the file is either wholly applied with its answer or not at all. The
// (sender, MsgId) claim comes first, so of two concurrent uploads of one
// MsgId exactly one runs; the other gets ErrDuplicateMessage.
func (s *Store) ReceiveFile(ctx context.Context, in InboundFile, holds []clearing.HoldRequest, by clearing.Actor, reply Reply) (InboundFile, MailboxFile, []Result, error) {
	if len(holds) > MaxBatch {
		return InboundFile{}, MailboxFile{}, nil, clearing.Errorf(clearing.Invalid, "batch_too_large", "CdtTrfTxInf", "at most %d transactions per file, got %d", MaxBatch, len(holds))
	}
	for _, h := range holds {
		if h.UETR == "" {
			return InboundFile{}, MailboxFile{}, nil, fmt.Errorf("%w: a hold from a file without its UETR", clearing.ErrInvariant)
		}
	}
	var (
		out     InboundFile
		mail    MailboxFile
		results []Result
	)
	err := s.inTx(ctx, func(tx bun.Tx) error {
		row, err := s.claimInboundFile(ctx, tx, in)
		if err != nil {
			return err
		}
		if results, err = s.screenedHoldBatchTx(ctx, tx, holds, in.Screening, allBy(by)); err != nil {
			return err
		}
		var dups []string
		for i, r := range results {
			if ce, ok := clearing.AsError(r.Err); ok && ce.Code == "duplicate_uetr" {
				dups = append(dups, holds[i].UETR)
			}
		}
		existing := map[string]clearing.Payment{}
		if len(dups) > 0 {
			ps, err := s.lockPayments(ctx, tx, tx.NewSelect().Where("id IN (?)", bun.In(dups)))
			if err != nil {
				return err
			}
			for _, p := range ps {
				existing[p.ID] = p
			}
		}
		m, fin, err := reply(results, existing)
		if err != nil {
			return err
		}
		m.InReplyTo = in.ID
		written, err := s.putMailboxFiles(ctx, tx, m)
		if err != nil {
			return err
		}
		m = written[0]
		row.Status, row.Accepted, row.Rejected, row.ReplyID, row.Result = fin.Status, fin.Accepted, fin.Rejected, m.ID, string(fin.Result)
		if _, err := tx.NewUpdate().Model(&row).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("update inbound file: %w", err)
		}
		out, mail = row.domain(), m
		return s.audit(ctx, tx, by, "file.receive", in.ID, fmt.Sprintf("%s %s %s: %d accepted, %d rejected", in.Message, in.Sender, in.MsgID, fin.Accepted, fin.Rejected))
	})
	if err != nil {
		return InboundFile{}, MailboxFile{}, nil, err
	}
	return out, mail, results, nil
}

// claimInboundFile records in as being processed: the (sender, MsgId)
// claim that lets exactly one of two concurrent uploads through; the
// other gets ErrDuplicateMessage.
func (s *Store) claimInboundFile(ctx context.Context, tx bun.Tx, in InboundFile) (inboundFileRow, error) {
	row := inboundFileRow{ID: in.ID, Sender: in.Sender, MsgID: in.MsgID, Message: in.Message, SHA256: in.SHA256, Size: in.Size,
		Status: "processing", ReplyID: "", Result: "", Signature: string(in.Signature), ReceivedAt: s.now()}
	if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return inboundFileRow{}, ErrDuplicateMessage
		}
		return inboundFileRow{}, fmt.Errorf("insert inbound file: %w", err)
	}
	return row, nil
}

// MailboxFilter narrows a mailbox listing.
type MailboxFilter struct {
	BankID         string // "" for every bank (operators)
	Unacknowledged bool
	Unsealed       bool // include files still waiting for a signature (operators)
	Limit          int
}

// MailboxFiles lists mailbox files, newest first, without their content.
func (s *Store) MailboxFiles(ctx context.Context, f MailboxFilter) ([]MailboxFile, error) {
	var rows []mailboxFileRow
	q := s.conn(ctx).NewSelect().Model(&rows).ExcludeColumn("content").OrderExpr("created_at DESC, id DESC")
	if f.BankID != "" {
		q.Where("bank_id = ?", f.BankID)
	}
	if f.Unacknowledged {
		q.Where("acknowledged_at IS NULL")
	}
	if !f.Unsealed {
		q.Where("sealed_at IS NOT NULL")
	}
	if f.Limit <= 0 || f.Limit > MaxPage {
		f.Limit = MaxPage
	}
	q.Limit(int64(f.Limit))
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list mailbox files: %w", err)
	}
	out := make([]MailboxFile, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// MailboxFile loads one mailbox file with its content.
func (s *Store) MailboxFile(ctx context.Context, id string) (MailboxFile, error) {
	var row mailboxFileRow
	err := s.conn(ctx).NewSelect().Model(&row).Where("id = ?", id).Limit(1).Scan(ctx)
	if isNoRows(err) {
		return MailboxFile{}, notFound("file", "id", id)
	}
	if err != nil {
		return MailboxFile{}, fmt.Errorf("load mailbox file: %w", err)
	}
	return row.domain(), nil
}

// AcknowledgeMailboxFile stamps a file as fetched by its bank; acknowledging
// again keeps the first time.
func (s *Store) AcknowledgeMailboxFile(ctx context.Context, id string, by clearing.Actor) (MailboxFile, error) {
	err := s.inTx(ctx, func(tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*mailboxFileRow)(nil)).Set("acknowledged_at = ?", s.now()).
			Where("id = ? AND acknowledged_at IS NULL", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("acknowledge mailbox file: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return s.audit(ctx, tx, by, "file.acknowledge", id, "")
		}
		return nil
	})
	if err != nil {
		return MailboxFile{}, err
	}
	return s.MailboxFile(ctx, id)
}

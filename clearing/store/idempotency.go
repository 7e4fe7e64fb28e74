package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/crossclear/crossclear/clearing"
)

// Idempotency keys: a mutating request carrying the same key and body as an
// earlier one from the same caller gets the first answer again; the same
// key with another body is refused. The key is claimed, the request's
// effect made and its answer recorded in one transaction (Atomically), so
// a key is either answered or was never used: a crash can leave no request
// half done, and a retry replays or runs, never both.

// StoredResponse is an answer kept for replay. Resource names what the
// request made or changed ("payment/<id>", "cycle/<n>"), so that the answer
// can be rebuilt should a record carry no answer (StatusCode 0: written by
// a version that recorded answers after the effect's transaction).
type StoredResponse struct {
	StatusCode int
	Body       []byte
	Resource   string
}

// MaxIdempotencyKeyLen bounds an Idempotency-Key header.
const MaxIdempotencyKeyLen = 255

// ClaimIdempotencyKey claims key for caller and request inside the atomic
// request carried by ctx. It returns the stored answer when the request was
// already answered, nil when the caller should run the request now and
// then RecordIdempotentAnswer in the same transaction. A concurrent claim
// of the same key waits for the first to commit or roll back (PostgreSQL's
// unique index; SQLite has one writer), then replays or runs.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, caller, key string, request []byte) (*StoredResponse, error) {
	if _, ok := atomicFrom(ctx); !ok {
		return nil, fmt.Errorf("%w: an idempotency key is claimed only inside Atomically", clearing.ErrInvariant)
	}
	if key == "" || len(key) > MaxIdempotencyKeyLen {
		return nil, clearing.Errorf(clearing.Invalid, "invalid_idempotency_key", "Idempotency-Key", "must be 1 to %d characters", MaxIdempotencyKeyLen)
	}
	sum := sha256.Sum256(request)
	hash := hex.EncodeToString(sum[:])
	db := s.conn(ctx)
	res, err := db.NewInsert().Model(&idempotencyRow{Caller: caller, Key: key, RequestHash: hash, CreatedAt: s.now()}).
		On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil, nil
	}
	var row idempotencyRow
	if err := db.NewSelect().Model(&row).Where("caller = ? AND key = ?", caller, key).Limit(1).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load idempotency key: %w", err)
	}
	if row.RequestHash != hash {
		return nil, clearing.Errorf(clearing.Invalid, "idempotency_key_reused", "Idempotency-Key", "key %q was used with a different request; use a new key for a new request", key)
	}
	return &StoredResponse{StatusCode: row.StatusCode, Body: []byte(row.Response), Resource: row.Resource}, nil
}

// RecordIdempotentAnswer stores the answer of a claimed request, in the
// atomic request that made its effect.
func (s *Store) RecordIdempotentAnswer(ctx context.Context, caller, key string, resp StoredResponse) error {
	if _, ok := atomicFrom(ctx); !ok {
		return fmt.Errorf("%w: an idempotent answer is recorded only inside Atomically", clearing.ErrInvariant)
	}
	_, err := s.conn(ctx).NewUpdate().Model((*idempotencyRow)(nil)).
		Set("status_code = ?", resp.StatusCode).Set("response = ?", string(resp.Body)).Set("resource = ?", resp.Resource).
		Where("caller = ? AND key = ?", caller, key).Exec(ctx)
	if err != nil {
		return fmt.Errorf("record idempotent answer: %w", err)
	}
	return nil
}

package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/crossclear/crossclear/clearing"
)

// Idempotency keys: a mutating request carrying the same key and body as an
// earlier one from the same caller gets the first response again; the same
// key with another body is refused. The key is claimed before the request
// runs, so two concurrent copies cannot both run.

// StoredResponse is a response kept for replay.
type StoredResponse struct {
	StatusCode int
	Body       []byte
}

// AbandonedClaimAfter is how long a claimed but unanswered key blocks
// retries; after it the claim is taken to be abandoned by a crashed process.
const AbandonedClaimAfter = 5 * time.Minute

// MaxIdempotencyKeyLen bounds an Idempotency-Key header.
const MaxIdempotencyKeyLen = 255

// ClaimIdempotencyKey claims key for caller and request. It returns a
// stored response when the request was already answered, nil when the
// caller should run the request now (then Complete or Release the claim).
func (s *Store) ClaimIdempotencyKey(ctx context.Context, caller, key string, request []byte) (*StoredResponse, error) {
	if key == "" || len(key) > MaxIdempotencyKeyLen {
		return nil, clearing.Errorf(clearing.Invalid, "invalid_idempotency_key", "Idempotency-Key", "must be 1 to %d characters", MaxIdempotencyKeyLen)
	}
	sum := sha256.Sum256(request)
	hash := hex.EncodeToString(sum[:])
	res, err := s.db.NewInsert().Model(&idempotencyRow{Caller: caller, Key: key, RequestHash: hash, CreatedAt: s.now()}).
		On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil, nil
	}
	var row idempotencyRow
	if err := s.db.NewSelect().Model(&row).Where("caller = ? AND key = ?", caller, key).Limit(1).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load idempotency key: %w", err)
	}
	if row.RequestHash != hash {
		return nil, clearing.Errorf(clearing.Invalid, "idempotency_key_reused", "Idempotency-Key", "key %q was used with a different request; use a new key for a new request", key)
	}
	if row.StatusCode == 0 && s.now().Sub(row.CreatedAt) > AbandonedClaimAfter {
		// The process that claimed it died mid-request: take the claim over.
		res, err := s.db.NewUpdate().Model((*idempotencyRow)(nil)).Set("created_at = ?", s.now()).
			Where("caller = ? AND key = ? AND status_code = 0 AND created_at = ?", caller, key, row.CreatedAt).Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("take over idempotency key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil, nil
		}
	}
	if row.StatusCode == 0 {
		return nil, clearing.Errorf(clearing.Conflict, "request_in_progress", "Idempotency-Key", "a request with key %q is still running; retry later", key)
	}
	return &StoredResponse{StatusCode: row.StatusCode, Body: []byte(row.Response)}, nil
}

// CompleteIdempotencyKey stores the response of a claimed request.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, caller, key string, resp StoredResponse) error {
	_, err := s.db.NewUpdate().Model((*idempotencyRow)(nil)).Set("status_code = ?", resp.StatusCode).Set("response = ?", string(resp.Body)).
		Where("caller = ? AND key = ?", caller, key).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store idempotent response: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey drops a claim whose request failed for reasons of
// ours (5xx), so that a retry runs again.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, caller, key string) error {
	_, err := s.db.NewDelete().Model((*idempotencyRow)(nil)).Where("caller = ? AND key = ? AND status_code = 0", caller, key).Exec(ctx)
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

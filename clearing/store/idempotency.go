package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

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
	stored, errs, err := s.ClaimIdempotencyKeys(ctx, []IdempotencyClaim{{Caller: caller, Key: key, Request: request}})
	if err != nil {
		return nil, err
	}
	return stored[0], errs[0]
}

// An IdempotencyClaim is one keyed request's claim.
type IdempotencyClaim struct {
	Caller, Key string
	Request     []byte // what makes the request itself (method, path, body)
}

// ClaimIdempotencyKeys is ClaimIdempotencyKey for many requests at once,
// in one statement (a commit group's): stored[i] and errs[i] answer
// claims[i], which must name distinct keys.
func (s *Store) ClaimIdempotencyKeys(ctx context.Context, claims []IdempotencyClaim) (stored []*StoredResponse, errs []error, err error) {
	if _, ok := atomicFrom(ctx); !ok {
		return nil, nil, fmt.Errorf("%w: an idempotency key is claimed only inside Atomically", clearing.ErrInvariant)
	}
	stored, errs = make([]*StoredResponse, len(claims)), make([]error, len(claims))
	rows := make([]idempotencyRow, 0, len(claims))
	at := map[[2]string]int{} // caller and key → claim
	now := s.now()
	for i, c := range claims {
		if c.Key == "" || len(c.Key) > MaxIdempotencyKeyLen {
			errs[i] = clearing.Errorf(clearing.Invalid, "invalid_idempotency_key", "Idempotency-Key", "must be 1 to %d characters", MaxIdempotencyKeyLen)
			continue
		}
		at[[2]string{c.Caller, c.Key}] = i
		rows = append(rows, idempotencyRow{Caller: c.Caller, Key: c.Key, RequestHash: requestHash(c.Request), CreatedAt: now})
	}
	if len(rows) == 0 {
		return stored, errs, nil
	}
	db := s.conn(ctx)
	var claimed []struct {
		Caller string `bun:"caller"`
		Key    string `bun:"key"`
	}
	if err := db.NewInsert().Model(&rows).On("CONFLICT DO NOTHING").Returning("caller, key").Scan(ctx, &claimed); err != nil {
		return nil, nil, fmt.Errorf("claim %d idempotency keys: %w", len(rows), err)
	}
	for _, c := range claimed {
		delete(at, [2]string{c.Caller, c.Key})
	}
	// What is left was claimed before: rare (retries), read one by one.
	for k, i := range at {
		var row idempotencyRow
		if err := db.NewSelect().Model(&row).Where("caller = ? AND key = ?", k[0], k[1]).Limit(1).Scan(ctx); err != nil {
			return nil, nil, fmt.Errorf("load idempotency key: %w", err)
		}
		if row.RequestHash != requestHash(claims[i].Request) {
			errs[i] = clearing.Errorf(clearing.Invalid, "idempotency_key_reused", "Idempotency-Key", "key %q was used with a different request; use a new key for a new request", k[1])
			continue
		}
		stored[i] = &StoredResponse{StatusCode: row.StatusCode, Body: []byte(row.Response), Resource: row.Resource}
	}
	return stored, errs, nil
}

func requestHash(request []byte) string {
	sum := sha256.Sum256(request)
	return hex.EncodeToString(sum[:])
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

// An IdempotentAnswer is a claimed request's answer, to record.
type IdempotentAnswer struct {
	Caller, Key string
	StoredResponse
}

// RecordIdempotentAnswers is RecordIdempotentAnswer for many requests, in
// one statement.
func (s *Store) RecordIdempotentAnswers(ctx context.Context, answers []IdempotentAnswer) error {
	if _, ok := atomicFrom(ctx); !ok {
		return fmt.Errorf("%w: an idempotent answer is recorded only inside Atomically", clearing.ErrInvariant)
	}
	if len(answers) == 0 {
		return nil
	}
	rows := make([][]any, len(answers))
	for i, a := range answers {
		rows[i] = []any{a.Caller, a.Key, a.StatusCode, string(a.Body), a.Resource}
	}
	var sb strings.Builder
	args := withValues(&sb, "v (caller, key, status_code, response, resource)", rows)
	sb.WriteString(" UPDATE idempotency_keys SET status_code = v.status_code, response = v.response, resource = v.resource FROM v WHERE idempotency_keys.caller = v.caller AND idempotency_keys.key = v.key")
	res, err := s.conn(ctx).NewRaw(sb.String(), args...).Exec(ctx)
	if err != nil {
		return fmt.Errorf("record %d idempotent answers: %w", len(answers), err)
	}
	if n, _ := res.RowsAffected(); n != int64(len(answers)) {
		return fmt.Errorf("%w: recorded %d of %d idempotent answers (a claim is missing)", clearing.ErrInvariant, n, len(answers))
	}
	return nil
}

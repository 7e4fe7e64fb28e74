package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// APIKey is a credential's public part: who it speaks for. The secret is
// shown once at creation and stored only as a SHA-256 hash — a 256-bit
// random secret needs no slow hash, since nothing can be guessed.
type APIKey struct {
	ID        string
	Role      clearing.Role
	Subject   string // participant id, merchant id or jurisdiction; the key id for operators and compliance officers
	Name      string
	CreatedBy string
	CreatedAt time.Time
	RevokedAt time.Time
}

// Actor is who a request made with this key acts as.
func (k APIKey) Actor() clearing.Actor {
	return clearing.Actor{Role: k.Role, Subject: k.Subject}
}

// keyPrefix marks crossclear secrets so that scanners can find leaked ones.
const keyPrefix = "cck_"

// CreateAPIKey issues a key bound to a role and subject and returns the
// secret, which is never stored nor shown again.
func (s *Store) CreateAPIKey(ctx context.Context, role clearing.Role, subject, name string, by clearing.Actor) (APIKey, string, error) {
	if !clearing.ValidRole(role) {
		return APIKey{}, "", clearing.Errorf(clearing.Invalid, "invalid_role", "role", "must be operator, bank, merchant, regulator, fx_provider or compliance, got %q", role)
	}
	if len(name) > clearing.MaxNameLen {
		return APIKey{}, "", clearing.Errorf(clearing.Invalid, "invalid_name", "name", "at most %d characters", clearing.MaxNameLen)
	}
	k := APIKey{ID: newID("key"), Role: role, Subject: subject, Name: name, CreatedBy: by.String(), CreatedAt: s.now()}
	if role == clearing.RoleOperator || role == clearing.RoleCompliance {
		k.Subject = k.ID // acts as itself: the audit trail names the key
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return APIKey{}, "", fmt.Errorf("generate key: %w", err)
	}
	secret := keyPrefix + hex.EncodeToString(raw[:])
	err := s.inTx(ctx, func(tx bun.Tx) error {
		if role == clearing.RoleBank || role == clearing.RoleFXProvider {
			// A bank acts as its participant id, whichever form of its BIC names it.
			id, err := participantID(ctx, tx, subject)
			if err != nil {
				return err
			}
			subject, k.Subject = id, id
		}
		if err := checkSubject(ctx, tx, role, subject); err != nil {
			return err
		}
		row := apiKeyRow{ID: k.ID, Hash: hashKey(secret), Role: string(role), Subject: k.Subject, Name: name, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt}
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return fmt.Errorf("insert api key: %w", err)
		}
		return s.audit(ctx, tx, by, "apikey.create", k.ID, string(role)+" "+k.Subject)
	})
	if err != nil {
		return APIKey{}, "", err
	}
	return k, secret, nil
}

func checkSubject(ctx context.Context, tx bun.Tx, role clearing.Role, subject string) error {
	switch role {
	case clearing.RoleBank:
		n, err := tx.NewSelect().Model((*participantRow)(nil)).Where("id = ?", subject).Count(ctx)
		if err != nil {
			return fmt.Errorf("look up participant: %w", err)
		}
		if n == 0 {
			return clearing.Errorf(clearing.Invalid, "unknown_participant", "subject", "no participant %q", subject)
		}
	case clearing.RoleFXProvider:
		n, err := tx.NewSelect().Model((*participantRow)(nil)).Where("id = ?", subject).Where("kind = ?", clearing.FXProvider).Count(ctx)
		if err != nil {
			return fmt.Errorf("look up FX provider: %w", err)
		}
		if n == 0 {
			return clearing.Errorf(clearing.Invalid, "unknown_participant", "subject", "no FX provider %q", subject)
		}
	case clearing.RoleMerchant:
		n, err := tx.NewSelect().Model((*merchantRow)(nil)).Where("id = ?", subject).Count(ctx)
		if err != nil {
			return fmt.Errorf("look up merchant: %w", err)
		}
		if n == 0 {
			return clearing.Errorf(clearing.Invalid, "unknown_merchant", "subject", "no merchant %q", subject)
		}
	case clearing.RoleRegulator:
		if !clearing.ValidJurisdiction(subject) {
			return clearing.Errorf(clearing.Invalid, "invalid_jurisdiction", "subject", "must be a jurisdiction code like SG or US-NY, got %q", subject)
		}
	}
	return nil
}

// Authenticate finds the live key for a secret: from the cache when
// CacheAPIKeys turned it on (keycache.go), else from the database.
func (s *Store) Authenticate(ctx context.Context, secret string) (APIKey, error) {
	hash := hashKey(secret)
	if s.keys != nil {
		if k, ok := s.keys.get(hash); ok {
			return k, nil
		}
	}
	var row apiKeyRow
	err := s.conn(ctx).NewSelect().Model(&row).Where("hash = ?", hash).Where("revoked_at IS NULL").Limit(1).Scan(ctx)
	if isNoRows(err) {
		return APIKey{}, clearing.Errorf(clearing.NotFound, "invalid_api_key", "Authorization", "unknown or revoked API key")
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("authenticate: %w", err)
	}
	if s.keys != nil {
		s.keys.put(hash, row.domain())
	}
	return row.domain(), nil
}

// APIKeys lists keys (never their secrets).
func (s *Store) APIKeys(ctx context.Context) ([]APIKey, error) {
	var rows []apiKeyRow
	if err := s.conn(ctx).NewSelect().Model(&rows).OrderExpr("created_at, id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	out := make([]APIKey, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// RevokeAPIKey stops a key from working: at once in this process and, on
// PostgreSQL, in every process caching keys; elsewhere within the cache's
// TTL (keycache.go).
func (s *Store) RevokeAPIKey(ctx context.Context, id string, by clearing.Actor) error {
	var hash string
	err := s.inTx(ctx, func(tx bun.Tx) error {
		err := tx.NewSelect().Model((*apiKeyRow)(nil)).Column("hash").Where("id = ? AND revoked_at IS NULL", id).Limit(1).Scan(ctx, &hash)
		if isNoRows(err) {
			return notFound("api_key", "id", id)
		}
		if err != nil {
			return fmt.Errorf("find api key: %w", err)
		}
		if _, err := tx.NewUpdate().Model((*apiKeyRow)(nil)).Set("revoked_at = ?", s.now()).Where("id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("revoke api key: %w", err)
		}
		if s.postgres { // delivered to every listener when the revocation commits
			if _, err := tx.ExecContext(ctx, "SELECT pg_notify(?, ?)", keyRevokedChannel, hash); err != nil {
				return fmt.Errorf("notify revocation: %w", err)
			}
		}
		return s.audit(ctx, tx, by, "apikey.revoke", id, "")
	})
	if err == nil && s.keys != nil {
		AfterCommit(ctx, func() { s.keys.forget(hash) })
	}
	return err
}

func (r apiKeyRow) domain() APIKey {
	k := APIKey{ID: r.ID, Role: clearing.Role(r.Role), Subject: r.Subject, Name: r.Name, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC()}
	if !r.RevokedAt.IsZero() {
		k.RevokedAt = r.RevokedAt.Time.UTC()
	}
	return k
}

func hashKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

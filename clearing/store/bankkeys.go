package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/messages/signing"
)

// Partner banks register the public keys they sign their uploads with;
// an upload carrying a signature is verified against them, and a bank can
// be required to sign every upload.

// BankKey is a public key a bank registered.
type BankKey struct {
	BankID string
	signing.PublicKey
	RevokedAt time.Time // zero while the key is valid
}

type bankKeyRow struct {
	bun.BaseModel `bun:"table:bank_keys,alias:bk"`
	BankID        string       `bun:"bank_id,pk"`
	KeyName       string       `bun:"key_name,pk"`
	Version       int          `bun:"version,pk"`
	Algorithm     string       `bun:"algorithm"`
	PublicKeyPEM  string       `bun:"public_key_pem"`
	CreatedAt     time.Time    `bun:"created_at"`
	RevokedAt     bun.NullTime `bun:"revoked_at"`
}

func (r bankKeyRow) domain() BankKey {
	k := BankKey{BankID: r.BankID, PublicKey: signing.PublicKey{Key: r.KeyName, Version: r.Version, Algorithm: r.Algorithm,
		PEM: r.PublicKeyPEM, CreatedAt: r.CreatedAt.UTC()}}
	if !r.RevokedAt.IsZero() {
		k.RevokedAt = r.RevokedAt.Time.UTC()
	}
	return k
}

// AddBankKey registers one version of a bank's public key.
func (s *Store) AddBankKey(ctx context.Context, bankID string, k signing.PublicKey, by clearing.Actor) (BankKey, error) {
	if err := k.Check(); err != nil {
		return BankKey{}, clearing.Errorf(clearing.Invalid, "invalid_public_key", "public_key_pem", "%v", err)
	}
	if _, err := s.Participant(ctx, bankID); err != nil {
		return BankKey{}, err
	}
	row := bankKeyRow{BankID: bankID, KeyName: k.Key, Version: k.Version, Algorithm: k.Algorithm, PublicKeyPEM: k.PEM, CreatedAt: s.now()}
	err := s.inTx(ctx, func(tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			if isUniqueViolation(err) {
				return clearing.Errorf(clearing.Conflict, "duplicate_key", "version", "%s already registered %s version %d; register a new version instead", bankID, k.Key, k.Version)
			}
			return fmt.Errorf("insert bank key: %w", err)
		}
		return s.audit(ctx, tx, by, "bank_key.add", bankID, fmt.Sprintf("%s v%d %s", k.Key, k.Version, k.Algorithm))
	})
	if err != nil {
		return BankKey{}, err
	}
	return row.domain(), nil
}

// BankKeys lists a bank's keys, revoked ones included, by name and version.
func (s *Store) BankKeys(ctx context.Context, bankID string) ([]BankKey, error) {
	var rows []bankKeyRow
	if err := s.conn(ctx).NewSelect().Model(&rows).Where("bank_id = ?", bankID).OrderExpr("key_name, version").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list bank keys: %w", err)
	}
	out := make([]BankKey, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// RevokeBankKey stops a key version verifying uploads; revoking again
// keeps the first time.
func (s *Store) RevokeBankKey(ctx context.Context, bankID, key string, version int, by clearing.Actor) (BankKey, error) {
	var out BankKey
	err := s.inTx(ctx, func(tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*bankKeyRow)(nil)).Set("revoked_at = ?", s.now()).
			Where("bank_id = ? AND key_name = ? AND version = ? AND revoked_at IS NULL", bankID, key, version).Exec(ctx)
		if err != nil {
			return fmt.Errorf("revoke bank key: %w", err)
		}
		var row bankKeyRow
		err = tx.NewSelect().Model(&row).Where("bank_id = ? AND key_name = ? AND version = ?", bankID, key, version).Limit(1).Scan(ctx)
		if isNoRows(err) {
			return notFound("key", "version", fmt.Sprintf("%s v%d", key, version))
		}
		if err != nil {
			return fmt.Errorf("load bank key: %w", err)
		}
		out = row.domain()
		if n, _ := res.RowsAffected(); n == 1 {
			return s.audit(ctx, tx, by, "bank_key.revoke", bankID, fmt.Sprintf("%s v%d", key, version))
		}
		return nil
	})
	return out, err
}

// SetRequireSignedFiles says whether a bank's uploads must be signed.
func (s *Store) SetRequireSignedFiles(ctx context.Context, bankID string, require bool, by clearing.Actor) (clearing.Participant, error) {
	err := s.inTx(ctx, func(tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*participantRow)(nil)).Set("require_signed_files = ?", require).Where("id = ?", bankID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("set require_signed_files: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("participant", "id", bankID)
		}
		return s.audit(ctx, tx, by, "participant.require_signed_files", bankID, fmt.Sprint(require))
	})
	if err != nil {
		return clearing.Participant{}, err
	}
	return s.Participant(ctx, bankID)
}

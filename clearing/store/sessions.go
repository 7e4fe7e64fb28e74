package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// Console sessions: the web console exchanges an API key for a random
// session token kept in a cookie. Only the token's SHA-256 is stored, so a
// copy of the database opens no session; the session speaks for its key,
// and a revoked key ends its sessions at once (every lookup joins the live
// keys). Sessions live in the database, not in a process, so that any node
// behind a load balancer serves them and sign-out holds everywhere.

// ConsoleSession is a signed-in console user.
type ConsoleSession struct {
	Key       APIKey
	CSRF      string // the token every form and script request must carry
	Lang      string // the console's language chosen for it (a BCP 47 tag), "" for none
	CreatedAt time.Time
	SeenAt    time.Time
	ExpiresAt time.Time
}

type consoleSessionRow struct {
	bun.BaseModel `bun:"table:console_sessions,alias:cs"`
	TokenHash     string    `bun:"token_hash,pk"`
	KeyID         string    `bun:"key_id"`
	CSRF          string    `bun:"csrf"`
	CreatedAt     time.Time `bun:"created_at"`
	SeenAt        time.Time `bun:"seen_at"`
	ExpiresAt     time.Time `bun:"expires_at"`
	Lang          string    `bun:"lang"`
}

// seenGranularity spares a write per page view: seen_at moves only when it
// is this much behind, which idle expiry can afford to miss.
const seenGranularity = time.Minute

// StartConsoleSession opens a session for key that ends after lifetime at
// the latest, and returns its token (for the cookie, never stored) with
// the session, in language lang (a BCP 47 tag, "" for none). Expired
// sessions are swept on the way.
func (s *Store) StartConsoleSession(ctx context.Context, key APIKey, lifetime time.Duration, lang string) (string, ConsoleSession, error) {
	token, err := RandomToken()
	if err != nil {
		return "", ConsoleSession{}, err
	}
	csrf, err := RandomToken()
	if err != nil {
		return "", ConsoleSession{}, err
	}
	now := s.now()
	row := consoleSessionRow{TokenHash: hashKey(token), KeyID: key.ID, CSRF: csrf, CreatedAt: now, SeenAt: now, ExpiresAt: now.Add(lifetime), Lang: lang}
	err = s.inTx(ctx, func(tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*consoleSessionRow)(nil)).Where("expires_at < ?", now).Exec(ctx); err != nil {
			return fmt.Errorf("sweep console sessions: %w", err)
		}
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return fmt.Errorf("insert console session: %w", err)
		}
		return s.audit(ctx, tx, key.Actor(), "console.signin", key.ID, "")
	})
	if err != nil {
		return "", ConsoleSession{}, err
	}
	return token, ConsoleSession{Key: key, CSRF: csrf, Lang: lang, CreatedAt: now, SeenAt: now, ExpiresAt: row.ExpiresAt}, nil
}

// ConsoleSessionOf finds the live session of token: not past its absolute
// expiry, used within idle, and its key not revoked. Anything else is
// NotFound, whatever the reason.
func (s *Store) ConsoleSessionOf(ctx context.Context, token string, idle time.Duration) (ConsoleSession, error) {
	var row struct {
		TokenHash    string    `bun:"token_hash"`
		CSRF         string    `bun:"csrf"`
		Lang         string    `bun:"lang"`
		CreatedAt    time.Time `bun:"created_at"`
		SeenAt       time.Time `bun:"seen_at"`
		ExpiresAt    time.Time `bun:"expires_at"`
		KeyID        string    `bun:"key_id"`
		Role         string    `bun:"role"`
		Subject      string    `bun:"subject"`
		Name         string    `bun:"name"`
		CreatedBy    string    `bun:"created_by"`
		KeyCreatedAt time.Time `bun:"key_created_at"`
	}
	now := s.now()
	err := s.conn(ctx).NewSelect().
		ColumnExpr("cs.token_hash, cs.csrf, cs.lang, cs.created_at, cs.seen_at, cs.expires_at").
		ColumnExpr("k.id AS key_id, k.role, k.subject, k.name, k.created_by, k.created_at AS key_created_at").
		TableExpr("console_sessions AS cs").
		Join("JOIN api_keys AS k ON k.id = cs.key_id AND k.revoked_at IS NULL").
		Where("cs.token_hash = ?", hashKey(token)).
		Where("cs.expires_at > ?", now).
		Where("cs.seen_at > ?", now.Add(-idle)).
		Limit(1).Scan(ctx, &row)
	if isNoRows(err) {
		return ConsoleSession{}, clearing.Errorf(clearing.NotFound, "session_not_found", "session", "signed out or expired")
	}
	if err != nil {
		return ConsoleSession{}, fmt.Errorf("load console session: %w", err)
	}
	if now.Sub(row.SeenAt) >= seenGranularity {
		if _, err := s.conn(ctx).NewUpdate().Model((*consoleSessionRow)(nil)).Set("seen_at = ?", now).
			Where("token_hash = ?", row.TokenHash).Exec(ctx); err != nil {
			return ConsoleSession{}, fmt.Errorf("touch console session: %w", err)
		}
		row.SeenAt = now
	}
	key := apiKeyRow{ID: row.KeyID, Role: row.Role, Subject: row.Subject, Name: row.Name, CreatedBy: row.CreatedBy, CreatedAt: row.KeyCreatedAt}.domain()
	return ConsoleSession{Key: key, CSRF: row.CSRF, Lang: row.Lang, CreatedAt: row.CreatedAt.UTC(), SeenAt: row.SeenAt.UTC(), ExpiresAt: row.ExpiresAt.UTC()}, nil
}

// SetConsoleSessionLanguage keeps the language chosen in the session of
// token; an unknown token changes nothing.
func (s *Store) SetConsoleSessionLanguage(ctx context.Context, token, lang string) error {
	if _, err := s.conn(ctx).NewUpdate().Model((*consoleSessionRow)(nil)).Set("lang = ?", lang).
		Where("token_hash = ?", hashKey(token)).Exec(ctx); err != nil {
		return fmt.Errorf("set console session language: %w", err)
	}
	return nil
}

// EndConsoleSession signs token out; an unknown token is not an error.
func (s *Store) EndConsoleSession(ctx context.Context, token string) error {
	if _, err := s.conn(ctx).NewDelete().Model((*consoleSessionRow)(nil)).Where("token_hash = ?", hashKey(token)).Exec(ctx); err != nil {
		return fmt.Errorf("end console session: %w", err)
	}
	return nil
}

// RandomToken is 256 random bits, URL-safe.
func RandomToken() (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw[:]), nil
}

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/messages/signing/vault"
)

// signers are the keys crossclear signs with, one per purpose.
type signers struct {
	Files       signing.Signer // files in banks' mailboxes
	Checkpoints signing.Signer // the regulator log's checkpoints (ed25519)
	Dev         bool           // local key files, not Vault
	vault       *vaultapi.Client
}

// Describe says what signs, for the start banner.
func (s signers) Describe() string {
	if s.Dev {
		return fmt.Sprintf("DEVELOPMENT key files (%s, %s) — not for production; set signer = \"vault\"", s.Files.KeyName(), s.Checkpoints.KeyName())
	}
	return fmt.Sprintf("Vault transit at %s (keys %s, %s)", s.vault.Address(), s.Files.KeyName(), s.Checkpoints.KeyName())
}

// devSignerWarning warns about the development signer once per process,
// however many commands or servers open it.
var devSignerWarning sync.Once

// openSigners opens the configured signers. With signer = "vault" it does
// not need Vault to be up: signing fails until it is (files then wait in
// the outbox), and an AppRole login is retried in the background until
// ctx ends.
func openSigners(ctx context.Context, cfg Config, getenv func(string) string, log *slog.Logger) (signers, error) {
	if cfg.Signer == "dev" {
		keyFile, err := devKeyFile(cfg)
		if err != nil {
			return signers{}, err
		}
		files, err := signing.OpenDevSigner(keyFile, "crossclear")
		if err != nil {
			return signers{}, err
		}
		cp, err := signing.OpenDevSigner(devCheckpointKeyFile(keyFile), "crossclear-checkpoints")
		if err != nil {
			return signers{}, err
		}
		devSignerWarning.Do(func() {
			log.Warn("DEVELOPMENT SIGNER: outbound files and checkpoints are signed with local key files, not Vault; their signatures name dev-… keys. Never use this in production (set signer = \"vault\").",
				"key_file", keyFile)
		})
		return signers{Files: files, Checkpoints: cp, Dev: true}, nil
	}
	client, err := vaultClient(ctx, cfg, getenv, log)
	if err != nil {
		return signers{}, err
	}
	files, err := vault.New(client, vault.Config{Mount: cfg.VaultTransitMount, Key: cfg.VaultKeyFiles})
	if err != nil {
		return signers{}, err
	}
	cp, err := vault.New(client, vault.Config{Mount: cfg.VaultTransitMount, Key: cfg.VaultKeyCheckpoints})
	if err != nil {
		return signers{}, err
	}
	return signers{Files: files, Checkpoints: cp, vault: client}, nil
}

// devKeyFile is where the development key lives: as configured, else
// beside the SQLite database, else (PostgreSQL) in the user's config
// directory under a name of its own per database URL — without its
// password — so that two databases of one user never share a key.
func devKeyFile(cfg Config) (string, error) {
	if cfg.DevKeyFile != "" {
		return cfg.DevKeyFile, nil
	}
	if !strings.HasPrefix(cfg.Database, "postgres://") && !strings.HasPrefix(cfg.Database, "postgresql://") {
		return filepath.Join(filepath.Dir(cfg.Database), "crossclear-dev.key"), nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no place for the development key (set dev_key_file): %w", err)
	}
	dir = filepath.Join(dir, "crossclear")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("development key directory: %w", err)
	}
	sum := sha256.Sum256([]byte(store.Redact(cfg.Database)))
	return filepath.Join(dir, "crossclear-dev-"+hex.EncodeToString(sum[:4])+".key"), nil
}

// devCheckpointKeyFile sits beside the files key: crossclear-dev.key →
// crossclear-dev-checkpoints.key.
func devCheckpointKeyFile(filesKey string) string {
	ext := filepath.Ext(filesKey)
	return strings.TrimSuffix(filesKey, ext) + "-checkpoints" + ext
}

// vaultClient builds an authenticated client: a token file, VAULT_TOKEN,
// or an AppRole login (retried in the background while Vault is down).
func vaultClient(ctx context.Context, cfg Config, getenv func(string) string, log *slog.Logger) (*vaultapi.Client, error) {
	vc := vaultapi.DefaultConfig()
	if vc.Error != nil {
		return nil, fmt.Errorf("vault client: %w", vc.Error)
	}
	addr := cfg.VaultAddr
	if addr == "" {
		addr = getenv("VAULT_ADDR")
	}
	if addr == "" {
		return nil, usagef("", "signer = vault needs vault_addr (or VAULT_ADDR)")
	}
	vc.Address = addr
	vc.MaxRetries = 1
	vc.Timeout = 10 * time.Second
	client, err := vaultapi.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	client.ClearToken() // never pick up a token from the environment by accident
	switch {
	case cfg.VaultRoleID != "":
		if cfg.VaultSecretIDFile == "" {
			return nil, usagef("", "vault_approle_role_id needs vault_approle_secret_id_file")
		}
		go loginUntilDone(ctx, client, cfg, log)
	case cfg.VaultTokenFile != "":
		b, err := os.ReadFile(cfg.VaultTokenFile)
		if err != nil {
			return nil, fmt.Errorf("vault_token_file: %w", err)
		}
		client.SetToken(strings.TrimSpace(string(b)))
	case getenv("VAULT_TOKEN") != "":
		client.SetToken(getenv("VAULT_TOKEN"))
	default:
		return nil, usagef("", "signer = vault needs credentials: vault_token_file, VAULT_TOKEN, or vault_approle_role_id with vault_approle_secret_id_file")
	}
	return client, nil
}

// loginUntilDone logs in with AppRole, retrying with backoff while Vault
// is unreachable, and logs in again whenever the renewed token expires.
func loginUntilDone(ctx context.Context, client *vaultapi.Client, cfg Config, log *slog.Logger) {
	wait := time.Second
	for ctx.Err() == nil {
		loginCtx, cancel := context.WithCancel(ctx)
		done, err := vault.LoginAppRoleWatch(loginCtx, client, cfg.VaultRoleID, cfg.VaultSecretIDFile)
		if err == nil {
			log.Info("logged in to Vault with AppRole")
			wait = time.Second
			select {
			case <-done: // the token can no longer be renewed: log in again
			case <-ctx.Done():
			}
			cancel()
			continue
		}
		cancel()
		if !errors.Is(err, context.Canceled) {
			log.Warn("Vault AppRole login failed; retrying (files wait unsigned in the outbox)", "err", err, "retry_in", wait)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(wait*2, time.Minute)
	}
}

// Package vault signs with keys held in HashiCorp Vault's transit engine:
// the private keys never leave Vault; crossclear sends the bytes (base64)
// and gets back "vault:vN:<signature>".
package vault

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"

	"github.com/crossclear/crossclear/messages/signing"
)

// Config names the transit mount and key.
type Config struct {
	Mount string // transit mount path, default "transit"
	Key   string // key name, e.g. "crossclear-bank-files"
}

// Signer is a signing.Signer backed by one transit key.
type Signer struct {
	client *vaultapi.Client
	mount  string
	key    string
}

var _ signing.Signer = (*Signer)(nil)

// New returns a signer for cfg.Key using client (already authenticated).
func New(client *vaultapi.Client, cfg Config) (*Signer, error) {
	if cfg.Key == "" {
		return nil, errors.New("vault signer: a key name is required")
	}
	if strings.HasPrefix(cfg.Key, "dev-") {
		return nil, fmt.Errorf("vault signer: key names starting with dev- are reserved for the development signer, got %q", cfg.Key)
	}
	if cfg.Mount == "" {
		cfg.Mount = "transit"
	}
	return &Signer{client: client, mount: strings.Trim(cfg.Mount, "/"), key: cfg.Key}, nil
}

// KeyName is the transit key's name.
func (s *Signer) KeyName() string { return s.key }

// CreateKey creates the transit key if it does not exist (ed25519 or
// ecdsa-p256); an operator's setup step and a test's.
func (s *Signer) CreateKey(ctx context.Context, algorithm string) error {
	if algorithm != signing.Ed25519 && algorithm != signing.ECDSAP256 {
		return fmt.Errorf("vault signer: algorithm must be %s or %s, got %q", signing.Ed25519, signing.ECDSAP256, algorithm)
	}
	_, err := s.client.Logical().WriteWithContext(ctx, s.mount+"/keys/"+s.key, map[string]any{"type": algorithm})
	if err != nil {
		return fmt.Errorf("create transit key %s: %w", s.key, err)
	}
	return nil
}

// Rotate adds a new key version; new signatures use it, old ones still
// verify with the published keys.
func (s *Signer) Rotate(ctx context.Context) error {
	if _, err := s.client.Logical().WriteWithContext(ctx, s.mount+"/keys/"+s.key+"/rotate", nil); err != nil {
		return fmt.Errorf("rotate transit key %s: %w", s.key, err)
	}
	return nil
}

// Sign signs every input in one batch call.
func (s *Signer) Sign(ctx context.Context, inputs ...[]byte) ([]signing.Signature, error) {
	if len(inputs) == 0 {
		return nil, nil
	}
	algorithm, err := s.algorithm(ctx)
	if err != nil {
		return nil, err
	}
	batch := make([]map[string]any, len(inputs))
	for i, in := range inputs {
		batch[i] = map[string]any{"input": base64.StdEncoding.EncodeToString(in)}
	}
	body := map[string]any{"batch_input": batch}
	path := s.mount + "/sign/" + s.key
	if algorithm == signing.ECDSAP256 {
		path += "/sha2-256" // Vault hashes; we verify with ecdsa.VerifyASN1 over SHA-256
		body["marshaling_algorithm"] = "asn1"
	}
	secret, err := s.client.Logical().WriteWithContext(ctx, path, body)
	if err != nil {
		return nil, fmt.Errorf("vault sign with %s: %w", s.key, err)
	}
	if secret == nil {
		return nil, fmt.Errorf("vault sign with %s: empty response", s.key)
	}
	results, ok := secret.Data["batch_results"].([]any)
	if !ok || len(results) != len(inputs) {
		return nil, fmt.Errorf("vault sign with %s: want %d batch results, got %v", s.key, len(inputs), secret.Data["batch_results"])
	}
	out := make([]signing.Signature, len(inputs))
	for i, r := range results {
		m, _ := r.(map[string]any)
		if e, _ := m["error"].(string); e != "" {
			return nil, fmt.Errorf("vault sign with %s, input %d: %s", s.key, i, e)
		}
		sig, _ := m["signature"].(string)
		version, value, err := parseVaultSignature(sig)
		if err != nil {
			return nil, fmt.Errorf("vault sign with %s: %w", s.key, err)
		}
		out[i] = signing.Signature{Key: s.key, Version: version, Algorithm: algorithm, Value: value}
	}
	return out, nil
}

// parseVaultSignature splits "vault:v3:BASE64".
func parseVaultSignature(s string) (int, []byte, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || parts[0] != "vault" || !strings.HasPrefix(parts[1], "v") {
		return 0, nil, fmt.Errorf("unexpected signature %q", s)
	}
	v, err := strconv.Atoi(parts[1][1:])
	if err != nil || v < 1 {
		return 0, nil, fmt.Errorf("unexpected key version in %q", s)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil {
		return 0, nil, fmt.Errorf("signature %q: %w", s, err)
	}
	return v, raw, nil
}

// PublicKeys reads every version's public key from Vault.
func (s *Signer) PublicKeys(ctx context.Context) ([]signing.PublicKey, error) {
	info, err := s.readKey(ctx)
	if err != nil {
		return nil, err
	}
	var out []signing.PublicKey
	for v, raw := range info.Keys {
		version, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("transit key %s: version %q", s.key, v)
		}
		pemText, err := publicPEM(info.Type, raw.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("transit key %s v%d: %w", s.key, version, err)
		}
		created, _ := time.Parse(time.RFC3339Nano, raw.CreationTime)
		out = append(out, signing.PublicKey{Key: s.key, Version: version, Algorithm: info.Type, PEM: pemText, CreatedAt: created.UTC()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

type keyInfo struct {
	Type string `json:"type"`
	Keys map[string]struct {
		PublicKey    string `json:"public_key"`
		CreationTime string `json:"creation_time"`
	} `json:"keys"`
}

func (s *Signer) readKey(ctx context.Context) (keyInfo, error) {
	secret, err := s.client.Logical().ReadWithContext(ctx, s.mount+"/keys/"+s.key)
	if err != nil {
		return keyInfo{}, fmt.Errorf("read transit key %s: %w", s.key, err)
	}
	if secret == nil {
		return keyInfo{}, fmt.Errorf("transit key %s does not exist (create it: see deploy/vault)", s.key)
	}
	b, err := json.Marshal(secret.Data)
	if err != nil {
		return keyInfo{}, err
	}
	var info keyInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return keyInfo{}, fmt.Errorf("transit key %s: %w", s.key, err)
	}
	if info.Type != signing.Ed25519 && info.Type != signing.ECDSAP256 {
		return keyInfo{}, fmt.Errorf("transit key %s is %s; crossclear signs with %s or %s", s.key, info.Type, signing.Ed25519, signing.ECDSAP256)
	}
	return info, nil
}

func (s *Signer) algorithm(ctx context.Context) (string, error) {
	info, err := s.readKey(ctx)
	return info.Type, err
}

// publicPEM turns Vault's public key (base64 raw for ed25519, PEM for
// ecdsa) into PKIX PEM.
func publicPEM(algorithm, raw string) (string, error) {
	if algorithm == signing.ECDSAP256 {
		return raw, nil
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(b) != 32 {
		return "", fmt.Errorf("ed25519 public key %q", raw)
	}
	return signing.EncodePublicKeyPEM(ed25519.PublicKey(b))
}

// LoginAppRole authenticates client with AppRole (role id, secret id read
// from a file) and keeps the token renewed until ctx ends.
func LoginAppRole(ctx context.Context, client *vaultapi.Client, roleID, secretIDFile string) error {
	_, err := LoginAppRoleWatch(ctx, client, roleID, secretIDFile)
	return err
}

// LoginAppRoleWatch is LoginAppRole that also returns a channel closed
// when the token can no longer be renewed (or ctx ends): the caller logs
// in again then.
func LoginAppRoleWatch(ctx context.Context, client *vaultapi.Client, roleID, secretIDFile string) (<-chan struct{}, error) {
	auth, err := approle.NewAppRoleAuth(roleID, &approle.SecretID{FromFile: secretIDFile})
	if err != nil {
		return nil, fmt.Errorf("vault approle: %w", err)
	}
	secret, err := client.Auth().Login(ctx, auth)
	if err != nil {
		return nil, fmt.Errorf("vault approle login: %w", err)
	}
	if secret == nil || secret.Auth == nil {
		return nil, errors.New("vault approle login: no token returned")
	}
	done := make(chan struct{})
	if !secret.Auth.Renewable {
		go func() {
			defer close(done)
			if secret.Auth.LeaseDuration <= 0 { // a token that never expires
				<-ctx.Done()
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(secret.Auth.LeaseDuration) * time.Second):
			}
		}()
		return done, nil
	}
	watcher, err := client.NewLifetimeWatcher(&vaultapi.LifetimeWatcherInput{Secret: secret})
	if err != nil {
		return nil, fmt.Errorf("vault token renewal: %w", err)
	}
	go watcher.Start()
	go func() {
		defer close(done)
		defer watcher.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-watcher.DoneCh():
				return
			case <-watcher.RenewCh():
			}
		}
	}()
	return done, nil
}

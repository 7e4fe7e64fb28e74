package signing

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"crypto/x509"
)

// DevSigner signs with a local ed25519 key file: the embedded default for a
// laptop, never for production. Its key name always starts with "dev-", so
// every signature it makes says so.
type DevSigner struct {
	name    string
	key     ed25519.PrivateKey
	created time.Time
}

// OpenDevSigner loads the key at path, creating it (mode 0600) when absent.
func OpenDevSigner(path, name string) (*DevSigner, error) {
	if !strings.HasPrefix(name, "dev-") {
		name = "dev-" + name
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate development key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, fmt.Errorf("encode development key: %w", err)
		}
		b = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("write development key %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read development key %s: %w", path, err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("development key %s: not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("development key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("development key %s: want ed25519, got %T", path, k)
	}
	created := time.Now().UTC()
	if st, err := os.Stat(path); err == nil {
		created = st.ModTime().UTC()
	}
	return &DevSigner{name: name, key: priv, created: created}, nil
}

// KeyName is "dev-…".
func (d *DevSigner) KeyName() string { return d.name }

// Sign signs each input with the one development key (version 1).
func (d *DevSigner) Sign(_ context.Context, inputs ...[]byte) ([]Signature, error) {
	out := make([]Signature, len(inputs))
	for i, in := range inputs {
		out[i] = Signature{Key: d.name, Version: 1, Algorithm: Ed25519, Value: ed25519.Sign(d.key, in)}
	}
	return out, nil
}

// PublicKeys publishes the development key.
func (d *DevSigner) PublicKeys(context.Context) ([]PublicKey, error) {
	p, err := EncodePublicKeyPEM(d.key.Public())
	if err != nil {
		return nil, err
	}
	return []PublicKey{{Key: d.name, Version: 1, Algorithm: Ed25519, PEM: p, CreatedAt: d.created}}, nil
}

// Package signing signs what crossclear emits and verifies what partners
// send: detached signatures over a file's exact bytes, naming the key and
// its version so that anyone holding the published public keys can verify
// offline. Keys live in HashiCorp Vault's transit engine (package
// signing/vault); a local ed25519 key file (DevSigner) stands in on a laptop
// and names itself "dev-…" so that nobody mistakes it for production.
package signing

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// Algorithms.
const (
	Ed25519   = "ed25519"
	ECDSAP256 = "ecdsa-p256" // ASN.1 signature over SHA-256 of the data
)

// Signature is a detached signature over one file's exact bytes.
type Signature struct {
	Key       string `json:"key"`       // key name, e.g. "crossclear-bank-files" or "dev-crossclear"
	Version   int    `json:"version"`   // key version, 1 and up; rotation adds one
	Algorithm string `json:"algorithm"` // Ed25519 or ECDSAP256
	Value     []byte `json:"signature"` // raw signature bytes (base64 in JSON)
}

// PublicKey is one version of a signing key, as published to partners.
type PublicKey struct {
	Key       string    `json:"key"`
	Version   int       `json:"version"`
	Algorithm string    `json:"algorithm"`
	PEM       string    `json:"public_key_pem"` // PKIX "PUBLIC KEY"
	CreatedAt time.Time `json:"created_at"`
}

// Signer signs with one named key. Implementations must be safe for
// concurrent use.
type Signer interface {
	// Sign signs each input (many files produced at once go in one call).
	Sign(ctx context.Context, inputs ...[]byte) ([]Signature, error)
	// PublicKeys returns the public key of every version, oldest first.
	PublicKeys(ctx context.Context) ([]PublicKey, error)
	// KeyName is the key's name.
	KeyName() string
}

// Errors of verification.
var (
	ErrBadSignature = errors.New("signature does not verify")
	ErrUnknownKey   = errors.New("no published public key for this signature")
)

// Verify checks sig over data against the published keys.
func Verify(keys []PublicKey, data []byte, sig Signature) error {
	for _, k := range keys {
		if k.Key != sig.Key || k.Version != sig.Version {
			continue
		}
		if k.Algorithm != sig.Algorithm {
			return fmt.Errorf("%w: key %s v%d is %s, signature says %s", ErrBadSignature, k.Key, k.Version, k.Algorithm, sig.Algorithm)
		}
		pub, err := parsePublicKey(k)
		if err != nil {
			return err
		}
		if !verifyWith(pub, data, sig.Value) {
			return fmt.Errorf("%w: key %s v%d", ErrBadSignature, k.Key, k.Version)
		}
		return nil
	}
	return fmt.Errorf("%w: %s v%d", ErrUnknownKey, sig.Key, sig.Version)
}

// Check says whether k is a usable public key: PEM that parses and agrees
// with its algorithm, a name and a version.
func (k PublicKey) Check() error {
	if k.Key == "" || k.Version < 1 {
		return fmt.Errorf("public key: a key name and a version ≥ 1 are required")
	}
	if k.Algorithm != Ed25519 && k.Algorithm != ECDSAP256 {
		return fmt.Errorf("public key %s v%d: algorithm must be %s or %s, got %q", k.Key, k.Version, Ed25519, ECDSAP256, k.Algorithm)
	}
	_, err := parsePublicKey(k)
	return err
}

func parsePublicKey(k PublicKey) (any, error) {
	block, _ := pem.Decode([]byte(k.PEM))
	if block == nil {
		return nil, fmt.Errorf("public key %s v%d: not PEM", k.Key, k.Version)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key %s v%d: %w", k.Key, k.Version, err)
	}
	switch pub.(type) {
	case ed25519.PublicKey:
		if k.Algorithm != Ed25519 {
			return nil, fmt.Errorf("public key %s v%d is ed25519, published as %s", k.Key, k.Version, k.Algorithm)
		}
	case *ecdsa.PublicKey:
		if k.Algorithm != ECDSAP256 {
			return nil, fmt.Errorf("public key %s v%d is ecdsa, published as %s", k.Key, k.Version, k.Algorithm)
		}
	default:
		return nil, fmt.Errorf("public key %s v%d: unsupported type %T", k.Key, k.Version, pub)
	}
	return pub, nil
}

func verifyWith(pub any, data, sig []byte) bool {
	switch p := pub.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(p, data, sig)
	case *ecdsa.PublicKey:
		sum := sha256.Sum256(data)
		return ecdsa.VerifyASN1(p, sum[:], sig)
	}
	return false
}

// EncodePublicKeyPEM renders a public key as PKIX PEM.
func EncodePublicKeyPEM(pub any) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// Marshal renders a signature as the JSON written beside a file (FILE.sig).
func (s Signature) Marshal() []byte {
	b, _ := json.MarshalIndent(s, "", "  ") // a struct of strings, ints and bytes cannot fail
	return append(b, '\n')
}

// ParseSignature reads a .sig file.
func ParseSignature(b []byte) (Signature, error) {
	var s Signature
	if err := json.Unmarshal(b, &s); err != nil {
		return Signature{}, fmt.Errorf("signature file: %w", err)
	}
	if s.Key == "" || s.Version < 1 || len(s.Value) == 0 {
		return Signature{}, fmt.Errorf("signature file: key, version and signature are required")
	}
	return s, nil
}

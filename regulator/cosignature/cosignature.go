// Package cosignature signs and verifies witness cosignatures of
// checkpoints per c2sp.org/tlog-cosignature, the timestamped Ed25519 kind
// ("cosignature/v1", signature type 0x04): a signed-note signature whose
// bytes are the 4-byte key id, the signing time (big-endian uint64 POSIX
// seconds) and the Ed25519 signature over
//
//	cosignature/v1
//	time <seconds>
//	<the checkpoint body>
//
// Its key id is SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4], not the
// plain Ed25519 note key id, so golang.org/x/mod/sumdb/note cannot read a
// cosigner's verifier key: Verifier does, and plugs into note.Open beside
// the log's own key.
package cosignature

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"

	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/regulator/checkpoint"
)

// Alg is the signed-note signature type of a cosignature/v1 key.
const Alg = 0x04

// sigSize is a cosignature's length after the key id: timestamp and
// Ed25519 signature.
const sigSize = 8 + ed25519.SignatureSize

// Message is what a cosigner signs at POSIX time t over a checkpoint body.
func Message(t uint64, body []byte) []byte {
	return fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", t, body)
}

// KeyHash is the key id of a cosignature/v1 key.
func KeyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{Alg})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// Verifier checks one cosigner's cosignatures; it is a note.Verifier.
type Verifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

var _ note.Verifier = (*Verifier)(nil)

// NewVerifier reads a cosigner's verifier key, "name+hash+base64(0x04 ‖
// public key)" (c2sp.org/signed-note vkey).
func NewVerifier(vkey string) (*Verifier, error) {
	name, rest, _ := strings.Cut(vkey, "+")
	hash16, key64, _ := strings.Cut(rest, "+")
	hash, err1 := strconv.ParseUint(hash16, 16, 32)
	key, err2 := base64.StdEncoding.DecodeString(key64)
	if !validName(name) || len(hash16) != 8 || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("witness key %q: want name+hash+base64 (a signed-note verifier key)", vkey)
	}
	if len(key) != 1+ed25519.PublicKeySize || key[0] != Alg {
		return nil, fmt.Errorf("witness key %q: not a cosignature/v1 key (type 0x04 and a 32-byte Ed25519 key)", vkey)
	}
	v := &Verifier{name: name, key: ed25519.PublicKey(key[1:])}
	v.hash = KeyHash(name, v.key)
	if uint32(hash) != v.hash {
		return nil, fmt.Errorf("witness key %q: key id %08x does not match the key (want %08x)", vkey, hash, v.hash)
	}
	return v, nil
}

// NewVerifierFromKey is the verifier of pub under name.
func NewVerifierFromKey(name string, pub ed25519.PublicKey) (*Verifier, error) {
	if !validName(name) {
		return nil, fmt.Errorf("witness name %q: want a non-empty name without spaces or +", name)
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("witness key: want %d bytes of Ed25519 public key, got %d", ed25519.PublicKeySize, len(pub))
	}
	return &Verifier{name: name, hash: KeyHash(name, pub), key: pub}, nil
}

// Name is the cosigner's name.
func (v *Verifier) Name() string { return v.name }

// KeyHash is the cosigner's key id.
func (v *Verifier) KeyHash() uint32 { return v.hash }

// Verify reports whether sig (timestamp ‖ signature) cosigns msg.
func (v *Verifier) Verify(msg, sig []byte) bool {
	if len(sig) != sigSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	return t <= math.MaxInt64 && ed25519.Verify(v.key, Message(t, msg), sig[8:])
}

// Key is the cosigner's Ed25519 public key.
func (v *Verifier) Key() ed25519.PublicKey { return v.key }

// String is the verifier key, the form NewVerifier reads.
func (v *Verifier) String() string {
	return fmt.Sprintf("%s+%08x+%s", v.name, v.hash, base64.StdEncoding.EncodeToString(append([]byte{Alg}, v.key...)))
}

// Timestamp is when a cosignature says it was made. It does not verify
// the signature: take it from a signature note.Open returned.
func Timestamp(sig note.Signature) (time.Time, error) {
	b, err := base64.StdEncoding.DecodeString(sig.Base64)
	if err != nil || len(b) != 4+sigSize {
		return time.Time{}, fmt.Errorf("signature by %s is not a cosignature/v1", sig.Name)
	}
	t := binary.BigEndian.Uint64(b[4:])
	if t > math.MaxInt64 {
		return time.Time{}, fmt.Errorf("cosignature by %s: timestamp out of range", sig.Name)
	}
	return time.Unix(int64(t), 0).UTC(), nil
}

// Signer makes cosignatures with an Ed25519 key behind crossclear's
// signing.Signer (a key file, or a Vault transit key); it is a note.Signer.
type Signer struct {
	ctx     context.Context
	s       signing.Signer
	version int
	v       *Verifier
	now     func() time.Time
}

var _ note.Signer = (*Signer)(nil)

// NewSigner cosigns as name with the newest version of s's key, which must
// be Ed25519. now is the clock of the timestamps (time.Now when nil).
func NewSigner(ctx context.Context, name string, s signing.Signer, now func() time.Time) (*Signer, error) {
	keys, err := s.PublicKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("witness key %s: %w", s.KeyName(), err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("witness key %s has no versions", s.KeyName())
	}
	latest := keys[len(keys)-1]
	pub, err := checkpoint.Ed25519Key(latest)
	if err != nil {
		return nil, err
	}
	v, err := NewVerifierFromKey(name, pub)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{ctx: ctx, s: s, version: latest.Version, v: v, now: now}, nil
}

// Name is the cosigner's name.
func (c *Signer) Name() string { return c.v.name }

// KeyHash is the cosigner's key id.
func (c *Signer) KeyHash() uint32 { return c.v.hash }

// Verifier is the verifier of this signer's cosignatures.
func (c *Signer) Verifier() *Verifier { return c.v }

// Sign cosigns a checkpoint body now. It refuses anything that is not a
// checkpoint, so the key never signs what a reader could take for one.
func (c *Signer) Sign(msg []byte) ([]byte, error) {
	if _, err := checkpoint.Parse(msg); err != nil {
		return nil, fmt.Errorf("cosign: %w", err)
	}
	t := c.now().Unix()
	if t < 0 {
		return nil, errors.New("cosign: the clock is before 1970")
	}
	sigs, err := c.s.Sign(c.ctx, Message(uint64(t), msg))
	if err != nil {
		return nil, fmt.Errorf("cosign with %s: %w", c.s.KeyName(), err)
	}
	if len(sigs) != 1 || sigs[0].Version != c.version || sigs[0].Algorithm != signing.Ed25519 {
		return nil, fmt.Errorf("cosign with %s: expected one ed25519 signature by version %d (was the key rotated? retry)", c.s.KeyName(), c.version)
	}
	out := binary.BigEndian.AppendUint64(make([]byte, 0, sigSize), uint64(t))
	out = append(out, sigs[0].Value...)
	if !c.v.Verify(msg, out) {
		return nil, fmt.Errorf("cosign with %s: the signature does not verify with version %d", c.s.KeyName(), c.version)
	}
	return out, nil
}

// validName is a signed-note key name: not empty, no spaces, no +.
func validName(name string) bool {
	return name != "" && utf8.ValidString(name) && strings.IndexFunc(name, unicode.IsSpace) < 0 && !strings.Contains(name, "+")
}

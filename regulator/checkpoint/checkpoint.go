// Package checkpoint writes, signs and opens the regulator log's
// checkpoints in the C2SP formats: a tlog-checkpoint body (origin, tree
// size, base64 root hash, one per line) wrapped in a signed note
// (golang.org/x/mod/sumdb/note), so any note or sumdb tooling can check
// them. The signing key is an ed25519 key behind crossclear's
// signing.Signer (a Vault transit key, or the development key file): Signer
// adapts it to note.Signer, and a regulator verifies with the verifier keys
// of VerifierKeys alone. The note's key name is the log's origin, as
// c2sp.org/tlog-checkpoint asks and witnesses (litewitness) require; the
// signer's own key name only says which key signs.
package checkpoint

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/crossclear/crossclear/messages/signing"
)

// Checkpoint is what a checkpoint commits to: the log (its origin), its
// size and the root hash of its tree.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
}

// Marshal renders the checkpoint body: three lines, each ending in \n.
func (c Checkpoint) Marshal() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root))
}

// Parse reads a checkpoint body. Extension lines after the third are
// allowed by C2SP and ignored.
func Parse(text []byte) (Checkpoint, error) {
	lines := strings.SplitAfter(string(text), "\n")
	if len(lines) < 4 || !strings.HasSuffix(string(text), "\n") {
		return Checkpoint{}, errors.New("checkpoint: want origin, size and root hash on three lines")
	}
	origin := strings.TrimSuffix(lines[0], "\n")
	if origin == "" {
		return Checkpoint{}, errors.New("checkpoint: empty origin line")
	}
	sizeText := strings.TrimSuffix(lines[1], "\n")
	size, err := strconv.ParseUint(sizeText, 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != sizeText {
		return Checkpoint{}, fmt.Errorf("checkpoint: tree size %q is not a decimal number", sizeText)
	}
	root, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(lines[2], "\n"))
	if err != nil || len(root) != 32 {
		return Checkpoint{}, fmt.Errorf("checkpoint: root hash %q is not 32 bytes of base64", strings.TrimSuffix(lines[2], "\n"))
	}
	return Checkpoint{Origin: origin, Size: size, Root: root}, nil
}

// Signer is a note.Signer over one version of an ed25519 signing.Signer
// key. note.Signer has no context, so a Signer is made for one signing.
type Signer struct {
	ctx     context.Context
	s       signing.Signer
	name    string
	version int
	pub     ed25519.PublicKey
	hash    uint32
}

var _ note.Signer = (*Signer)(nil)

// NewSigner adapts s, signing with its newest key version, which must be
// ed25519 (the only algorithm of C2SP signed notes that Vault's transit
// engine has), under the note key name name: the log's origin.
func NewSigner(ctx context.Context, s signing.Signer, name string) (*Signer, error) {
	keys, err := s.PublicKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("checkpoint key %s: %w", s.KeyName(), err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("checkpoint key %s has no versions", s.KeyName())
	}
	latest := keys[len(keys)-1]
	pub, err := Ed25519Key(latest)
	if err != nil {
		return nil, err
	}
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return nil, fmt.Errorf("checkpoint key name %q: %w (a note key name has no spaces or +)", name, err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return &Signer{ctx: ctx, s: s, name: name, version: latest.Version, pub: pub, hash: v.KeyHash()}, nil
}

// Name is the key's name, as the note's signature line shows it.
func (n *Signer) Name() string { return n.name }

// KeyHash identifies the key version among the verifier keys.
func (n *Signer) KeyHash() uint32 { return n.hash }

// Sign signs msg and checks the signature before it is used: a key rotated
// since NewSigner, or a signer returning garbage, fails here rather than
// publish a checkpoint nobody can verify.
func (n *Signer) Sign(msg []byte) ([]byte, error) {
	sigs, err := n.s.Sign(n.ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint with %s: %w", n.s.KeyName(), err)
	}
	if len(sigs) != 1 {
		return nil, fmt.Errorf("sign checkpoint with %s: got %d signatures for one input", n.s.KeyName(), len(sigs))
	}
	sig := sigs[0]
	if sig.Version != n.version || sig.Algorithm != signing.Ed25519 {
		return nil, fmt.Errorf("sign checkpoint with %s: signed by %s version %d, expected ed25519 version %d (was the key rotated? retry)", n.s.KeyName(), sig.Algorithm, sig.Version, n.version)
	}
	if !ed25519.Verify(n.pub, msg, sig.Value) {
		return nil, fmt.Errorf("sign checkpoint with %s: the signature does not verify with version %d", n.s.KeyName(), n.version)
	}
	return sig.Value, nil
}

// Sign signs c with s and returns the signed note's bytes.
func Sign(c Checkpoint, s note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: string(c.Marshal())}, s)
}

// VerifierKeys are the note verifier keys ("name+hash+base64") of every
// version of s's key under the key name name (the log's origin), oldest
// first: what a regulator needs to check any checkpoint, before and after
// a rotation.
func VerifierKeys(ctx context.Context, s signing.Signer, name string) ([]string, error) {
	keys, err := s.PublicKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("checkpoint key %s: %w", s.KeyName(), err)
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		pub, err := Ed25519Key(k)
		if err != nil {
			return nil, err
		}
		vkey, err := note.NewEd25519VerifierKey(name, pub)
		if err != nil {
			return nil, fmt.Errorf("checkpoint key %s v%d named %q: %w", k.Key, k.Version, name, err)
		}
		out = append(out, vkey)
	}
	return out, nil
}

// LogVerifierKeys are the verifier keys of the log named origin: every
// version of s's key under the origin and, when s's own key name differs,
// under that name too — the name checkpoints were signed with before they
// were named after the origin — so that older checkpoints still open.
func LogVerifierKeys(ctx context.Context, s signing.Signer, origin string) ([]string, error) {
	vkeys, err := VerifierKeys(ctx, s, origin)
	if err != nil || s.KeyName() == origin {
		return vkeys, err
	}
	legacy, err := VerifierKeys(ctx, s, s.KeyName())
	if err != nil {
		return nil, err
	}
	return append(vkeys, legacy...), nil
}

// Ed25519Key is the Ed25519 public key of one published key version.
func Ed25519Key(k signing.PublicKey) (ed25519.PublicKey, error) {
	if k.Algorithm != signing.Ed25519 {
		return nil, fmt.Errorf("checkpoint key %s v%d is %s: signed notes need ed25519", k.Key, k.Version, k.Algorithm)
	}
	block, _ := pem.Decode([]byte(k.PEM))
	if block == nil {
		return nil, fmt.Errorf("checkpoint key %s v%d: public key is not PEM", k.Key, k.Version)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("checkpoint key %s v%d: %w", k.Key, k.Version, err)
	}
	ed, ok := pub.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("checkpoint key %s v%d: want an ed25519 public key, got %T", k.Key, k.Version, pub)
	}
	return ed, nil
}

// Verifiers turns verifier keys into the list note.Open takes.
func Verifiers(vkeys []string) (note.Verifiers, error) {
	if len(vkeys) == 0 {
		return nil, errors.New("no checkpoint verifier keys")
	}
	vs := make([]note.Verifier, len(vkeys))
	for i, k := range vkeys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("checkpoint verifier key %q: %w", k, err)
		}
		vs[i] = v
	}
	return note.VerifierList(vs...), nil
}

// Open checks a signed checkpoint: a signature by one of verifiers and
// the expected origin; it returns what the checkpoint commits to.
func Open(signed []byte, origin string, verifiers note.Verifiers) (Checkpoint, error) {
	n, err := note.Open(signed, verifiers)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	c, err := Parse([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != origin {
		return Checkpoint{}, fmt.Errorf("checkpoint is for the log %q, expected %q", c.Origin, origin)
	}
	return c, nil
}

// Equal reports whether two checkpoints commit to the same tree.
func (c Checkpoint) Equal(o Checkpoint) bool {
	return c.Origin == o.Origin && c.Size == o.Size && bytes.Equal(c.Root, o.Root)
}

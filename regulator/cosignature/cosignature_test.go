package cosignature_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"

	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/messages/signing/vault"
	"github.com/crossclear/crossclear/messages/signing/vault/vaulttest"
	"github.com/crossclear/crossclear/regulator/cosignature"
)

const body = "crossclear.test/regulator-log\n3\nRcCI1Nk56ZcSmIEfIn0SleqtV7uvrlXNccFx595Iwl0=\n"

// devKey is a key file the dev signer uses, and its private key as a
// third party (torchwood) takes it.
func devKey(t *testing.T) (*signing.DevSigner, ed25519.PrivateKey) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "witness.key")
	s, err := signing.OpenDevSigner(path, "witness")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	block, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return s, k.(ed25519.PrivateKey)
}

// TestInteropTorchwood: cosignatures and verifier keys are those of
// filippo.io/torchwood (litewitness's library), both ways.
func TestInteropTorchwood(t *testing.T) {
	ctx := context.Background()
	s, priv := devKey(t)
	at := time.Unix(1_790_000_000, 0)
	ours, err := cosignature.NewSigner(ctx, "witness.test/w1", s, func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := torchwood.NewCosignatureSigner("witness.test/w1", priv)
	if err != nil {
		t.Fatal(err)
	}
	if ours.Verifier().String() != theirs.Verifier().String() || ours.KeyHash() != theirs.KeyHash() {
		t.Fatalf("verifier keys differ:\nours   %s\ntheirs %s", ours.Verifier(), theirs.Verifier())
	}
	// Ours, verified by torchwood.
	signed, err := note.Sign(&note.Note{Text: body}, ours)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(signed, note.VerifierList(theirs.Verifier()))
	if err != nil {
		t.Fatalf("torchwood does not verify our cosignature: %v\n%s", err, signed)
	}
	if ts, err := torchwood.CosignatureTimestamp(n.Sigs[0]); err != nil || ts != at.Unix() {
		t.Fatalf("torchwood reads the timestamp as %d, %v", ts, err)
	}
	// Theirs, verified by ours, from the verifier key string alone.
	v, err := cosignature.NewVerifier(theirs.Verifier().String())
	if err != nil {
		t.Fatal(err)
	}
	signed, err = note.Sign(&note.Note{Text: body}, theirs)
	if err != nil {
		t.Fatal(err)
	}
	n, err = note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatalf("we do not verify torchwood's cosignature: %v\n%s", err, signed)
	}
	if ts, err := cosignature.Timestamp(n.Sigs[0]); err != nil || time.Since(ts) > time.Minute {
		t.Fatalf("timestamp %v, %v", ts, err)
	}
}

func TestVerifierRefuses(t *testing.T) {
	ctx := context.Background()
	s, _ := devKey(t)
	c, err := cosignature.NewSigner(ctx, "witness.test/w1", s, nil)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := c.Sign([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	v := c.Verifier()
	if !v.Verify([]byte(body), sig) {
		t.Fatal("own cosignature does not verify")
	}
	later := append([]byte{}, sig...)
	later[7]++ // one second later: the timestamp is signed
	if v.Verify([]byte(body), later) {
		t.Error("a cosignature verified with another timestamp")
	}
	if v.Verify([]byte(strings.Replace(body, "\n3\n", "\n4\n", 1)), sig) {
		t.Error("a cosignature verified over another checkpoint")
	}
	if _, err := c.Sign([]byte("not a checkpoint\n")); err == nil {
		t.Error("signed something that is not a checkpoint")
	}
	plain, _ := note.NewEd25519VerifierKey("witness.test/w1", v.Key())
	for _, bad := range []string{
		plain, // a log key (type 0x01), not a cosigner's
		strings.Replace(v.String(), "witness.test/w1", "witness.test/w2", 1), // key id of another name
		"witness.test/w1+zz+AA==",
		"",
	} {
		if _, err := cosignature.NewVerifier(bad); err == nil {
			t.Errorf("NewVerifier(%q) accepted", bad)
		}
	}
}

// TestVaultWitnessKey: a witness's key in Vault's transit engine cosigns,
// and verifies with its published key.
func TestVaultWitnessKey(t *testing.T) {
	ctx := context.Background()
	v := vaulttest.Start(t)
	s, err := vault.New(v.Client(t), vault.Config{Key: "mas-witness"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateKey(ctx, signing.Ed25519); err != nil {
		t.Fatal(err)
	}
	c, err := cosignature.NewSigner(ctx, "witness.test/vault", s, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: body}, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(signed, note.VerifierList(c.Verifier())); err != nil {
		t.Fatalf("a Vault cosignature does not verify: %v\n%s", err, signed)
	}
}

package vault_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/messages/signing/vault"
	"github.com/crossclear/crossclear/messages/signing/vault/vaulttest"
)

var ctx = context.Background()

func newSigner(t *testing.T, c *vaultapi.Client, key, algorithm string) *vault.Signer {
	t.Helper()
	s, err := vault.New(c, vault.Config{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateKey(ctx, algorithm); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignVerifyRotateTamper(t *testing.T) {
	srv := vaulttest.Start(t)
	c := srv.Client(t)
	for _, algorithm := range []string{signing.Ed25519, signing.ECDSAP256} {
		t.Run(algorithm, func(t *testing.T) {
			s := newSigner(t, c, "bank-files-"+algorithm, algorithm)
			files := [][]byte{[]byte("<Document>one</Document>"), []byte("<Document>two</Document>")}
			sigs, err := s.Sign(ctx, files...)
			if err != nil {
				t.Fatal(err)
			}
			if len(sigs) != 2 || sigs[0].Version != 1 || sigs[0].Algorithm != algorithm || sigs[0].Key != s.KeyName() {
				t.Fatalf("signatures %+v", sigs)
			}
			if err := s.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
			after, err := s.Sign(ctx, files[0])
			if err != nil || after[0].Version != 2 {
				t.Fatalf("after rotation: %+v %v", after, err)
			}
			keys, err := s.PublicKeys(ctx)
			if err != nil || len(keys) != 2 || keys[0].Version != 1 || keys[1].Version != 2 {
				t.Fatalf("published keys %+v %v", keys, err)
			}
			// offline: only the published keys are needed, old signatures still verify
			for i, f := range files {
				if err := signing.Verify(keys, f, sigs[i]); err != nil {
					t.Fatalf("v1 signature of file %d: %v", i, err)
				}
			}
			if err := signing.Verify(keys, files[0], after[0]); err != nil {
				t.Fatalf("v2 signature: %v", err)
			}
			tampered := append([]byte(nil), files[0]...)
			tampered[3] ^= 1
			if err := signing.Verify(keys, tampered, sigs[0]); !errors.Is(err, signing.ErrBadSignature) {
				t.Fatalf("a one-byte change verified: %v", err)
			}
			if err := signing.Verify(keys, files[1], sigs[0]); !errors.Is(err, signing.ErrBadSignature) {
				t.Fatalf("a signature of another file verified: %v", err)
			}
		})
	}
}

func TestWrongKeyIsRefused(t *testing.T) {
	srv := vaulttest.Start(t)
	c := srv.Client(t)
	a := newSigner(t, c, "key-a", signing.Ed25519)
	b := newSigner(t, c, "key-b", signing.Ed25519)
	file := []byte("payload")
	sig, err := a.Sign(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	bKeys, _ := b.PublicKeys(ctx)
	if err := signing.Verify(bKeys, file, sig[0]); !errors.Is(err, signing.ErrUnknownKey) {
		t.Fatalf("verified against another key's published keys: %v", err)
	}
	// a signature relabelled as key-b's does not verify with key-b's public key
	forged := sig[0]
	forged.Key = "key-b"
	if err := signing.Verify(bKeys, file, forged); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("relabelled signature verified: %v", err)
	}
}

func TestAppRoleLogin(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	newSigner(t, root, "crossclear-bank-files", signing.Ed25519)
	if err := root.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &vaultapi.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	policy, err := os.ReadFile("../../../deploy/vault/crossclear-signer.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().PutPolicyWithContext(ctx, "crossclear-signer", string(policy)); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().WriteWithContext(ctx, "auth/approle/role/crossclear", map[string]any{"token_policies": "crossclear-signer", "token_ttl": "1h", "token_max_ttl": "4h"}); err != nil {
		t.Fatal(err)
	}
	role, err := root.Logical().ReadWithContext(ctx, "auth/approle/role/crossclear/role-id")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := root.Logical().WriteWithContext(ctx, "auth/approle/role/crossclear/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(t.TempDir(), "secret-id")
	if err := os.WriteFile(secretFile, []byte(secret.Data["secret_id"].(string)), 0o600); err != nil {
		t.Fatal(err)
	}

	c := srv.Client(t)
	c.ClearToken()
	if err := vault.LoginAppRole(ctx, c, role.Data["role_id"].(string), secretFile); err != nil {
		t.Fatal(err)
	}
	s, err := vault.New(c, vault.Config{Key: "crossclear-bank-files"})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.Sign(ctx, []byte("file"))
	if err != nil {
		t.Fatalf("sign with the AppRole token: %v", err)
	}
	keys, err := s.PublicKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := signing.Verify(keys, []byte("file"), sig[0]); err != nil {
		t.Fatal(err)
	}
	// the policy grants sign and read, nothing else: no rotation, no other keys
	if err := s.Rotate(ctx); err == nil {
		t.Fatal("the signer policy allowed a rotation")
	}
	other, _ := vault.New(c, vault.Config{Key: "someone-elses-key"})
	if _, err := other.Sign(ctx, []byte("x")); err == nil {
		t.Fatal("the signer policy allowed signing with another key")
	}
}

func TestDevNamesAreReserved(t *testing.T) {
	if _, err := vault.New(nil, vault.Config{Key: "dev-bank-files"}); err == nil {
		t.Fatal("a Vault key named dev-… was accepted")
	}
}

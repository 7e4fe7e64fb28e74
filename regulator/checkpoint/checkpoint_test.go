package checkpoint_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uptrace/bun"
	"golang.org/x/mod/sumdb/note"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/messages/signing/vault"
	"github.com/crossclear/crossclear/messages/signing/vault/vaulttest"
	"github.com/crossclear/crossclear/regulator/checkpoint"
	"github.com/crossclear/crossclear/regulator/internal/dbx"
	"github.com/crossclear/crossclear/regulator/merklelog"
)

const origin = "crossclear.test/regulator-log"

func devSigner(t *testing.T) *signing.DevSigner {
	t.Helper()
	s, err := signing.OpenDevSigner(filepath.Join(t.TempDir(), "cp.key"), "checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifiersOf(t *testing.T, s signing.Signer) note.Verifiers {
	t.Helper()
	vkeys, err := checkpoint.LogVerifierKeys(context.Background(), s, origin)
	if err != nil {
		t.Fatal(err)
	}
	v, err := checkpoint.Verifiers(vkeys)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMarshalParse(t *testing.T) {
	root := bytes.Repeat([]byte{0xab}, 32)
	c := checkpoint.Checkpoint{Origin: origin, Size: 42, Root: root}
	text := c.Marshal()
	want := "crossclear.test/regulator-log\n42\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n"
	if string(text) != want {
		t.Fatalf("body = %q, want %q", text, want)
	}
	got, err := checkpoint.Parse(append(text, "extension line\n"...))
	if err != nil || !got.Equal(c) {
		t.Fatalf("parse = %+v, %v", got, err)
	}
	for _, bad := range []string{
		"",
		"origin\n42\n",
		"origin\n042\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
		"origin\n-1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
		"origin\n1\nq6urq6ur\n",
		"\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
		"origin\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=",
	} {
		if _, err := checkpoint.Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// TestSignOpen: a checkpoint signed through the signing.Signer adapter is a
// C2SP signed note that note.Open verifies with the published verifier key;
// an altered note, another key or another origin fail.
func TestSignOpen(t *testing.T) {
	ctx := context.Background()
	s := devSigner(t)
	signer, err := checkpoint.NewSigner(ctx, s, origin)
	if err != nil {
		t.Fatal(err)
	}
	c := checkpoint.Checkpoint{Origin: origin, Size: 7, Root: bytes.Repeat([]byte{1}, 32)}
	signed, err := checkpoint.Sign(c, signer)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(signed), string(c.Marshal())+"\n— "+origin+" ") {
		t.Fatalf("signed note:\n%s", signed)
	}
	got, err := checkpoint.Open(signed, origin, verifiersOf(t, s))
	if err != nil || !got.Equal(c) {
		t.Fatalf("open = %+v, %v", got, err)
	}
	altered := bytes.Replace(signed, []byte("\n7\n"), []byte("\n8\n"), 1)
	if _, err := checkpoint.Open(altered, origin, verifiersOf(t, s)); err == nil {
		t.Error("an altered checkpoint opened")
	}
	if _, err := checkpoint.Open(signed, origin, verifiersOf(t, devSigner(t))); err == nil {
		t.Error("a checkpoint opened with another key of the same name")
	}
	if _, err := checkpoint.Open(signed, "other.example/log", verifiersOf(t, s)); err == nil || !strings.Contains(err.Error(), "expected \"other.example/log\"") {
		t.Errorf("wrong origin: %v", err)
	}
}

// TestVaultCheckpointKey signs through a real Vault transit key: the note
// verifies with the key Vault publishes; after a rotation old checkpoints
// still verify and new ones name the new version; an ECDSA key is refused.
// TestKeyNameIsOrigin: the note key name is the origin (c2sp.org
// tlog-checkpoint; litewitness refuses anything else), and a checkpoint
// signed under the signer's own key name, as crossclear did before, still
// opens with the published keys and is extended by the publisher.
func TestKeyNameIsOrigin(t *testing.T) {
	ctx := context.Background()
	s := devSigner(t)
	vkeys, err := checkpoint.LogVerifierKeys(ctx, s, origin)
	if err != nil || len(vkeys) != 2 || !strings.HasPrefix(vkeys[0], origin+"+") || !strings.HasPrefix(vkeys[1], "dev-checkpoints+") {
		t.Fatalf("log verifier keys = %q, %v", vkeys, err)
	}
	legacy, err := checkpoint.NewSigner(ctx, s, s.KeyName())
	if err != nil {
		t.Fatal(err)
	}
	old := checkpoint.Checkpoint{Origin: origin, Size: 1, Root: bytes.Repeat([]byte{3}, 32)}
	signed, err := checkpoint.Sign(old, legacy)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.Open(signed, origin, verifiersOf(t, s)); err != nil {
		t.Fatalf("a checkpoint signed under the old key name: %v", err)
	}
	originOnly, _ := checkpoint.VerifierKeys(ctx, s, origin)
	vs, _ := checkpoint.Verifiers(originOnly)
	if _, err := checkpoint.Open(signed, origin, vs); err == nil {
		t.Fatal("the origin-named key opened a note signed under another name")
	}
	if _, err := checkpoint.NewSigner(ctx, s, "has space"); err == nil {
		t.Fatal("a key name with a space was accepted")
	}
}

func TestVaultCheckpointKey(t *testing.T) {
	ctx := context.Background()
	v := vaulttest.Start(t)
	s, err := vault.New(v.Client(t), vault.Config{Key: "crossclear-checkpoints"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateKey(ctx, signing.Ed25519); err != nil {
		t.Fatal(err)
	}
	sign := func(size uint64) []byte {
		signer, err := checkpoint.NewSigner(ctx, s, origin)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: origin, Size: size, Root: bytes.Repeat([]byte{2}, 32)}, signer)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	first := sign(1)
	if _, err := checkpoint.Open(first, origin, verifiersOf(t, s)); err != nil {
		t.Fatal(err)
	}
	if err := s.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	second := sign(2)
	vs := verifiersOf(t, s)
	for _, n := range [][]byte{first, second} {
		if _, err := checkpoint.Open(n, origin, vs); err != nil {
			t.Errorf("after rotation: %v\n%s", err, n)
		}
	}
	if sigLine(first) == sigLine(second) {
		t.Error("the rotated key signs with the same key hash")
	}
	ec, err := vault.New(v.Client(t), vault.Config{Key: "ecdsa-key"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ec.CreateKey(ctx, signing.ECDSAP256); err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.NewSigner(ctx, ec, origin); err == nil || !strings.Contains(err.Error(), "need ed25519") {
		t.Errorf("ecdsa checkpoint key: %v", err)
	}
}

func sigLine(n []byte) string {
	_, sig, _ := strings.Cut(string(n), "\n\n")
	name, b64, _ := strings.Cut(strings.TrimPrefix(sig, "— "), " ")
	return name + b64[:6] // the key hash is the first 4 bytes
}

// TestPublisher signs a checkpoint after each growth, none when the log has
// not grown, and refuses to sign when the stored tree no longer extends
// the last signed checkpoint (history rewritten underneath it).
func TestPublisher(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, engine, store.Options{})
			log := merklelog.New(st.DB())
			s := devSigner(t)
			p := &checkpoint.Publisher{Log: log, Origin: origin, Signer: s}
			if _, signed, err := p.Publish(ctx); err != nil || signed {
				t.Fatalf("empty log: signed %v, %v", signed, err)
			}
			appendLeaves(t, st.DB(), log, "a", "b", "c")
			cp, signed, err := p.Publish(ctx)
			if err != nil || !signed || cp.Size != 3 {
				t.Fatalf("publish: %+v %v %v", cp, signed, err)
			}
			opened, err := checkpoint.Open(cp.Note, origin, verifiersOf(t, s))
			head, _ := log.Head(ctx)
			if err != nil || opened.Size != 3 || !bytes.Equal(opened.Root, head.Root) {
				t.Fatalf("published note opens to %+v, %v; head %x", opened, err, head.Root)
			}
			if _, signed, err := p.Publish(ctx); err != nil || signed {
				t.Fatalf("unchanged log signed again: %v %v", signed, err)
			}
			appendLeaves(t, st.DB(), log, "d")
			if cp, signed, err := p.Publish(ctx); err != nil || !signed || cp.Size != 4 {
				t.Fatalf("grown log: %+v %v %v", cp, signed, err)
			}
			// Rewrite history: the same origin, a different first leaf.
			for _, table := range []string{"merkle_nodes", "merkle_leaves", "merkle_head"} {
				if _, err := st.DB().NewRaw("DELETE FROM " + table).Exec(ctx); err != nil {
					t.Fatal(err)
				}
			}
			appendLeaves(t, st.DB(), log, "A", "b", "c", "d", "e")
			_, signed, err = p.Publish(ctx)
			if err == nil || signed || !strings.Contains(err.Error(), "not consistent with the checkpoint signed at size 4") {
				t.Fatalf("rewritten history: signed %v, %v", signed, err)
			}
			latest, _ := log.LatestCheckpoint(ctx)
			if latest.Size != 4 {
				t.Fatalf("a checkpoint was stored over the rewritten tree: size %d", latest.Size)
			}
		})
	}
}

func appendLeaves(t *testing.T, db *bun.DB, log *merklelog.Log, leaves ...string) {
	t.Helper()
	data := make([][]byte, len(leaves))
	for i, l := range leaves {
		data[i] = []byte(l)
	}
	err := dbx.InTx(context.Background(), db, func(ctx context.Context, tx bun.Tx) error {
		_, _, err := log.Append(ctx, tx, data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

package verify_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/regulator/bundle"
	"github.com/crossclear/crossclear/regulator/checkpoint"
	"github.com/crossclear/crossclear/regulator/internal/regtest"
	"github.com/crossclear/crossclear/regulator/verify"
)

func eachEngine(t *testing.T, fn func(t *testing.T, w *regtest.World)) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			fn(t, regtest.New(t, engine))
		})
	}
}

// firstCycle makes cycle 1 with activity in SG, DE and US-NY, produces
// its reports and verifies SG's into a fresh state.
func firstCycle(t *testing.T, w *regtest.World) verify.State {
	t.Helper()
	p := w.Hold(t, 1, 0, "100.00") // DBSSSGSG pays a Berlin merchant
	w.Act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease})
	w.Hold(t, 2, 0, "60.00") // CHASUS33, still held
	w.Close(t)
	if pass := w.Produce(t); pass.Reports != 3 || pass.Sealed != 3 || pass.Checkpoint != 3 {
		t.Fatalf("first pass: %+v, want 3 reports sealed and a checkpoint of 3", pass)
	}
	st, res, err := verify.Verify(w.Keys(t), emptyState(t), []bundle.Bundle{w.Bundle(t, "SG-cycle-1", 0)}, nil)
	if err != nil {
		t.Fatalf("verify SG-cycle-1: %v", err)
	}
	if !res.Trusted || len(res.Reports) != 1 || st.Size != 3 || st.Seqs["SG cycle"] != 1 {
		t.Fatalf("after the first verification: %+v, state %+v", res, st)
	}
	return st
}

func emptyState(t *testing.T) verify.State {
	st, err := verify.LoadState(filepath.Join(t.TempDir(), "none.json"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestVerifyFollowsTheLog: reports of later cycles verify against the
// state, each new checkpoint proven consistent with the last one seen; a
// cycle without SG activity still gives SG a (nil) report with the next
// number.
func TestVerifyFollowsTheLog(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *regtest.World) {
		st := firstCycle(t, w)
		w.Hold(t, 2, 2, "10.00") // a US-only cycle
		w.Close(t)
		w.Produce(t)
		b := w.Bundle(t, "SG-cycle-2", st.Size)
		st2, res, err := verify.Verify(w.Keys(t), st, []bundle.Bundle{b}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Trusted || st2.Size != 6 || st2.Seqs["SG cycle"] != 2 || !res.Reports[0].Entry.Nil {
			t.Fatalf("second verification: %+v, state size %d seqs %v", res, st2.Size, st2.Seqs)
		}
		// The state round-trips through its file.
		path := filepath.Join(t.TempDir(), "state.json")
		if err := st2.Save(path); err != nil {
			t.Fatal(err)
		}
		loaded, err := verify.LoadState(path)
		if err != nil || loaded.Size != 6 || !bytes.Equal(loaded.Root, st2.Root) || loaded.Seqs["SG cycle"] != 2 {
			t.Fatalf("loaded state %+v, %v", loaded, err)
		}
		// Without the consistency proof a newer checkpoint is not taken.
		w.Close(t)
		w.Produce(t)
		if _, _, err := verify.Verify(w.Keys(t), loaded, []bundle.Bundle{w.Bundle(t, "SG-cycle-3", 0)}, nil); err == nil || !strings.Contains(err.Error(), "consistency proof 6→9 is needed") {
			t.Fatalf("newer checkpoint without a proof: %v", err)
		}
	})
}

// TestVerifyDetectsAlteredReport: a changed byte in a file, a file re-signed
// by someone else, or a changed entry are each caught.
func TestVerifyDetectsAlteredReport(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *regtest.World) {
		st := firstCycle(t, w)
		keys := w.Keys(t)
		for _, tc := range []struct {
			name  string
			alter func(b *bundle.Bundle)
			want  string
		}{
			{"csv byte", func(b *bundle.Bundle) {
				b.Files[1].Content = bytes.Replace(b.Files[1].Content, []byte("100.00"), []byte("900.00"), 1)
			}, "SG-cycle-1.csv was altered"},
			{"json re-signed", func(b *bundle.Bundle) {
				b.Files[0].Content = bytes.Replace(b.Files[0].Content, []byte(`"100.00"`), []byte(`"900.00"`), 1)
				other := regtest.New(t, "sqlite")
				sigs, _ := other.Files.Sign(context.Background(), b.Files[0].Content)
				b.Files[0].Signature = sigs[0]
			}, "SG-cycle-1.json was altered"},
			{"entry", func(b *bundle.Bundle) {
				b.Entry = strings.Replace(b.Entry, `"seq":1`, `"seq":7`, 1)
			}, "its entry is not in the signed checkpoint"},
			{"signature only", func(b *bundle.Bundle) {
				b.Files[0].Signature.Value[0] ^= 1
			}, "signature does not verify"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := w.Bundle(t, "SG-cycle-1", 0)
				if !bytes.Contains(b.Files[1].Content, []byte("100.00")) {
					t.Fatalf("the CSV does not show the payment:\n%s", b.Files[1].Content)
				}
				tc.alter(&b)
				_, _, err := verify.Verify(keys, st, []bundle.Bundle{b}, nil)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("altered %s: %v, want %q", tc.name, err, tc.want)
				}
			})
		}
	})
}

// TestVerifyDetectsDroppedReport: a regulator given reports 1 and 3 but
// not 2 is told which number is missing.
func TestVerifyDetectsDroppedReport(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *regtest.World) {
		st := firstCycle(t, w)
		w.Close(t)
		w.Close(t)
		w.Produce(t)
		_, _, err := verify.Verify(w.Keys(t), st, []bundle.Bundle{w.Bundle(t, "SG-cycle-3", st.Size)}, nil)
		if err == nil || !strings.Contains(err.Error(), "SG cycle report 2 is missing") {
			t.Fatalf("dropped report: %v", err)
		}
		// With it, all is well.
		if _, _, err := verify.Verify(w.Keys(t), st, []bundle.Bundle{w.Bundle(t, "SG-cycle-3", st.Size), w.Bundle(t, "SG-cycle-2", st.Size)}, nil); err != nil {
			t.Fatal(err)
		}
		// A fresh regulator must start at report 1.
		_, _, err = verify.Verify(w.Keys(t), emptyState(t), []bundle.Bundle{w.Bundle(t, "SG-cycle-2", 0)}, nil)
		if err == nil || !strings.Contains(err.Error(), "SG cycle report 1 is missing") {
			t.Fatalf("fresh state starting at 2: %v", err)
		}
	})
}

// TestVerifyDetectsRewrittenHistory: the operator rebuilds the log with a
// changed past (and, to get it signed, deletes the old checkpoints); the
// regulator holding the old checkpoint rejects every new one.
func TestVerifyDetectsRewrittenHistory(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *regtest.World) {
		ctx := context.Background()
		st := firstCycle(t, w)
		db := w.Store.DB()
		for _, q := range []string{
			"DELETE FROM regulator_outbox", "DELETE FROM regulator_report_files", "DELETE FROM regulator_reports",
			"DELETE FROM merkle_checkpoints", "DELETE FROM merkle_nodes", "DELETE FROM merkle_leaves", "DELETE FROM merkle_head",
			"UPDATE postings SET amount_minor = amount_minor + 1 WHERE kind = 'release'",
			"UPDATE positions SET received_minor = received_minor + 1 WHERE owner = 'DEUTDEFF'",
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		w.Close(t)
		w.Produce(t)
		b := w.Bundle(t, "SG-cycle-2", st.Size)
		_, _, err := verify.Verify(w.Keys(t), st, []bundle.Bundle{b}, nil)
		if !errors.Is(err, verify.ErrMisbehaving) || !strings.Contains(err.Error(), "history was rewritten") {
			t.Fatalf("rewritten history: %v", err)
		}
		// The rewritten cycle 1 report at the same size is a fork.
		_, _, err = verify.Verify(w.Keys(t), st, []bundle.Bundle{forkAt(t, w, st.Size)}, nil)
		if !errors.Is(err, verify.ErrMisbehaving) {
			t.Fatalf("a different tree of the trusted size: %v", err)
		}
	})
}

// forkAt is a bundle of the rewritten log against a checkpoint of size
// size, signed by the (compromised) log key.
func forkAt(t *testing.T, w *regtest.World, size uint64) bundle.Bundle {
	t.Helper()
	ctx := context.Background()
	root, err := w.Producer.Log.Root(ctx, size)
	if err != nil {
		t.Fatal(err)
	}
	b := w.Bundle(t, "SG-cycle-1", 0)
	note := signCheckpoint(t, w, size, root)
	incl, err := w.Producer.Log.InclusionProof(ctx, b.LeafIndex, size)
	if err != nil {
		t.Fatal(err)
	}
	b.Checkpoint, b.Inclusion = string(note), bundle.Proof{TreeSize: size, Hashes: incl}
	return b
}

// TestVerifyWrongKeys: checkpoints or files signed by keys the regulator
// was not given fail.
func TestVerifyWrongKeys(t *testing.T) {
	w := regtest.New(t, "sqlite")
	firstCycle(t, w)
	b := w.Bundle(t, "SG-cycle-1", 0)
	other := regtest.New(t, "sqlite")
	keys := w.Keys(t)
	keys.CheckpointKeys = other.Keys(t).CheckpointKeys
	if _, _, err := verify.Verify(keys, emptyState(t), []bundle.Bundle{b}, nil); err == nil || !strings.Contains(err.Error(), "checkpoint signature") {
		t.Errorf("checkpoint by an unknown key: %v", err)
	}
	keys = w.Keys(t)
	keys.FileKeys = other.Keys(t).FileKeys
	if _, _, err := verify.Verify(keys, emptyState(t), []bundle.Bundle{b}, nil); err == nil || !strings.Contains(err.Error(), "signature of SG-cycle-1.json") {
		t.Errorf("files by an unknown key: %v", err)
	}
	keys = w.Keys(t)
	keys.Origin = "someone.else/log"
	if _, _, err := verify.Verify(keys, emptyState(t), []bundle.Bundle{b}, nil); err == nil || !strings.Contains(err.Error(), "expected \"someone.else/log\"") {
		t.Errorf("another origin: %v", err)
	}
}

func signCheckpoint(t *testing.T, w *regtest.World, size uint64, root []byte) []byte {
	t.Helper()
	s, err := checkpoint.NewSigner(context.Background(), w.Checkpoints, regtest.Origin)
	if err != nil {
		t.Fatal(err)
	}
	n, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: regtest.Origin, Size: size, Root: root}, s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

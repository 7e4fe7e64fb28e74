package merklelog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/testonly"
	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/regulator/internal/dbx"
	"github.com/crossclear/crossclear/regulator/merklelog"
)

func openLog(t testing.TB, engine string) (*merklelog.Log, *bun.DB) {
	t.Helper()
	s := storetest.Open(t, engine, store.Options{})
	return merklelog.New(s.DB()), s.DB()
}

func appendLeaves(t testing.TB, l *merklelog.Log, db *bun.DB, leaves ...[]byte) (uint64, merklelog.Head) {
	t.Helper()
	var first uint64
	var head merklelog.Head
	err := dbx.InTx(context.Background(), db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		first, head, err = l.Append(ctx, tx, leaves)
		return err
	})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return first, head
}

func forEachEngine(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { t.Parallel(); fn(t, engine) })
	}
}

// TestRFC6962Vectors appends the vectors' leaves one by one and checks every
// root, every stored node, and the proofs the log serves against the
// vectors of github.com/transparency-dev/merkle.
func TestRFC6962Vectors(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		l, db := openLog(t, engine)
		leaves, roots := testonly.LeafInputs(), testonly.RootHashes()
		if h, _ := l.Head(ctx); h.Size != 0 || !bytes.Equal(h.Root, roots[0]) {
			t.Fatalf("empty log head = %d %x, want 0 %x", h.Size, h.Root, roots[0])
		}
		for i, leaf := range leaves {
			first, head := appendLeaves(t, l, db, leaf)
			if first != uint64(i) || head.Size != uint64(i+1) || !bytes.Equal(head.Root, roots[i+1]) {
				t.Fatalf("after leaf %d: first %d, head %d %x; want %d, %d %x", i, first, head.Size, head.Root, i, i+1, roots[i+1])
			}
		}
		for size := range roots {
			got, err := l.Root(ctx, uint64(size))
			if err != nil || !bytes.Equal(got, roots[size]) {
				t.Errorf("Root(%d) = %x, %v; want %x", size, got, err, roots[size])
			}
		}
		for level, hashes := range testonly.NodeHashes() {
			for index, want := range hashes {
				var got []byte
				err := db.NewRaw("SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?", level, index).Scan(ctx, &got)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("stored node (%d, %d) = %x, %v; want %x", level, index, got, err, want)
				}
			}
		}
		for _, v := range proofVectors(t, "inclusionProofs") {
			if v.b == 0 {
				continue // the vector for an empty tree: there is no leaf to prove
			}
			got, err := l.InclusionProof(ctx, v.a-1, v.b)
			if err != nil || !equalHashes(got, v.proof) {
				t.Errorf("inclusion proof of leaf %d in %d = %x, %v; want %x", v.a-1, v.b, got, err, v.proof)
			}
			if err := proof.VerifyInclusion(merklelog.Hasher, v.a-1, v.b, merklelog.Hasher.HashLeaf(leaves[v.a-1]), got, roots[v.b]); err != nil {
				t.Errorf("inclusion proof of leaf %d in %d does not verify: %v", v.a-1, v.b, err)
			}
		}
		for _, v := range proofVectors(t, "consistencyProofs") {
			got, err := l.ConsistencyProof(ctx, v.a, v.b)
			if err != nil || !equalHashes(got, v.proof) {
				t.Errorf("consistency proof %d→%d = %x, %v; want %x", v.a, v.b, got, err, v.proof)
			}
			if err := proof.VerifyConsistency(merklelog.Hasher, v.a, v.b, got, roots[v.a], roots[v.b]); err != nil {
				t.Errorf("consistency proof %d→%d does not verify: %v", v.a, v.b, err)
			}
		}
	})
}

// TestProofsAgainstReference grows a log in random batches and checks roots
// and proofs at every size against the module's in-memory reference tree,
// and that each proof verifies.
func TestProofsAgainstReference(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		l, db := openLog(t, engine)
		ref := testonly.New(merklelog.Hasher)
		rng := rand.New(rand.NewPCG(7, 9))
		var sizes []uint64
		for ref.Size() < 300 {
			batch := make([][]byte, 1+rng.IntN(40))
			for i := range batch {
				batch[i] = fmt.Appendf(nil, "leaf %d", ref.Size()+uint64(i))
			}
			appendLeaves(t, l, db, batch...)
			ref.AppendData(batch...)
			sizes = append(sizes, ref.Size())
		}
		for _, n := range sizes {
			root, err := l.Root(ctx, n)
			if err != nil || !bytes.Equal(root, ref.HashAt(n)) {
				t.Fatalf("Root(%d) = %x, %v; want %x", n, root, err, ref.HashAt(n))
			}
			for range 5 {
				i := rng.Uint64N(n)
				got, err := l.InclusionProof(ctx, i, n)
				if err != nil {
					t.Fatal(err)
				}
				if err := proof.VerifyInclusion(merklelog.Hasher, i, n, ref.LeafHash(i), got, root); err != nil {
					t.Fatalf("inclusion of %d in %d: %v", i, n, err)
				}
				m := 1 + rng.Uint64N(n)
				cons, err := l.ConsistencyProof(ctx, m, n)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := ref.ConsistencyProof(m, n)
				if !equalHashes(cons, want) {
					t.Fatalf("consistency %d→%d differs from the reference", m, n)
				}
				if err := proof.VerifyConsistency(merklelog.Hasher, m, n, cons, ref.HashAt(m), root); err != nil {
					t.Fatalf("consistency %d→%d: %v", m, n, err)
				}
			}
		}
		data, err := l.Leaf(ctx, 123)
		if err != nil || string(data) != "leaf 123" {
			t.Fatalf("Leaf(123) = %q, %v", data, err)
		}
	})
}

// TestConcurrentAppends: appends from many goroutines queue on the head and
// never lose or reorder a leaf; the final tree is the reference tree of the
// leaves in the order the log stored them.
func TestConcurrentAppends(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		l, db := openLog(t, engine)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for b := range 5 {
					appendLeaves(t, l, db, fmt.Appendf(nil, "g%d b%d x", g, b), fmt.Appendf(nil, "g%d b%d y", g, b))
				}
			})
		}
		wg.Wait()
		head, err := l.Head(ctx)
		if err != nil || head.Size != 80 {
			t.Fatalf("head = %d, %v; want 80 leaves", head.Size, err)
		}
		ref := testonly.New(merklelog.Hasher)
		for i := range head.Size {
			data, err := l.Leaf(ctx, i)
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 1 && !strings.HasSuffix(string(data), " y") {
				t.Fatalf("leaf %d = %q: a batch was split", i, data)
			}
			ref.AppendData(data)
		}
		if !bytes.Equal(head.Root, ref.Hash()) {
			t.Fatalf("root %x, reference %x", head.Root, ref.Hash())
		}
	})
}

// TestRolledBackAppendLeavesNothing: leaves appended in a transaction that
// fails are gone with it, and the next append takes their place.
func TestRolledBackAppendLeavesNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		l, db := openLog(t, engine)
		appendLeaves(t, l, db, []byte("a"))
		boom := errors.New("boom")
		err := dbx.InTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
			if _, _, err := l.Append(ctx, tx, [][]byte{[]byte("b"), []byte("c")}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		first, head := appendLeaves(t, l, db, []byte("d"))
		ref := testonly.New(merklelog.Hasher)
		ref.AppendData([]byte("a"), []byte("d"))
		if first != 1 || head.Size != 2 || !bytes.Equal(head.Root, ref.Hash()) {
			t.Fatalf("after rollback: first %d, head %d %x; want 1, 2 %x", first, head.Size, head.Root, ref.Hash())
		}
	})
}

// TestDamageAndLimits: a missing node is an error, never a wrong proof;
// sizes beyond the head are refused; checkpoints must match the tree.
func TestDamageAndLimits(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		l, db := openLog(t, engine)
		for i := range 6 {
			appendLeaves(t, l, db, fmt.Appendf(nil, "%d", i))
		}
		if _, err := l.InclusionProof(ctx, 0, 7); !errors.Is(err, merklelog.ErrBeyondHead) {
			t.Errorf("proof at size 7 of 6: %v, want ErrBeyondHead", err)
		}
		if _, err := l.ConsistencyProof(ctx, 2, 9); !errors.Is(err, merklelog.ErrBeyondHead) {
			t.Errorf("consistency to 9 of 6: %v, want ErrBeyondHead", err)
		}
		if _, err := l.Leaf(ctx, 6); !errors.Is(err, merklelog.ErrBeyondHead) {
			t.Errorf("leaf 6 of 6: %v, want ErrBeyondHead", err)
		}
		if _, err := l.LatestCheckpoint(ctx); !errors.Is(err, merklelog.ErrNoCheckpoint) {
			t.Errorf("latest checkpoint of a fresh log: %v, want ErrNoCheckpoint", err)
		}
		root4, _ := l.Root(ctx, 4)
		if err := l.SaveCheckpoint(ctx, merklelog.Checkpoint{Size: 4, Root: root4, Note: []byte("note 4"), SignedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := l.SaveCheckpoint(ctx, merklelog.Checkpoint{Size: 5, Root: root4, Note: []byte("bad"), SignedAt: time.Now()}); err == nil {
			t.Error("a checkpoint whose root is not the log's was saved")
		}
		cp, err := l.LatestCheckpoint(ctx)
		if err != nil || cp.Size != 4 || string(cp.Note) != "note 4" {
			t.Errorf("latest checkpoint = %+v, %v", cp, err)
		}
		if _, err := db.NewRaw("DELETE FROM merkle_nodes WHERE level = 1 AND idx = 0").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := l.InclusionProof(ctx, 3, 6); err == nil || !strings.Contains(err.Error(), "(level 1, index 0) is missing") {
			t.Errorf("proof over a deleted node: %v, want it named", err)
		}
		err = dbx.InTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
			_, _, err := l.Append(ctx, tx, [][]byte{make([]byte, merklelog.MaxLeafBytes+1)})
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "at most") {
			t.Errorf("oversized leaf: %v", err)
		}
	})
}

func equalHashes(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

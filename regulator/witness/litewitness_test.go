package witness_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/regulator/checkpoint"
	"github.com/crossclear/crossclear/regulator/cosignature"
	"github.com/crossclear/crossclear/regulator/internal/regtest"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/witness"
	"github.com/crossclear/crossclear/regulator/witness/witnesstest"
)

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url+"/add-checkpoint", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestLitewitnessCosignsTheLog: a real litewitness cosigns crossclear's
// checkpoints (the key named after the origin, the note as crossclear
// signs it), refuses a stale old size with its size, a fork and a
// rollback; its cosignatures verify with crossclear's verifier (from the
// key litewitness prints) and with torchwood's own, and crossclear's
// witness key format is litewitness's.
func TestLitewitnessCosignsTheLog(t *testing.T) {
	ctx := context.Background()
	w := regtest.New(t, "sqlite")
	keys := w.Keys(t)
	lw := witnesstest.StartLitewitness(t, keys.Origin, keys.CheckpointKeys[0])

	ours, err := cosignature.NewVerifier(lw.VKey)
	if err != nil {
		t.Fatalf("litewitness's verifier key %q: %v", lw.VKey, err)
	}
	theirs, err := torchwood.NewCosignatureSigner(lw.Name, lw.Priv)
	if err != nil {
		t.Fatal(err)
	}
	if ours.String() != theirs.Verifier().String() {
		t.Fatalf("verifier key: ours %s, torchwood %s", ours, theirs.Verifier())
	}
	logV, err := note.NewVerifier(keys.CheckpointKeys[0])
	if err != nil {
		t.Fatal(err)
	}
	cycle := func() merklelog.Checkpoint {
		t.Helper()
		p := w.Hold(t, 1, 0, "10.00")
		w.Act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease})
		w.Close(t)
		w.Produce(t)
		cp, err := w.Producer.Log.LatestCheckpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	cosigned := func(cp merklelog.Checkpoint, cosigs string) {
		t.Helper()
		for _, v := range []note.Verifier{ours, theirs.Verifier()} {
			n, err := note.Open(append(append([]byte{}, cp.Note...), cosigs...), note.VerifierList(logV, v))
			if err != nil || len(n.Sigs) != 2 {
				t.Fatalf("litewitness's cosignature %q does not verify with %T: %v", cosigs, v, err)
			}
			ts, err := torchwood.CosignatureTimestamp(n.Sigs[1])
			if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
				t.Fatalf("cosignature timestamp %d, %v", ts, err)
			}
		}
	}

	first := cycle()
	status, body := post(t, lw.URL, witness.Request(0, nil, first.Note))
	if status != 200 {
		t.Fatalf("litewitness refused crossclear's checkpoint: %d %s\n%s", status, body, first.Note)
	}
	cosigned(first, body)

	second := cycle()
	if status, body := post(t, lw.URL, witness.Request(0, nil, second.Note)); status != 409 || body != fmt.Sprintf("%d\n", first.Size) {
		t.Fatalf("stale old size: %d %q, want 409 %d", status, body, first.Size)
	}
	proof, err := w.Producer.Log.ConsistencyProof(ctx, first.Size, second.Size)
	if err != nil {
		t.Fatal(err)
	}
	status, body = post(t, lw.URL, witness.Request(first.Size, proof, second.Note))
	if status != 200 {
		t.Fatalf("litewitness refused the consistent checkpoint: %d %s", status, body)
	}
	cosigned(second, body)

	// A fork the log's key signed (as a dishonest operator would), with
	// the honest proof: refused. So is going back to the first.
	signer, err := checkpoint.NewSigner(ctx, w.Checkpoints, keys.Origin)
	if err != nil {
		t.Fatal(err)
	}
	third := cycle()
	proof, _ = w.Producer.Log.ConsistencyProof(ctx, second.Size, third.Size)
	forged, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: keys.Origin, Size: third.Size, Root: merklelog.Hasher.HashLeaf([]byte("forged"))}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := post(t, lw.URL, witness.Request(second.Size, proof, forged)); status != 422 {
		t.Fatalf("fork: %d %s", status, body)
	}
	if status, body := post(t, lw.URL, witness.Request(second.Size, nil, first.Note)); status != 400 {
		t.Fatalf("rollback: %d %s", status, body)
	}
}

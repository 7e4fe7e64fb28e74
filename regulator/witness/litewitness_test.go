package witness_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/crypto/ssh"
	"golang.org/x/mod/sumdb/note"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/regulator/checkpoint"
	"github.com/crossclear/crossclear/regulator/cosignature"
	"github.com/crossclear/crossclear/regulator/internal/regtest"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/witness"
)

// litewitness is a real litewitness (filippo.io/torchwood v0.6.1) on
// loopback, its key in a dedicated ssh-agent, witnessing one log.
type litewitness struct {
	url  string
	name string
	vkey string             // as litewitness prints it
	priv ed25519.PrivateKey // its key, for torchwood's own verifier
}

func startLitewitness(t *testing.T, origin, logKey string) *litewitness {
	t.Helper()
	bin := os.Getenv("CROSSCLEAR_LITEWITNESS_BIN")
	if bin == "" {
		t.Fatal("CROSSCLEAR_LITEWITNESS_BIN is not set: these tests need litewitness and witnessctl (filippo.io/torchwood v0.6.1); run `bash .ci/test`, or `source .ci/litewitness.sh` (with a `say` function), which builds them from the Go module proxy")
	}
	dir, err := os.MkdirTemp("", "lw") // short: a unix socket path is at most ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	run := func(env []string, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	key, sock, db := filepath.Join(dir, "key"), filepath.Join(dir, "agent.sock"), filepath.Join(dir, "lw.db")
	run(nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "litewitness", "-f", key)
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	waitFor(t, func() bool { _, err := os.Stat(sock); return err == nil })
	run([]string{"SSH_AUTH_SOCK=" + sock}, "ssh-add", "-q", key)
	fingerprint := strings.Fields(run(nil, "ssh-keygen", "-l", "-f", key+".pub"))[1]

	run(nil, filepath.Join(bin, "witnessctl"), "add-log", "-db", db, "-origin", origin)
	run(nil, filepath.Join(bin, "witnessctl"), "add-key", "-db", db, "-origin", origin, "-key", logKey)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	lw := &litewitness{url: "http://" + addr, name: "witness.test/litewitness"}
	server := exec.Command(filepath.Join(bin, "litewitness"), "-name", lw.name, "-key", fingerprint, "-ssh-agent", sock, "-listen", addr, "-db", db)
	var logs strings.Builder
	server.Stderr = &logs
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		server.Process.Signal(os.Interrupt)
		server.Wait()
		if t.Failed() {
			t.Logf("litewitness:\n%s", logs.String())
		}
	})
	var index string
	waitFor(t, func() bool {
		resp, err := http.Get(lw.url + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		index = string(b)
		return resp.StatusCode == 200
	})
	for _, line := range strings.Split(html.UnescapeString(index), "\n") {
		if strings.HasPrefix(line, lw.name+"+") {
			lw.vkey = line
		}
	}
	if lw.vkey == "" {
		t.Fatalf("litewitness's index page shows no verifier key:\n%s", index)
	}
	pemBytes, _ := os.ReadFile(key)
	raw, err := ssh.ParseRawPrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	lw.priv = *raw.(*ed25519.PrivateKey)
	return lw
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for range 200 {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("timed out waiting")
}

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
	lw := startLitewitness(t, keys.Origin, keys.CheckpointKeys[0])

	ours, err := cosignature.NewVerifier(lw.vkey)
	if err != nil {
		t.Fatalf("litewitness's verifier key %q: %v", lw.vkey, err)
	}
	theirs, err := torchwood.NewCosignatureSigner(lw.name, lw.priv)
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
	status, body := post(t, lw.url, witness.Request(0, nil, first.Note))
	if status != 200 {
		t.Fatalf("litewitness refused crossclear's checkpoint: %d %s\n%s", status, body, first.Note)
	}
	cosigned(first, body)

	second := cycle()
	if status, body := post(t, lw.url, witness.Request(0, nil, second.Note)); status != 409 || body != fmt.Sprintf("%d\n", first.Size) {
		t.Fatalf("stale old size: %d %q, want 409 %d", status, body, first.Size)
	}
	proof, err := w.Producer.Log.ConsistencyProof(ctx, first.Size, second.Size)
	if err != nil {
		t.Fatal(err)
	}
	status, body = post(t, lw.url, witness.Request(first.Size, proof, second.Note))
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
	if status, body := post(t, lw.url, witness.Request(second.Size, proof, forged)); status != 422 {
		t.Fatalf("fork: %d %s", status, body)
	}
	if status, body := post(t, lw.url, witness.Request(second.Size, nil, first.Note)); status != 400 {
		t.Fatalf("rollback: %d %s", status, body)
	}
}

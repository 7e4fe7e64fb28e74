package witness_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/regulator/checkpoint"
	"github.com/crossclear/crossclear/regulator/cosignature"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/witness"
)

// server is a crossclear witness named name on loopback HTTP.
type server struct {
	url   string
	state *witness.State
	cosig *cosignature.Signer
}

func newServer(t *testing.T, name string) *server {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := witness.OpenState(ctx, filepath.Join(dir, "witness.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := signing.OpenDevSigner(filepath.Join(dir, "witness.key"), "witness")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := cosignature.NewSigner(ctx, name, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&witness.Witness{State: st, Signer: cs}).Handler())
	t.Cleanup(srv.Close)
	return &server{url: srv.URL, state: st, cosig: cs}
}

func (s *server) post(t *testing.T, body string) (int, string, string) {
	t.Helper()
	resp, err := http.Post(s.url+"/add-checkpoint", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// hurlRequest is one request of litewitness's documented examples.
type hurlRequest struct {
	body     string
	status   int
	contains string
}

// litewitnessExamples reads the add-checkpoint requests and expected
// answers from litewitness's own test script (cmd/litewitness/testdata in
// the filippo.io/torchwood module), and the log key it installs there.
func litewitnessExamples(t *testing.T) (logKey string, reqs []hurlRequest) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "filippo.io/torchwood").Output()
	if err != nil {
		t.Fatalf("locate filippo.io/torchwood: %v", err)
	}
	script, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "cmd/litewitness/testdata/litewitness.txt"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(script), "exec witnessctl add-sigsum-log -key=")
	logKey, _, _ = strings.Cut(after, "\n")
	_, hurl, ok := strings.Cut(string(script), "-- add-checkpoint.hurl --\n")
	if !ok {
		t.Fatal("litewitness.txt has no add-checkpoint.hurl")
	}
	for _, block := range strings.Split(hurl, "POST http://localhost:7380/add-checkpoint\n")[1:] {
		parts := strings.Split(block, "```\n")
		if len(parts) < 3 {
			t.Fatalf("unexpected hurl block %q", block)
		}
		r := hurlRequest{body: parts[1]}
		for _, line := range strings.Split(parts[2], "\n") {
			if s, ok := strings.CutPrefix(line, "HTTP "); ok {
				r.status, _ = strconv.Atoi(s)
			}
			if s, ok := strings.CutPrefix(line, "body contains "); ok {
				r.contains, _ = strconv.Unquote(s)
			}
		}
		reqs = append(reqs, r)
	}
	if len(reqs) < 5 {
		t.Fatalf("only %d requests in litewitness's examples", len(reqs))
	}
	return logKey, reqs
}

// TestLitewitnessExamples: crossclear witness answers litewitness's own
// documented add-checkpoint requests as litewitness does — except an
// unknown origin, where c2sp.org/tlog-witness says 404 and litewitness
// v0.6.1 says 403.
func TestLitewitnessExamples(t *testing.T) {
	ctx := context.Background()
	keyHex, reqs := litewitnessExamples(t)
	key, err := hex.DecodeString(keyHex)
	if err != nil || len(key) != ed25519.PublicKeySize {
		t.Fatalf("sigsum log key %q", keyHex)
	}
	// What witnessctl add-sigsum-log installs: the origin and key of a
	// sigsum log, computed from its public key.
	origin := fmt.Sprintf("sigsum.org/v1/tree/%x", sha256.Sum256(key))
	vkey, err := note.NewEd25519VerifierKey(origin, key)
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, "example.com/witness")
	if err := s.state.AddLog(ctx, origin); err != nil {
		t.Fatal(err)
	}
	if err := s.state.AddKey(ctx, origin, vkey); err != nil {
		t.Fatal(err)
	}
	for i, r := range reqs {
		want := r.status
		if r.contains == "unknown log" {
			want = http.StatusNotFound
		}
		status, _, body := s.post(t, r.body)
		if status != want {
			t.Fatalf("request %d: status %d, want %d (litewitness: %d %q): %s\n%s", i, status, want, r.status, r.contains, body, r.body)
		}
		if want == 200 {
			if !strings.HasPrefix(body, "— example.com/witness ") || !strings.HasSuffix(body, "\n") {
				t.Fatalf("request %d: cosignature %q", i, body)
			}
			text := r.body[strings.Index(r.body, "\n\n")+2 : strings.LastIndex(r.body, "\n\n")+2]
			if _, err := note.Open([]byte(text+body), note.VerifierList(s.cosig.Verifier())); err != nil {
				t.Fatalf("request %d: the cosignature does not verify: %v", i, err)
			}
		}
	}
	logs, _ := s.state.Logs(ctx)
	if len(logs) != 1 || logs[0].Size != 5 { // as litewitness's script checks with list-logs
		t.Fatalf("state after the examples: %+v", logs)
	}
}

// testLog is a log crossclear signs, with the trees of two histories.
type testLog struct {
	origin string
	signer *checkpoint.Signer
	vkey   string
}

func newTestLog(t *testing.T) *testLog {
	t.Helper()
	ctx := context.Background()
	s, err := signing.OpenDevSigner(filepath.Join(t.TempDir(), "log.key"), "log")
	if err != nil {
		t.Fatal(err)
	}
	l := &testLog{origin: "crossclear.test/regulator-log"}
	if l.signer, err = checkpoint.NewSigner(ctx, s, l.origin); err != nil {
		t.Fatal(err)
	}
	vkeys, err := checkpoint.VerifierKeys(ctx, s, l.origin)
	if err != nil {
		t.Fatal(err)
	}
	l.vkey = vkeys[0]
	return l
}

// tree is a history of leaves.
type tree struct{ leaves [][]byte }

func (tr *tree) root(t *testing.T, size int) []byte { return merkleRoot(tr.leaves[:size]) }

// hashReader keeps the stored hashes of leaves, for
// golang.org/x/mod/sumdb/tlog to compute roots and proofs from.
func hashReader(leaves [][]byte) tlog.HashReaderFunc {
	var stored []tlog.Hash
	for i, l := range leaves {
		hs, err := tlog.StoredHashes(int64(i), l, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for j, x := range idx {
				out[j] = stored[x]
			}
			return out, nil
		}))
		if err != nil {
			panic(err)
		}
		stored = append(stored, hs...)
	}
	return func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for j, x := range idx {
			out[j] = stored[x]
		}
		return out, nil
	}
}

func merkleRoot(leaves [][]byte) []byte {
	h, err := tlog.TreeHash(int64(len(leaves)), hashReader(leaves))
	if err != nil {
		panic(err)
	}
	return h[:]
}

func consistencyProof(t *testing.T, leaves [][]byte, from, to int) [][]byte {
	t.Helper()
	p, err := tlog.ProveTree(int64(to), int64(from), hashReader(leaves[:to]))
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

func (l *testLog) request(t *testing.T, old int, proof [][]byte, size int, root []byte) string {
	t.Helper()
	signed, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: l.origin, Size: uint64(size), Root: root}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	return witness.Request(uint64(old), proof, signed)
}

// TestWitnessRules: cosign only what extends the last cosigned checkpoint.
func TestWitnessRules(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t)
	s := newServer(t, "witness.test/sg")
	if err := s.state.AddLog(ctx, l.origin); err != nil {
		t.Fatal(err)
	}
	if err := s.state.AddKey(ctx, l.origin, l.vkey); err != nil {
		t.Fatal(err)
	}
	honest := &tree{}
	for i := range 10 {
		honest.leaves = append(honest.leaves, []byte("leaf "+strconv.Itoa(i)))
	}
	fork := &tree{leaves: append(append([][]byte{}, honest.leaves[:2]...), []byte("forged"), []byte("u"), []byte("v"), []byte("x"), []byte("y"), []byte("z"))}
	expect := func(what string, body string, want int, wantBody string) {
		t.Helper()
		status, ctype, got := s.post(t, body)
		if status != want || (wantBody != "" && got != wantBody) {
			t.Fatalf("%s: %d %q, want %d %q", what, status, got, want, wantBody)
		}
		if want == 409 && ctype != "text/x.tlog.size" {
			t.Fatalf("%s: Content-Type %q", what, ctype)
		}
	}
	expect("first", l.request(t, 0, nil, 4, honest.root(t, 4)), 200, "")
	expect("stale old size", l.request(t, 0, nil, 6, honest.root(t, 6)), 409, "4\n")
	expect("old beyond the checkpoint", l.request(t, 4, nil, 3, honest.root(t, 3)), 400, "")
	expect("rollback", l.request(t, 3, consistencyProof(t, honest.leaves, 3, 3), 3, honest.root(t, 3)), 409, "4\n")
	expect("same size, other root", l.request(t, 4, nil, 4, merkleRoot([][]byte{[]byte("other")})), 422, "")
	expect("fork", l.request(t, 4, consistencyProof(t, fork.leaves, 4, 8), 8, fork.root(t, 8)), 422, "")
	expect("honest proof, forked root", l.request(t, 4, consistencyProof(t, honest.leaves, 4, 8), 8, fork.root(t, 8)), 422, "")
	expect("proof from 0", l.request(t, 0, consistencyProof(t, honest.leaves, 4, 8), 8, honest.root(t, 8)), 409, "4\n")
	expect("extends", l.request(t, 4, consistencyProof(t, honest.leaves, 4, 8), 8, honest.root(t, 8)), 200, "")
	expect("again", l.request(t, 8, nil, 8, honest.root(t, 8)), 200, "")
	other := newTestLog(t) // same origin, a key the witness does not trust
	expect("untrusted key", other.request(t, 8, consistencyProof(t, honest.leaves, 8, 10), 10, honest.root(t, 10)), 403, "")
	tampered := strings.Replace(l.request(t, 8, consistencyProof(t, honest.leaves, 8, 10), 10, honest.root(t, 10)), "\n10\n", "\n11\n", 1)
	expect("tampered", tampered, 403, "")
	unknown := strings.ReplaceAll(l.request(t, 0, nil, 1, honest.root(t, 1)), l.origin, "elsewhere.test/log")
	expect("unknown origin", unknown, 404, "")
	for _, bad := range []string{"", "old 1\n", "old 01\n\n" + l.request(t, 0, nil, 1, honest.root(t, 1))[len("old 0\n\n"):], "old 8\nnot base64\n\nx"} {
		expect(fmt.Sprintf("malformed %q", bad), bad, 400, "")
	}
	// The monitoring API serves what was cosigned, signed by both.
	sum := sha256.Sum256([]byte(l.origin))
	resp, err := http.Get(s.url + "/" + hex.EncodeToString(sum[:]) + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	latest, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	logV, _ := note.NewVerifier(l.vkey)
	n, err := note.Open(latest, note.VerifierList(logV, s.cosig.Verifier()))
	if err != nil || len(n.Sigs) != 2 || !strings.HasPrefix(n.Text, l.origin+"\n8\n") {
		t.Fatalf("monitoring checkpoint %q: %v", latest, err)
	}
}

// TestNoRollbackUnderRace: many requests at once from one old size: one
// wins, the others get 409, and the state never goes back.
func TestNoRollbackUnderRace(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t)
	s := newServer(t, "witness.test/sg")
	s.state.AddLog(ctx, l.origin)
	s.state.AddKey(ctx, l.origin, l.vkey)
	var leaves [][]byte
	for i := range 40 {
		leaves = append(leaves, []byte{byte(i)})
	}
	if status, _, body := s.post(t, l.request(t, 0, nil, 2, merkleRoot(leaves[:2]))); status != 200 {
		t.Fatalf("first: %d %s", status, body)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for size := 3; size <= 40; size++ {
		body := l.request(t, 2, consistencyProof(t, leaves, 2, size), size, merkleRoot(leaves[:size]))
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, got := s.post(t, body)
			mu.Lock()
			defer mu.Unlock()
			switch status {
			case 200:
				won++
			case 409:
			default:
				t.Errorf("size %d: %d %s", size, status, got)
			}
		}()
	}
	wg.Wait()
	logs, _ := s.state.Logs(ctx)
	if won != 1 || logs[0].Size < 3 {
		t.Fatalf("%d requests won; the witness is at %d", won, logs[0].Size)
	}
	if !bytes.Equal(logs[0].Root, merkleRoot(leaves[:logs[0].Size])) {
		t.Fatal("the stored root is not the tree's")
	}
}

func TestState(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t)
	st, err := witness.OpenState(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.AddKey(ctx, l.origin, l.vkey); err == nil {
		t.Error("a key was added for an unknown log")
	}
	if err := st.AddLog(ctx, l.origin); err != nil {
		t.Fatal(err)
	}
	if err := st.AddLog(ctx, l.origin); err == nil {
		t.Error("a log was added twice (a reset)")
	}
	if err := st.AddKey(ctx, "other.test/log", l.vkey); err == nil {
		t.Error("a key named after another origin was accepted")
	}
	if err := st.AddKey(ctx, l.origin, l.vkey); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveKey(ctx, l.origin, l.vkey); err != nil {
		t.Fatal(err)
	}
	logs, err := st.Logs(ctx)
	if err != nil || len(logs) != 1 || len(logs[0].Keys) != 0 || !bytes.Equal(logs[0].Root, merklelog.Hasher.EmptyRoot()) {
		t.Fatalf("logs %+v, %v", logs, err)
	}
}

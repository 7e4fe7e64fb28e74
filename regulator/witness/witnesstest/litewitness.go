// Package witnesstest runs a real litewitness (filippo.io/torchwood v0.6.1)
// for interoperability tests.
package witnesstest

import (
	"crypto/ed25519"
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

	"golang.org/x/crypto/ssh"
)

// Litewitness is a real litewitness (filippo.io/torchwood v0.6.1) on
// loopback, its key in a dedicated ssh-agent, witnessing one log.
type Litewitness struct {
	URL  string
	Name string
	VKey string             // as litewitness prints it
	Priv ed25519.PrivateKey // its key, for torchwood's own verifier
}

// StartLitewitness starts a litewitness (from CROSSCLEAR_LITEWITNESS_BIN,
// see .ci/litewitness.sh) witnessing the log origin signed by logKey.
func StartLitewitness(t testing.TB, origin, logKey string) *Litewitness {
	t.Helper()
	bin := Bin(t)
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
	WaitFor(t, func() bool { _, err := os.Stat(sock); return err == nil })
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
	lw := &Litewitness{URL: "http://" + addr, Name: "witness.test/litewitness"}
	server := exec.Command(filepath.Join(bin, "litewitness"), "-name", lw.Name, "-key", fingerprint, "-ssh-agent", sock, "-listen", addr, "-db", db)
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
	WaitFor(t, func() bool {
		resp, err := http.Get(lw.URL + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		index = string(b)
		return resp.StatusCode == 200
	})
	for _, line := range strings.Split(html.UnescapeString(index), "\n") {
		if strings.HasPrefix(line, lw.Name+"+") {
			lw.VKey = line
		}
	}
	if lw.VKey == "" {
		t.Fatalf("litewitness's index page shows no verifier key:\n%s", index)
	}
	pemBytes, _ := os.ReadFile(key)
	raw, err := ssh.ParseRawPrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	lw.Priv = *raw.(*ed25519.PrivateKey)
	return lw
}

// Bin is the directory holding litewitness and witnessctl
// (CROSSCLEAR_LITEWITNESS_BIN); without them the test fails, never skips.
func Bin(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("CROSSCLEAR_LITEWITNESS_BIN")
	if bin == "" {
		t.Fatal("CROSSCLEAR_LITEWITNESS_BIN is not set: these tests need litewitness and witnessctl (filippo.io/torchwood v0.6.1); run `bash .ci/test`, or `source .ci/litewitness.sh` (with a `say` function), which builds them from the Go module proxy")
	}
	for _, tool := range []string{"litewitness", "witnessctl"} {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			t.Fatalf("CROSSCLEAR_LITEWITNESS_BIN=%s: %v", bin, err)
		}
	}
	return bin
}

// WaitFor polls ok every 50 ms for 10 s.
func WaitFor(t testing.TB, ok func() bool) {
	t.Helper()
	for range 200 {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("timed out waiting")
}

// Package vaulttest runs a real Vault dev server for tests: the binary
// comes from CROSSCLEAR_VAULT_BIN (.ci/test builds it from the Go module
// proxy; see .ci/vault). It is never skipped: without the binary the test
// fails and says how to get it.
package vaulttest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// RootToken is the dev server's root token.
const RootToken = "root"

// Server is a running `vault server -dev` on a free loopback port.
type Server struct {
	Addr string
	cmd  *exec.Cmd
}

// Start starts a dev server with the transit engine enabled; it stops when
// the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := binary(t)
	addr := freeAddr(t)
	cmd := exec.Command(bin, "server", "-dev", "-dev-root-token-id="+RootToken, "-dev-listen-address="+addr, "-log-level=error")
	cmd.Env = append(os.Environ(), "VAULT_DISABLE_MLOCK=true", "HOME="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("start vault %s: %v", bin, err)
	}
	s := &Server{Addr: "http://" + addr, cmd: cmd}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c := s.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if h, err := c.Sys().HealthWithContext(ctx); err == nil && h.Initialized && !h.Sealed {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("vault at %s did not become ready", s.Addr)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := c.Sys().MountWithContext(ctx, "transit", &vaultapi.MountInput{Type: "transit"}); err != nil {
		t.Fatalf("enable transit: %v", err)
	}
	return s
}

// binary is the Vault binary the test setup built.
func binary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("CROSSCLEAR_VAULT_BIN")
	if bin == "" {
		t.Fatal("CROSSCLEAR_VAULT_BIN is not set: these tests need a real Vault (1.15 or newer); set it to a vault binary, or run `bash .ci/test`, which uses a vault on PATH or builds one from the Go module proxy (.ci/vault) and sets it")
	}
	return bin
}

// freeAddr is a loopback address nobody listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Client returns a client with the root token.
func (s *Server) Client(t testing.TB) *vaultapi.Client {
	t.Helper()
	cfg := vaultapi.DefaultConfig()
	cfg.Address = s.Addr
	cfg.MaxRetries = 0
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(RootToken)
	return c
}

// String is the address.
func (s *Server) String() string { return fmt.Sprint(s.Addr) }

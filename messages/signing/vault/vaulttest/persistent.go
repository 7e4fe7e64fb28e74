package vaulttest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// Persistent is a Vault server with file storage (not -dev): it can be
// stopped and started again on the same address and keeps its keys, as a
// production Vault does across a restart. For fail-closed tests.
type Persistent struct {
	Addr      string
	RootToken string
	t         testing.TB
	bin, cfg  string
	unsealKey string
	cmd       *exec.Cmd
}

// StartPersistent initialises and unseals a file-backed Vault with the
// transit engine enabled; it is killed when the test ends.
func StartPersistent(t testing.TB) *Persistent {
	t.Helper()
	bin := binary(t)
	addr := freeAddr(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vault.hcl")
	hcl := fmt.Sprintf(`storage "file" { path = %q }
listener "tcp" {
  address     = %q
  tls_disable = true
}
disable_mlock = true
api_addr      = "http://%s"
`, filepath.Join(dir, "data"), addr, addr)
	if err := os.WriteFile(cfg, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &Persistent{Addr: "http://" + addr, t: t, bin: bin, cfg: cfg}
	t.Cleanup(p.Stop)
	p.Start()
	c := p.client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	init, err := c.Sys().InitWithContext(ctx, &vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatalf("vault init: %v", err)
	}
	p.RootToken, p.unsealKey = init.RootToken, init.KeysB64[0]
	p.unseal()
	c.SetToken(p.RootToken)
	if err := c.Sys().MountWithContext(ctx, "transit", &vaultapi.MountInput{Type: "transit"}); err != nil {
		t.Fatalf("enable transit: %v", err)
	}
	return p
}

// Start starts the server (again) and, once it was initialised, unseals it.
func (p *Persistent) Start() {
	p.t.Helper()
	if p.cmd != nil {
		p.t.Fatal("vault is already running")
	}
	cmd := exec.Command(p.bin, "server", "-config="+p.cfg, "-log-level=error")
	cmd.Env = append(os.Environ(), "VAULT_DISABLE_MLOCK=true", "HOME="+filepath.Dir(p.cfg))
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start vault %s: %v", p.bin, err)
	}
	p.cmd = cmd
	c := p.client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if _, err := c.Sys().InitStatusWithContext(ctx); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("vault at %s did not start", p.Addr)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if p.unsealKey != "" {
		p.unseal()
	}
}

// Stop kills the server; its data stays for the next Start.
func (p *Persistent) Stop() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	p.cmd.Wait()
	p.cmd = nil
}

func (p *Persistent) unseal() {
	p.t.Helper()
	st, err := p.client().Sys().Unseal(p.unsealKey)
	if err != nil || st.Sealed {
		p.t.Fatalf("vault unseal: %v %+v", err, st)
	}
}

func (p *Persistent) client() *vaultapi.Client {
	cfg := vaultapi.DefaultConfig()
	cfg.Address = p.Addr
	cfg.MaxRetries = 0
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

// Client returns a client with the root token; it keeps working across a
// restart.
func (p *Persistent) Client(t testing.TB) *vaultapi.Client {
	c := p.client()
	c.SetToken(p.RootToken)
	return c
}

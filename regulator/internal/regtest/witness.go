package regtest

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/regulator/cosignature"
	"github.com/crossclear/crossclear/regulator/witness"
)

// Witness is a crossclear witness on loopback HTTP.
type Witness struct {
	URL    string
	Name   string
	VKey   string
	State  *witness.State
	Server *httptest.Server
}

// StartWitness starts a crossclear witness named name that witnesses the
// log origin signed by logKey; now is its clock (time.Now when nil).
func StartWitness(t testing.TB, name, origin, logKey string, now func() time.Time) *Witness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := witness.OpenState(ctx, filepath.Join(dir, "witness.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.AddLog(ctx, origin); err != nil {
		t.Fatal(err)
	}
	if err := st.AddKey(ctx, origin, logKey); err != nil {
		t.Fatal(err)
	}
	key, err := signing.OpenDevSigner(filepath.Join(dir, "witness.key"), "witness")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := cosignature.NewSigner(ctx, name, key, now)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&witness.Witness{State: st, Signer: cs}).Handler())
	t.Cleanup(srv.Close)
	return &Witness{URL: srv.URL, Name: name, VKey: cs.Verifier().String(), State: st, Server: srv}
}

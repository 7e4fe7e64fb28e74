package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/regulator"
	"github.com/crossclear/crossclear/regulator/bundle"
	"github.com/crossclear/crossclear/regulator/checkpoint"
	"github.com/crossclear/crossclear/regulator/gateway"
	"github.com/crossclear/crossclear/regulator/internal/regtest"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/verify"
)

// env is a gateway on loopback over a world with cycle 1 reported, and keys
// for two regulators, a bank and an operator.
type env struct {
	t          *testing.T
	w          *regtest.World
	base       string
	client     *http.Client
	regSG      string
	regDE      string
	bank       string
	operator   string
	regSGKeyID string
}

func newEnv(t *testing.T, engine string, cfg gateway.Config) *env {
	t.Helper()
	ctx := context.Background()
	w := regtest.New(t, engine)
	p := w.Hold(t, 1, 0, "100.00")
	w.Act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease})
	w.Close(t)
	w.Produce(t)
	// Every exchange is checked against openapi.json (openapi_test.go).
	e := &env{t: t, w: w, client: &http.Client{Timeout: 10 * time.Second, Transport: contract.Transport(t, nil)}}
	key := func(role clearing.Role, subject string) (string, string) {
		k, secret, err := w.Store.CreateAPIKey(ctx, role, subject, "test", storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		return secret, k.ID
	}
	e.regSG, e.regSGKeyID = key(clearing.RoleRegulator, "SG")
	e.regDE, _ = key(clearing.RoleRegulator, "DE")
	e.bank, _ = key(clearing.RoleBank, "DBSSSGSG")
	e.operator, _ = key(clearing.RoleOperator, "")
	if cfg.Keys == nil {
		cfg.Keys = func(ctx context.Context) (bundle.Keys, error) {
			return bundle.PublishedKeys(ctx, regtest.Origin, w.Checkpoints, w.Files)
		}
	}
	app := gateway.New(w.Store, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	e.base = "http://" + ln.Addr().String()
	return e
}

func eachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, engine, gateway.Config{RatePerMinute: 6000, Burst: 1000}))
		})
	}
}

// get sends a GET with key (none when "") and returns status, headers, body.
func (e *env) get(key, path string) (int, http.Header, []byte) {
	e.t.Helper()
	return e.do(http.MethodGet, key, path)
}

func (e *env) do(method, key, path string) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func wantStatus(t *testing.T, got, want int, body []byte, what string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d: %s", what, got, want, body)
	}
}

// TestAuthentication: only live regulator keys get in.
func TestAuthentication(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		for _, tc := range []struct {
			name, key string
			status    int
			code      string
		}{
			{"no key", "", 401, "unauthenticated"},
			{"unknown key", "cck_0000", 401, "invalid_api_key"},
			{"bank key", e.bank, 403, "regulators_only"},
			{"operator key", e.operator, 403, "regulators_only"},
		} {
			status, _, body := e.get(tc.key, "/v1/reports")
			wantStatus(t, status, tc.status, body, tc.name)
			if !strings.Contains(string(body), `"code":"`+tc.code+`"`) {
				t.Errorf("%s: body %s, want code %s", tc.name, body, tc.code)
			}
		}
		k, secret, err := e.w.Store.CreateAPIKey(context.Background(), clearing.RoleRegulator, "SG", "revoked", storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		if status, _, body := e.get(secret, "/v1/reports"); status != 200 {
			t.Fatalf("fresh key: %d %s", status, body)
		}
		if err := e.w.Store.RevokeAPIKey(context.Background(), k.ID, storetest.Operator); err != nil {
			t.Fatal(err)
		}
		status, _, body := e.get(secret, "/v1/reports")
		wantStatus(t, status, 401, body, "revoked key")
	})
}

type listing struct {
	Reports []struct {
		ID, Jurisdiction string
		Seq              int64
		LeafIndex        uint64 `json:"leaf_index"`
		Files            []struct{ Format, SHA256 string }
	}
	CheckpointSize uint64  `json:"checkpoint_size"`
	NextAfter      *uint64 `json:"next_after"`
}

// TestScope: a regulator lists and reads its own jurisdiction's reports;
// another's are not found, exactly like ids that do not exist.
func TestScope(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		status, _, body := e.get(e.regSG, "/v1/reports")
		wantStatus(t, status, 200, body, "list")
		var l listing
		if err := json.Unmarshal(body, &l); err != nil {
			t.Fatal(err)
		}
		if len(l.Reports) != 1 || l.Reports[0].ID != "SG-cycle-1" || l.CheckpointSize != 3 || len(l.Reports[0].Files) != 2 {
			t.Fatalf("SG listing: %s", body)
		}
		for _, path := range []string{"/v1/reports/DE-cycle-1", "/v1/reports/DE-cycle-1/bundle", "/v1/reports/DE-cycle-1/files/json", "/v1/reports/XX-cycle-9"} {
			status, _, body := e.get(e.regSG, path)
			wantStatus(t, status, 404, body, "SG reads "+path)
			if !strings.Contains(string(body), "report_not_found") {
				t.Errorf("%s: %s", path, body)
			}
		}
		status, _, body = e.get(e.regDE, "/v1/reports/DE-cycle-1")
		wantStatus(t, status, 200, body, "DE reads its own")
		// By period: the cycle's id, within the caller's jurisdiction only.
		for period, want := range map[string]int{"1": 1, "2": 0, "2026-11-02": 0} {
			status, _, body = e.get(e.regSG, "/v1/reports?kind=cycle&period="+period)
			wantStatus(t, status, 200, body, "list period "+period)
			var l listing
			if err := json.Unmarshal(body, &l); err != nil || len(l.Reports) != want {
				t.Errorf("period %s: %s, want %d reports", period, body, want)
			}
		}
	})
}

// TestPullAndVerify: a regulator downloads a file (its hash and signature
// in headers) and bundles, and verifies them offline; the next cycle's
// bundle carries the consistency proof from the checkpoint it saw.
func TestPullAndVerify(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		status, h, csv := e.get(e.regSG, "/v1/reports/SG-cycle-1/files/csv")
		wantStatus(t, status, 200, csv, "csv")
		sum := sha256.Sum256(csv)
		if h.Get("Content-Type") != "text/csv; charset=utf-8" || h.Get("X-Content-SHA256") != hex.EncodeToString(sum[:]) {
			t.Fatalf("csv headers %v", h)
		}
		sigJSON, err := base64.StdEncoding.DecodeString(h.Get("X-Signature"))
		if err != nil {
			t.Fatal(err)
		}
		sig, err := signing.ParseSignature(sigJSON)
		if err != nil {
			t.Fatal(err)
		}
		fileKeys, _ := e.w.Files.PublicKeys(context.Background())
		if err := signing.Verify(fileKeys, csv, sig); err != nil {
			t.Fatalf("the X-Signature does not verify the file: %v", err)
		}
		status, _, keysJSON := e.get(e.regSG, "/v1/keys")
		wantStatus(t, status, 200, keysJSON, "keys")
		keys, err := bundle.ParseKeys(keysJSON)
		if err != nil {
			t.Fatal(err)
		}
		pull := func(path string) bundle.Bundle {
			status, _, body := e.get(e.regSG, path)
			wantStatus(t, status, 200, body, path)
			b, err := bundle.Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		st, _, err := verify.Verify(keys, verify.State{Seqs: map[string]int64{}}, []bundle.Bundle{pull("/v1/reports/SG-cycle-1/bundle")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.w.Close(t)
		e.w.Produce(t)
		st, res, err := verify.Verify(keys, st, []bundle.Bundle{pull("/v1/reports/SG-cycle-2/bundle?since_size=3")}, nil)
		if err != nil || st.Size != 6 || res.Reports[0].Entry.Seq != 2 {
			t.Fatalf("second pull: %v, size %d", err, st.Size)
		}
		// The consistency proof route proves the same thing on its own.
		status, _, body := e.get(e.regSG, "/v1/proofs/consistency?from=3")
		wantStatus(t, status, 200, body, "consistency")
		var c bundle.Consistency
		if err := json.Unmarshal(body, &c); err != nil {
			t.Fatal(err)
		}
		root3, _ := e.w.Producer.Log.Root(context.Background(), 3)
		if err := proof.VerifyConsistency(merklelog.Hasher, c.FromSize, c.ToSize, c.Hashes, root3, st.Root); err != nil || c.ToSize != 6 {
			t.Fatalf("consistency 3→%d: %v", c.ToSize, err)
		}
		status, h, note := e.get(e.regSG, "/v1/checkpoint")
		wantStatus(t, status, 200, note, "checkpoint")
		vs, _ := checkpoint.Verifiers(keys.CheckpointKeys)
		if cp, err := checkpoint.Open(note, keys.Origin, vs); err != nil || cp.Size != 6 || h.Get("X-Tree-Size") != "6" {
			t.Fatalf("checkpoint: %v %+v", err, cp)
		}
		if status, _, note := e.get(e.regSG, "/v1/checkpoints/3"); status != 200 || !strings.Contains(string(note), "\n3\n") {
			t.Fatalf("checkpoint 3: %d %s", status, note)
		}
		for path, want := range map[string]string{
			"/v1/reports?kind=week":                       `"field":"kind"`,
			"/v1/reports?limit=0":                         `"field":"limit"`,
			"/v1/reports/SG-cycle-1/bundle?since_size=x":  `"field":"since_size"`,
			"/v1/reports/SG-cycle-1/bundle?since_size=99": `"field":"since_size"`,
			"/v1/reports/SG-cycle-2/bundle?tree_size=3":   `"field":"tree_size"`,
			"/v1/proofs/consistency?from=5&to=3":          `"field":"from"`,
			"/v1/proofs/consistency?from=1&to=4":          `"field":"to"`,
			"/v1/proofs/consistency":                      `"field":"from"`,
		} {
			status, _, body := e.get(e.regSG, path)
			if status/100 != 4 || !strings.Contains(string(body), want) {
				t.Errorf("%s: %d %s, want a 4xx naming %s", path, status, body, want)
			}
		}
	})
}

// TestUnpublishedIsInvisible: reports added while the checkpoint signer is
// down are neither listed nor served until a checkpoint covers them.
func TestUnpublishedIsInvisible(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		down := &failingSigner{Signer: e.w.Checkpoints}
		down.down.Store(true)
		p := regulator.NewProducer(e.w.Store, e.w.Files, down, regtest.Origin)
		e.w.Close(t)
		if _, err := p.Tick(context.Background()); err == nil {
			t.Fatal("the pass with the checkpoint signer down succeeded")
		}
		if r := e.w.Report(t, "SG-cycle-2"); r.SealedAt.IsZero() {
			t.Fatal("the files were not sealed (their signer is up)")
		}
		_, _, body := e.get(e.regSG, "/v1/reports")
		if strings.Contains(string(body), "SG-cycle-2") {
			t.Fatalf("an unpublished report is listed: %s", body)
		}
		status, _, body := e.get(e.regSG, "/v1/reports/SG-cycle-2/bundle")
		wantStatus(t, status, 404, body, "unpublished bundle")
		down.down.Store(false)
		if _, err := p.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		status, _, body = e.get(e.regSG, "/v1/reports/SG-cycle-2/bundle")
		wantStatus(t, status, 200, body, "published bundle")
	})
}

type failingSigner struct {
	signing.Signer
	down atomic.Bool
}

func (f *failingSigner) Sign(ctx context.Context, in ...[]byte) ([]signing.Signature, error) {
	if f.down.Load() {
		return nil, io.ErrUnexpectedEOF
	}
	return f.Signer.Sign(ctx, in...)
}

// TestReadOnlyAndAudited: nothing but GET exists; every request — refused,
// failed or served — is in the access log with who, what and the status.
func TestReadOnlyAndAudited(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			status, _, body := e.do(method, e.regSG, "/v1/reports/SG-cycle-1")
			if status != 404 && status != 405 {
				t.Errorf("%s: %d %s", method, status, body)
			}
		}
		e.get("", "/v1/reports")
		e.get(e.regSG, "/v1/reports/SG-cycle-1/files/json")
		var rows []struct {
			KeyID        string `bun:"key_id"`
			Jurisdiction string
			Method       string
			Path         string
			Status       int
			RemoteAddr   string `bun:"remote_addr"`
		}
		if err := e.w.Store.DB().NewRaw("SELECT key_id, jurisdiction, method, path, status, remote_addr FROM regulator_access_log ORDER BY id").Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 5 {
			t.Fatalf("%d access rows, want 5: %+v", len(rows), rows)
		}
		if r := rows[3]; r.KeyID != "" || r.Status != 401 || r.Path != "/v1/reports" || r.RemoteAddr != "127.0.0.1" {
			t.Errorf("unauthenticated access row: %+v", r)
		}
		if r := rows[4]; r.KeyID != e.regSGKeyID || r.Jurisdiction != "SG" || r.Status != 200 || r.Path != "/v1/reports/SG-cycle-1/files/json" {
			t.Errorf("download row: %+v", r)
		}
		for _, r := range rows[:3] {
			if r.Status != 404 && r.Status != 405 {
				t.Errorf("write attempt row: %+v", r)
			}
		}
	})
}

// TestRateLimit: past its burst a key gets 429 with Retry-After, recorded;
// another key is not affected; failed authentications are limited per
// address.
func TestRateLimit(t *testing.T) {
	e := newEnv(t, "sqlite", gateway.Config{RatePerMinute: 60, Burst: 3})
	for i := range 3 {
		if status, _, body := e.get(e.regSG, "/v1/checkpoint"); status != 200 {
			t.Fatalf("request %d: %d %s", i, status, body)
		}
	}
	status, h, body := e.get(e.regSG, "/v1/checkpoint")
	wantStatus(t, status, 429, body, "4th request")
	if h.Get("Retry-After") != "1" || !strings.Contains(string(body), "rate_limited") {
		t.Errorf("429: Retry-After %q, %s", h.Get("Retry-After"), body)
	}
	if status, _, body := e.get(e.regDE, "/v1/checkpoint"); status != 200 {
		t.Errorf("another key: %d %s", status, body)
	}
	var limited int
	if err := e.w.Store.DB().NewRaw("SELECT COUNT(*) FROM regulator_access_log WHERE status = 429").Scan(context.Background(), &limited); err != nil || limited != 1 {
		t.Errorf("429s recorded: %d, %v", limited, err)
	}
	for range 3 {
		e.get("cck_wrong", "/v1/reports")
	}
	status, _, body = e.get(e.regDE, "/v1/reports")
	wantStatus(t, status, 429, body, "after three failed authentications from this address")
}

// TestMutualTLS: with a client CA configured, a client without a
// certificate from it cannot even connect; with one (and a key) it can.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "regulators CA", true)
	serverCert, serverKey := newCert(t, ca, caKey, "127.0.0.1", false)
	clientCert, clientKey := newCert(t, ca, caKey, "MAS", false)
	write := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, bl := range blocks {
			b = append(b, pem.EncodeToMemory(bl)...)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cfg, err := gateway.TLSConfig(write("server.pem", serverCert), write("server.key", serverKey), write("ca.pem", ca))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "sqlite", gateway.Config{})
	app := gateway.New(e.w.Store, gateway.Config{})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	roots := x509.NewCertPool()
	caCert, _ := x509.ParseCertificate(ca.Bytes)
	roots.AddCert(caCert)
	url := "https://" + ln.Addr().String() + "/v1/checkpoint"
	anonymous := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	if resp, err := anonymous.Get(url); err == nil {
		resp.Body.Close()
		t.Fatalf("a client without a certificate got %d", resp.StatusCode)
	}
	pair, err := tls.X509KeyPair(pem.EncodeToMemory(clientCert), pem.EncodeToMemory(clientKey))
	if err != nil {
		t.Fatal(err)
	}
	mutual := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}}}}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+e.regSG)
	resp, err := mutual.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("mutual TLS with a key: %d", resp.StatusCode)
	}
	if _, err := gateway.TLSConfig("", "", write("ca2.pem", ca)); err == nil {
		t.Error("a client CA without a server certificate was accepted")
	}
}

// newCert makes a certificate signed by parent (self-signed when nil).
func newCert(t *testing.T, parent *pem.Block, parentKey *pem.Block, name string, isCA bool) (*pem.Block, *pem.Block) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: isCA, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	signer, signerCert := any(key), tmpl
	if parent != nil {
		signerCert, _ = x509.ParseCertificate(parent.Bytes)
		k, err := x509.ParseECPrivateKey(parentKey.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		signer = k
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return &pem.Block{Type: "CERTIFICATE", Bytes: der}, &pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}
}

// TestSlowClientsAreCutOff: a connection that sends half a request line
// and stalls (slowloris) is closed within the read timeout.
func TestSlowClientsAreCutOff(t *testing.T) {
	const timeout = 300 * time.Millisecond
	e := newEnv(t, "sqlite", gateway.Config{ReadTimeout: timeout})
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /v1/rep"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := conn.SetReadDeadline(start.Add(timeout + 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("still open after %s (read timeout %s)", time.Since(start).Round(time.Millisecond), timeout)
	}
	if elapsed := time.Since(start); elapsed < timeout/2 {
		t.Fatalf("closed after %s, before the %s timeout", elapsed, timeout)
	}
}

package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/messages/iso/isotest"
	"github.com/crossclear/crossclear/messages/outbox"
	"github.com/crossclear/crossclear/messages/signing"
)

// publishedKeys fetches crossclear's public keys for mailbox files.
func (e *env) publishedKeys(key string) []signing.PublicKey {
	e.t.Helper()
	var out struct {
		Keys map[string][]signing.PublicKey `json:"keys"`
	}
	res := e.must(http.StatusOK, key, "GET", "/v1/signing-keys", nil)
	if err := json.Unmarshal(res.Body, &out); err != nil {
		e.t.Fatal(err)
	}
	return out.Keys["files"]
}

// TestMailboxFilesAreSigned: the pacs.002 answering an upload comes with a
// detached signature that verifies with only the published public keys,
// and the same check fails on a one-byte change.
func TestMailboxFilesAreSigned(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.upload(e.bankSG, isotest.Pacs008{MsgID: "SIG-1", Txs: []isotest.Tx{{Amount: "10.00"}}}.Bytes(), http.StatusCreated)
		body := e.must(http.StatusOK, e.bankSG, "GET", "/v1/files/"+r.Reply.ID, nil).Body
		sigRaw := e.must(http.StatusOK, e.bankSG, "GET", "/v1/files/"+r.Reply.ID+"/signature", nil).Body
		sig, err := signing.ParseSignature(sigRaw)
		if err != nil {
			t.Fatal(err)
		}
		keys := e.publishedKeys(e.regSG) // anyone authenticated may fetch them
		if err := signing.Verify(keys, body, sig); err != nil {
			t.Fatalf("signature does not verify with the published keys: %v", err)
		}
		tampered := bytes.Clone(body)
		tampered[len(tampered)/2] ^= 1
		if err := signing.Verify(keys, tampered, sig); !errors.Is(err, signing.ErrBadSignature) {
			t.Fatalf("a one-byte change verified: %v", err)
		}
		var list struct{ Files []map[string]any }
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/files", nil).into(t, &list)
		ref, _ := list.Files[0]["signature"].(map[string]any)
		if ref["key"] != sig.Key || ref["algorithm"] != "ed25519" || list.Files[0]["signedat"] == nil {
			t.Fatalf("%+v", list.Files[0])
		}
		// Another bank neither sees the file nor its signature.
		wantError(t, e.call(e.bankDE, "GET", "/v1/files/"+r.Reply.ID+"/signature", nil), http.StatusNotFound, "file_not_found", "id")
	})
}

// switchable is a signer that can be made to fail like an unreachable
// Vault. The real-Vault version of this test (a Vault process stopped and
// restarted) is messages/outbox's TestFailClosedWithRealVault.
type switchable struct {
	signing.Signer
	down atomic.Bool
}

func (s *switchable) Sign(ctx context.Context, in ...[]byte) ([]signing.Signature, error) {
	if s.down.Load() {
		return nil, errors.New("connection refused")
	}
	return s.Signer.Sign(ctx, in...)
}

// TestOutboxFailsClosed: while the signer is down an upload still
// succeeds, but its answer is not downloadable (nor listed to the bank),
// /readyz says degraded; once the signer is back the file is released.
func TestOutboxFailsClosed(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		dev, err := signing.OpenDevSigner(filepath.Join(t.TempDir(), "k"), "test")
		if err != nil {
			t.Fatal(err)
		}
		sw := &switchable{Signer: dev}
		sealer := &outbox.Sealer{Store: e.st, Signer: sw}
		e.start(api.Config{Sealer: sealer, SigningKeys: map[string]signing.Signer{"files": sw}})

		sw.down.Store(true)
		r := e.upload(e.bankSG, isotest.Pacs008{MsgID: "DOWN-1", Txs: []isotest.Tx{{Amount: "10.00"}}}.Bytes(), http.StatusCreated)
		if r.File.Accepted != 1 {
			t.Fatalf("%+v", r.File)
		}
		wantError(t, e.call(e.bankSG, "GET", "/v1/files/"+r.Reply.ID, nil), http.StatusConflict, "awaiting_signature", "id")
		var list struct{ Files []map[string]any }
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/files", nil).into(t, &list)
		if len(list.Files) != 0 {
			t.Fatalf("an unsigned file is listed to its bank: %+v", list)
		}
		e.must(http.StatusOK, e.op, "GET", "/v1/files", nil).into(t, &list)
		if len(list.Files) != 1 || list.Files[0]["signedat"] != nil {
			t.Fatalf("the operator should see the waiting file: %+v", list)
		}
		ready := e.must(http.StatusOK, "", "GET", "/readyz", nil).obj(t)
		ob, _ := ready["outbox"].(map[string]any)
		if ready["status"] != "degraded" || ob["degraded"] != true || ob["unsigned_files"] != float64(1) || ob["error"] == "" {
			t.Fatalf("readyz while the signer is down: %+v", ready)
		}

		sw.down.Store(false)
		if n, err := sealer.SealPending(context.Background()); err != nil || n != 1 {
			t.Fatalf("sealed %d: %v", n, err)
		}
		body := e.must(http.StatusOK, e.bankSG, "GET", "/v1/files/"+r.Reply.ID, nil).Body
		sig, err := signing.ParseSignature(e.must(http.StatusOK, e.bankSG, "GET", "/v1/files/"+r.Reply.ID+"/signature", nil).Body)
		if err != nil {
			t.Fatal(err)
		}
		if err := signing.Verify(e.publishedKeys(e.bankSG), body, sig); err != nil {
			t.Fatal(err)
		}
		ready = e.must(http.StatusOK, "", "GET", "/readyz", nil).obj(t)
		if ready["status"] != "ready" {
			t.Fatalf("%+v", ready)
		}
	})
}

// bankKey is a partner bank's own signing key.
type bankKey struct {
	pub  signing.PublicKey
	priv ed25519.PrivateKey
}

func newBankKey(t *testing.T, name string, version int) bankKey {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := signing.EncodePublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	return bankKey{pub: signing.PublicKey{Key: name, Version: version, Algorithm: signing.Ed25519, PEM: pem}, priv: priv}
}

func (k bankKey) sign(b []byte) []byte {
	return signing.Signature{Key: k.pub.Key, Version: k.pub.Version, Algorithm: signing.Ed25519, Value: ed25519.Sign(k.priv, b)}.Marshal()
}

func sigHeader(sig []byte) header {
	return header{api.HeaderSignature, base64.StdEncoding.EncodeToString(sig)}
}

// TestSignedUploads: a bank registers its key; a signed upload is verified
// (raw body with the header, or multipart); a wrong or tampered signature,
// an unknown or revoked key, and — once the bank must sign — an unsigned
// file are refused whole, with nothing held.
func TestSignedUploads(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		k := newBankKey(t, "dbs-files", 1)
		e.must(http.StatusCreated, e.bankSG, "POST", "/v1/participants/"+sgBank+"/keys",
			map[string]any{"key": k.pub.Key, "version": 1, "algorithm": "ed25519", "public_key_pem": k.pub.PEM})
		wantError(t, e.call(e.bankDE, "POST", "/v1/participants/"+sgBank+"/keys",
			map[string]any{"key": "x", "version": 1, "algorithm": "ed25519", "public_key_pem": k.pub.PEM}), http.StatusNotFound, "participant_not_found", "id")
		wantError(t, e.call(e.bankSG, "POST", "/v1/participants/"+sgBank+"/keys",
			map[string]any{"key": "bad", "version": 1, "algorithm": "ed25519", "public_key_pem": "not pem"}), http.StatusUnprocessableEntity, "invalid_public_key", "public_key_pem")

		file := isotest.Pacs008{MsgID: "SIGNED-1", Txs: []isotest.Tx{{Amount: "10.00"}}}.Bytes()
		if r := e.upload2(e.bankSG, file, k.sign(file), http.StatusCreated); r.File.Accepted != 1 {
			t.Fatalf("%+v", r.File)
		}

		// Multipart, signed.
		file2 := isotest.Pacs008{MsgID: "SIGNED-2", Txs: []isotest.Tx{{Amount: "11.00", UETR: isotest.UETR(2)}}}.Bytes()
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "pacs008.xml")
		fw.Write(file2)
		sw, _ := mw.CreateFormFile("signature", "pacs008.xml.sig")
		sw.Write(k.sign(file2))
		mw.Close()
		if r := e.must(http.StatusCreated, e.bankSG, "POST", "/v1/files", buf.Bytes(), header{"Content-Type", mw.FormDataContentType()}); r.obj(t)["file"].(map[string]any)["accepted"] != float64(1) {
			t.Fatalf("%s", r.Body)
		}

		e.unchanged(func() {
			file3 := isotest.Pacs008{MsgID: "SIGNED-3", Txs: []isotest.Tx{{Amount: "12.00", UETR: isotest.UETR(3)}}}.Bytes()
			tampered := bytes.Clone(file3)
			tampered[len(tampered)-20] ^= 1
			wantError(t, e.call(e.bankSG, "POST", "/v1/files", tampered, xmlType, sigHeader(k.sign(file3))), http.StatusBadRequest, "bad_signature", "signature")
			other := newBankKey(t, "dbs-files", 2) // never registered
			wantError(t, e.call(e.bankSG, "POST", "/v1/files", file3, xmlType, sigHeader(other.sign(file3))), http.StatusBadRequest, "bad_signature", "signature")
			impostor := newBankKey(t, "dbs-files", 1) // right name, wrong key
			wantError(t, e.call(e.bankSG, "POST", "/v1/files", file3, xmlType, sigHeader(impostor.sign(file3))), http.StatusBadRequest, "bad_signature", "signature")
		})

		// Required: unsigned refused; revoked key refused.
		e.must(http.StatusOK, e.op, "POST", "/v1/participants/"+sgBank+"/require-signed-files", map[string]any{"require": true})
		e.unchanged(func() {
			file4 := isotest.Pacs008{MsgID: "UNSIGNED-4", Txs: []isotest.Tx{{Amount: "13.00", UETR: isotest.UETR(4)}}}.Bytes()
			wantError(t, e.call(e.bankSG, "POST", "/v1/files", file4, xmlType), http.StatusUnprocessableEntity, "signature_required", "signature")
			e.must(http.StatusOK, e.bankSG, "POST", "/v1/participants/"+sgBank+"/keys/dbs-files/1/revoke", nil)
			wantError(t, e.call(e.bankSG, "POST", "/v1/files", file4, xmlType, sigHeader(k.sign(file4))), http.StatusBadRequest, "bad_signature", "signature")
		})
		var keys struct{ Keys []map[string]any }
		e.must(http.StatusOK, e.regSG, "GET", "/v1/participants/"+sgBank+"/keys", nil).into(t, &keys)
		if len(keys.Keys) != 1 || keys.Keys[0]["revokedat"] == nil {
			t.Fatalf("%+v", keys)
		}
	})
}

func (e *env) upload2(key string, raw, sig []byte, want int) uploadResult {
	e.t.Helper()
	var r uploadResult
	e.must(want, key, "POST", "/v1/files", raw, xmlType, sigHeader(sig)).into(e.t, &r)
	return r
}

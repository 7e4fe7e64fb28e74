package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/messages/iso/isotest"
	"github.com/crossclear/crossclear/messages/signing/vault/vaulttest"
)

// TestFilesPushPullAndVerify walks a partner bank's script against a real
// server: push a pacs.008, pull the signed pacs.002 (verified and
// acknowledged), then check it offline with only the published keys — and
// see the check fail on a one-byte change.
func TestFilesPushPullAndVerify(t *testing.T) {
	dir := t.TempDir()
	dsn := filepath.Join(dir, "crossclear.db")
	env := map[string]string{"CROSSCLEAR_DATABASE": dsn, "CROSSCLEAR_LISTEN": "127.0.0.1:0"}
	mustRun(t, env, "migrate")
	storetest.Seed(t, openTestStore(t, dsn))
	base, out, _ := startServing(t, env, "serve")
	if !strings.Contains(out.String(), "DEVELOPMENT key files (dev-crossclear, dev-crossclear-checkpoints)") {
		t.Fatalf("serve does not say it signs with development keys:\n%s", out.String())
	}
	bank := map[string]string{"CROSSCLEAR_URL": base, "CROSSCLEAR_API_KEY": strings.TrimSpace(mustRun(t, env, "apikey", "create", "--role", "bank", "--subject", isotest.Sender, "--quiet"))}

	batch := filepath.Join(dir, "batch.xml")
	raw := isotest.Pacs008{MsgID: "CLI-1", Txs: []isotest.Tx{{Amount: "10.00"}, {Amount: "5.00", CdtrIBAN: "DE02120300000000202051"}}}.Bytes()
	if err := os.WriteFile(batch, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	pushed := mustRun(t, bank, "files", "push", batch)
	if !strings.Contains(pushed, "CLI-1") || !strings.Contains(pushed, "PART, 1 accepted, 1 rejected") || !strings.Contains(pushed, "AC03") {
		t.Fatalf("push:\n%s", pushed)
	}
	if code, again, _ := crossclear(t, bank, "files", "push", filepath.Join(dir, "missing.xml")); code != exitError || !strings.Contains(again, "REFUSED") {
		t.Fatalf("push of a missing file: %d %s", code, again)
	}

	mailbox := filepath.Join(dir, "mailbox")
	pulled := mustRun(t, bank, "files", "pull", "--dir", mailbox)
	if !strings.Contains(pulled, "1 file(s) pulled") || !strings.Contains(pulled, "signed by dev-crossclear v1") {
		t.Fatalf("pull:\n%s", pulled)
	}
	if again := mustRun(t, bank, "files", "pull", "--dir", mailbox); !strings.Contains(again, "0 file(s) pulled") {
		t.Fatalf("a second pull found files again (not acknowledged?):\n%s", again)
	}
	files, _ := filepath.Glob(filepath.Join(mailbox, "*.pacs-002-001-10.xml"))
	if len(files) != 1 {
		t.Fatalf("mailbox: %v", files)
	}

	keys := filepath.Join(dir, "keys.json")
	if err := os.WriteFile(keys, []byte(mustRun(t, env, "keys", "publish")), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok := mustRun(t, nil, "keys", "verify", "--keys", keys, files[0]); !strings.Contains(ok, "OK:") || !strings.Contains(ok, "dev-crossclear version 1") {
		t.Fatalf("verify:\n%s", ok)
	}
	b, _ := os.ReadFile(files[0])
	b[len(b)/2] ^= 1
	os.WriteFile(files[0], b, 0o644)
	if code, bad, _ := crossclear(t, nil, "keys", "verify", "--keys", keys, files[0]); code != exitError || !strings.Contains(bad, "FAILED") {
		t.Fatalf("verify of a changed file: exit %d\n%s", code, bad)
	}
	if code, _, errs := crossclear(t, env, "keys", "rotate"); code != exitUsage || !strings.Contains(errs, "cannot rotate") {
		t.Fatalf("rotate with the dev signer: %d %s", code, errs)
	}

	// A cancellation: push names every answer — the camt.029 per payment
	// and the pacs.004 of the refund.
	cxl := filepath.Join(dir, "cxl.xml")
	os.WriteFile(cxl, isotest.Camt056{AssignmentID: "CLI-CXL", Txs: []isotest.CxlTx{{UETR: isotest.UETR(1), MsgID: "CLI-1"}, {UETR: isotest.UETR(99), MsgID: "CLI-1"}}}.Bytes(), 0o644)
	cancelled := mustRun(t, bank, "files", "push", cxl)
	answers := regexp.MustCompile(`(?m)^  tx 0 ` + isotest.UETR(1) + `: ACCR; camt\.029\.001\.09 mbx_\w+; pacs\.004\.001\.09 mbx_\w+$`)
	if !strings.Contains(cancelled, "CLI-CXL") || !answers.MatchString(cancelled) || !strings.Contains(cancelled, "tx 1 "+isotest.UETR(99)+": RJCR NOOR") {
		t.Fatalf("push of a camt.056:\n%s", cancelled)
	}
}

// TestKeysWithVault: with signer = vault the files are signed by the
// transit key; keys rotate adds a version; keys publish lists every
// version; a file signed before the rotation still verifies with the
// published keys, and one signed after names the new version.
func TestKeysWithVault(t *testing.T) {
	v := vaulttest.Start(t)
	dir := t.TempDir()
	dsn := filepath.Join(dir, "crossclear.db")
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(vaulttest.RootToken+"\n"), 0o600)
	env := map[string]string{"CROSSCLEAR_DATABASE": dsn, "CROSSCLEAR_LISTEN": "127.0.0.1:0", "CROSSCLEAR_SIGNER": "vault",
		"CROSSCLEAR_VAULT_ADDR": v.Addr, "CROSSCLEAR_VAULT_TOKEN_FILE": tokenFile}
	for _, k := range []string{"crossclear-bank-files", "crossclear-regulator-checkpoints"} {
		if _, err := v.Client(t).Logical().Write("transit/keys/"+k, map[string]any{"type": "ed25519"}); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, env, "migrate")
	storetest.Seed(t, openTestStore(t, dsn))
	base, out, _ := startServing(t, env, "serve")
	if !strings.Contains(out.String(), "Vault transit at "+v.Addr) {
		t.Fatalf("serve output:\n%s", out.String())
	}
	bank := map[string]string{"CROSSCLEAR_URL": base, "CROSSCLEAR_API_KEY": strings.TrimSpace(mustRun(t, env, "apikey", "create", "--role", "bank", "--subject", isotest.Sender, "--quiet"))}
	push := func(msgID string, n int) {
		p := filepath.Join(dir, msgID+".xml")
		os.WriteFile(p, isotest.Pacs008{MsgID: msgID, Txs: []isotest.Tx{{Amount: "10.00", UETR: isotest.UETR(n)}}}.Bytes(), 0o644)
		mustRun(t, bank, "files", "push", p)
	}
	mailbox := filepath.Join(dir, "mailbox")
	push("V-1", 1)
	if pulled := mustRun(t, bank, "files", "pull", "--dir", mailbox); !strings.Contains(pulled, "signed by crossclear-bank-files v1") {
		t.Fatalf("pull:\n%s", pulled)
	}
	if rotated := mustRun(t, env, "keys", "rotate"); !strings.Contains(rotated, "new signatures use version 2") {
		t.Fatalf("rotate:\n%s", rotated)
	}
	push("V-2", 2)
	if pulled := mustRun(t, bank, "files", "pull", "--dir", mailbox); !strings.Contains(pulled, "signed by crossclear-bank-files v2") {
		t.Fatalf("pull after rotation:\n%s", pulled)
	}
	published := mustRun(t, env, "keys", "publish")
	if n := len(regexp.MustCompile(`"key": "crossclear-bank-files"`).FindAllString(published, -1)); n != 2 {
		t.Fatalf("published %d versions of the files key:\n%s", n, published)
	}
	keys := filepath.Join(dir, "keys.json")
	os.WriteFile(keys, []byte(published), 0o644)
	files, _ := filepath.Glob(filepath.Join(mailbox, "*.xml"))
	if len(files) != 2 {
		t.Fatalf("%v", files)
	}
	for _, f := range files {
		if ok := mustRun(t, nil, "keys", "verify", "--keys", keys, f); !strings.Contains(ok, "OK:") {
			t.Fatalf("%s:\n%s", f, ok)
		}
	}

	// The same with --json: one document each, for scripts.
	if doc := mustJSON(t, env, "keys", "rotate", "--purpose", "checkpoints", "--json"); doc["rotated"].([]any)[0].(map[string]any)["version"] != float64(2) {
		t.Errorf("keys rotate --json: %v", doc)
	}
	p := filepath.Join(dir, "V-3.xml")
	os.WriteFile(p, isotest.Pacs008{MsgID: "V-3", Txs: []isotest.Tx{{Amount: "10.00", UETR: isotest.UETR(3)}}}.Bytes(), 0o644)
	pushed := mustJSON(t, bank, "files", "push", "--json", p)
	if f := pushed["files"].([]any)[0].(map[string]any); f["path"] != p || f["answer"].(map[string]any)["file"] == nil {
		t.Errorf("files push --json: %v", pushed)
	}
	pulled := mustJSON(t, bank, "files", "pull", "--json", "--dir", mailbox)
	if fs := pulled["files"].([]any); pulled["pulled"] != float64(1) || len(fs) != 1 || fs[0].(map[string]any)["key_version"] != float64(2) ||
		fs[0].(map[string]any)["verified"] != true {
		t.Errorf("files pull --json: %v", pulled)
	}
}

package outbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/messages/inbound"
	"github.com/crossclear/crossclear/messages/iso/isotest"
	"github.com/crossclear/crossclear/messages/outbox"
	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/messages/signing/vault"
	"github.com/crossclear/crossclear/messages/signing/vault/vaulttest"
)

var bank = clearing.Actor{Role: clearing.RoleBank, Subject: isotest.Sender}

// upload puts a pacs.002 into the sending bank's mailbox the way the API
// does, and returns its id.
func upload(t *testing.T, st *store.Store, msgID, uetr string) string {
	t.Helper()
	raw := isotest.Pacs008{MsgID: msgID, Txs: []isotest.Tx{{Amount: "10.00", UETR: uetr}}}.Bytes()
	res, err := inbound.Receive(context.Background(), st, isotest.Sender, raw, inbound.Config{}, bank)
	if err != nil {
		t.Fatal(err)
	}
	return res.Reply.ID
}

// visible lists the ids the bank can see in its mailbox.
func visible(t *testing.T, st *store.Store) map[string]bool {
	t.Helper()
	files, err := st.MailboxFiles(context.Background(), store.MailboxFilter{BankID: isotest.Sender})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range files {
		out[f.ID] = true
	}
	return out
}

// TestFailClosedWithRealVault: a real Vault process (file storage, so its
// keys survive) is stopped mid-test. Files produced meanwhile wait
// unsigned and invisible to their bank while the sealer reports degraded;
// when Vault is started again they are signed and released, and every
// signature — before and after the outage — verifies with the published
// keys alone.
func TestFailClosedWithRealVault(t *testing.T) {
	v := vaulttest.StartPersistent(t)
	signer, err := vault.New(v.Client(t), vault.Config{Key: "crossclear-bank-files"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := signer.CreateKey(ctx, signing.Ed25519); err != nil {
		t.Fatal(err)
	}
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			st := storetest.Open(t, engine, store.Options{})
			storetest.Seed(t, st)
			sealer := &outbox.Sealer{Store: st, Signer: signer}

			before := upload(t, st, "VAULT-UP", isotest.UETR(1))
			if n, err := sealer.SealPending(ctx); err != nil || n != 1 {
				t.Fatalf("sealed %d: %v", n, err)
			}

			v.Stop()
			during := upload(t, st, "VAULT-DOWN", isotest.UETR(2))
			if _, err := sealer.SealPending(ctx); err == nil {
				t.Fatal("sealing succeeded with Vault stopped")
			}
			h, err := sealer.Health(ctx)
			if err != nil || !h.Degraded || h.Unsigned != 1 || h.Error == "" {
				t.Fatalf("health while Vault is down: %+v %v", h, err)
			}
			if seen := visible(t, st); !seen[before] || seen[during] {
				t.Fatalf("bank sees %v: the signed file and not the unsigned one expected", seen)
			}
			f, err := st.MailboxFile(ctx, during)
			if err != nil || !f.SealedAt.IsZero() || f.Signature != nil {
				t.Fatalf("%+v %v", f, err)
			}

			v.Start()
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); sealer.Run(runCtx, 50*time.Millisecond) }()
			deadline := time.Now().Add(20 * time.Second)
			for !visible(t, st)[during] {
				if time.Now().After(deadline) {
					t.Fatal("the waiting file was not released after Vault came back")
				}
				time.Sleep(50 * time.Millisecond)
			}
			stop()
			<-done
			if h, _ := sealer.Health(ctx); h.Degraded || h.Unsigned != 0 {
				t.Fatalf("health after recovery: %+v", h)
			}

			published, err := signer.PublicKeys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{before, during} {
				f, err := st.MailboxFile(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				sig, err := signing.ParseSignature(f.Signature)
				if err != nil {
					t.Fatal(err)
				}
				if sig.Key != "crossclear-bank-files" || sig.Version != 1 {
					t.Fatalf("%+v", sig)
				}
				if err := signing.Verify(published, f.Content, sig); err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				f.Content[0] ^= 1
				if err := signing.Verify(published, f.Content, sig); !errors.Is(err, signing.ErrBadSignature) {
					t.Fatalf("tampered %s verified: %v", id, err)
				}
			}
		})
	}
}

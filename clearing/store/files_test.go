package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

// TestReceiveFileIsAllOrNothing: when the answer cannot be built, nothing
// of the file stays: no hold, no inbound row, no mailbox file; the same
// MsgId can then be sent again.
func TestReceiveFileIsAllOrNothing(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			s := storetest.Open(t, engine, store.Options{})
			w := storetest.Seed(t, s)
			hold := clearing.HoldRequest{UETR: "3f2b6c1e-8a4d-4e5f-9b7a-1c2d3e4f5a99", BuyerBankID: "DBSSSGSG", MerchantID: w.Merchants[0].ID, Amount: fx.MustCurrency("EUR").FromMinor(1000)}
			in := store.InboundFile{ID: store.NewFileID("fil"), Sender: "DBSSSGSG", MsgID: "M1", Message: "pacs.008.001.08", SHA256: "x", Size: 1}
			boom := errors.New("boom")
			_, _, _, err := s.ReceiveFile(ctx, in, []clearing.HoldRequest{hold}, storetest.Operator, func([]store.Result, map[string]clearing.Payment) (store.MailboxFile, store.InboundFile, error) {
				return store.MailboxFile{}, store.InboundFile{}, boom
			})
			if !errors.Is(err, boom) {
				t.Fatal(err)
			}
			if _, _, err := s.Payment(ctx, hold.UETR); err == nil {
				t.Fatal("the hold stayed")
			}
			if _, ok, _ := s.InboundFileByMsgID(ctx, "DBSSSGSG", "M1"); ok {
				t.Fatal("the file stayed")
			}
			if fs, _ := s.MailboxFiles(ctx, store.MailboxFilter{}); len(fs) != 0 {
				t.Fatal("a mailbox file stayed")
			}
			f, m, res, err := s.ReceiveFile(ctx, in, []clearing.HoldRequest{hold}, storetest.Operator, func(rs []store.Result, _ map[string]clearing.Payment) (store.MailboxFile, store.InboundFile, error) {
				return store.MailboxFile{BankID: "DBSSSGSG", Kind: "pacs.002.001.10", Content: []byte("<x/>")}, store.InboundFile{Status: "ACSP", Accepted: 1, Result: []byte("{}")}, nil
			})
			if err != nil || res[0].Err != nil || f.ReplyID != m.ID || m.SHA256 != store.SHA256Hex([]byte("<x/>")) {
				t.Fatalf("%v %+v %+v %+v", err, f, m, res)
			}
			_, _, _, err = s.ReceiveFile(ctx, in, nil, storetest.Operator, nil)
			if !errors.Is(err, store.ErrDuplicateMessage) {
				t.Fatalf("second claim: %v", err)
			}
		})
	}
}

package inbound_test

import (
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/inbound"
	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// TestRefundFile: the pacs.004 of a refund is schema-valid, goes to the
// buyer's bank from the operator, and says what the refund was: the
// payment by its UETR and EndToEndId, what the bank paid (a cross-currency
// payment's sell amount) and what it gets back, the reason by cause, and
// an explanation cut to the schema's 500 characters.
func TestRefundFile(t *testing.T) {
	sgd := fx.MustCurrency("SGD")
	p := clearing.Payment{ID: isotest.UETR(7), EndToEndID: "ORDER-7", BuyerBankID: isotest.Sender, Currency: "EUR", AmountMinor: 67902,
		SellCurrency: "SGD", SellMinor: 100000, State: clearing.Refunded}
	at := time.Date(2026, 3, 11, 10, 30, 0, 0, time.UTC)
	for cause, reason := range map[store.RefundCause]string{store.RefundRequested: "MS03", store.RefundDispute: "CUST", store.RefundCancellation: "FOCR"} {
		f, err := inbound.RefundFile("")(store.Refund{Payment: p, Paid: sgd.FromMinor(100000), Returned: sgd.FromMinor(55821), At: at, Cause: cause,
			Reason: strings.Repeat("é", 300)})
		if err != nil {
			t.Fatal(err)
		}
		isotest.SchemaValid(t, iso.Pacs004v09, f.Content)
		env, err := iso.SplitBytes(f.Content, iso.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := iso.DecodePaymentReturn(env)
		if err != nil {
			t.Fatal(err)
		}
		tx := r.Returns[0]
		if f.BankID != isotest.Sender || f.Kind != iso.Pacs004v09 || r.Header.From != inbound.DefaultOperatorBIC || r.Header.To != isotest.Sender ||
			tx.Original != (iso.Original{UETR: p.ID, EndToEndID: "ORDER-7"}) || tx.Amount != (iso.Amount{Value: "558.21", Currency: "SGD"}) ||
			*tx.OriginalAmount != (iso.Amount{Value: "1000.00", Currency: "SGD"}) || tx.Reason != reason || tx.SettlementDate != "2026-03-11" ||
			len(tx.Info) > 500 || !strings.HasSuffix(tx.Info, "é") {
			t.Fatalf("%s: %+v %+v", cause, r, tx)
		}
	}
}

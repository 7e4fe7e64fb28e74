package inbound

import (
	"unicode/utf8"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/outbound"
)

// RefundFile builds the pacs.004 that tells a buyer's bank its payment
// was refunded, for store.Options.Refunds: the store writes it into the
// bank's mailbox in the refund's transaction. operator is crossclear's
// BIC ("" is DefaultOperatorBIC).
func RefundFile(operator string) store.RefundFile {
	if operator == "" {
		operator = DefaultOperatorBIC
	}
	return func(r store.Refund) (store.MailboxFile, error) { return refundFile(operator, r, iso.Original{}) }
}

// returnReasons are the pacs.004's ExternalReturnReason1Code by cause.
var returnReasons = map[store.RefundCause]string{
	store.RefundRequested:    iso.ReturnAgent,        // MS03: the merchant's side gave the money back
	store.RefundDispute:      iso.ReturnByCustomer,   // CUST: the buyer's dispute was upheld
	store.RefundCancellation: iso.ReturnCancellation, // FOCR: the buyer's bank's camt.056 was accepted
}

// refundExplanations lead the pacs.004's AddtlInf by cause.
var refundExplanations = map[store.RefundCause]string{
	store.RefundRequested:    "refunded by the merchant's side",
	store.RefundDispute:      "dispute resolved with a refund",
	store.RefundCancellation: "cancelled at the buyer's bank's request",
}

// refundFile builds the pacs.004 of r. The payment is named by its UETR
// and EndToEndId; asSent, when it names the payment's pacs.008 (a
// camt.056's OrgnlGrpInf), adds that message's MsgId and name.
func refundFile(operator string, r store.Refund, asSent iso.Original) (store.MailboxFile, error) {
	p := r.Payment
	orig := iso.Original{UETR: p.ID, EndToEndID: p.EndToEndID}
	if asSent.MsgID != "" && asSent.MsgNameID != "" {
		orig.MsgID, orig.MsgNameID = asSent.MsgID, asSent.MsgNameID
	}
	why := refundExplanations[r.Cause]
	if r.Reason != "" {
		why += ": " + r.Reason
	}
	f, err := outbound.BuildRefund(outbound.Refund{Operator: operator, Bank: p.BuyerBankID, At: r.At, Payment: orig,
		PaidAmount: r.Paid, Amount: r.Returned, Reason: returnReasons[r.Cause], Explanation: clip(why, maxInfo)})
	if err != nil {
		return store.MailboxFile{}, err
	}
	return store.MailboxFile{BankID: f.BankID, Kind: f.Kind, Content: f.Content}, nil
}

// maxInfo is what an AddtlInf of a pacs.004 or camt.029 holds, and what a
// payment event's reason may be (clearing.MaxReasonLen, in bytes).
const maxInfo = 500

// clip cuts s to at most n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

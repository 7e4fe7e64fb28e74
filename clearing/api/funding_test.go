package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
	"github.com/crossclear/crossclear/messages/outbound"
)

// fundingReply downloads a funding's pacs.002 (checked with xmllint) and
// decodes it.
func (e *env) fundingReply(key string, a fileAnswer) *iso.StatusReport {
	e.t.Helper()
	if a.Reply == nil || a.Reply.Kind != iso.Pacs002v10 {
		e.t.Fatalf("no pacs.002 in the answer: %+v", a)
	}
	rep, err := iso.DecodeStatusReport(e.download(key, a.Reply))
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

// TestSettlementFunding: a net debit bank's pacs.009 (.08 or .09) naming
// its position of a closed cycle by the id of the pacs.009 crossclear sent
// settles it when the debtor, currency and amount are exactly the
// position's, and is answered with a pacs.002 in its mailbox; each
// mismatch is refused with its reason and marks nothing; the same file
// again replays its answer; another file for the settled position is DUPL.
func TestSettlementFunding(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.settledCycle() // DBSSSGSG owes 100.00 EUR, CHASUS33 50.00, DEUTDEFF receives 150.00
		msgSG, _ := outbound.PositionRef(1, sgBank, "EUR")
		msgUS, _ := outbound.PositionRef(1, usBank, "EUR")
		msgDE, _ := outbound.PositionRef(1, deBank, "EUR")

		refused := func(key, bank, msgID string, tx isotest.FundingTx, reason string) {
			t.Helper()
			a, res := e.sendFile(key, isotest.Pacs009Funding("08", bank, msgID, tx), http.StatusCreated)
			s := a.Settlements
			if a.File.Kind != "settlement_funding" || a.File.Message != "pacs.009.001.08" || a.File.Status != "RJCT" || a.File.Sender != bank ||
				len(s) != 1 || s[0].Outcome != "refused" || s[0].Error == nil || s[0].Error.Reason != reason || s[0].SettledAt != "" {
				t.Fatalf("%s: %s", reason, res.Body)
			}
			rep := e.fundingReply(key, a)
			if rep.Header.To != bank || rep.Original.MsgID != msgID || rep.Original.MsgNameID != "pacs.009.001.08" || rep.Original.Status != "RJCT" ||
				rep.Transactions[0].Status != "RJCT" || string(rep.Transactions[0].Reasons[0].Code) != reason {
				t.Fatalf("%s: %+v", reason, rep)
			}
			if state, settled := e.cyclePositions(); state != "closed" || settled[sgBank] || settled[usBank] || settled[deBank] {
				t.Fatalf("%s: %s %v", reason, state, settled)
			}
		}
		refused(e.bankSG, sgBank, "F-AMT", isotest.FundingTx{EndToEndID: msgSG, Amount: "99.99"}, "AM09")
		refused(e.bankSG, sgBank, "F-CCY", isotest.FundingTx{EndToEndID: msgSG, Amount: "100.00", Currency: "USD"}, "AM03")
		refused(e.bankSG, sgBank, "F-REF", isotest.FundingTx{EndToEndID: "C1-9-BNPAFRPP-EUR", Amount: "100.00"}, "NARR")
		refused(e.bankSG, sgBank, "F-NOREF", isotest.FundingTx{EndToEndID: "INVOICE-7", Amount: "100.00"}, "NARR")
		refused(e.bankSG, sgBank, "F-OTHER", isotest.FundingTx{EndToEndID: msgUS, Amount: "50.00"}, "NARR")                // another bank's position
		refused(e.bankSG, sgBank, "F-DBTR", isotest.FundingTx{Debtor: usBank, EndToEndID: msgUS, Amount: "50.00"}, "RC01") // in another bank's name
		refused(e.bankDE, deBank, "F-CREDIT", isotest.FundingTx{EndToEndID: msgDE, Amount: "150.00"}, "NARR")              // a credit position

		// The exact amount, in a .09, the debtor written with branch XXX.
		raw := isotest.Pacs009Funding("09", sgBank, "F-OK", isotest.FundingTx{Debtor: sgBank + "XXX", EndToEndID: msgSG, Amount: "100.00"})
		a, res := e.sendFile(e.bankSG, raw, http.StatusCreated)
		s := a.Settlements
		if a.File.Status != "ACSC" || a.File.Accepted != 1 || a.File.Message != "pacs.009.001.09" || len(s) != 1 || s[0].Outcome != "settled" ||
			s[0].Status != "ACSC" || s[0].Participant != sgBank || s[0].Net != "-100.00" || s[0].SettledBy != "bank:"+sgBank || s[0].CycleState != "closed" {
			t.Fatalf("%s", res.Body)
		}
		rep := e.fundingReply(e.bankSG, a)
		if rep.Original.Status != "ACSC" || rep.Transactions[0].Status != "ACSC" || rep.Transactions[0].EndToEndID != msgSG || rep.Transactions[0].AcceptedAt == "" {
			t.Fatalf("%+v", rep)
		}
		if state, settled := e.cyclePositions(); state != "closed" || !settled[sgBank] || settled[usBank] {
			t.Fatalf("%s %v", state, settled)
		}
		// The same file again: its first answer, the same pacs.002.
		again, res2 := e.sendFile(e.bankSG, raw, http.StatusOK)
		if res2.Header.Get("Idempotent-Replayed") != "true" || again.File.ID != a.File.ID || again.Reply.ID != a.Reply.ID || again.Settlements[0].SettledAt != s[0].SettledAt {
			t.Fatalf("replay %s, first %s", res2.Body, res.Body)
		}
		// Another MsgId for the settled position: DUPL, nothing paid twice.
		a, res = e.sendFile(e.bankSG, isotest.Pacs009Funding("08", sgBank, "F-AGAIN", isotest.FundingTx{EndToEndID: msgSG, Amount: "100.00"}), http.StatusCreated)
		if a.File.Status != "RJCT" || a.Settlements[0].Outcome != "already_settled" || a.Settlements[0].Error.Reason != "DUPL" ||
			a.Settlements[0].SettledAt != s[0].SettledAt {
			t.Fatalf("%s", res.Body)
		}
		if rep := e.fundingReply(e.bankSG, a); rep.Transactions[0].Reasons[0].Code != "DUPL" {
			t.Fatalf("%+v", rep)
		}
		// The MsgId reused for other content.
		e.unchanged(func() {
			wantError(t, e.call(e.bankSG, "POST", "/v1/files", isotest.Pacs009Funding("09", sgBank, "F-OK", isotest.FundingTx{EndToEndID: msgSG, Amount: "1.00"}), xmlType),
				http.StatusConflict, "duplicate_message", "GrpHdr/MsgId")
			// The operator sends no pacs.009; a header from another bank is refused.
			wantError(t, e.call(e.op, "POST", "/v1/files", raw, xmlType), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.bankUS, "POST", "/v1/files", raw, xmlType), http.StatusUnprocessableEntity, "wrong_sender", "AppHdr/Fr/FIId/FinInstnId/BICFI")
		})
		// The last debtor pays: the cycle is settled once the creditor's
		// position is too (here by the operator).
		a, _ = e.sendFile(e.bankUS, isotest.Pacs009Funding("08", usBank, "US-1", isotest.FundingTx{EndToEndID: msgUS, Amount: "50.00"}), http.StatusCreated)
		if a.Settlements[0].Outcome != "settled" || a.Settlements[0].CycleState != "closed" {
			t.Fatalf("%+v", a)
		}
		if state, settled := e.cyclePositions(); state != "closed" || !settled[usBank] || settled[deBank] {
			t.Fatalf("%s %v", state, settled)
		}
		if !strings.Contains(a.File.MsgID, "US-1") {
			t.Fatalf("%+v", a.File)
		}
	})
}

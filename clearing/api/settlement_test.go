package api_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/messages/iso/isotest"
	"github.com/crossclear/crossclear/messages/outbound"
)

// Settlement confirmations over the API: the settlement bank (ECBFDEFF,
// a participant with a bank key) or the operator uploads what the
// settlement bank says about the pacs.009s of a closed cycle.

// settledCycle is a closed cycle 1 whose escrow nets to zero: DBSSSGSG
// owes 100.00 EUR, CHASUS33 50.00 EUR, DEUTDEFF receives 150.00 EUR.
func (e *env) settledCycle() {
	e.t.Helper()
	for _, key := range []string{e.bankSG, e.bankUS} {
		amount := map[string]string{e.bankSG: "100.00", e.bankUS: "50.00"}[key]
		p := e.hold(key, map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": amount, "currency": "EUR"})
		e.act(key, p.ID, "release", map[string]any{})
	}
	e.must(http.StatusOK, e.op, "POST", "/v1/cycles/1/close", nil)
}

// cyclePositions reads cycle 1's state and which positions are settled.
func (e *env) cyclePositions() (state string, settled map[string]bool) {
	e.t.Helper()
	var c struct {
		State     string
		Positions []struct {
			Participant, Currency, SettledAt string
		}
	}
	e.must(http.StatusOK, e.op, "GET", "/v1/cycles/1", nil).into(e.t, &c)
	settled = map[string]bool{}
	for _, p := range c.Positions {
		settled[p.Participant] = p.SettledAt != ""
	}
	return c.State, settled
}

// TestSettlementConfirmation: the settlement bank's pacs.002 marks the
// position it confirms settled, reports a RJCT, a pending status and a
// pacs.009 crossclear never sent without marking anything; the operator's
// camt.054 marks one more, reports one confirmed before and refuses an
// amount that is not the position's; the last confirmation settles the
// cycle, and sending it again changes nothing. Other banks may not send
// confirmations; the operator may send nothing else.
func TestSettlementConfirmation(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine, api.Config{SettlementBankBIC: isotest.SettlementBank})
			ctx := context.Background()
			if _, err := e.st.CreateParticipant(ctx, clearing.Participant{Kind: clearing.Bank, BIC: isotest.SettlementBank, Name: "Settlement Test Bank", Country: "DE",
				Jurisdiction: "DE", Currencies: []clearing.SettlementCurrency{{Currency: "EUR", NetDebitCapMinor: storetest.CapMinor}}}, storetest.Operator); err != nil {
				t.Fatal(err)
			}
			_, sb, err := e.st.CreateAPIKey(ctx, clearing.RoleBank, isotest.SettlementBank, "settlement bank", storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			e.settledCycle()
			msgSG, _ := outbound.PositionRef(1, sgBank, "EUR")
			msgUS, uetrUS := outbound.PositionRef(1, usBank, "EUR")
			msgDE, _ := outbound.PositionRef(1, deBank, "EUR")

			// Not the settlement bank: refused whole, nothing marked.
			confirm := isotest.Pacs002Settlement("SB-1",
				isotest.Status{MsgID: msgSG, Status: "ACSC"},
				isotest.Status{MsgID: msgUS, Status: "RJCT", Reason: "AM04"},
				isotest.Status{EndToEndID: msgDE, Status: "ACSP"},
				isotest.Status{MsgID: "C1-9-BNPAFRPP-EUR", Status: "ACSC"})
			r := e.call(e.bankSG, "POST", "/v1/files", confirm, xmlType)
			wantError(t, r, http.StatusForbidden, "forbidden", "")
			if !strings.Contains(string(r.Body), "only the settlement bank ECBFDEFF or the operator") {
				t.Fatalf("%s", r.Body)
			}
			if state, settled := e.cyclePositions(); state != "closed" || settled[sgBank] {
				t.Fatalf("%s %v", state, settled)
			}

			a, res := e.sendFile(sb, confirm, http.StatusCreated)
			if a.File.Kind != "settlement_confirmation" || a.File.Message != "pacs.002.001.10" || a.File.MsgID != "SB-1" || a.File.Sender != isotest.SettlementBank ||
				a.File.Status != "PART" || a.File.Accepted != 1 || a.File.Rejected != 3 || a.Reply != nil || len(a.Transactions) != 0 || len(a.Settlements) != 4 {
				t.Fatalf("%s", res.Body)
			}
			s := a.Settlements
			if s[0].Outcome != "settled" || s[0].CycleID != 1 || s[0].Participant != sgBank || s[0].Currency != "EUR" || s[0].Net != "-100.00" ||
				s[0].SettledBy != "bank:"+isotest.SettlementBank || s[0].SettledAt == "" || s[0].CycleState != "closed" || s[0].Element != "TxInfAndSts[0]" {
				t.Fatalf("settled item %+v", s[0])
			}
			if s[1].Outcome != "failed" || s[1].Reason != "AM04" || s[1].Participant != usBank || s[1].SettledAt != "" {
				t.Fatalf("RJCT item %+v", s[1])
			}
			if s[2].Outcome != "pending" || s[2].Participant != deBank || s[2].Net != "150.00" {
				t.Fatalf("ACSP item %+v", s[2])
			}
			if s[3].Outcome != "refused" || s[3].Error == nil || s[3].Error.Reason != "NOOR" || s[3].Error.Line == 0 {
				t.Fatalf("unknown pacs.009 %+v", s[3])
			}
			if state, settled := e.cyclePositions(); state != "closed" || !settled[sgBank] || settled[usBank] || settled[deBank] {
				t.Fatalf("%s %v", state, settled)
			}

			// The operator: one more, one again, one with another amount.
			notice := isotest.Camt054Settlement("SB-2",
				isotest.Booking{UETR: uetrUS, Amount: "50.00"},
				isotest.Booking{MsgID: msgSG, Amount: "100.00"},
				isotest.Booking{MsgID: msgDE, Amount: "149.99", Debit: true})
			a, res = e.sendFile(e.op, notice, http.StatusCreated)
			s = a.Settlements
			if a.File.Sender != "operator:"+keyID(t, e, e.op) || a.File.Accepted != 2 || a.File.Status != "PART" ||
				s[0].Outcome != "settled" || s[0].Participant != usBank || s[0].SettledBy != "operator:"+keyID(t, e, e.op) ||
				s[1].Outcome != "already_settled" || s[1].SettledBy != "bank:"+isotest.SettlementBank ||
				s[2].Outcome != "refused" || s[2].Error.Reason != "AM09" || !strings.Contains(s[2].Error.Message, "149.99 EUR") {
				t.Fatalf("%s", res.Body)
			}

			// The last position settles the cycle; the same file again changes nothing.
			last := isotest.Camt054Settlement("SB-3", isotest.Booking{MsgID: msgDE, Amount: "150.00", Debit: true})
			a, _ = e.sendFile(sb, last, http.StatusCreated)
			if a.Settlements[0].Outcome != "settled" || a.Settlements[0].CycleState != "settled" || a.File.Status != "ACSP" {
				t.Fatalf("%+v %+v", a, a.Settlements[0].Error)
			}
			if state, settled := e.cyclePositions(); state != "settled" || !settled[deBank] || !settled[usBank] {
				t.Fatalf("%s %v", state, settled)
			}
			first := a
			a, _ = e.sendFile(sb, last, http.StatusOK) // the same file: its first answer again
			if a.File.ID != first.File.ID || a.Settlements[0].Outcome != "settled" || a.Settlements[0].SettledAt != first.Settlements[0].SettledAt {
				t.Fatalf("replay %+v, first %+v", a, first)
			}
			again := isotest.Camt054Settlement("SB-4", isotest.Booking{MsgID: msgDE, Amount: "150.00", Debit: true})
			a, _ = e.sendFile(sb, again, http.StatusCreated) // a new file about a settled position
			if a.Settlements[0].Outcome != "already_settled" || a.Settlements[0].CycleState != "settled" {
				t.Fatalf("%+v", a)
			}
			e.unchanged(func() { // SB-3 reused for other content
				reused := isotest.Camt054Settlement("SB-3", isotest.Booking{MsgID: msgDE, Amount: "150.00", Debit: true, Status: "PDNG"})
				wantError(t, e.call(sb, "POST", "/v1/files", reused, xmlType), http.StatusConflict, "duplicate_message", "GrpHdr/MsgId")
			})

			// What may not be uploaded changes nothing.
			e.unchanged(func() {
				wantError(t, e.call(e.op, "POST", "/v1/files", isotest.Pacs008{MsgID: "OP-1", Txs: []isotest.Tx{{}}}.Bytes(), xmlType), http.StatusForbidden, "forbidden", "")
				broken := bytes.Replace(confirm, []byte("</TxSts>"), []byte("</TxStatus>"), 1)
				wantError(t, e.call(sb, "POST", "/v1/files", broken, xmlType), http.StatusBadRequest, "malformed_file", "Envelope/Document/FIToFIPmtStsRpt/TxInfAndSts/TxSts")
				other := bytes.Replace(confirm, []byte("<BICFI>"+isotest.SettlementBank+"</BICFI></FinInstnId></FIId></Fr>"), []byte("<BICFI>"+sgBank+"</BICFI></FinInstnId></FIId></Fr>"), 1)
				wantError(t, e.call(sb, "POST", "/v1/files", other, xmlType), http.StatusUnprocessableEntity, "wrong_sender", "AppHdr/Fr/FIId/FinInstnId/BICFI")
			})
		})
	}
}

// TestSettlementConfirmationNeedsASettlementBank: without
// settlement_bank_bic only the operator confirms settlement.
func TestSettlementConfirmationNeedsASettlementBank(t *testing.T) {
	e := newEnv(t, "sqlite", api.Config{})
	e.settledCycle()
	msgSG, _ := outbound.PositionRef(1, sgBank, "EUR")
	confirm := isotest.Pacs002Settlement("SB-1", isotest.Status{MsgID: msgSG, Status: "ACSC"})
	r := e.call(e.bankSG, "POST", "/v1/files", confirm, xmlType)
	wantError(t, r, http.StatusForbidden, "forbidden", "")
	if !strings.Contains(string(r.Body), "no settlement bank is configured, so only the operator may send one") {
		t.Fatalf("%s", r.Body)
	}
	if a, _ := e.sendFile(e.op, confirm, http.StatusCreated); a.Settlements[0].Outcome != "settled" {
		t.Fatalf("%+v", a)
	}
}

// keyID is the id of the API key whose secret is secret.
func keyID(t *testing.T, e *env, secret string) string {
	t.Helper()
	k, err := e.st.Authenticate(context.Background(), secret)
	if err != nil {
		t.Fatal(err)
	}
	return k.ID
}

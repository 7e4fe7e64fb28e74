package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// TestOneInstitutionOneParticipantAPI: over the API, a BIC11 with branch
// XXX is the institution of its BIC8. Registering DEUTDEFFXXX beside
// DEUTDEFF is 409 naming DEUTDEFF; a new bank registered as COBADEFFXXX
// is COBADEFF; lookups take either form; a file naming its agents
// DBSSSGSGXXX and DEUTDEFFXXX is held like one naming them by BIC8, and
// its answer names the bank in the one canonical form.
func TestOneInstitutionOneParticipantAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		bank := func(bic string) map[string]any {
			return map[string]any{"kind": "bank", "bic": bic, "name": "Bank " + bic, "country": "DE", "jurisdiction": "DE",
				"currencies": []any{map[string]any{"currency": "EUR", "net_debit_cap": "1000.00"}}}
		}
		e.unchanged(func() {
			r := e.call(e.op, "POST", "/v1/participants", bank("DEUTDEFFXXX"))
			wantError(t, r, http.StatusConflict, "duplicate_participant", "bic")
			if !strings.Contains(string(r.Body), "participant DEUTDEFF already exists: DEUTDEFFXXX is the same institution") {
				t.Fatalf("%s", r.Body)
			}
		})
		var p struct{ ID, BIC string }
		e.must(http.StatusCreated, e.op, "POST", "/v1/participants", bank("COBADEFFXXX")).into(t, &p)
		if p.ID != "COBADEFF" || p.BIC != "COBADEFF" {
			t.Fatalf("%+v", p)
		}
		wantError(t, e.call(e.op, "POST", "/v1/participants", bank("COBADEFF")), http.StatusConflict, "duplicate_participant", "bic")
		e.must(http.StatusCreated, e.op, "POST", "/v1/participants", bank("COBADEFF500")) // another branch, another participant

		for _, c := range []struct{ key, id, want string }{{e.op, "COBADEFFXXX", "COBADEFF"}, {e.bankSG, sgBank + "XXX", sgBank}, {e.bankSG, sgBank, sgBank}} {
			var got struct{ ID string }
			e.must(http.StatusOK, c.key, "GET", "/v1/participants/"+c.id, nil).into(t, &got)
			if got.ID != c.want {
				t.Fatalf("%s: %+v", c.id, got)
			}
		}

		raw := isotest.Pacs008{MsgID: "DBS-XXX", From: sgBank + "XXX", Txs: []isotest.Tx{{Amount: "10.00", InstgAgt: sgBank + "XXX", CdtrAgt: deBank + "XXX", UETR: isotest.UETR(900)}}}.Bytes()
		r := e.upload(e.bankSG, raw, http.StatusCreated)
		if r.File.Status != iso.StatusAccepted || r.File.Sender != sgBank || r.File.Accepted != 1 {
			t.Fatalf("%+v", r)
		}
		rep, _ := e.pacs002(e.bankSG, r.Reply.ID)
		if rep.Header.To != sgBank || rep.InstructedAgent != sgBank || rep.Transactions[0].Status != iso.StatusAccepted {
			t.Fatalf("%+v", rep)
		}
	})
}

// TestBranchesAPI: an unregistered branch BIC (DEUTDEFF500) names its
// institution's participant in lookups, files, payments and merchants; a
// registered branch is itself; a branch is registered only once its
// institution is.
func TestBranchesAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		bank := func(bic string) map[string]any {
			return map[string]any{"kind": "bank", "bic": bic, "name": "Bank " + bic, "country": "DE", "jurisdiction": "DE",
				"currencies": []any{map[string]any{"currency": "EUR", "net_debit_cap": "1000.00"}}}
		}
		e.unchanged(func() {
			r := e.call(e.op, "POST", "/v1/participants", bank("COBADEFF500"))
			wantError(t, r, http.StatusConflict, "institution_not_registered", "bic")
		})
		e.must(http.StatusCreated, e.op, "POST", "/v1/participants", bank(deBank+"501")) // a registered branch
		for _, c := range []struct{ id, want string }{{deBank + "500", deBank}, {deBank + "501", deBank + "501"}, {deBank + "XXX", deBank}} {
			var got struct{ ID string }
			e.must(http.StatusOK, e.op, "GET", "/v1/participants/"+c.id, nil).into(t, &got)
			if got.ID != c.want {
				t.Fatalf("%s: %+v", c.id, got)
			}
		}

		// POST /v1/payments: buyer_bank_id as BIC11 XXX or an unregistered branch.
		for i, id := range []string{sgBank + "XXX", sgBank + "500"} {
			body := map[string]any{"buyer_bank_id": id, "merchant_id": e.w.Merchants[0].ID, "amount": "10.00", "currency": "EUR", "uetr": isotest.UETR(950 + i)}
			if p := e.hold(e.op, body); p.BuyerBankID != sgBank {
				t.Fatalf("%s: %+v", id, p)
			}
			body["uetr"] = isotest.UETR(960 + i)
			if p := e.hold(e.bankSG, body); p.BuyerBankID != sgBank {
				t.Fatalf("bank, %s: %+v", id, p)
			}
		}
		// A registered branch is another participant: the DE bank may not hold as it.
		wantError(t, e.call(e.bankDE, "POST", "/v1/payments", map[string]any{"buyer_bank_id": deBank + "501", "merchant_id": e.w.Merchants[1].ID, "amount": "10.00", "currency": e.w.Merchants[1].Currency}),
			http.StatusForbidden, "forbidden", "buyer_bank_id")
		// A merchant's bank_id at an unregistered branch is the institution.
		var m struct{ ID, BankID string }
		e.must(http.StatusCreated, e.op, "POST", "/v1/merchants", map[string]any{"name": "Branch Books", "country": "DE", "currency": "EUR",
			"account": "DE02120300000000202051", "bank_id": deBank + "500"}).into(t, &m)
		if m.BankID != deBank {
			t.Fatalf("%+v", m)
		}

		// Files: agents at unregistered branches are their institutions; a
		// registered branch is itself (no merchant banks there: AC03).
		raw := isotest.Pacs008{MsgID: "DBS-BRANCH", From: sgBank, Txs: []isotest.Tx{
			{Amount: "10.00", InstgAgt: sgBank + "500", CdtrAgt: deBank + "500", UETR: isotest.UETR(970)},
			{Amount: "10.00", InstgAgt: sgBank, CdtrAgt: deBank + "501", UETR: isotest.UETR(971)},
		}}.Bytes()
		r := e.upload(e.bankSG, raw, http.StatusCreated)
		if r.File.Status != iso.StatusPartial || r.Transactions[0].Status != iso.StatusAccepted || r.Transactions[1].Error == nil || r.Transactions[1].Error.Reason != "AC03" {
			t.Fatalf("%+v", r)
		}
		if p := e.getPayment(r.Transactions[0].PaymentID); p.BuyerBankID != sgBank || p.MerchantBankID != deBank {
			t.Fatalf("%+v", p)
		}
	})
}

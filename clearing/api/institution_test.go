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

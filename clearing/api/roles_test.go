package api_test

import (
	"net/http"
	"slices"
	"testing"
)

// Role isolation: one test per denial. The payment most of them use goes
// from a buyer at the SG bank to the DE merchant, so the SG and DE banks,
// the DE merchant and the SG and DE regulators are its parties; the US
// bank, the SG merchant and nobody else are strangers to it.

func TestOtherBankCannotReadOrActOnPayment(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		p := e.holdSGtoDE("10.00")
		e.unchanged(func() {
			wantError(t, e.call(e.bankUS, "GET", "/v1/payments/"+p.ID, nil), http.StatusNotFound, "payment_not_found", "id")
			for _, action := range []string{"release", "dispute", "refund"} {
				wantError(t, e.call(e.bankUS, "POST", "/v1/payments/"+p.ID+"/"+action, nil), http.StatusNotFound, "payment_not_found", "id")
			}
			// A partial release loads the payment first: still 404, and the
			// amount is never parsed in a currency the caller cannot know.
			wantError(t, e.call(e.bankUS, "POST", "/v1/payments/"+p.ID+"/release", map[string]any{"amount": "1.001"}), http.StatusNotFound, "payment_not_found", "id")
		})
		// Both of its banks see it.
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/payments/"+p.ID, nil)
		e.must(http.StatusOK, e.bankDE, "GET", "/v1/payments/"+p.ID, nil)
	})
}

func TestBankListsOnlyItsPayments(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		sgToDE := e.holdSGtoDE("10.00")
		usToDE := e.hold(e.bankUS, map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "11.00", "currency": "EUR"})
		usToUS := e.hold(e.bankUS, map[string]any{"merchant_id": e.w.Merchants[2].ID, "amount": "12.00", "currency": "USD"})
		cases := map[string][]string{
			e.bankSG: {sgToDE.ID},
			e.bankDE: {sgToDE.ID, usToDE.ID}, // as the merchant's bank
			e.bankUS: {usToDE.ID, usToUS.ID},
			e.merDE:  {sgToDE.ID, usToDE.ID},
			e.merSG:  {},
			e.merUS:  {usToUS.ID},
			e.regSG:  {sgToDE.ID},
			e.regDE:  {sgToDE.ID, usToDE.ID},
			e.op:     {sgToDE.ID, usToDE.ID, usToUS.ID},
		}
		for key, want := range cases {
			if got := listIDs(t, e, key, "/v1/payments"); !sameSet(got, want) {
				t.Errorf("%s lists %v, want %v", e.name(key), got, want)
			}
		}
		// A merchant asking for another merchant's payments gets none.
		if got := listIDs(t, e, e.merUS, "/v1/payments?merchant_id="+e.w.Merchants[0].ID); len(got) != 0 {
			t.Fatalf("merchant US filtered by merchant DE: %v", got)
		}
		// A bank filtering by merchant still sees only its own.
		if got := listIDs(t, e, e.bankSG, "/v1/payments?merchant_id="+e.w.Merchants[0].ID); !sameSet(got, []string{sgToDE.ID}) {
			t.Fatalf("bank SG filtered by merchant DE: %v", got)
		}
	})
}

// By order reference, each caller finds only the payments it may see: the
// same scope as the unfiltered list.
func TestListByReference(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		toDE := e.hold(e.bankUS, map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "11.00", "currency": "EUR", "reference": "ORDER-7"})
		toUS := e.hold(e.bankUS, map[string]any{"merchant_id": e.w.Merchants[2].ID, "amount": "12.00", "currency": "USD", "reference": "ORDER-7"})
		e.hold(e.bankUS, map[string]any{"merchant_id": e.w.Merchants[2].ID, "amount": "13.00", "currency": "USD", "reference": "ORDER-8"})
		cases := map[string][]string{
			e.op:     {toDE.ID, toUS.ID},
			e.bankUS: {toDE.ID, toUS.ID},
			e.bankDE: {toDE.ID},
			e.bankSG: {},
			e.merDE:  {toDE.ID},
			e.merUS:  {toUS.ID},
			e.merSG:  {},
			e.regDE:  {toDE.ID},
			e.regSG:  {},
		}
		for key, want := range cases {
			if got := listIDs(t, e, key, "/v1/payments?reference=ORDER-7"); !sameSet(got, want) {
				t.Errorf("%s finds %v by reference, want %v", e.name(key), got, want)
			}
		}
		if got := listIDs(t, e, e.op, "/v1/payments?reference=ORDER-7&currency=USD"); !sameSet(got, []string{toUS.ID}) {
			t.Errorf("reference and currency: %v", got)
		}
	})
}

func TestBankCannotHoldAsAnotherBank(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.unchanged(func() {
			wantError(t, e.call(e.bankSG, "POST", "/v1/payments", map[string]any{"buyer_bank_id": usBank, "merchant_id": e.w.Merchants[0].ID, "amount": "1.00", "currency": "EUR"}),
				http.StatusForbidden, "forbidden", "buyer_bank_id")
		})
	})
}

func TestMerchantCannotRelease(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		p := e.holdSGtoDE("10.00")
		e.unchanged(func() {
			wantError(t, e.call(e.merDE, "POST", "/v1/payments/"+p.ID+"/release", nil), http.StatusForbidden, "action_not_permitted", "")
			wantError(t, e.call(e.merDE, "POST", "/v1/payments/"+p.ID+"/dispute", nil), http.StatusForbidden, "action_not_permitted", "")
			// Holding is for banks.
			wantError(t, e.call(e.merDE, "POST", "/v1/payments", map[string]any{"buyer_bank_id": sgBank, "merchant_id": e.w.Merchants[0].ID, "amount": "1.00", "currency": "EUR"}), http.StatusForbidden, "forbidden", "")
		})
		e.must(http.StatusOK, e.merDE, "GET", "/v1/payments/"+p.ID, nil)
	})
}

func TestBuyerBankCannotRefundAndMerchantBankCannotRelease(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		p := e.holdSGtoDE("10.00")
		e.unchanged(func() {
			wantError(t, e.call(e.bankSG, "POST", "/v1/payments/"+p.ID+"/refund", nil), http.StatusForbidden, "action_not_permitted", "")
			wantError(t, e.call(e.bankDE, "POST", "/v1/payments/"+p.ID+"/release", nil), http.StatusForbidden, "action_not_permitted", "")
			wantError(t, e.call(e.bankDE, "POST", "/v1/payments/"+p.ID+"/dispute", nil), http.StatusForbidden, "action_not_permitted", "")
		})
	})
}

func TestOnlyOperatorResolves(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		p := e.holdSGtoDE("10.00")
		e.act(e.bankSG, p.ID, "dispute", nil)
		e.unchanged(func() {
			for _, key := range []string{e.bankSG, e.bankDE, e.merDE} {
				wantError(t, e.call(key, "POST", "/v1/payments/"+p.ID+"/resolve", map[string]any{"decision": "release"}), http.StatusForbidden, "action_not_permitted", "")
			}
		})
	})
}

func TestMerchantCannotSeeAnotherMerchantsPayment(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		p := e.holdSGtoDE("10.00")
		e.unchanged(func() {
			wantError(t, e.call(e.merSG, "GET", "/v1/payments/"+p.ID, nil), http.StatusNotFound, "payment_not_found", "id")
			wantError(t, e.call(e.merSG, "POST", "/v1/payments/"+p.ID+"/refund", nil), http.StatusNotFound, "payment_not_found", "id")
			wantError(t, e.call(e.merSG, "GET", "/v1/merchants/"+e.w.Merchants[0].ID, nil), http.StatusNotFound, "merchant_not_found", "id")
			wantError(t, e.call(e.merSG, "GET", "/v1/merchants/"+e.w.Merchants[0].ID+"/payouts", nil), http.StatusNotFound, "merchant_not_found", "id")
		})
		var ms struct{ Merchants []struct{ ID string } }
		e.must(http.StatusOK, e.merSG, "GET", "/v1/merchants", nil).into(t, &ms)
		if len(ms.Merchants) != 1 || ms.Merchants[0].ID != e.w.Merchants[1].ID {
			t.Fatalf("merchant SG sees merchants %+v", ms)
		}
	})
}

func TestMerchantIsRefusedSchemeData(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		for _, path := range []string{"/v1/cycles", "/v1/cycles/current", "/v1/cycles/1", "/v1/positions", "/v1/participants", "/v1/participants/" + deBank, "/v1/ledger/check", "/v1/audit"} {
			wantError(t, e.call(e.merDE, "GET", path, nil), http.StatusForbidden, "forbidden", "")
		}
	})
}

func TestRegulatorSeesItsJurisdictionOnly(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		sg := e.holdSGtoDE("10.00")
		deOnly := e.hold(e.bankDE, map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "20.00", "currency": "EUR"})
		e.must(http.StatusOK, e.regSG, "GET", "/v1/payments/"+sg.ID, nil)
		wantError(t, e.call(e.regSG, "GET", "/v1/payments/"+deOnly.ID, nil), http.StatusNotFound, "payment_not_found", "id")
		e.must(http.StatusOK, e.regDE, "GET", "/v1/payments/"+deOnly.ID, nil)

		var ps struct{ Participants []struct{ ID string } }
		e.must(http.StatusOK, e.regSG, "GET", "/v1/participants", nil).into(t, &ps)
		if len(ps.Participants) != 1 || ps.Participants[0].ID != sgBank {
			t.Fatalf("regulator SG participants: %+v", ps)
		}
		wantError(t, e.call(e.regSG, "GET", "/v1/participants/"+deBank, nil), http.StatusNotFound, "participant_not_found", "id")
		var ms struct{ Merchants []struct{ ID string } }
		e.must(http.StatusOK, e.regSG, "GET", "/v1/merchants", nil).into(t, &ms)
		if len(ms.Merchants) != 1 || ms.Merchants[0].ID != e.w.Merchants[1].ID {
			t.Fatalf("regulator SG merchants: %+v", ms)
		}
		wantError(t, e.call(e.regSG, "GET", "/v1/merchants/"+e.w.Merchants[0].ID, nil), http.StatusNotFound, "merchant_not_found", "id")

		// Positions and cycle net positions: its banks only; totals allowed.
		if got := positionOwners(t, e, e.regSG, "/v1/positions"); !sameSet(got, []string{sgBank}) {
			t.Fatalf("regulator SG positions: %v", got)
		}
		e.must(http.StatusOK, e.op, "POST", "/v1/cycles/1/close", nil)
		var cy struct {
			Currencies []any
			Positions  []struct{ Participant string }
		}
		e.must(http.StatusOK, e.regSG, "GET", "/v1/cycles/1", nil).into(t, &cy)
		if len(cy.Currencies) != 1 || len(cy.Positions) != 1 || cy.Positions[0].Participant != sgBank {
			t.Fatalf("regulator SG cycle: %+v", cy)
		}
	})
}

func TestRegulatorCannotMutate(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		p := e.holdSGtoDE("10.00")
		e.unchanged(func() {
			for _, c := range []struct {
				method, path string
				body         any
			}{
				{"POST", "/v1/payments/" + p.ID + "/release", nil},
				{"POST", "/v1/payments/" + p.ID + "/dispute", nil},
				{"POST", "/v1/payments", map[string]any{"buyer_bank_id": sgBank, "merchant_id": e.w.Merchants[0].ID, "amount": "1.00", "currency": "EUR"}},
				{"POST", "/v1/participants/" + sgBank + "/suspend", nil},
				{"POST", "/v1/merchants/" + e.w.Merchants[1].ID + "/suspend", nil},
				{"POST", "/v1/cycles/1/close", nil},
				{"POST", "/v1/api-keys", map[string]any{"role": "regulator", "subject": "SG", "name": "mine"}},
				{"DELETE", "/v1/api-keys/key_x", nil},
			} {
				wantError(t, e.call(e.regSG, c.method, c.path, c.body, header{"Idempotency-Key", "reg-" + c.path}), http.StatusForbidden, "read_only", "")
			}
		})
	})
}

func TestBankCannotCloseCycleOrSettle(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.holdSGtoDE("10.00")
		e.unchanged(func() {
			wantError(t, e.call(e.bankSG, "POST", "/v1/cycles/1/close", nil), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.bankSG, "POST", "/v1/cycles/1/settlements", map[string]any{"participant": sgBank, "currency": "EUR"}), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.bankSG, "GET", "/v1/ledger/check", nil), http.StatusForbidden, "forbidden", "")
		})
	})
}

func TestBankCannotManageKeysOrParticipants(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.unchanged(func() {
			wantError(t, e.call(e.bankSG, "POST", "/v1/api-keys", map[string]any{"role": "operator", "name": "escalate"}), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.bankSG, "POST", "/v1/api-keys", map[string]any{"role": "bank", "subject": sgBank, "name": "another"}), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.bankSG, "DELETE", "/v1/api-keys/key_x", nil), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.bankSG, "POST", "/v1/participants/"+usBank+"/suspend", nil), http.StatusForbidden, "forbidden", "")
			wantError(t, e.call(e.bankSG, "POST", "/v1/merchants", map[string]any{"name": "X", "country": "DE", "currency": "EUR", "account": "1", "bank_id": deBank}), http.StatusForbidden, "forbidden", "bank_id")
			wantError(t, e.call(e.bankSG, "POST", "/v1/merchants/"+e.w.Merchants[0].ID+"/suspend", nil), http.StatusNotFound, "merchant_not_found", "id")
		})
		// Its own keys only.
		var ks struct {
			APIKeys []struct{ Role, Subject string }
		}
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/api-keys", nil).into(t, &ks)
		if len(ks.APIKeys) != 1 || ks.APIKeys[0].Subject != sgBank {
			t.Fatalf("bank SG keys: %+v", ks)
		}
	})
}

func TestBankSeesOnlyItself(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.holdSGtoDE("10.00")
		e.hold(e.bankUS, map[string]any{"merchant_id": e.w.Merchants[2].ID, "amount": "12.00", "currency": "USD"})
		if got := positionOwners(t, e, e.bankSG, "/v1/positions"); !sameSet(got, []string{sgBank}) {
			t.Fatalf("bank SG positions: %v", got)
		}
		if got := positionOwners(t, e, e.op, "/v1/positions"); !sameSet(got, []string{sgBank, usBank, "escrow"}) {
			t.Fatalf("operator positions: %v", got)
		}
		var ps struct{ Participants []struct{ ID string } }
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/participants", nil).into(t, &ps)
		if len(ps.Participants) != 1 || ps.Participants[0].ID != sgBank {
			t.Fatalf("bank SG participants: %+v", ps)
		}
		wantError(t, e.call(e.bankSG, "GET", "/v1/participants/"+usBank, nil), http.StatusNotFound, "participant_not_found", "id")
		var ms struct{ Merchants []struct{ ID string } }
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/merchants", nil).into(t, &ms)
		if len(ms.Merchants) != 1 || ms.Merchants[0].ID != e.w.Merchants[1].ID {
			t.Fatalf("bank SG merchants: %+v", ms)
		}

		// Cycles: its own net positions, no scheme totals.
		e.must(http.StatusOK, e.op, "POST", "/v1/cycles/1/close", nil)
		var cy struct {
			Currencies []any
			Positions  []struct{ Participant string }
		}
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/cycles/1", nil).into(t, &cy)
		if len(cy.Currencies) != 0 || len(cy.Positions) != 1 || cy.Positions[0].Participant != sgBank {
			t.Fatalf("bank SG cycle: %+v", cy)
		}
		var list struct{ Cycles []struct{ Currencies []any } }
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/cycles", nil).into(t, &list)
		for _, c := range list.Cycles {
			if len(c.Currencies) != 0 {
				t.Fatalf("bank SG sees totals in the list: %+v", list)
			}
		}
		var cur struct{ Positions []any }
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/cycles/current", nil).into(t, &cur)
		if len(cur.Positions) != 0 {
			t.Fatalf("current cycle for bank SG: %+v", cur)
		}
	})
}

func TestRevokedKeyIsRefused(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		var k struct{ ID, Secret, Role, Subject string }
		e.must(http.StatusCreated, e.op, "POST", "/v1/api-keys", map[string]any{"role": "bank", "subject": usBank, "name": "ops laptop"}).into(t, &k)
		if k.Secret == "" || k.Role != "bank" || k.Subject != usBank {
			t.Fatalf("created key: %+v", k)
		}
		e.must(http.StatusOK, k.Secret, "GET", "/v1/payments", nil)
		var ks struct{ APIKeys []map[string]any }
		e.must(http.StatusOK, e.op, "GET", "/v1/api-keys", nil).into(t, &ks)
		for _, listed := range ks.APIKeys {
			if _, leaked := listed["secret"]; leaked {
				t.Fatalf("a listed key shows its secret: %+v", listed)
			}
		}
		e.must(http.StatusNoContent, e.op, "DELETE", "/v1/api-keys/"+k.ID, nil)
		wantError(t, e.call(k.Secret, "GET", "/v1/payments", nil), http.StatusUnauthorized, "invalid_api_key", "Authorization")
	})
}

func listIDs(t *testing.T, e *env, key, path string) []string {
	t.Helper()
	var list struct{ Payments []struct{ ID string } }
	e.must(http.StatusOK, key, "GET", path, nil).into(t, &list)
	ids := []string{}
	for _, p := range list.Payments {
		ids = append(ids, p.ID)
	}
	return ids
}

func positionOwners(t *testing.T, e *env, key, path string) []string {
	t.Helper()
	var pos struct {
		Positions []struct{ Participant string }
	}
	e.must(http.StatusOK, key, "GET", path, nil).into(t, &pos)
	owners := []string{}
	for _, p := range pos.Positions {
		if !slices.Contains(owners, p.Participant) {
			owners = append(owners, p.Participant)
		}
	}
	return owners
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// name says which fixture key this is, for messages.
func (e *env) name(key string) string {
	for n, k := range map[string]string{"op": e.op, "bankDE": e.bankDE, "bankSG": e.bankSG, "bankUS": e.bankUS,
		"merDE": e.merDE, "merSG": e.merSG, "merUS": e.merUS, "regSG": e.regSG, "regDE": e.regDE} {
		if k == key {
			return n
		}
	}
	return "?"
}

package store_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

func TestParticipantsAndMerchants(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		dup := clearing.Participant{Kind: clearing.Bank, BIC: "DEUTDEFF", Name: "Again", Country: "DE", Jurisdiction: "DE",
			Currencies: []clearing.SettlementCurrency{{Currency: "EUR"}}}
		_, err := e.s.CreateParticipant(ctx, dup, storetest.Operator)
		wantCode(t, err, "duplicate_participant", "bic")
		_, err = e.s.Participant(ctx, "NOPEDEFF")
		wantCode(t, err, "participant_not_found", "id")

		got, err := e.s.Participant(ctx, "DBSSSGSG")
		if err != nil || got.Jurisdiction != "SG" || len(got.Currencies) != 2 || got.Currencies[0].Currency != "EUR" || got.Currencies[1].NetDebitCapMinor != storetest.CapMinor {
			t.Fatalf("participant %+v %v", got, err)
		}
		sg, err := e.s.Participants(ctx, store.ParticipantFilter{Jurisdiction: "SG"})
		if err != nil || len(sg) != 1 || sg[0].ID != "DBSSSGSG" {
			t.Fatalf("SG participants %+v %v", sg, err)
		}

		_, err = e.s.CreateMerchant(ctx, clearing.Merchant{Name: "X", Country: "DE", Currency: "EUR", Account: "1", BankID: "NOPEDEFF"}, storetest.Operator)
		wantCode(t, err, "unknown_participant", "bank_id")
		_, err = e.s.CreateMerchant(ctx, clearing.Merchant{Name: "X", Country: "DE", Currency: "JPY", Account: "1", BankID: "DEUTDEFF"}, storetest.Operator)
		wantCode(t, err, "currency_not_settled", "currency")
		ms, err := e.s.Merchants(ctx, store.MerchantFilter{Jurisdiction: "US-NY"})
		if err != nil || len(ms) != 1 || ms[0].BankID != "CHASUS33" {
			t.Fatalf("US-NY merchants %+v %v", ms, err)
		}

		// a suspended bank cannot have new payments held, in either role
		if _, err := e.s.SetParticipantStatus(ctx, "DBSSSGSG", clearing.Suspended, "compliance review", storetest.Operator); err != nil {
			t.Fatal(err)
		}
		before := e.snapshot(t)
		_, err = e.s.Hold(ctx, clearing.HoldRequest{BuyerBankID: "DBSSSGSG", MerchantID: e.w.Merchants[0].ID, Amount: amount(t, "1.00", "EUR")}, storetest.Operator)
		wantCode(t, err, "participant_suspended", "buyer_bank_id")
		e.unchanged(t, before)
		if _, err := e.s.SetParticipantStatus(ctx, "DBSSSGSG", clearing.Active, "cleared", storetest.Operator); err != nil {
			t.Fatal(err)
		}
		e.hold(t, 1, 0, "1.00")

		if _, err := e.s.SetMerchantStatus(ctx, e.w.Merchants[0].ID, clearing.Suspended, "", storetest.Operator); err != nil {
			t.Fatal(err)
		}
		_, err = e.s.Hold(ctx, clearing.HoldRequest{BuyerBankID: "DBSSSGSG", MerchantID: e.w.Merchants[0].ID, Amount: amount(t, "1.00", "EUR")}, storetest.Operator)
		wantCode(t, err, "merchant_suspended", "merchant_id")
		_, err = e.s.SetMerchantStatus(ctx, "mer_nope", clearing.Suspended, "", storetest.Operator)
		wantCode(t, err, "merchant_not_found", "id")
	})
}

func TestHoldBatchAcceptsWhatIsValidAndReportsTheRest(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		sg, de := e.w.Banks[1].ID, e.w.Merchants[0].ID
		dupUETR := uuid.NewString()
		reqs := []clearing.HoldRequest{
			{BuyerBankID: sg, MerchantID: de, Amount: amount(t, "600000.00", "EUR")},
			{BuyerBankID: sg, MerchantID: "mer_nope", Amount: amount(t, "1.00", "EUR")},
			{UETR: dupUETR, BuyerBankID: sg, MerchantID: de, Amount: amount(t, "2.00", "EUR")},
			{UETR: dupUETR, BuyerBankID: sg, MerchantID: de, Amount: amount(t, "3.00", "EUR")}, // duplicate within the batch
			{BuyerBankID: sg, MerchantID: de, Amount: amount(t, "400000.00", "EUR")},           // past the cap after the first
			{BuyerBankID: sg, MerchantID: de, Amount: amount(t, "399998.00", "EUR")},           // exactly to the cap
		}
		res, err := e.s.HoldBatch(ctx, reqs, storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		wantOK := []bool{true, false, true, false, false, true}
		for i, r := range res {
			if (r.Err == nil) != wantOK[i] {
				t.Errorf("item %d: err %v, want ok=%v", i, r.Err, wantOK[i])
			}
		}
		wantCode(t, res[1].Err, "unknown_merchant", "merchant_id")
		wantCode(t, res[3].Err, "duplicate_uetr", "uetr")
		wantCode(t, res[4].Err, "net_debit_cap_exceeded", "amount")
		ps, _ := e.s.OpenPositions(ctx, sg)
		if len(ps) != 1 || ps[0].NetMinor != -storetest.CapMinor {
			t.Fatalf("SG position %+v", ps)
		}
		page, _ := e.s.Payments(ctx, store.PaymentFilter{})
		if len(page.Payments) != 3 {
			t.Fatalf("%d payments held, want 3", len(page.Payments))
		}
		e.ledgerOK(t)
	})
}

func TestPaymentListingsAreScopedAndPaged(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		var ids []string
		for i := 0; i < 5; i++ {
			ids = append(ids, e.hold(t, 1, 0, "1.00").ID) // SG buyer, DE merchant
			e.clock.advance(1)
		}
		usd := e.hold(t, 2, 2, "1.00") // US buyer, US merchant
		e.act(t, usd.ID, clearing.Action{Kind: clearing.ActionRelease})

		count := func(f store.PaymentFilter) int {
			t.Helper()
			page, err := e.s.Payments(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return len(page.Payments)
		}
		cases := map[string]struct {
			f    store.PaymentFilter
			want int
		}{
			"bank as buyer":        {store.PaymentFilter{BankID: "DBSSSGSG"}, 5},
			"bank as merchant's":   {store.PaymentFilter{BankID: "DEUTDEFF"}, 5},
			"bank on neither side": {store.PaymentFilter{BankID: "DEUTDEFF", Currency: "USD"}, 0},
			"merchant":             {store.PaymentFilter{MerchantID: e.w.Merchants[2].ID}, 1},
			"jurisdiction US-NY":   {store.PaymentFilter{Jurisdiction: "US-NY"}, 1},
			"jurisdiction SG":      {store.PaymentFilter{Jurisdiction: "SG"}, 5},
			"state released":       {store.PaymentFilter{State: clearing.Released}, 1},
		}
		for name, c := range cases {
			if got := count(c.f); got != c.want {
				t.Errorf("%s: %d payments, want %d", name, got, c.want)
			}
		}
		// pages of two, newest first, cover all six exactly once
		seen := map[string]bool{}
		cursor := ""
		for pages := 0; ; pages++ {
			page, err := e.s.Payments(ctx, store.PaymentFilter{Limit: 2, Cursor: cursor})
			if err != nil || pages > 5 {
				t.Fatalf("paging: %v after %d pages", err, pages)
			}
			for _, p := range page.Payments {
				if seen[p.ID] {
					t.Fatalf("payment %s twice", p.ID)
				}
				seen[p.ID] = true
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if len(seen) != 6 {
			t.Fatalf("paging saw %d payments, want 6", len(seen))
		}
		_, err := e.s.Payments(ctx, store.PaymentFilter{Cursor: "garbage"})
		wantCode(t, err, "invalid_cursor", "cursor")

		payouts, err := e.s.Payouts(ctx, e.w.Merchants[2].ID, 10)
		if err != nil || len(payouts) != 1 || payouts[0].AmountMinor != 100 || payouts[0].PaymentID != usd.ID {
			t.Fatalf("payouts %+v %v", payouts, err)
		}
		if payouts, _ := e.s.Payouts(ctx, e.w.Merchants[0].ID, 10); len(payouts) != 0 {
			t.Fatalf("merchant with nothing released has payouts %+v", payouts)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		k, secret, err := e.s.CreateAPIKey(ctx, clearing.RoleBank, "DBSSSGSG", "treasury", storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.s.Authenticate(ctx, secret)
		if err != nil || got.ID != k.ID || got.Actor() != (clearing.Actor{Role: clearing.RoleBank, Subject: "DBSSSGSG"}) {
			t.Fatalf("authenticate: %+v %v", got, err)
		}
		_, err = e.s.Authenticate(ctx, secret+"x")
		wantCode(t, err, "invalid_api_key", "Authorization")
		var stored string
		if err := e.s.DB().NewRaw("SELECT hash FROM api_keys WHERE id = ?", k.ID).Scan(ctx, &stored); err != nil || stored == secret || len(stored) != 64 {
			t.Fatalf("the secret is stored as %q", stored)
		}
		if err := e.s.RevokeAPIKey(ctx, k.ID, storetest.Operator); err != nil {
			t.Fatal(err)
		}
		_, err = e.s.Authenticate(ctx, secret)
		wantCode(t, err, "invalid_api_key", "Authorization")

		_, _, err = e.s.CreateAPIKey(ctx, clearing.RoleBank, "NOPEDEFF", "", storetest.Operator)
		wantCode(t, err, "unknown_participant", "subject")
		_, _, err = e.s.CreateAPIKey(ctx, clearing.RoleMerchant, "mer_nope", "", storetest.Operator)
		wantCode(t, err, "unknown_merchant", "subject")
		_, _, err = e.s.CreateAPIKey(ctx, clearing.RoleRegulator, "singapore", "", storetest.Operator)
		wantCode(t, err, "invalid_jurisdiction", "subject")
		_, _, err = e.s.CreateAPIKey(ctx, clearing.RoleSystem, "", "", storetest.Operator)
		wantCode(t, err, "invalid_role", "role")
		op, _, err := e.s.CreateAPIKey(ctx, clearing.RoleOperator, "", "first operator", storetest.Operator)
		if err != nil || op.Subject != op.ID {
			t.Fatalf("operator key %+v %v", op, err)
		}
	})
}

// TestOneInstitutionOneParticipant: a BIC8 and the same BIC11 with branch
// XXX are one institution. Registering the other form is refused 409
// naming the participant that exists; a BIC11 with XXX is registered in
// its canonical 8-character form; lookups, merchants, API keys and status
// changes take either form; another branch code is another participant.
func TestOneInstitutionOneParticipant(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		bank := func(bic string) clearing.Participant {
			return clearing.Participant{Kind: clearing.Bank, BIC: bic, Name: "Commerzbank " + bic, Country: "DE", Jurisdiction: "DE",
				Currencies: []clearing.SettlementCurrency{{Currency: "EUR"}}}
		}
		wantDuplicate := func(err error, existing string) {
			t.Helper()
			wantCode(t, err, "duplicate_participant", "bic")
			if ce, _ := clearing.AsError(err); ce.Kind != clearing.Conflict || !strings.Contains(ce.Msg, existing) {
				t.Fatalf("want a conflict naming %s, got %v", existing, err)
			}
		}
		_, err := e.s.CreateParticipant(ctx, bank("DEUTDEFFXXX"), storetest.Operator)
		wantDuplicate(err, "participant DEUTDEFF already exists: DEUTDEFFXXX is the same institution")

		p, err := e.s.CreateParticipant(ctx, bank("COBADEFFXXX"), storetest.Operator)
		if err != nil || p.ID != "COBADEFF" || p.BIC != "COBADEFF" {
			t.Fatalf("%+v %v", p, err)
		}
		_, err = e.s.CreateParticipant(ctx, bank("COBADEFF"), storetest.Operator)
		wantDuplicate(err, "a participant with BIC COBADEFF already exists")
		_, err = e.s.CreateParticipant(ctx, bank("COBADEFFXXX"), storetest.Operator)
		wantDuplicate(err, "participant COBADEFF already exists: COBADEFFXXX is the same institution")

		// Another branch is another participant (no branch registration yet).
		branch, err := e.s.CreateParticipant(ctx, bank("COBADEFF500"), storetest.Operator)
		if err != nil || branch.ID != "COBADEFF500" {
			t.Fatalf("%+v %v", branch, err)
		}

		for _, id := range []string{"COBADEFF", "COBADEFFXXX"} {
			got, err := e.s.Participant(ctx, id)
			if err != nil || got.ID != "COBADEFF" {
				t.Fatalf("%s: %+v %v", id, got, err)
			}
			ps, err := e.s.Participants(ctx, store.ParticipantFilter{IDs: []string{id}})
			if err != nil || len(ps) != 1 || ps[0].ID != "COBADEFF" {
				t.Fatalf("%s: %+v %v", id, ps, err)
			}
		}
		if got, err := e.s.Participant(ctx, "DBSSSGSGXXX"); err != nil || got.ID != "DBSSSGSG" {
			t.Fatalf("%+v %v", got, err)
		}
		// An unregistered branch is its institution; a registered one itself.
		if got, err := e.s.Participant(ctx, "COBADEFF501"); err != nil || got.ID != "COBADEFF" {
			t.Fatalf("%+v %v", got, err)
		}
		if got, err := e.s.Participant(ctx, "COBADEFF500"); err != nil || got.ID != "COBADEFF500" {
			t.Fatalf("%+v %v", got, err)
		}
		if id, err := e.s.ParticipantID(ctx, "COBADEFF501"); err != nil || id != "COBADEFF" {
			t.Fatalf("%s %v", id, err)
		}
		_, err = e.s.Participant(ctx, "BNPAFRPP501")
		wantCode(t, err, "participant_not_found", "id")
		_, err = e.s.CreateParticipant(ctx, clearing.Participant{Kind: clearing.Bank, BIC: "BNPAFRPP501", Name: "BNP branch", Country: "FR", Jurisdiction: "FR",
			Currencies: []clearing.SettlementCurrency{{Currency: "EUR"}}}, storetest.Operator)
		wantCode(t, err, "institution_not_registered", "bic")

		m, err := e.s.CreateMerchant(ctx, clearing.Merchant{Name: "Kiel Kites", Country: "DE", Currency: "EUR", Account: "DE44500105175407324931", BankID: "COBADEFFXXX"}, storetest.Operator)
		if err != nil || m.BankID != "COBADEFF" {
			t.Fatalf("%+v %v", m, err)
		}
		k, _, err := e.s.CreateAPIKey(ctx, clearing.RoleBank, "COBADEFFXXX", "cobank", storetest.Operator)
		if err != nil || k.Subject != "COBADEFF" {
			t.Fatalf("%+v %v", k, err)
		}
		if got, err := e.s.SetParticipantStatus(ctx, "COBADEFFXXX", clearing.Suspended, "review", storetest.Operator); err != nil || got.ID != "COBADEFF" || got.Status != clearing.Suspended {
			t.Fatalf("%+v %v", got, err)
		}
	})
}

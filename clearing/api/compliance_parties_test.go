package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/crossclear/crossclear/compliance"
)

// listedDebtor is a buyer named like the UN list's KOREA MINING
// DEVELOPMENT TRADING CORPORATION, with everything the travel rule asks.
func listedDebtor() map[string]any {
	return map[string]any{"name": "Korea Mining Development Trading Corporation", "account": "KP12000000001234567890", "country": "KP",
		"address": map[string]any{"lines": []string{"Central District"}, "town": "Pyongyang", "country": "KP"}}
}

type partyWire struct{ Role, Name, Country, Account, Address, BirthDate, BirthPlace, ID string }

// TestListedDebtorOverAPI: a payment whose debtor is on the UN list is
// answered 202 and held nowhere — the same answer again on a retry; the
// review shows the parties as the request named them; approval holds it,
// rejection of another answers the bank, and the ledger never moves
// before approval.
func TestListedDebtorOverAPI(t *testing.T) {
	eachScreeningEngine(t, func(t *testing.T, e screeningEnv) {
		mer := e.w.Merchants[0].ID // Berlin Books, at DEUTDEFF
		uetr := uuid.NewString()
		body := map[string]any{"uetr": uetr, "merchant_id": mer, "amount": "4800.00", "currency": "EUR", "debtor": listedDebtor(),
			"ultimate_creditor": map[string]any{"name": "Berlin Books Wholesale", "country": "DE"}}
		var pr pendingWire
		e.unchanged(func() {
			res := e.call(e.bankSG, "POST", "/v1/payments", body, header{"Idempotency-Key", "komid-1"})
			pr = wantPending(t, res, uetr)
			again := e.call(e.bankSG, "POST", "/v1/payments", body, header{"Idempotency-Key", "komid-1"})
			if again.Status != http.StatusAccepted || string(again.Body) != string(res.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("the retry: %s", again)
			}
			// Without the key the hold is asked again: the review pending is the answer.
			if again := wantPending(t, e.call(e.bankSG, "POST", "/v1/payments", body), uetr); again.ScreeningID != pr.ScreeningID {
				t.Fatalf("a second review %s for %s", again.ScreeningID, pr.ScreeningID)
			}
		})
		if pr.ISOReason != compliance.ISORegulatory || !strings.Contains(pr.Message, "compliance review") {
			t.Fatalf("%+v", pr)
		}
		e.must(http.StatusNotFound, e.bankSG, "GET", "/v1/payments/"+uetr, nil)

		var review struct {
			Status  string
			Parties []partyWire
			Matches []struct{ List, EntryName string }
			Reasons []struct{ Code, Party string }
		}
		e.must(http.StatusOK, e.officer, "GET", "/v1/reviews/"+pr.ScreeningID, nil).into(t, &review)
		debtor := slices.IndexFunc(review.Parties, func(p partyWire) bool { return p.Role == "debtor" })
		if review.Status != "pending" || debtor < 0 || len(review.Matches) == 0 || review.Matches[0].List != "un" ||
			!slices.ContainsFunc(review.Reasons, func(r struct{ Code, Party string }) bool { return r.Code == "exact_name" && r.Party == "debtor" }) {
			t.Fatalf("the review: %+v", review)
		}
		if d := review.Parties[debtor]; d.Name != "Korea Mining Development Trading Corporation" || d.Account != "KP12000000001234567890" ||
			d.Address != "Central District, Pyongyang" || d.Country != "KP" {
			t.Fatalf("the debtor as kept: %+v", d)
		}
		if !slices.ContainsFunc(review.Parties, func(p partyWire) bool { return p.Role == "ultimate_creditor" && p.Name == "Berlin Books Wholesale" }) ||
			!slices.ContainsFunc(review.Parties, func(p partyWire) bool { return p.Role == "creditor" && p.Name == "Berlin Books" }) {
			t.Fatalf("the parties as kept: %+v", review.Parties)
		}

		var approved reviewWire
		e.must(http.StatusOK, e.officer, "POST", "/v1/reviews/"+pr.ScreeningID+"/approve", map[string]any{"comment": "end-user certificate checked"}).into(t, &approved)
		if approved.Status != "approved" || approved.Payment == nil || approved.Payment.ID != uetr {
			t.Fatalf("approved: %+v", approved)
		}
		if p := e.getPayment(uetr); p.State != "held" || p.Held != "4800.00" || p.BuyerBankID != sgBank {
			t.Fatalf("after approval: %+v", p)
		}
		var ledger struct{ OK bool }
		if e.must(http.StatusOK, e.op, "GET", "/v1/ledger/check", nil).into(t, &ledger); !ledger.OK {
			t.Fatal("the ledger does not balance after approval")
		}

		// Rejected: the bank is answered, nothing ever moved.
		other := uuid.NewString()
		e.unchanged(func() {
			pr = wantPending(t, e.call(e.bankSG, "POST", "/v1/payments", map[string]any{"uetr": other, "merchant_id": mer, "amount": "12.00", "currency": "EUR",
				"debtor": map[string]any{"name": "Daniel Moreno", "country": "VE"}}), other)
			e.must(http.StatusOK, e.officer, "POST", "/v1/reviews/"+pr.ScreeningID+"/reject", map[string]any{"comment": "the listed person"})
		})
		var sw screeningWire
		e.must(http.StatusOK, e.bankSG, "GET", pr.ScreeningURL, nil).into(t, &sw)
		if sw.Status != "rejected" || sw.ISOReason != compliance.ISORegulatory {
			t.Fatalf("the bank is answered: %+v", sw)
		}
		e.must(http.StatusNotFound, e.bankSG, "GET", "/v1/payments/"+other, nil)

		// A listed ultimate debtor behind an unlisted debtor waits too.
		third := uuid.NewString()
		e.unchanged(func() {
			wantPending(t, e.call(e.bankSG, "POST", "/v1/payments", map[string]any{"uetr": third, "merchant_id": mer, "amount": "15.00", "currency": "EUR",
				"debtor": map[string]any{"name": "Harbour Trading Pte Ltd"}, "ultimate_debtor": map[string]any{"name": "Allied Democratic Forces"}}), third)
		})

		// In a batch each item is screened with its own parties.
		var batch batchWire
		e.must(http.StatusOK, e.bankSG, "POST", "/v1/payments/batch", map[string]any{"payments": []any{
			map[string]any{"merchant_id": mer, "amount": "20.00", "currency": "EUR", "debtor": map[string]any{"name": "Tan Wei Ming", "country": "SG"}},
			map[string]any{"merchant_id": mer, "amount": "21.00", "currency": "EUR", "debtor": listedDebtor()}}}).into(t, &batch)
		if batch.Held != 1 || batch.PendingReview != 1 || batch.Failed != 0 || batch.Results[0].Status != http.StatusCreated ||
			batch.Results[1].Status != http.StatusAccepted || batch.Results[1].Review == nil || batch.Results[1].Review.ISOReason != compliance.ISORegulatory {
			t.Fatalf("batch %+v", batch)
		}
	})
}

// TestTravelRuleOverAPI: a cross-border payment at or above the travel
// rule's threshold is judged on the parties the request names: held for
// review (action review) or held and flagged (action flag) while the
// originator's data is incomplete, held and unflagged once complete.
func TestTravelRuleOverAPI(t *testing.T) {
	complete := map[string]any{"name": "Tan Wei Ming", "account": "SG0721234567", "address": map[string]any{"street": "12 Orchard Road", "post_code": "238823", "town": "Singapore", "country": "SG"}}
	born := map[string]any{"name": "Tan Wei Ming", "account": "SG0721234567", "birth_date": "1984-03-09", "birth_place": "Singapore"}
	for _, action := range []string{"review", "flag"} {
		t.Run(action, func(t *testing.T) {
			rules, err := compliance.ParseRules([]byte(`{"base_currency":"EUR","default":{"travel_rule":{"threshold":"1000.00 EUR","action":"` + action + `"}}}`))
			if err != nil {
				t.Fatal(err)
			}
			eachScreeningEngineWith(t, compliance.Config{Rules: rules}, func(t *testing.T, e screeningEnv) {
				mer := e.w.Merchants[0].ID // Berlin Books (DE), paid by DBSSSGSG (SG): cross-border
				for _, tc := range []struct {
					name     string
					amount   string
					debtor   map[string]any
					complete bool
					iso      string // the reason while incomplete
				}{
					{"no debtor", "1000.00", nil, false, compliance.ISOMissingDebtorName},
					{"a name only", "2500.00", map[string]any{"name": "Tan Wei Ming"}, false, compliance.ISOMissingDebtorID},
					{"no account", "2500.00", map[string]any{"name": "Tan Wei Ming", "address": complete["address"]}, false, compliance.ISOMissingDebtorID},
					{"no address", "2500.00", map[string]any{"name": "Tan Wei Ming", "account": "SG0721234567", "address": map[string]any{"country": "SG"}}, false, compliance.ISOMissingDebtorID},
					{"birth date without place", "2500.00", map[string]any{"name": "Tan Wei Ming", "account": "SG0721234567", "birth_date": "1984-03-09"}, false, compliance.ISOMissingDebtorID},
					{"name, account and address", "2500.00", complete, true, ""},
					{"name, account, date and place of birth", "2500.00", born, true, ""},
					{"national id", "2500.00", map[string]any{"name": "Tan Wei Ming", "account": "SG0721234567", "national_id": "S8412345A"}, true, ""},
					{"under the threshold", "999.99", nil, true, ""},
				} {
					uetr := uuid.NewString()
					body := map[string]any{"uetr": uetr, "merchant_id": mer, "amount": tc.amount, "currency": "EUR"}
					if tc.debtor != nil {
						body["debtor"] = tc.debtor
					}
					res := e.call(e.bankSG, "POST", "/v1/payments", body)
					sc, err := e.st.PaymentScreening(context.Background(), uetr)
					if err != nil {
						t.Fatalf("%s: %v", tc.name, err)
					}
					flagged := slices.Contains(sc.Flags, compliance.CodeTravelRule)
					switch {
					case !tc.complete && action == "review":
						if pr := wantPending(t, res, uetr); pr.ISOReason != tc.iso || !flagged {
							t.Errorf("%s: %+v, flags %v", tc.name, pr, sc.Flags)
						}
						e.must(http.StatusNotFound, e.op, "GET", "/v1/payments/"+uetr, nil)
					case !tc.complete:
						if res.Status != http.StatusCreated || !flagged || sc.Status != "held" {
							t.Errorf("%s: %s, screening %s flags %v", tc.name, res, sc.Status, sc.Flags)
						}
					default:
						if res.Status != http.StatusCreated || flagged || sc.Status != "held" {
							t.Errorf("%s: %s, screening %s flags %v", tc.name, res, sc.Status, sc.Flags)
						}
					}
				}
			})
		})
	}
}

// TestBadPartiesOverAPI: ill-formed parties are 422 naming the field,
// alone or as one item of a batch, and nothing is held or screened.
func TestBadPartiesOverAPI(t *testing.T) {
	eachScreeningEngine(t, func(t *testing.T, e screeningEnv) {
		mer := e.w.Merchants[0].ID
		long := func(n int) string { return strings.Repeat("x", n) }
		for _, tc := range []struct {
			parties     map[string]any
			code, field string
		}{
			{map[string]any{"debtor": map[string]any{"name": "A", "birth_date": "12/10/1972"}}, "invalid_birth_date", "debtor.birth_date"},
			{map[string]any{"debtor": map[string]any{"name": "A", "birth_date": "1972-02-30"}}, "invalid_birth_date", "debtor.birth_date"},
			{map[string]any{"debtor": map[string]any{"account": "DE89370400440532013000"}}, "required", "debtor.name"},
			{map[string]any{"debtor": map[string]any{"name": "  "}}, "required", "debtor.name"},
			{map[string]any{"debtor": map[string]any{"name": long(141)}}, "invalid_name", "debtor.name"},
			{map[string]any{"debtor": map[string]any{"name": "A\nB"}}, "invalid_character", "debtor.name"}, // refused by checkText first
			{map[string]any{"debtor": map[string]any{"name": "A", "country": "Germany"}}, "invalid_country", "debtor.country"},
			{map[string]any{"debtor": map[string]any{"name": "A", "account": long(35)}}, "invalid_account", "debtor.account"},
			{map[string]any{"debtor": map[string]any{"name": "A", "address": map[string]any{"country": "de"}}}, "invalid_country", "debtor.address.country"},
			{map[string]any{"debtor": map[string]any{"name": "A", "address": map[string]any{"lines": []string{"1", "2", "3", "4", "5", "6", "7", "8"}}}}, "invalid_lines", "debtor.address.lines"},
			{map[string]any{"debtor": map[string]any{"name": "A", "address": map[string]any{"lines": []string{"1", long(71)}}}}, "invalid_lines", "debtor.address.lines[1]"},
			{map[string]any{"debtor": map[string]any{"name": "A", "address": map[string]any{"town": long(36)}}}, "invalid_town", "debtor.address.town"},
			{map[string]any{"debtor": map[string]any{"name": "A", "address": map[string]any{"post_code": long(17)}}}, "invalid_post_code", "debtor.address.post_code"},
			{map[string]any{"ultimate_debtor": map[string]any{"name": "A", "national_id": long(36)}}, "invalid_national_id", "ultimate_debtor.national_id"},
			{map[string]any{"ultimate_creditor": map[string]any{}}, "required", "ultimate_creditor.name"},
			{map[string]any{"ultimate_creditor": map[string]any{"name": "A", "birth_place": long(71)}}, "invalid_birth_place", "ultimate_creditor.birth_place"},
		} {
			uetr := uuid.NewString()
			body := map[string]any{"uetr": uetr, "merchant_id": mer, "amount": "10.00", "currency": "EUR"}
			for k, v := range tc.parties {
				body[k] = v
			}
			e.unchanged(func() {
				wantError(t, e.call(e.bankSG, "POST", "/v1/payments", body), http.StatusUnprocessableEntity, tc.code, tc.field)
			})
			if _, err := e.st.PaymentScreening(context.Background(), uetr); err == nil {
				t.Errorf("%s: screened", tc.field)
			}
		}
		// The fullest address ISO 20022 allows is taken.
		full := map[string]any{"lines": []string{long(70), long(70), long(70), long(70), long(70), long(70), long(70)},
			"street": long(70), "building_number": long(16), "post_code": long(16), "town": long(35), "country": "SG"}
		e.must(http.StatusCreated, e.bankSG, "POST", "/v1/payments", map[string]any{"merchant_id": mer, "amount": "10.00", "currency": "EUR",
			"debtor": map[string]any{"name": "Tan Wei Ming", "address": full}})
		// Ultimate parties have no account in ISO 20022, nor here.
		wantError(t, e.call(e.bankSG, "POST", "/v1/payments", map[string]any{"merchant_id": mer, "amount": "10.00", "currency": "EUR",
			"ultimate_debtor": map[string]any{"name": "A", "account": "DE89370400440532013000"}}), http.StatusBadRequest, "malformed_json", "account")

		// In a batch the bad item alone is refused, before screening.
		var batch batchWire
		bad := uuid.NewString()
		e.must(http.StatusOK, e.bankSG, "POST", "/v1/payments/batch", map[string]any{"payments": []any{
			map[string]any{"uetr": bad, "merchant_id": mer, "amount": "10.00", "currency": "EUR", "debtor": map[string]any{"name": "A", "birth_date": "1972"}},
			map[string]any{"merchant_id": mer, "amount": "11.00", "currency": "EUR", "debtor": map[string]any{"name": "Tan Wei Ming"}}}}).into(t, &batch)
		if batch.Held != 1 || batch.Failed != 1 || batch.PendingReview != 0 || batch.Results[0].Status != http.StatusUnprocessableEntity ||
			batch.Results[0].Error.Field != "debtor.birth_date" || batch.Results[1].Status != http.StatusCreated {
			t.Fatalf("batch %+v", batch)
		}
		if _, err := e.st.PaymentScreening(context.Background(), bad); err == nil {
			t.Error("the bad item was screened")
		}
	})
}

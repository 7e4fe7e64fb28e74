package store_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/compliance/compliancetest"
)

// officer is the compliance officer who resolves reviews in these tests.
var officer = clearing.Actor{Role: clearing.RoleCompliance, Subject: "key_officer"}

// screeningEnv is a store that screens against the sample lists (OFAC
// records from the watchman module, the UN sample) with rules, and a
// merchant at DEUTDEFF whose name is on the SDN list.
type screeningEnv struct {
	env
	listed clearing.Merchant // "TNK Trading International Ltd": OFAC 28603
}

func eachScreeningEngine(t *testing.T, rules *compliance.Rules, fn func(t *testing.T, e screeningEnv)) {
	sc := compliancetest.Screener(t, compliance.Config{Rules: rules})
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			c := newClock()
			s := storetest.Open(t, engine, store.Options{Now: c.now, Screener: sc})
			e := screeningEnv{env: env{engine: engine, s: s, w: storetest.Seed(t, s), clock: c}}
			var err error
			e.listed, err = s.CreateMerchant(ctx, clearing.Merchant{Name: "TNK Trading International Ltd", Country: "CH", Currency: "EUR",
				Account: "DE02100100109307118603", BankID: "DEUTDEFF"}, storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, e)
		})
	}
}

func (e screeningEnv) request(t testing.TB, m clearing.Merchant, value string) clearing.HoldRequest {
	return clearing.HoldRequest{UETR: uuid.NewString(), BuyerBankID: "DBSSSGSG", MerchantID: m.ID, Amount: amount(t, value, m.Currency), Reference: "order"}
}

func wantScreeningError(t testing.TB, err error, pending bool) *store.ScreeningError {
	t.Helper()
	se, ok := store.AsScreeningError(err)
	if !ok || se.Pending != pending || se.ScreeningID == "" || se.ISOReason == "" {
		t.Fatalf("want a screening answer (pending %v), got %v", pending, err)
	}
	code := "screening_rejected"
	if pending {
		code = "pending_review"
	}
	wantCode(t, err, code, "")
	return se
}

func auditCount(t testing.TB, e env, action, object string) int {
	t.Helper()
	var n int
	if err := e.s.DB().NewRaw("SELECT COUNT(*) FROM audit_log WHERE action = ? AND object = ?", action, object).Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestListedCreditorIsHeldForReview: a payment to a listed name is kept
// out of escrow (no payment, no posting, nothing against the cap) while
// the rest of its batch is held; asking again gives the same review;
// approval holds it through the normal path, with who and why recorded.
func TestListedCreditorIsHeldForReview(t *testing.T) {
	eachScreeningEngine(t, nil, func(t *testing.T, e screeningEnv) {
		before := e.snapshot(t)
		listed, clean := e.request(t, e.listed, "250.00"), e.request(t, e.w.Merchants[0], "100.00")
		res, err := e.s.HoldBatch(ctx, []clearing.HoldRequest{listed, clean}, clearing.Actor{Role: clearing.RoleBank, Subject: "DBSSSGSG"})
		if err != nil {
			t.Fatal(err)
		}
		se := wantScreeningError(t, res[0].Err, true)
		if res[1].Err != nil || res[1].Payment.State != clearing.Held {
			t.Fatalf("the clean payment: %+v", res[1])
		}
		after := e.snapshot(t)
		if after.payments != before.payments+1 || after.postings != before.postings+1 {
			t.Fatalf("only the clean payment is booked: payments %d→%d postings %d→%d", before.payments, after.payments, before.postings, after.postings)
		}
		pos, _ := e.s.OpenPositions(ctx, "DBSSSGSG")
		if len(pos) != 1 || pos[0].PaidMinor != 100_00 {
			t.Fatalf("the review must not count against the cap: %+v", pos)
		}

		queue, err := e.s.Reviews(ctx, store.ReviewFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(queue) != 1 || queue[0].ID != se.ScreeningID || queue[0].PaymentID != listed.UETR || queue[0].Status != store.ScreeningPending {
			t.Fatalf("queue: %+v", queue)
		}
		r := queue[0]
		if len(r.Matches) == 0 || r.Matches[0].EntryID != "28603" || r.Matches[0].List != compliance.ListOFAC || r.Matches[0].ListHash == "" ||
			!slices.Contains(r.Flags, compliance.CodeSanctionsHit) || len(r.Lists) != 2 || r.Amount.String() != "250.00 EUR" || r.RequestedBy != "bank:DBSSSGSG" {
			t.Fatalf("the review shows why: %+v", r)
		}
		if !slices.ContainsFunc(r.Parties, func(p compliance.Party) bool { return p.Role == compliance.CreditorAgent && p.ID == "DEUTDEFF" }) {
			t.Fatalf("the agents are screened too: %+v", r.Parties)
		}
		if auditCount(t, e.env, "screening.review", r.ID) != 1 {
			t.Fatal("the hold for review is in the audit log")
		}

		// The same UETR again: the same review, nothing new.
		_, err = e.s.Hold(ctx, listed, storetest.Operator)
		if again := wantScreeningError(t, err, true); again.ScreeningID != se.ScreeningID {
			t.Fatalf("asked again: review %s, want %s", again.ScreeningID, se.ScreeningID)
		}
		if q, _ := e.s.Reviews(ctx, store.ReviewFilter{}); len(q) != 1 {
			t.Fatalf("%d reviews", len(q))
		}

		mid := e.snapshot(t)
		_, _, _, err = e.s.ApproveReview(ctx, r.ID, "  ", officer, nil)
		wantCode(t, err, "comment_required", "comment")
		e.unchanged(t, mid)

		sc, p, holdErr, err := e.s.ApproveReview(ctx, r.ID, "TNK Trading International Ltd of Zug is not the listed S.A.; registry checked", officer, nil)
		if err != nil || holdErr != nil {
			t.Fatal(err, holdErr)
		}
		if p.ID != listed.UETR || p.State != clearing.Held || p.BuyerBankID != "DBSSSGSG" || sc.Status != store.ScreeningApproved || sc.ResolvedBy != officer.String() {
			t.Fatalf("approved: %+v %+v", p, sc)
		}
		if got := e.snapshot(t); got.payments != mid.payments+1 || got.postings != mid.postings+1 {
			t.Fatalf("approval holds: payments %d→%d postings %d→%d", mid.payments, got.payments, mid.postings, got.postings)
		}
		_, events, err := e.s.Payment(ctx, p.ID)
		if err != nil || events[0].Actor != "bank:DBSSSGSG" {
			t.Fatalf("the hold is the bank's: %+v %v", events, err)
		}
		e.ledgerOK(t)
		if auditCount(t, e.env, "screening.approve", r.ID) != 1 {
			t.Fatal("the approval is in the audit log")
		}
		_, _, _, err = e.s.ApproveReview(ctx, r.ID, "again", officer, nil)
		wantCode(t, err, "review_resolved", "id")
		if q, _ := e.s.Reviews(ctx, store.ReviewFilter{}); len(q) != 0 {
			t.Fatalf("the queue is empty: %+v", q)
		}
	})
}

// TestRejectedReviewLeavesTheLedger: rejection holds nothing, ever.
func TestRejectedReviewLeavesTheLedger(t *testing.T) {
	eachScreeningEngine(t, nil, func(t *testing.T, e screeningEnv) {
		req := e.request(t, e.listed, "99.00")
		_, err := e.s.Hold(ctx, req, storetest.Operator)
		se := wantScreeningError(t, err, true)
		before := e.snapshot(t)
		sc, err := e.s.RejectReview(ctx, se.ScreeningID, "the owner is the listed TNK Trading International S.A.", officer, nil)
		if err != nil || sc.Status != store.ScreeningRejected {
			t.Fatal(sc, err)
		}
		e.unchanged(t, before)
		e.ledgerOK(t)
		got, err := e.s.PaymentScreening(ctx, req.UETR)
		if err != nil || got.Status != store.ScreeningRejected || got.ISOReason != compliance.ISORegulatory || got.Comment == "" {
			t.Fatalf("what the bank is told: %+v %v", got, err)
		}
		if auditCount(t, e.env, "screening.reject", se.ScreeningID) != 1 {
			t.Fatal("the rejection is in the audit log")
		}
		if _, err := e.s.RejectReview(ctx, "scr_nope", "x", officer, nil); !isKind(err, clearing.NotFound) {
			t.Fatalf("an unknown review: %v", err)
		}
	})
}

// TestApprovalMayStillBeRefused: approval runs the normal hold path,
// which checks the cap as it is then; a refusal closes the review as
// approval_refused, says why, and holds nothing.
func TestApprovalMayStillBeRefused(t *testing.T) {
	eachScreeningEngine(t, nil, func(t *testing.T, e screeningEnv) {
		_, err := e.s.Hold(ctx, e.request(t, e.listed, "9000.00"), storetest.Operator)
		se := wantScreeningError(t, err, true)
		// Meanwhile the bank uses almost all of its EUR cap.
		e.hold(t, 1, 0, "995000.00")
		before := e.snapshot(t)
		sc, _, holdErr, err := e.s.ApproveReview(ctx, se.ScreeningID, "not the listed entity", officer, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, holdErr, "net_debit_cap_exceeded", "amount")
		if sc.Status != store.ScreeningApprovalRefused || !strings.Contains(sc.HoldError, "net debit cap") || sc.ResolvedBy != officer.String() {
			t.Fatalf("%+v", sc)
		}
		e.unchanged(t, before)
	})
}

// TestEveryDecisionIsRecorded: passes are recorded too (with the lists'
// hashes); a pass the hold refuses is recorded as refused; regulators'
// events are the flagged decisions only, with their resolution.
func TestEveryDecisionIsRecorded(t *testing.T) {
	rules, err := compliance.ParseRules([]byte(`{"base_currency":"EUR","default":{"large_value":{"threshold":"10000.00 EUR","action":"flag"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	eachScreeningEngine(t, rules, func(t *testing.T, e screeningEnv) {
		small, large, tooLarge := e.request(t, e.w.Merchants[0], "10.00"), e.request(t, e.w.Merchants[0], "10000.00"), e.request(t, e.w.Merchants[0], "2000000.00")
		res, err := e.s.HoldBatch(ctx, []clearing.HoldRequest{small, large, tooLarge}, storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Err != nil || res[1].Err != nil {
			t.Fatalf("a large value is flagged, not held back: %v %v", res[0].Err, res[1].Err)
		}
		wantCode(t, res[2].Err, "net_debit_cap_exceeded", "amount")
		for _, tc := range []struct {
			req    clearing.HoldRequest
			status string
			flags  []string
		}{{small, store.ScreeningHeld, nil}, {large, store.ScreeningHeld, []string{compliance.CodeLargeValue}}, {tooLarge, store.ScreeningRefused, []string{compliance.CodeLargeValue}}} {
			sc, err := e.s.PaymentScreening(ctx, tc.req.UETR)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Status != tc.status || !slices.Equal(sc.Flags, tc.flags) || len(sc.Lists) != 2 || sc.Lists[0].Hash == "" || sc.Base.Currency.Code != "EUR" {
				t.Fatalf("%s: %+v", tc.req.Amount, sc)
			}
		}
		_, err = e.s.Hold(ctx, e.request(t, e.listed, "5.00"), storetest.Operator)
		wantScreeningError(t, err, true)

		events, err := e.s.ComplianceEvents(ctx, e.clock.t.Add(-time.Minute), e.clock.t.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 3 {
			t.Fatalf("%d events, want the two large values and the hit: %+v", len(events), events)
		}
		i := slices.IndexFunc(events, func(ev store.ComplianceEvent) bool { return ev.Outcome == compliance.Review })
		if i < 0 {
			t.Fatalf("no hit among %+v", events)
		}
		hit := events[i]
		if hit.Status != store.ScreeningPending || !slices.Equal(hit.Flags, []string{compliance.CodeSanctionsHit}) || !slices.Equal(hit.Jurisdictions(), []string{"SG", "DE"}) || len(hit.Matches) == 0 {
			t.Fatalf("the hit: %+v", hit)
		}
		// Resolved a day later: the event is in that day's window too.
		e.clock.advance(24 * time.Hour)
		if _, err := e.s.RejectReview(ctx, hit.ScreeningID, "listed", officer, nil); err != nil {
			t.Fatal(err)
		}
		later, err := e.s.ComplianceEvents(ctx, e.clock.t.Add(-time.Minute), e.clock.t.Add(time.Minute))
		if err != nil || len(later) != 1 || later[0].Status != store.ScreeningRejected || later[0].ResolvedBy != officer.String() || later[0].Comment != "listed" {
			t.Fatalf("the resolution: %+v %v", later, err)
		}
	})
}

// TestAMLRulesReadTheHistory: velocity and structuring count the payments
// screened before, from the database, within their windows; rejected
// ones do not count.
func TestAMLRulesReadTheHistory(t *testing.T) {
	rules, err := compliance.ParseRules([]byte(`{"base_currency":"EUR","default":{
		"velocity":[{"party":"payee","window":"1h","max_count":2,"action":"review"}],
		"structuring":{"threshold":"1000.00 EUR","band":"0.9","window":"24h","min_count":3,"action":"review"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	eachScreeningEngine(t, rules, func(t *testing.T, e screeningEnv) {
		berlin, lion := e.w.Merchants[0], e.w.Merchants[1]
		for range 2 {
			if _, err := e.s.Hold(ctx, e.request(t, berlin, "10.00"), storetest.Operator); err != nil {
				t.Fatal(err)
			}
		}
		_, err := e.s.Hold(ctx, e.request(t, berlin, "10.00"), storetest.Operator)
		se := wantScreeningError(t, err, true)
		sc, _ := e.s.Screening(ctx, se.ScreeningID)
		if !slices.Equal(sc.Flags, []string{compliance.CodeVelocity}) {
			t.Fatalf("the third payment to one payee within the hour: %+v", sc.Reasons)
		}
		e.clock.advance(61 * time.Minute)
		if _, err := e.s.Hold(ctx, e.request(t, berlin, "10.00"), storetest.Operator); err != nil {
			t.Fatalf("an hour later the window is clear: %v", err)
		}
		// Structuring: three payments in [900.00, 1,000.00) EUR to one
		// payee within the day.
		e.clock.advance(2 * time.Hour)
		for i := range 2 {
			if _, err := e.s.Hold(ctx, e.request(t, berlin, "950.00"), storetest.Operator); err != nil {
				t.Fatalf("structuring payment %d: %v", i+1, err)
			}
			e.clock.advance(2 * time.Hour)
		}
		_, err = e.s.Hold(ctx, e.request(t, berlin, "999.99"), storetest.Operator)
		se = wantScreeningError(t, err, true)
		sc, _ = e.s.Screening(ctx, se.ScreeningID)
		if !slices.Equal(sc.Flags, []string{compliance.CodeStructuring}) {
			t.Fatalf("the third in [900, 1000) within 24 h: %+v", sc.Reasons)
		}
		if _, err := e.s.RejectReview(ctx, se.ScreeningID, "structuring", officer, nil); err != nil {
			t.Fatal(err)
		}
		// A payment of an SGD merchant cannot be converted to EUR without
		// an FX rate book: it waits for review, and says why.
		_, err = e.s.Hold(ctx, clearing.HoldRequest{UETR: uuid.NewString(), BuyerBankID: "DBSSSGSG", MerchantID: lion.ID, Amount: amount(t, "10.00", "SGD")}, storetest.Operator)
		se = wantScreeningError(t, err, true)
		sc, _ = e.s.Screening(ctx, se.ScreeningID)
		if !slices.Equal(sc.Flags, []string{compliance.CodeRateUnavailable}) {
			t.Fatalf("%+v", sc.Reasons)
		}
	})
}

// TestVelocityAcrossConcurrentBatches: batches racing to one payee count
// each other — together they never pass more payments than the velocity
// limit allows (on PostgreSQL the history is locked per key).
func TestVelocityAcrossConcurrentBatches(t *testing.T) {
	rules, err := compliance.ParseRules([]byte(`{"base_currency":"EUR","default":{
		"velocity":[{"party":"payee","window":"1h","max_count":3,"action":"review"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	eachScreeningEngine(t, rules, func(t *testing.T, e screeningEnv) {
		berlin := e.w.Merchants[0]
		var wg sync.WaitGroup
		var mu sync.Mutex
		held, pending := 0, 0
		for range 4 {
			wg.Go(func() {
				results, err := e.s.HoldBatch(ctx, []clearing.HoldRequest{e.request(t, berlin, "10.00"), e.request(t, berlin, "10.00")}, storetest.Operator)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
				for _, r := range results {
					if r.Err == nil {
						held++
					} else if se, ok := store.AsScreeningError(r.Err); ok && se.Pending {
						pending++
					} else {
						t.Error(r.Err)
					}
				}
			})
		}
		wg.Wait()
		if held != 3 || pending != 5 {
			t.Fatalf("8 payments to one payee, at most 3 an hour: %d held, %d pending review", held, pending)
		}
	})
}

// TestHighRiskJurisdictionIsRejected: a merchant in a FATF call-for-action
// jurisdiction is rejected by the rules: nothing is held, the bank is
// answered with RR04, nothing waits for review.
func TestHighRiskJurisdictionIsRejected(t *testing.T) {
	rules, err := compliance.ParseRules([]byte(`{"default":{"high_risk":{"call_for_action":"reject","increased_monitoring":"review"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	eachScreeningEngine(t, rules, func(t *testing.T, e screeningEnv) {
		m, err := e.s.CreateMerchant(ctx, clearing.Merchant{Name: "Tabriz Carpets", Country: "IR", Currency: "EUR", Account: "IR062960000000100324200001", BankID: "DEUTDEFF"}, storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		before := e.snapshot(t)
		_, err = e.s.Hold(ctx, e.request(t, m, "40.00"), storetest.Operator)
		se := wantScreeningError(t, err, false)
		if se.ISOReason != compliance.ISORegulatory {
			t.Fatalf("%+v", se)
		}
		e.unchanged(t, before)
		if q, _ := e.s.Reviews(ctx, store.ReviewFilter{}); len(q) != 0 {
			t.Fatalf("a rejection does not wait for review: %+v", q)
		}
		if q, _ := e.s.Reviews(ctx, store.ReviewFilter{Status: store.ScreeningRejected}); len(q) != 1 || q[0].Outcome != compliance.Reject || q[0].ResolvedBy != "" {
			t.Fatalf("the automatic rejection is listed: %+v", q)
		}
		if _, err := e.s.Reviews(ctx, store.ReviewFilter{Status: "open"}); err == nil {
			t.Fatal("an unknown status must be refused")
		}
	})
}

package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/compliance/compliancetest"
	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// listedAccount is the IBAN of a merchant whose name is on the SDN list.
const listedAccount = "DE02100100109307118603"

// screeningEnv is a server whose store screens against the sample lists,
// with a compliance officer's key and a merchant at DEUTDEFF named like
// OFAC entry 28603 (TNK TRADING INTERNATIONAL S.A.).
type screeningEnv struct {
	*env
	officer string
	listed  clearing.Merchant
}

func eachScreeningEngine(t *testing.T, fn func(t *testing.T, e screeningEnv)) {
	eachScreeningEngineWith(t, compliance.Config{}, fn)
}

// eachScreeningEngineWith is eachScreeningEngine with cfg's rules and
// policy.
func eachScreeningEngineWith(t *testing.T, cfg compliance.Config, fn func(t *testing.T, e screeningEnv)) {
	sc := compliancetest.Screener(t, cfg)
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := screeningEnv{env: newEnvWith(t, engine, api.Config{}, store.Options{Screener: sc})}
			_, secret, err := e.st.CreateAPIKey(context.Background(), clearing.RoleCompliance, "", "A. Officer", storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			e.officer = secret
			if e.listed, err = e.st.CreateMerchant(context.Background(), clearing.Merchant{Name: "TNK Trading International Ltd", Country: "CH",
				Currency: "EUR", Account: listedAccount, BankID: deBank}, storetest.Operator); err != nil {
				t.Fatal(err)
			}
			fn(t, e)
		})
	}
}

type reviewWire struct {
	ID, PaymentID, Status, Outcome, ISOReason, Channel, FileID string
	RequestedBy, ResolvedBy, Comment, HoldError, Amount        string
	Score                                                      float64
	Flags                                                      []string
	Matches                                                    []struct {
		List, EntryID, EntryName, ListHash string
		Score                              float64
		ExactName                          bool
	}
	Lists   []struct{ Name, Hash string }
	Payment *payment
}

type screeningWire struct{ PaymentID, ScreeningID, Status, ISOReason string }

// pendingWire is the 202 answer to a payment held for review.
type pendingWire struct{ Status, PaymentID, ScreeningID, ISOReason, Message, ScreeningURL string }

type batchWire struct {
	Held, PendingReview, Failed int
	Results                     []struct {
		Status  int
		Payment *payment
		Review  *pendingWire
		Error   *struct{ Code, Field string }
	}
}

// wantPending checks a 202 answer: held for review as uetr, with where to
// ask.
func wantPending(t *testing.T, r resp, uetr string) pendingWire {
	t.Helper()
	if r.Status != http.StatusAccepted {
		t.Fatalf("want 202 pending_review, got %s", r)
	}
	conformsTo(t, r, "PendingReview")
	var pw pendingWire
	r.into(t, &pw)
	if pw.Status != "pending_review" || pw.PaymentID != uetr || pw.ScreeningID == "" || pw.ISOReason == "" || pw.ScreeningURL != "/v1/payments/"+uetr+"/screening" {
		t.Fatalf("the 202 answer: %+v", pw)
	}
	return pw
}

// TestReviewQueueOverHTTP: a bank's payment to a listed name is answered
// 202 pending_review and held nowhere; the bank sees only its status; banks,
// merchants and regulators cannot see the queue, operators can but may
// not decide; the compliance officer approves (the payment is then held)
// or rejects (nothing is), each with a comment.
func TestReviewQueueOverHTTP(t *testing.T) {
	eachScreeningEngine(t, func(t *testing.T, e screeningEnv) {
		uetr := uuid.NewString()
		var held resp
		e.unchanged(func() {
			held = e.call(e.bankSG, "POST", "/v1/payments", map[string]any{"uetr": uetr, "merchant_id": e.listed.ID, "amount": "250.00", "currency": "EUR"})
		})
		pr := wantPending(t, held, uetr)
		e.must(http.StatusNotFound, e.bankSG, "GET", "/v1/payments/"+uetr, nil)
		var sw screeningWire
		status := e.must(http.StatusOK, e.bankSG, "GET", pr.ScreeningURL, nil)
		conformsTo(t, status, "PaymentScreening")
		status.into(t, &sw)
		if sw.Status != "pending" || sw.ISOReason != "RR04" || sw.ScreeningID != pr.ScreeningID {
			t.Fatalf("the bank's view: %+v", sw)
		}
		e.must(http.StatusNotFound, e.bankDE, "GET", "/v1/payments/"+uetr+"/screening", nil)
		e.must(http.StatusForbidden, e.merSG, "GET", "/v1/payments/"+uetr+"/screening", nil)

		for _, key := range []string{e.bankSG, e.bankDE, e.merDE, e.regSG} {
			e.must(http.StatusForbidden, key, "GET", "/v1/reviews", nil)
			e.must(http.StatusForbidden, key, "GET", "/v1/reviews/"+sw.ScreeningID, nil)
		}
		var queue struct{ Reviews []reviewWire }
		e.must(http.StatusOK, e.op, "GET", "/v1/reviews", nil).into(t, &queue)
		list := e.must(http.StatusOK, e.officer, "GET", "/v1/reviews", nil)
		conformsTo(t, list, "ReviewList")
		list.into(t, &queue)
		if len(queue.Reviews) != 1 {
			t.Fatalf("queue %+v", queue)
		}
		r := queue.Reviews[0]
		if r.ID != sw.ScreeningID || r.PaymentID != uetr || r.Status != "pending" || r.Outcome != "review" || r.Channel != "api" || r.RequestedBy != "bank:"+sgBank ||
			len(r.Matches) == 0 || r.Matches[0].EntryID != "28603" || r.Matches[0].ListHash == "" || len(r.Lists) != 2 || r.Amount != "250.00" {
			t.Fatalf("the review: %+v", r)
		}
		e.must(http.StatusForbidden, e.op, "POST", "/v1/reviews/"+r.ID+"/approve", map[string]any{"comment": "ops"})
		e.unchanged(func() {
			wantError(t, e.call(e.officer, "POST", "/v1/reviews/"+r.ID+"/approve", map[string]any{}), http.StatusUnprocessableEntity, "comment_required", "comment")
		})
		var approved reviewWire
		ok := e.must(http.StatusOK, e.officer, "POST", "/v1/reviews/"+r.ID+"/approve", map[string]any{"comment": "Zug company, not the listed S.A."})
		conformsTo(t, ok, "Review")
		ok.into(t, &approved)
		if approved.Status != "approved" || approved.Payment == nil || approved.Payment.State != "held" || approved.ResolvedBy == "" || approved.Comment == "" {
			t.Fatalf("approved: %+v", approved)
		}
		if p := e.getPayment(uetr); p.State != "held" || p.Amount != "250.00" {
			t.Fatalf("%+v", p)
		}
		wantError(t, e.call(e.officer, "POST", "/v1/reviews/"+r.ID+"/reject", map[string]any{"comment": "too late"}), http.StatusConflict, "review_resolved", "id")

		// A batch: the listed item waits, the other is held.
		var batch batchWire
		answer := e.must(http.StatusOK, e.bankSG, "POST", "/v1/payments/batch", map[string]any{"payments": []any{
			map[string]any{"merchant_id": e.listed.ID, "amount": "10.00", "currency": "EUR"},
			map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "10.00", "currency": "EUR"}}})
		conformsTo(t, answer, "HoldBatchResult")
		answer.into(t, &batch)
		if batch.Held != 1 || batch.PendingReview != 1 || batch.Failed != 0 || batch.Results[0].Status != http.StatusAccepted || batch.Results[0].Review == nil ||
			batch.Results[0].Review.Status != "pending_review" || batch.Results[0].Error != nil || batch.Results[1].Status != http.StatusCreated {
			t.Fatalf("batch %+v", batch)
		}
		e.must(http.StatusOK, e.officer, "GET", "/v1/reviews", nil).into(t, &queue)
		var rejected reviewWire
		e.unchanged(func() {
			e.must(http.StatusOK, e.officer, "POST", "/v1/reviews/"+queue.Reviews[0].ID+"/reject", map[string]any{"comment": "owned by the listed S.A."}).into(t, &rejected)
		})
		if rejected.Status != "rejected" || rejected.Payment != nil {
			t.Fatalf("rejected: %+v", rejected)
		}
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/payments/"+rejected.PaymentID+"/screening", nil).into(t, &sw)
		if sw.Status != "rejected" || sw.ISOReason != "RR04" {
			t.Fatalf("the bank is answered: %+v", sw)
		}
		e.must(http.StatusNotFound, e.officer, "GET", "/v1/reviews/scr_nope", nil)
	})
}

// TestScreenAName: a compliance officer checks names by hand.
func TestScreenAName(t *testing.T) {
	eachScreeningEngine(t, func(t *testing.T, e screeningEnv) {
		var d struct {
			Outcome string
			Score   float64
			Matches []struct{ List, EntryID string }
			Lists   []struct{ Name, Hash string }
		}
		screened := e.must(http.StatusOK, e.officer, "POST", "/v1/screen", map[string]any{"name": "Daniel Moreno"})
		conformsTo(t, screened, "ScreeningDecision")
		screened.into(t, &d)
		if d.Outcome != "review" || d.Matches[0].EntryID != "15102" || d.Score < 0.8 || len(d.Lists) != 2 {
			t.Fatalf("%+v", d)
		}
		e.must(http.StatusOK, e.officer, "POST", "/v1/screen", map[string]any{"name": "Ri Won Ho", "id": "381310014"}).into(t, &d)
		if d.Outcome != "reject" || d.Matches[0].List != "un" {
			t.Fatalf("%+v", d)
		}
		e.must(http.StatusOK, e.op, "POST", "/v1/screen", map[string]any{"name": "Berlin Books", "country": "DE"}).into(t, &d)
		if d.Outcome != "pass" || len(d.Matches) != 0 {
			t.Fatalf("%+v", d)
		}
		wantError(t, e.call(e.officer, "POST", "/v1/screen", map[string]any{"name": "X", "dob": "12/10/1972"}), http.StatusUnprocessableEntity, "invalid_dob", "dob")
		wantError(t, e.call(e.officer, "POST", "/v1/screen", map[string]any{"name": "X", "country": "Belize"}), http.StatusUnprocessableEntity, "invalid_country", "country")
		wantError(t, e.call(e.officer, "POST", "/v1/screen", map[string]any{}), http.StatusUnprocessableEntity, "invalid_name", "name")
		wantError(t, e.call(e.officer, "POST", "/v1/screen", map[string]any{"nom": "X"}), http.StatusBadRequest, "malformed_json", "nom")
		e.must(http.StatusForbidden, e.bankSG, "POST", "/v1/screen", map[string]any{"name": "Daniel Moreno"})

		var lists struct{ Lists []struct{ Name, Hash string } }
		e.must(http.StatusOK, e.officer, "GET", "/v1/lists", nil).into(t, &lists)
		before := lists
		reloaded := e.must(http.StatusOK, e.op, "POST", "/v1/lists/reload", nil)
		conformsTo(t, reloaded, "ListList")
		reloaded.into(t, &lists)
		if len(lists.Lists) != 2 || lists.Lists[0].Name != "us_ofac" || lists.Lists[1].Hash != before.Lists[1].Hash {
			t.Fatalf("reloaded %+v, before %+v", lists, before)
		}
		e.must(http.StatusForbidden, e.bankSG, "POST", "/v1/lists/reload", nil)
	})
}

// TestScreeningNotConfigured: a server without screening says so.
func TestScreeningNotConfigured(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		wantError(t, e.call(e.op, "POST", "/v1/screen", map[string]any{"name": "Daniel Moreno"}), http.StatusUnprocessableEntity, "screening_not_configured", "")
		wantError(t, e.call(e.op, "GET", "/v1/lists", nil), http.StatusUnprocessableEntity, "screening_not_configured", "")
	})
}

// TestFileWithAListedCreditor: in a pacs.008 of three, the transaction
// paying the listed merchant is answered PDNG (RR04) and held nowhere,
// the others are held; the pacs.002 says so and is valid against ISO's
// schema. Rejecting the review puts a pacs.002 RJCT for that transaction
// into the bank's mailbox; approving another file's puts an ACSP and
// holds it.
func TestFileWithAListedCreditor(t *testing.T) {
	eachScreeningEngine(t, func(t *testing.T, e screeningEnv) {
		raw := isotest.Pacs008{MsgID: "DBS-SCREEN-1", Txs: []isotest.Tx{{Amount: "120.00"}, {Amount: "75.00", CdtrIBAN: listedAccount}, {Amount: "9.99"}}}.Bytes()
		var r uploadResult
		var pending struct {
			File struct {
				Status  string
				Pending int
			}
			Transactions []struct{ Status, ScreeningID string }
		}
		res := e.must(http.StatusCreated, e.bankSG, "POST", "/v1/files", raw, xmlType)
		conformsTo(t, res, "FileUpload")
		res.into(t, &r)
		res.into(t, &pending)
		if r.File.Status != iso.StatusPartial || r.File.Accepted != 2 || r.File.Rejected != 0 || pending.File.Pending != 1 {
			t.Fatalf("file %+v pending %d", r.File, pending.File.Pending)
		}
		tx := r.Transactions[1]
		if tx.Status != iso.StatusPending || tx.Error == nil || tx.Error.Reason != "RR04" || tx.PaymentID != "" || pending.Transactions[1].ScreeningID == "" {
			t.Fatalf("the listed creditor's transaction: %+v %+v", tx, tx.Error)
		}
		e.must(http.StatusNotFound, e.op, "GET", "/v1/payments/"+isotest.UETR(2), nil)
		for _, i := range []int{0, 2} {
			if p := e.getPayment(isotest.UETR(i + 1)); p.State != "held" {
				t.Fatalf("%+v", p)
			}
		}
		report, body := e.pacs002(e.bankSG, r.Reply.ID)
		isotest.SchemaValid(t, iso.Pacs002v10, body)
		if report.Original.Status != iso.StatusPartial || report.Transactions[1].Status != iso.StatusPending || report.Transactions[1].AcceptedAt != "" ||
			len(report.Transactions[1].Reasons) != 1 || report.Transactions[1].Reasons[0].Code != "RR04" || report.Transactions[0].Status != iso.StatusAccepted {
			t.Fatalf("pacs.002 %+v", report)
		}

		var review reviewWire
		e.must(http.StatusOK, e.officer, "GET", "/v1/reviews/"+pending.Transactions[1].ScreeningID, nil).into(t, &review)
		if review.Channel != "file" || review.FileID != r.File.ID || review.RequestedBy != "bank:"+sgBank {
			t.Fatalf("%+v", review)
		}
		e.unchanged(func() {
			e.must(http.StatusOK, e.officer, "POST", "/v1/reviews/"+review.ID+"/reject", map[string]any{"comment": "the listed S.A.'s account"})
		})
		answer := e.answerTo(t, r.File.ID, r.Reply.ID)
		report, body = e.pacs002(e.bankSG, answer)
		isotest.SchemaValid(t, iso.Pacs002v10, body)
		if report.Original.MsgID != "DBS-SCREEN-1" || report.Original.Status != iso.StatusRejected || len(report.Transactions) != 1 ||
			report.Transactions[0].UETR != isotest.UETR(2) || report.Transactions[0].Status != iso.StatusRejected || report.Transactions[0].Reasons[0].Code != "RR04" {
			t.Fatalf("the answer to the rejection: %+v", report)
		}

		// A file of one listed transaction: the group is PDNG; approval
		// holds it and answers ACSP.
		only := e.upload(e.bankSG, isotest.Pacs008{MsgID: "DBS-SCREEN-2", Txs: []isotest.Tx{{UETR: isotest.UETR(50), Amount: "33.00", CdtrIBAN: listedAccount}}}.Bytes(), http.StatusCreated)
		if only.File.Status != iso.StatusPending {
			t.Fatalf("%+v", only.File)
		}
		e.must(http.StatusOK, e.officer, "GET", "/v1/payments/"+isotest.UETR(50)+"/screening", nil).into(t, &review)
		var sw screeningWire
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/payments/"+isotest.UETR(50)+"/screening", nil).into(t, &sw)
		e.must(http.StatusOK, e.officer, "POST", "/v1/reviews/"+sw.ScreeningID+"/approve", map[string]any{"comment": "verified"})
		if p := e.getPayment(isotest.UETR(50)); p.State != "held" || p.Amount != "33.00" {
			t.Fatalf("%+v", p)
		}
		report, body = e.pacs002(e.bankSG, e.answerTo(t, only.File.ID, only.Reply.ID))
		isotest.SchemaValid(t, iso.Pacs002v10, body)
		if report.Original.Status != iso.StatusAccepted || report.Transactions[0].Status != iso.StatusAccepted || report.Transactions[0].UETR != isotest.UETR(50) {
			t.Fatalf("the answer to the approval: %+v", report)
		}
	})
}

// answerTo is the mailbox file answering inbound file id other than its
// first reply: the answer to a resolved review.
func (e *env) answerTo(t *testing.T, inbound, firstReply string) string {
	t.Helper()
	var l struct{ Files []mailboxFile }
	e.must(http.StatusOK, e.bankSG, "GET", "/v1/files", nil).into(t, &l)
	for _, f := range l.Files {
		if f.InReplyTo == inbound && f.ID != firstReply {
			return f.ID
		}
	}
	t.Fatalf("no second file answers %s: %+v", inbound, l.Files)
	return ""
}

package api_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/inbound"
	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// Refunds and cancellations over the API, as a bank sees them: every
// refund puts a pacs.004 into the buyer's bank's mailbox; a camt.056 is
// answered per payment with a camt.029 (and a pacs.004 for each refund).

// newRefundEnv is a server whose store writes the pacs.004 of every
// refund, as serve's does.
func newRefundEnv(t *testing.T, engine string, cfg api.Config, opt store.Options) *env {
	t.Helper()
	opt.Refunds = inbound.RefundFile("")
	return newEnvWith(t, engine, cfg, opt)
}

// ref names a mailbox file in an upload's answer.
type ref struct{ ID, Kind, SHA256 string }

// fileAnswer is an upload's answer with what cancellations and settlement
// confirmations add.
type fileAnswer struct {
	File struct {
		ID, Sender, Kind, Message, MsgID, Status string
		Accepted, Rejected                       int
	}
	Reply        *ref
	Transactions []struct {
		Index                               int
		UETR, EndToEndID, Status, PaymentID string
		Error                               *isoErr
		Answer, Refund                      *ref
	}
	Settlements []settlementItem
}

type settlementItem struct {
	Element, MsgID, UETR, Status, Reason, Outcome    string
	Participant, Currency, Net, SettledAt, SettledBy string
	CycleState                                       string
	CycleID                                          int64
	Error                                            *isoErr
}

// sendFile uploads raw as key, checks the answer against the OpenAPI
// schema and decodes it.
func (e *env) sendFile(key string, raw []byte, want int) (fileAnswer, resp) {
	e.t.Helper()
	r := e.must(want, key, "POST", "/v1/files", raw, xmlType)
	conformsTo(e.t, r, "FileUpload")
	var a fileAnswer
	r.into(e.t, &a)
	return a, r
}

// download fetches a mailbox file as key, checks it against its ISO
// schema and splits it.
func (e *env) download(key string, f *ref) *iso.Envelope {
	e.t.Helper()
	if f == nil {
		e.t.Fatal("no file")
	}
	res := e.must(http.StatusOK, key, "GET", "/v1/files/"+f.ID, nil)
	if got := res.Header.Get("X-Content-SHA256"); got != f.SHA256 {
		e.t.Fatalf("file %s: sha256 %s, the answer said %s", f.ID, got, f.SHA256)
	}
	isotest.SchemaValid(e.t, f.Kind, res.Body)
	env, err := iso.SplitBytes(res.Body, iso.Limits{})
	if err != nil {
		e.t.Fatal(err)
	}
	return env
}

// mailboxOf lists key's mailbox.
func (e *env) mailboxOf(key string) []mailboxFile {
	e.t.Helper()
	var list struct{ Files []mailboxFile }
	e.must(http.StatusOK, key, "GET", "/v1/files", nil).into(e.t, &list)
	return list.Files
}

func decodeReturn(t *testing.T, env *iso.Envelope) *iso.PaymentReturn {
	t.Helper()
	r, err := iso.DecodePaymentReturn(env)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRefundSendsAPacs004: the merchant's bank refunds what is still
// held of a partly released payment, the operator resolves a dispute
// with a refund: each time the buyer's bank finds a signed, schema-valid
// pacs.004 naming the payment, what it paid and what comes back, and why.
func TestRefundSendsAPacs004(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := newRefundEnv(t, engine, api.Config{}, store.Options{})
			p := e.hold(e.bankSG, map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "120.00", "currency": "EUR", "end_to_end_id": "ORDER-1001"})
			e.act(e.bankSG, p.ID, "release", map[string]any{"amount": "20.00"})
			e.act(e.bankDE, p.ID, "refund", map[string]any{"reason": "second parcel out of stock"})

			files := e.mailboxOf(e.bankSG)
			if len(files) != 1 || files[0].Kind != iso.Pacs004v09 || len(e.mailboxOf(e.bankDE)) != 0 {
				t.Fatalf("SG %+v, DE %+v", files, e.mailboxOf(e.bankDE))
			}
			r := decodeReturn(t, e.download(e.bankSG, &ref{ID: files[0].ID, Kind: files[0].Kind, SHA256: files[0].SHA256}))
			tx := r.Returns[0]
			today := time.Now().UTC().Format("2006-01-02")
			if r.Header.From != "XCLRGB2L" || r.Header.To != sgBank || r.InstructedAgent != sgBank || len(r.Returns) != 1 ||
				tx.Original != (iso.Original{UETR: p.ID, EndToEndID: "ORDER-1001"}) || *tx.OriginalAmount != (iso.Amount{Value: "120.00", Currency: "EUR"}) ||
				tx.Amount != (iso.Amount{Value: "100.00", Currency: "EUR"}) || tx.Reason != iso.ReturnAgent || tx.SettlementDate != today ||
				tx.Info != "refunded by the merchant's side: second parcel out of stock" {
				t.Fatalf("pacs.004 %+v %+v", r, tx)
			}

			disputed := e.holdSGtoDE("40.00")
			e.act(e.bankSG, disputed.ID, "dispute", map[string]any{"reason": "never arrived"})
			e.act(e.op, disputed.ID, "resolve", map[string]any{"decision": "refund", "reason": "carrier lost it"})
			files = e.mailboxOf(e.bankSG)
			if len(files) != 2 {
				t.Fatalf("%+v", files)
			}
			r = decodeReturn(t, e.download(e.bankSG, &ref{ID: files[0].ID, Kind: files[0].Kind, SHA256: files[0].SHA256}))
			if tx := r.Returns[0]; tx.Original.UETR != disputed.ID || tx.Amount.Value != "40.00" || tx.Reason != iso.ReturnByCustomer ||
				tx.Info != "dispute resolved with a refund: carrier lost it" {
				t.Fatalf("dispute's pacs.004 %+v", tx)
			}
		})
	}
}

// TestCrossCurrencyRefundReturnsWhatTheBankGetsBack: the README's FX
// example. The SG bank paid 1,000.00 SGD; after 300.00 EUR released, the
// refund of the rest gives it back 558.21 SGD (converted back at the
// fresh rate, the FX result, fee and spread back), and that is what its
// pacs.004 returns, in SGD.
func TestCrossCurrencyRefundReturnsWhatTheBankGetsBack(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := newRefundEnv(t, engine, api.Config{}, store.Options{FX: store.FXOptions{Book: &fx.Book{}, Provider: storetest.FXProviderBIC, FeeBps: 30, SpreadBps: 50}})
			e.postProviderRates()
			p := e.hold(e.bankSG, map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "1000.00", "currency": "SGD"})
			e.act(e.bankSG, p.ID, "release", map[string]any{"amount": "300.00"})
			e.act(e.bankDE, p.ID, "refund", map[string]any{"reason": "second item out of stock"})
			files := e.mailboxOf(e.bankSG)
			if len(files) != 1 {
				t.Fatalf("%+v", files)
			}
			tx := decodeReturn(t, e.download(e.bankSG, &ref{ID: files[0].ID, Kind: files[0].Kind, SHA256: files[0].SHA256})).Returns[0]
			if tx.Amount != (iso.Amount{Value: "558.21", Currency: "SGD"}) || *tx.OriginalAmount != (iso.Amount{Value: "1000.00", Currency: "SGD"}) {
				t.Fatalf("pacs.004 %+v", tx)
			}
		})
	}
}

// TestCancellationRequest: a camt.056 naming a held, a released, a
// disputed, an unknown and a malformed payment refunds the held and the
// disputed one (their refund postings in the ledger, a pacs.004 each),
// refuses the released (AGNT) and the unknown (NOOR) with a camt.029 each,
// and reports the malformed one (CH16) without an answer file. The same
// request again gets the first answer; a request that is not the
// uploader's, or does not parse, changes nothing.
func TestCancellationRequest(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := newRefundEnv(t, engine, api.Config{}, store.Options{})
			sent := e.upload(e.bankSG, isotest.Pacs008{MsgID: "DBS-0100", Txs: []isotest.Tx{{Amount: "120.00"}, {Amount: "30.00"}, {Amount: "10.00"}, {Amount: "5.00"}}}.Bytes(), http.StatusCreated)
			if sent.File.Accepted != 4 {
				t.Fatalf("%+v", sent)
			}
			e.act(e.bankSG, isotest.UETR(2), "release", map[string]any{})
			e.act(e.bankSG, isotest.UETR(3), "dispute", map[string]any{"reason": "wrong colour"})
			before := len(e.mailboxOf(e.bankSG))

			raw := isotest.Camt056{CaseID: "CASE-7", Txs: []isotest.CxlTx{
				{UETR: isotest.UETR(1), MsgID: "DBS-0100", Amount: "120.00", Reason: "DUPL", Info: "sent twice"},
				{UETR: isotest.UETR(2), MsgID: "DBS-0100"},
				{UETR: isotest.UETR(3), MsgID: "DBS-0100"},
				{UETR: isotest.UETR(99)},
				{UETR: "not-a-uetr"},
			}}.Bytes()
			a, r := e.sendFile(e.bankSG, raw, http.StatusCreated)
			if a.File.Kind != "cancellation" || a.File.Message != iso.Camt056v08 || a.File.MsgID != "CXL-1" || a.File.Sender != sgBank ||
				a.File.Status != "PART" || a.File.Accepted != 2 || a.File.Rejected != 3 || a.Reply != nil || r.Header.Get("Location") != "" {
				t.Fatalf("%s", r.Body)
			}
			txs := a.Transactions
			for _, i := range []int{0, 2} {
				if txs[i].Status != "ACCR" || txs[i].PaymentID != isotest.UETR(i+1) || txs[i].Refund == nil || txs[i].Answer == nil || txs[i].Error != nil {
					t.Fatalf("tx %d: %s", i, r.Body)
				}
			}
			wantRefusal := func(i int, reason string, answered bool) {
				t.Helper()
				tx := txs[i]
				if tx.Status != "RJCR" || tx.Error == nil || tx.Error.Reason != reason || tx.Error.Line == 0 || tx.Refund != nil || (tx.Answer != nil) != answered {
					t.Fatalf("tx %d: %s", i, r.Body)
				}
			}
			wantRefusal(1, "AGNT", true)
			wantRefusal(3, "NOOR", true)
			wantRefusal(4, "CH16", false)
			if txs[4].Error.Element != "Undrlyg[0]/TxInf[4]/OrgnlUETR" || !strings.Contains(txs[1].Error.Message, "released to the merchant") {
				t.Fatalf("%s", r.Body)
			}

			// The ledger: both refunded, the refund postings booked, the books balance.
			for _, i := range []int{1, 3} {
				var p struct {
					payment
					Legs []struct{ Kind, Debit, Credit, Amount string }
				}
				e.must(http.StatusOK, e.bankSG, "GET", "/v1/payments/"+isotest.UETR(i), nil).into(t, &p)
				last := p.Legs[len(p.Legs)-1]
				if p.State != "refunded" || last.Kind != "refund" || last.Debit != "escrow" || last.Credit != sgBank || last.Amount != map[int]string{1: "120.00", 3: "10.00"}[i] ||
					p.Events[len(p.Events)-1].Actor != "system:cancellation" || !strings.Contains(p.Events[len(p.Events)-1].Reason, "camt.056 CXL-1 from DBSSSGSG") {
					t.Fatalf("payment %d: %+v", i, p)
				}
			}
			if p := e.getPayment(isotest.UETR(2)); p.State != "released" {
				t.Fatalf("the released payment %+v", p)
			}
			e.must(http.StatusOK, e.op, "GET", "/v1/ledger/check", nil)

			// The files: a camt.029 per answered payment, a pacs.004 per refund.
			accept, err := iso.DecodeResolution(e.download(e.bankSG, txs[0].Answer))
			if err != nil {
				t.Fatal(err)
			}
			if accept.Status != iso.ResolutionCancelled || accept.Transactions[0].Status != iso.CancellationAccepted || accept.Transactions[0].Original.UETR != isotest.UETR(1) ||
				accept.Assignee != sgBank || accept.CaseID != "CASE-7" || accept.Transactions[0].OriginalAmount.Value != "120.00" {
				t.Fatalf("camt.029 %+v", accept)
			}
			refuse, err := iso.DecodeResolution(e.download(e.bankSG, txs[1].Answer))
			if err != nil {
				t.Fatal(err)
			}
			if rt := refuse.Transactions[0]; refuse.Status != iso.ResolutionRejected || rt.Status != iso.CancellationRejected || rt.Reason != iso.CancelRefusedByAgent ||
				!strings.Contains(rt.Info, "released to the merchant") {
				t.Fatalf("camt.029 %+v", refuse)
			}
			if nr, _ := iso.DecodeResolution(e.download(e.bankSG, txs[3].Answer)); nr.Transactions[0].Reason != iso.CancelNoOriginal {
				t.Fatalf("camt.029 %+v", nr)
			}
			ret := decodeReturn(t, e.download(e.bankSG, txs[0].Refund)).Returns[0]
			if ret.Original != (iso.Original{MsgID: "DBS-0100", MsgNameID: iso.Pacs008v08, EndToEndID: "E2E-1", UETR: isotest.UETR(1)}) ||
				ret.Amount.Value != "120.00" || ret.Reason != iso.ReturnCancellation || !strings.Contains(ret.Info, "cancelled at the buyer's bank's request: camt.056 CXL-1") {
				t.Fatalf("pacs.004 %+v", ret)
			}
			if n := len(e.mailboxOf(e.bankSG)); n != before+4+2 {
				t.Fatalf("%d new files, want 4 answers and 2 refunds", n-before)
			}

			// The same request: the first answer, nothing twice.
			e.unchanged(func() {
				again, res := e.sendFile(e.bankSG, raw, http.StatusOK)
				if res.Header.Get("Idempotent-Replayed") != "true" || again.File.ID != a.File.ID || *again.Transactions[0].Answer != *txs[0].Answer ||
					*again.Transactions[0].Refund != *txs[0].Refund {
					t.Fatalf("replay %s", res.Body)
				}
				edited := bytes.Replace(raw, []byte("sent twice"), []byte("sent thrice"), 1)
				wantError(t, e.call(e.bankSG, "POST", "/v1/files", edited, xmlType), http.StatusConflict, "duplicate_message", "Assgnmt/Id")
			})
			if n := len(e.mailboxOf(e.bankSG)); n != before+6 {
				t.Fatalf("%d new files after the replay", n-before)
			}

			// Refused whole, nothing recorded: assigned by another bank; not well-formed.
			e.unchanged(func() {
				r := e.call(e.bankSG, "POST", "/v1/files", isotest.Camt056{AssignmentID: "CXL-2", Assigner: deBank, From: sgBank, Txs: []isotest.CxlTx{{UETR: isotest.UETR(4)}}}.Bytes(), xmlType)
				wantError(t, r, http.StatusUnprocessableEntity, "invalid_cancellation", "Assgnmt/Assgnr")
				if !strings.Contains(string(r.Body), `"reason":"RC01"`) {
					t.Fatalf("%s", r.Body)
				}
				broken := bytes.Replace(isotest.Camt056{AssignmentID: "CXL-3", Txs: []isotest.CxlTx{{UETR: isotest.UETR(4)}}}.Bytes(), []byte("</CxlId>"), []byte("</CxlIdent>"), 1)
				wantError(t, e.call(e.bankSG, "POST", "/v1/files", broken, xmlType), http.StatusBadRequest, "malformed_file", "Envelope/Document/FIToFIPmtCxlReq/Undrlyg/TxInf/CxlId")
			})

			// Another bank cannot cancel the SG bank's payment: to it, it does not exist.
			us, _ := e.sendFile(e.bankUS, isotest.Camt056{AssignmentID: "CXL-US", Assigner: usBank, Txs: []isotest.CxlTx{{UETR: isotest.UETR(4)}}}.Bytes(), http.StatusCreated)
			if tx := us.Transactions[0]; tx.Status != "RJCR" || tx.Error.Reason != "NOOR" || e.getPayment(isotest.UETR(4)).State != "held" {
				t.Fatalf("%+v", us)
			}
		})
	}
}

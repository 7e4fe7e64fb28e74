package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// upload answers, as the tests read them.
type uploadResult struct {
	File struct {
		ID, Sender, Message, MsgID, SHA256, Status string
		Size                                       int64
		Accepted, Rejected                         int
		Reason                                     *isoErr
	}
	Reply        struct{ ID, Kind, SHA256 string }
	Transactions []struct {
		Index                               int
		UETR, EndToEndID, Status, PaymentID string
		Error                               *isoErr
	}
}

type isoErr struct {
	Reason, Element, Message string
	Line                     int
}

type mailboxFile struct {
	ID, BankID, Kind, InReplyTo, SHA256, CreatedAt string
	Size                                           int64
	AcknowledgedAt                                 *string
}

var xmlType = header{"Content-Type", "application/xml"}

func (e *env) upload(key string, raw []byte, want int) uploadResult {
	e.t.Helper()
	var r uploadResult
	e.must(want, key, "POST", "/v1/files", raw, xmlType).into(e.t, &r)
	return r
}

// pacs002 downloads a mailbox file and decodes it.
func (e *env) pacs002(key, id string) (*iso.StatusReport, []byte) {
	e.t.Helper()
	res := e.must(http.StatusOK, key, "GET", "/v1/files/"+id, nil)
	sum := sha256.Sum256(res.Body)
	if got := hex.EncodeToString(sum[:]); res.Header.Get("X-Content-SHA256") != got || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/xml") {
		e.t.Fatalf("download headers %v for sha256 %s", res.Header, got)
	}
	env, err := iso.SplitBytes(res.Body, iso.Limits{})
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := iso.DecodeStatusReport(env)
	if err != nil {
		e.t.Fatal(err)
	}
	return r, res.Body
}

// TestUploadPartialAcceptance: of three transactions two are held and one
// (an account no merchant has) is rejected with AC03 naming its element
// and line; the pacs.002 in the bank's mailbox says so per transaction,
// downloads identically every time and is acknowledged once.
func TestUploadPartialAcceptance(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		raw := isotest.Pacs008{MsgID: "DBS-0001", Txs: []isotest.Tx{{Amount: "120.00"}, {Amount: "30.50", CdtrIBAN: "DE02120300000000202051"}, {Amount: "9.99", Ustrd: "Order 42"}}}.Bytes()
		r := e.upload(e.bankSG, raw, http.StatusCreated)
		if r.File.Status != iso.StatusPartial || r.File.Accepted != 2 || r.File.Rejected != 1 || r.File.Message != iso.Pacs008v08 || r.File.MsgID != "DBS-0001" || r.File.Sender != sgBank {
			t.Fatalf("%+v", r.File)
		}
		bad := r.Transactions[1]
		if bad.Status != "RJCT" || bad.Error == nil || bad.Error.Reason != "AC03" || bad.Error.Element != "CdtTrfTxInf[1]/CdtrAcct/Id/IBAN" || bad.Error.Line == 0 || bad.PaymentID != "" {
			t.Fatalf("%+v %+v", bad, bad.Error)
		}
		for _, i := range []int{0, 2} {
			tx := r.Transactions[i]
			if tx.Status != "ACSP" || tx.PaymentID != isotest.UETR(i+1) {
				t.Fatalf("%+v", tx)
			}
			p := e.getPayment(tx.PaymentID)
			if p.State != "held" || p.BuyerBankID != sgBank || p.MerchantID != e.w.Merchants[0].ID || p.EndToEndID != tx.EndToEndID {
				t.Fatalf("%+v", p)
			}
		}
		if p := e.getPayment(isotest.UETR(3)); p.Amount != "9.99" || p.Reference != "Order 42" || p.Currency != "EUR" {
			t.Fatalf("%+v", p)
		}

		report, body := e.pacs002(e.bankSG, r.Reply.ID)
		if report.Original.MsgID != "DBS-0001" || report.Original.Status != "PART" || report.Header.To != sgBank || report.Header.From != "XCLRGB2L" || len(report.Transactions) != 3 {
			t.Fatalf("%+v", report)
		}
		if tx := report.Transactions[1]; tx.Status != "RJCT" || tx.Reasons[0].Code != "AC03" || !strings.Contains(tx.Reasons[0].Info, "CdtrAcct/Id/IBAN") || tx.UETR != isotest.UETR(2) {
			t.Fatalf("%+v", tx)
		}
		if tx := report.Transactions[0]; tx.Status != "ACSP" || tx.Amount.Value != "120.00" || tx.AcceptedAt == "" {
			t.Fatalf("%+v", tx)
		}
		if r.Reply.SHA256 != hex.EncodeToString(sha(body)) {
			t.Fatal("reply sha256 differs from the download's")
		}
		if _, again := e.pacs002(e.bankSG, r.Reply.ID); string(again) != string(body) {
			t.Fatal("a re-download gave other bytes")
		}

		var list struct{ Files []mailboxFile }
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/files?acknowledged=false", nil).into(t, &list)
		if len(list.Files) != 1 || list.Files[0].ID != r.Reply.ID || list.Files[0].Kind != "pacs.002.001.10" || list.Files[0].InReplyTo != r.File.ID || list.Files[0].AcknowledgedAt != nil {
			t.Fatalf("%+v", list)
		}
		var acked mailboxFile
		e.must(http.StatusOK, e.bankSG, "POST", "/v1/files/"+r.Reply.ID+"/ack", nil).into(t, &acked)
		if acked.AcknowledgedAt == nil {
			t.Fatalf("%+v", acked)
		}
		var again mailboxFile
		e.must(http.StatusOK, e.bankSG, "POST", "/v1/files/"+r.Reply.ID+"/ack", nil).into(t, &again)
		if *again.AcknowledgedAt != *acked.AcknowledgedAt {
			t.Fatal("a second acknowledgement moved the first")
		}
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/files?acknowledged=false", nil).into(t, &list)
		if len(list.Files) != 0 {
			t.Fatalf("%+v", list)
		}
		if _, after := e.pacs002(e.bankSG, r.Reply.ID); string(after) != string(body) {
			t.Fatal("acknowledging changed the bytes")
		}
	})
}

func sha(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// TestUploadIsIdempotent: the same file again gets the first answer
// (nothing held twice, no second pacs.002); another file with the same
// MsgId is refused with DU01; a new file re-sending a held payment reports
// it held without holding it again, and one reusing its UETR for another
// payment is rejected with DUPL.
func TestUploadIsIdempotent(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		raw := isotest.Pacs008{MsgID: "DBS-0002", Txs: []isotest.Tx{{Amount: "100.00"}, {Amount: "200.00"}}}.Bytes()
		first := e.upload(e.bankSG, raw, http.StatusCreated)
		var second uploadResult
		res := e.must(http.StatusOK, e.bankSG, "POST", "/v1/files", raw, xmlType)
		res.into(t, &second)
		if res.Header.Get("Idempotent-Replayed") != "true" || second.Reply.ID != first.Reply.ID || second.File.ID != first.File.ID || second.File.Accepted != 2 {
			t.Fatalf("replay %+v vs %+v", second, first)
		}
		var list struct{ Files []mailboxFile }
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/files", nil).into(t, &list)
		if len(list.Files) != 1 {
			t.Fatalf("%d mailbox files", len(list.Files))
		}

		e.unchanged(func() {
			other := isotest.Pacs008{MsgID: "DBS-0002", Txs: []isotest.Tx{{Amount: "100.00", UETR: isotest.UETR(50)}}}.Bytes()
			r := e.call(e.bankSG, "POST", "/v1/files", other, xmlType)
			wantError(t, r, http.StatusConflict, "duplicate_message", "GrpHdr/MsgId")
			if !strings.Contains(string(r.Body), `"reason":"DU01"`) {
				t.Fatalf("%s", r.Body)
			}
			// The same payments in a new file: reported held, not held again.
			resent := e.upload(e.bankSG, isotest.Pacs008{MsgID: "DBS-0003", Txs: []isotest.Tx{{Amount: "100.00"}}}.Bytes(), http.StatusCreated)
			if resent.File.Accepted != 1 || resent.Transactions[0].Status != "ACSP" || resent.Transactions[0].PaymentID != isotest.UETR(1) {
				t.Fatalf("%+v", resent)
			}
		})
		clash := e.upload(e.bankSG, isotest.Pacs008{MsgID: "DBS-0004", Txs: []isotest.Tx{{Amount: "100.01"}}}.Bytes(), http.StatusCreated)
		if tx := clash.Transactions[0]; tx.Status != "RJCT" || tx.Error.Reason != "DUPL" || tx.Error.Element != "CdtTrfTxInf[0]/PmtId/UETR" {
			t.Fatalf("%+v %+v", tx, tx.Error)
		}
		// Another bank may use the same MsgId: it is per sender.
		us := isotest.Pacs008{MsgID: "DBS-0002", From: usBank, Txs: []isotest.Tx{{Amount: "5.00", UETR: isotest.UETR(60), InstgAgt: usBank}}}.Bytes()
		if r := e.upload(e.bankUS, us, http.StatusCreated); r.File.Accepted != 1 {
			t.Fatalf("%+v", r)
		}
	})
}

// TestUploadRefusals: a file that is not well-formed, not a message
// crossclear takes in, too large, or sent by a key that is not a bank's
// is refused with a 4xx naming the line and element, and changes nothing.
// A file whose totals are wrong is answered with a pacs.002 RJCT and holds
// nothing.
func TestUploadRefusals(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		good := isotest.Pacs008{Txs: []isotest.Tx{{}}}.Bytes()
		e.unchanged(func() {
			broken := strings.Replace(string(good), "</pacs:IntrBkSttlmDt>", "</pacs:IntrBkSttlmDate>", 1)
			r := e.call(e.bankSG, "POST", "/v1/files", broken, xmlType)
			wantError(t, r, http.StatusBadRequest, "malformed_file", "Envelope/Document/FIToFICstmrCdtTrf/CdtTrfTxInf/IntrBkSttlmDt")
			var body struct{ Error isoErr }
			r.into(t, &body)
			if body.Error.Line != 20 || body.Error.Reason != "FF01" || !strings.Contains(body.Error.Message, "line 20") {
				t.Fatalf("%s", r.Body)
			}
			camt := `<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt/></Document>`
			wantError(t, e.call(e.bankSG, "POST", "/v1/files", camt, xmlType), http.StatusUnprocessableEntity, "unsupported_message", "Document")
			wantError(t, e.call(e.bankSG, "POST", "/v1/files", "", xmlType), http.StatusBadRequest, "required", "body")
			for _, key := range []string{e.op, e.merDE} {
				wantError(t, e.call(key, "POST", "/v1/files", good, xmlType), http.StatusForbidden, "forbidden", "")
			}
			wantError(t, e.call(e.regSG, "POST", "/v1/files", good, xmlType), http.StatusForbidden, "read_only", "")
			wantError(t, e.call(e.regSG, "GET", "/v1/files", nil), http.StatusForbidden, "forbidden", "")
		})

		// Wrong totals: the file is answered, nothing is held.
		e.unchanged(func() {
			r := e.upload(e.bankSG, isotest.Pacs008{MsgID: "DBS-SUM", CtrlSum: "99.00", Txs: []isotest.Tx{{Amount: "10.00"}}}.Bytes(), http.StatusCreated)
			if r.File.Status != "RJCT" || r.File.Accepted != 0 || r.File.Reason.Reason != "AM10" || r.File.Reason.Element != "GrpHdr/CtrlSum" || r.Transactions[0].Status != "RJCT" {
				t.Fatalf("%+v", r)
			}
			report, _ := e.pacs002(e.bankSG, r.Reply.ID)
			if report.Original.Status != "RJCT" || report.Original.Reasons[0].Code != "AM10" || len(report.Transactions) != 0 {
				t.Fatalf("%+v", report)
			}
			// Another bank's instructing agent: each transaction RC01.
			r = e.upload(e.bankSG, isotest.Pacs008{MsgID: "DBS-RC01", From: sgBank, Txs: []isotest.Tx{{InstgAgt: usBank}}}.Bytes(), http.StatusCreated)
			if tx := r.Transactions[0]; tx.Error.Reason != "RC01" || tx.Error.Element != "CdtTrfTxInf[0]/InstgAgt/FinInstnId/BICFI" {
				t.Fatalf("%+v", tx.Error)
			}
		})
		// Another bank cannot see the mailbox of this one.
		var list struct{ Files []mailboxFile }
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/files", nil).into(t, &list)
		if len(list.Files) != 2 {
			t.Fatalf("%+v", list)
		}
		wantError(t, e.call(e.bankDE, "GET", "/v1/files/"+list.Files[0].ID, nil), http.StatusNotFound, "file_not_found", "id")
		wantError(t, e.call(e.bankDE, "POST", "/v1/files/"+list.Files[0].ID+"/ack", nil), http.StatusNotFound, "file_not_found", "id")
		e.must(http.StatusOK, e.op, "GET", "/v1/files/"+list.Files[0].ID, nil)
		var all struct{ Files []mailboxFile }
		e.must(http.StatusOK, e.op, "GET", "/v1/files?bank_id="+sgBank, nil).into(t, &all)
		if len(all.Files) != 2 {
			t.Fatalf("%+v", all)
		}
	})
}

func TestUploadLimitAndPain001(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine, api.Config{BodyLimit: 2 << 10, FileLimit: 8 << 10})
			big := isotest.Pacs008{Txs: make([]isotest.Tx, 40)}
			for i := range big.Txs {
				big.Txs[i].UETR = isotest.UETR(100 + i)
			}
			e.unchanged(func() {
				wantError(t, e.call(e.bankSG, "POST", "/v1/files", big.Bytes(), xmlType), http.StatusRequestEntityTooLarge, "body_too_large", "body")
			})
			// Files may be larger than the JSON limit.
			r := e.upload(e.bankSG, isotest.Pacs008{Txs: big.Txs[:6]}.Bytes(), http.StatusCreated)
			if r.File.Accepted != 6 {
				t.Fatalf("%+v", r)
			}
			p := e.upload(e.bankSG, isotest.Pain001("PAIN-1", "10.00", "0.01"), http.StatusCreated)
			if p.File.Message != iso.Pain001v10 || p.File.Accepted != 2 || p.File.Status != "ACSP" {
				t.Fatalf("%+v", p)
			}
		})
	}
}

// TestConcurrentUploadsOfOneFile: eight copies of one file racing are held
// once; one answer is 201, the others replay it.
func TestConcurrentUploadsOfOneFile(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		raw := isotest.Pacs008{MsgID: "DBS-RACE", Txs: []isotest.Tx{{Amount: "10.00"}, {Amount: "20.00"}}}.Bytes()
		statuses := make(chan int, 8)
		replies := make(chan string, 8)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.call(e.bankSG, "POST", "/v1/files", raw, xmlType)
				var u uploadResult
				r.into(t, &u)
				statuses <- r.Status
				replies <- u.Reply.ID
			}()
		}
		wg.Wait()
		close(statuses)
		close(replies)
		created := 0
		for s := range statuses {
			if s == http.StatusCreated {
				created++
			} else if s != http.StatusOK {
				t.Fatalf("status %d", s)
			}
		}
		ids := map[string]bool{}
		for id := range replies {
			ids[id] = true
		}
		if created != 1 || len(ids) != 1 {
			t.Fatalf("%d created, replies %v", created, ids)
		}
		var list struct{ Files []mailboxFile }
		e.must(http.StatusOK, e.bankSG, "GET", "/v1/files", nil).into(t, &list)
		if len(list.Files) != 1 || e.getPayment(isotest.UETR(2)).Amount != "20.00" {
			t.Fatalf("%+v", list)
		}
	})
}

// TestUploadPain001v09: a pain.001.001.09 (SWIFT CBPR+) uploaded by a
// registered bank is held like a .10 and answered with a pacs.002 naming
// it; a transaction breaking a rule gets the same reason code as in .10.
func TestUploadPain001v09(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		raw, err := os.ReadFile("../../testdata/iso/pain001v09-cbpr.xml")
		if err != nil {
			t.Fatal(err)
		}
		r := e.upload(e.bankSG, raw, http.StatusCreated)
		if r.File.Message != iso.Pain001v09 || r.File.MsgID != "DBS-P9-0001" || r.File.Status != iso.StatusAccepted || r.File.Accepted != 2 || r.File.Sender != sgBank {
			t.Fatalf("%+v", r)
		}
		rep, _ := e.pacs002(e.bankSG, r.Reply.ID)
		if rep.Original.MsgNameID != iso.Pain001v09 || rep.Original.MsgID != "DBS-P9-0001" || rep.Original.Status != iso.StatusAccepted || len(rep.Transactions) != 2 ||
			rep.Transactions[0].Status != iso.StatusAccepted || rep.Transactions[1].UETR != "7d3c2b1a-0f9e-4d8c-9b7a-6a5b4c3d2e02" {
			t.Fatalf("%+v", rep)
		}
		// The generated file as .09: one transaction to an account no merchant has.
		gen := strings.Replace(string(isotest.Pain001Version("09", "DBS-P9-0002", "10.00", "20.00")), isotest.CreditorAc, "DE02120300000000202051", 1)
		p := e.upload(e.bankSG, []byte(gen), http.StatusCreated)
		if p.File.Message != iso.Pain001v09 || p.File.Status != iso.StatusPartial || p.File.Accepted != 1 || p.Transactions[0].Error == nil ||
			p.Transactions[0].Error.Reason != string(iso.ReasonCreditorAccount) || !strings.HasPrefix(p.Transactions[0].Error.Element, "PmtInf[0]/CdtTrfTxInf[0]/CdtrAcct") {
			t.Fatalf("%+v", p)
		}
		rep, _ = e.pacs002(e.bankSG, p.Reply.ID)
		if rep.Original.MsgNameID != iso.Pain001v09 || rep.Original.Status != iso.StatusPartial || rep.Transactions[0].Status != iso.StatusRejected ||
			rep.Transactions[0].Reasons[0].Code != iso.ReasonCreditorAccount {
			t.Fatalf("%+v", rep)
		}
	})
}

// TestUploadPacs008Versions: a pacs.008.001.10 or .11 is held like a .08
// and answered naming its version; a .12 is refused 422
// unsupported_message naming the versions crossclear takes.
func TestUploadPacs008Versions(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		for i, v := range []string{"10", "11"} {
			raw := isotest.Pacs008{Version: v, MsgID: "DBS-V" + v, Txs: []isotest.Tx{{Amount: "10.00", UETR: isotest.UETR(500 + i)}}}.Bytes()
			r := e.upload(e.bankSG, raw, http.StatusCreated)
			if r.File.Message != "pacs.008.001."+v || r.File.Status != iso.StatusAccepted || r.File.Accepted != 1 {
				t.Fatalf("%+v", r)
			}
			rep, _ := e.pacs002(e.bankSG, r.Reply.ID)
			if rep.Original.MsgNameID != "pacs.008.001."+v || rep.Transactions[0].Status != iso.StatusAccepted {
				t.Fatalf("%+v", rep)
			}
		}
		raw := strings.ReplaceAll(string(isotest.Pacs008{MsgID: "DBS-V12", Txs: []isotest.Tx{{UETR: isotest.UETR(510)}}}.Bytes()), iso.Pacs008v08, "pacs.008.001.12")
		e.unchanged(func() {
			r := e.call(e.bankSG, "POST", "/v1/files", []byte(raw), xmlType)
			wantError(t, r, http.StatusUnprocessableEntity, "unsupported_message", "Document")
			if !strings.Contains(string(r.Body), "pacs.008.001.12 is not a message crossclear takes in: an unsupported version of pacs.008") ||
				!strings.Contains(string(r.Body), "send pacs.008.001.08 or pacs.008.001.09 or pacs.008.001.10 or pacs.008.001.11") {
				t.Fatalf("%s", r.Body)
			}
		})
	})
}

package iso_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// seeds is the fuzzers' corpus: the testdata sample, bare and enveloped
// pacs.008 in both versions, a pain.001, cancellation requests and
// settlement confirmations, and broken shapes.
func seeds(f *testing.F) {
	f.Add(readSample(f))
	f.Add(isotest.Camt056{Txs: []isotest.CxlTx{{Amount: "1.00", Info: "x"}, {UETR: isotest.Omit}}}.Bytes())
	f.Add(isotest.Camt056{Version: "09", GroupCancel: true}.Bytes())
	f.Add(isotest.Pacs002Settlement("S", isotest.Status{MsgID: "M", UETR: isotest.UETR(1), Status: "ACSC"}, isotest.Status{Status: "RJCT"}))
	f.Add(isotest.Camt054Settlement("S", isotest.Booking{UETR: isotest.UETR(1), Debit: true}, isotest.Booking{}))
	f.Add(isotest.Pacs008{Bare: true, Txs: []isotest.Tx{{}, {Amount: "1.005"}}}.Bytes())
	f.Add(isotest.Pacs008{Version: "09", Txs: []isotest.Tx{{InstdAmt: "1.00", InstdCcy: "USD"}}}.Bytes())
	f.Add(isotest.Pain001("P", "1.00", "2.00"))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`))
	f.Add([]byte(`<E><AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.02"><MsgDefIdr>pacs.008.001.09</MsgDefIdr></AppHdr><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"/></E>`))
	f.Add([]byte(`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"><FIToFICstmrCdtTrf><GrpHdr><NbOfTxs>1</NbOfTxs></GrpHdr><CdtTrfTxInf><IntrBkSttlmAmt Ccy="EUR">1e400</IntrBkSttlmAmt></CdtTrfTxInf></FIToFICstmrCdtTrf></Document>`))
}

var fuzzLimits = iso.Limits{MaxBytes: 1 << 20, MaxDepth: 40, MaxElements: 20_000}

// FuzzSplit: the splitter never panics, every refusal is an *iso.Error,
// and what it cuts out is itself a file it splits to the same Document.
func FuzzSplit(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := iso.SplitBytes(data, fuzzLimits)
		if err != nil {
			if _, ok := iso.AsError(err); !ok {
				t.Fatalf("not an *iso.Error: %v", err)
			}
			return
		}
		if len(env.Document) == 0 || env.Namespace == "" {
			t.Fatalf("split without a Document: %+v", env)
		}
		again, err := iso.SplitBytes(env.Document, fuzzLimits)
		if err != nil {
			t.Fatalf("the cut Document does not split: %v\n%q", err, env.Document)
		}
		if again.Namespace != env.Namespace || !bytes.Equal(again.Document, env.Document) {
			t.Fatalf("the cut Document is not stable:\n%q\n%q", env.Document, again.Document)
		}
	})
}

// FuzzDecode: decoding a file of any kind and validating it never panic;
// refusals are *iso.Error; an accepted payment's amount is positive and in
// a known currency; every cancellation and confirmation item is either
// usable or says what is wrong with it.
func FuzzDecode(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := iso.DecodeFileBytes(data, fuzzLimits)
		if err != nil {
			if _, ok := iso.AsError(err); !ok && !errors.Is(err, iso.ErrUnsupported) {
				t.Fatalf("not an *iso.Error: %v", err)
			}
			return
		}
		switch file.Kind {
		case iso.KindPayment:
			checkPayment(t, file.Payment)
		case iso.KindCancellation:
			txs := file.Cancellation.Transactions
			r := iso.ValidateCancellation(file.Cancellation, iso.Context{Sender: isotest.Sender})
			if len(r.Txs) != len(txs) {
				t.Fatalf("%d results for %d transactions", len(r.Txs), len(txs))
			}
			for i, e := range r.Txs {
				switch {
				case e == nil && len(txs[i].Original.UETR) != 36:
					t.Fatalf("transaction %d accepted without a UETR: %+v", i, txs[i])
				case e != nil && (e.Reason == "" || e.Element == ""):
					t.Fatalf("transaction %d: error without reason or element: %+v", i, e)
				}
			}
		case iso.KindFunding:
			for _, tr := range file.Funding.Transfers {
				if tr.Problem == nil && (tr.Reference == "" || tr.Debtor == "") {
					t.Fatalf("a transfer naming no position or debtor without a problem: %+v", tr)
				}
			}
		case iso.KindSettlement:
			for _, it := range file.Settlement.Items {
				if it.Problem == nil && it.MsgID == "" && it.EndToEndID == "" && it.UETR == "" {
					t.Fatalf("an item naming no pacs.009 without a problem: %+v", it)
				}
			}
		default:
			t.Fatalf("kind %q", file.Kind)
		}
	})
}

func checkPayment(t *testing.T, m *iso.Message) {
	r := iso.Validate(m, iso.Context{Sender: isotest.Sender, Directory: directory{}})
	if len(r.Txs) != len(m.Transactions) {
		t.Fatalf("%d results for %d transactions", len(r.Txs), len(m.Transactions))
	}
	for i, tx := range r.Txs {
		if tx.Err != nil {
			if tx.Err.Reason == "" || tx.Err.Element == "" {
				t.Fatalf("transaction %d: error without reason or element: %+v", i, tx.Err)
			}
			continue
		}
		if tx.Amount.Minor <= 0 || tx.Amount.Currency.Code == "" || tx.Merchant == "" {
			t.Fatalf("transaction %d accepted with %+v", i, tx)
		}
	}
}

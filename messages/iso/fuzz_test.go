package iso_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// seeds is the fuzzers' corpus: the testdata sample, bare and enveloped
// pacs.008 in both versions, a pain.001, and broken shapes.
func seeds(f *testing.F) {
	f.Add(readSample(f))
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

// FuzzDecode: decoding and validating never panic; refusals are
// *iso.Error; an accepted transaction's amount is positive and in a
// known currency.
func FuzzDecode(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := iso.DecodeBytes(data, fuzzLimits)
		if err != nil {
			if _, ok := iso.AsError(err); !ok && !errors.Is(err, iso.ErrUnsupported) {
				t.Fatalf("not an *iso.Error: %v", err)
			}
			return
		}
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
	})
}

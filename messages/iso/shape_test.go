package iso

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// Every pacs.008 version's transaction type has a shape: without one the
// hot path would quietly fall back to decoding each block with moov.
func TestShapeOfPacs008Types(t *testing.T) {
	for name, v := range pacs008Versions {
		if _, err := shapeOf(v.txType); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The hot path (the splitter's Document read with a canonScanner, each
// transaction's elements checked against moov's type as they stream by)
// and moov's path (the Document read with encoding/xml, each block
// decoded by moov) give the same Message — the same values, the same
// problems with the same texts — on every pacs.008 of the shared corpus and testdata,
// on generated files of every version, and on every variant of those
// where one leaf element of a transaction holds something else: bad
// dates, amounts, numbers, booleans, blanks, padding, or the element
// twice.
func TestShapeAgreesWithMoov(t *testing.T) {
	docs := map[string][]byte{}
	for name, raw := range corpusPacs008(t) {
		docs[name] = raw
	}
	if len(docs) < 3 {
		t.Fatalf("only %d pacs.008 files in the corpus", len(docs))
	}
	merlion, err := os.ReadFile(filepath.Join("..", "..", "testdata", "iso", "pacs008-merlion.xml"))
	if err != nil {
		t.Fatal(err)
	}
	docs["testdata pacs008-merlion.xml"] = documentOf(t, merlion)
	for _, v := range []string{"08", "09", "10", "11"} {
		f := isotest.Pacs008{Version: v, MsgID: "SHAPE-" + v, Txs: []isotest.Tx{
			{Amount: "10.00", UETR: isotest.UETR(1), Ustrd: "invoice 1"},
			{Amount: "20.50", Ccy: "USD", InstdAmt: "18.00", InstdCcy: "EUR", XchgRate: "1.1388", SttlmDt: "2026-01-05", UETR: isotest.UETR(2)},
			{Amount: "1", CdtrOthr: "ACC-1", EndToEndID: " padded ", UETR: isotest.UETR(3),
				Extra: "<Purp><Cd>SUPP</Cd></Purp><RmtInf><Ustrd>a</Ustrd><Ustrd>b</Ustrd></RmtInf>"},
		}}
		// isotest writes no InstrId or TxId: add them, optional strings
		// moov trims.
		doc := documentOf(t, f.Bytes())
		doc = bytes.Replace(doc, []byte("<PmtId>"), []byte("<PmtId><InstrId> INSTR-1 </InstrId>"), 1)
		doc = bytes.Replace(doc, []byte("<UETR>"), []byte("<TxId>TX-1</TxId><UETR>"), 1)
		docs["generated v"+v] = doc
	}
	leaf := regexp.MustCompile(`<([A-Za-z0-9]+)((?: [A-Za-z]+="[^"]*")*)>([^<]*)</([A-Za-z0-9]+)>`)
	junk := []string{"", " ", "x", "1.5", " 7 ", "-1", "1e999", "true", "2026-02-30", " 2026-01-02 ", "2026-01-02T10:00:00", "NaN", "0x10", "  padded text  "}
	variants := 0
	for name, doc := range docs {
		msgName := namespaceOf(doc)
		compareShapeAndMoov(t, name, msgName, doc)
		txStart := bytes.Index(doc, []byte("<CdtTrfTxInf"))
		if txStart < 0 {
			continue
		}
		for _, m := range leaf.FindAllSubmatchIndex(doc[txStart:], -1) {
			if string(doc[txStart+m[2]:txStart+m[3]]) != string(doc[txStart+m[8]:txStart+m[9]]) {
				continue
			}
			at := string(doc[txStart+m[2] : txStart+m[3]])
			for _, j := range junk {
				v := slicesConcat(doc[:txStart+m[6]], []byte(j), doc[txStart+m[7]:])
				compareShapeAndMoov(t, fmt.Sprintf("%s, %s holding %q", name, at, j), msgName, v)
				variants++
			}
			elem := doc[txStart+m[0] : txStart+m[1]]
			twice := slicesConcat(doc[:txStart+m[1]], elem, doc[txStart+m[1]:])
			compareShapeAndMoov(t, fmt.Sprintf("%s, %s twice", name, at), msgName, twice)
			variants++
		}
	}
	t.Logf("%d files, %d variants", len(docs), variants)
}

func compareShapeAndMoov(t *testing.T, what, name string, doc []byte) {
	t.Helper()
	v, ok := pacs008Versions[name]
	if !ok {
		t.Fatalf("%s: %q is not a pacs.008 version", what, name)
	}
	txShape, err := shapeOf(v.txType)
	if err != nil {
		t.Fatal(err)
	}
	shaped, errS := decodePacs008With(doc, true, name, v.header(), txShape, v.decodeTx)
	moov, errM := decodePacs008With(doc, false, name, v.header(), nil, v.decodeTx)
	if fmt.Sprint(errS) != fmt.Sprint(errM) {
		t.Errorf("%s: shape path error %v, moov path error %v", what, errS, errM)
		return
	}
	if !reflect.DeepEqual(shaped, moov) {
		for i := range min(len(shaped.Transactions), len(moov.Transactions)) {
			if s, m := shaped.Transactions[i], moov.Transactions[i]; !reflect.DeepEqual(s, m) {
				t.Errorf("%s: transaction %d\n shape %+v %v\n moov  %+v %v", what, i, s, s.Problems, m, m.Problems)
				return
			}
		}
		t.Errorf("%s: messages differ\n shape %+v\n moov  %+v", what, shaped, moov)
	}
}

// corpusPacs008 is the canonical Document of every pacs.008 of the shared
// corpus that splits, by file.
func corpusPacs008(t *testing.T) map[string][]byte {
	dir := os.Getenv("CROSSCLEAR_ISO_SAMPLES")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "iso20022", "samples")
	}
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		env, err := SplitBytes(raw, DefaultLimits)
		if err != nil {
			return nil // not well-formed: the conformance test covers it
		}
		if _, ok := pacs008Versions[env.MessageName()]; ok {
			out[filepath.Base(p)] = env.Document
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the ISO 20022 sample corpus at %s: %v (set CROSSCLEAR_ISO_SAMPLES)", dir, err)
	}
	return out
}

func documentOf(t *testing.T, raw []byte) []byte {
	env, err := SplitBytes(raw, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return env.Document
}

// namespaceOf is the message name of a canonical Document.
func namespaceOf(doc []byte) string {
	_, rest, _ := bytes.Cut(doc, []byte(`xmlns="`+NamespacePrefix))
	name, _, _ := strings.Cut(string(rest), `"`)
	return name
}

func slicesConcat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

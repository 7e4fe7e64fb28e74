package iso

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// The canonScanner gives the tokens and lines encoding/xml gives on every
// Document the splitter writes: every file of the corpus that splits, and
// a generated one whose texts and attributes need every reference.
func TestCanonScannerMatchesDecoder(t *testing.T) {
	dir := os.Getenv("CROSSCLEAR_ISO_SAMPLES")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "iso20022", "samples")
	}
	docs := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if env, err := SplitBytes(raw, DefaultLimits); err == nil {
			docs[p] = env.Document
		}
		return nil
	})
	if err != nil || len(docs) < 20 {
		t.Fatalf("the corpus at %s: %d Documents, %v (set CROSSCLEAR_ISO_SAMPLES)", dir, len(docs), err)
	}
	odd := isotest.Pacs008{Txs: []isotest.Tx{{Amount: "1.00", Ustrd: "a & b <c> \"q\" 'x'\r\n\tz ü €",
		Extra: "<RmtInf><Ustrd>x&#13;y&#xA;</Ustrd></RmtInf><Purp Prtry=\"a&amp;b&#9;&quot;\"><Cd>SUPP</Cd></Purp>"}}}
	docs["generated"] = documentOf(t, odd.Bytes())
	for name, doc := range docs {
		x := xml.NewDecoder(bytes.NewReader(doc))
		x.Strict = true
		s := newCanonScanner(doc)
		for i := 0; ; i++ {
			want, errX := x.Token()
			got, errS := s.Token()
			if errX == io.EOF && errS == io.EOF {
				break
			}
			if errX != nil || errS != nil {
				t.Fatalf("%s token %d: decoder %v, scanner %v", name, i, errX, errS)
			}
			want = xml.CopyToken(want)
			if st, ok := want.(xml.StartElement); ok && len(st.Attr) == 0 {
				st.Attr = nil // CopyToken makes an empty list
				want = st
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s token %d: scanner %#v, decoder %#v", name, i, got, want)
			}
			if wl, _ := x.InputPos(); wl != s.line {
				t.Fatalf("%s token %d: scanner at line %d, decoder at %d", name, i, s.line, wl)
			}
		}
	}
}

// What the splitter never writes is refused, not misread.
func TestCanonScannerRefusesOtherForms(t *testing.T) {
	for _, doc := range []string{
		`<a xmlns="urn:x"><b/></a>`,
		`<a xmlns="urn:x"><p:b>1</p:b></a>`,
		`<a xmlns="urn:x"><b>1</c></a>`,
		`<a xmlns="urn:x"><b>1&nbsp;</b></a>`,
		`<a xmlns="urn:x"><b>1` + "\r" + `</b></a>`,
		`<a xmlns="urn:x"><!-- c --></a>`,
		`<a xmlns="urn:x"><b a='1'>1</b></a>`,
		`<a xmlns="urn:x"><b>`,
	} {
		s := newCanonScanner([]byte(doc))
		var err error
		for err == nil {
			_, err = s.Token()
		}
		if !errors.Is(err, errNotCanonical) {
			t.Errorf("%s: %v, want errNotCanonical", doc, err)
		}
	}
}

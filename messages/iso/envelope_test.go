package iso_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

const sample = "../../testdata/iso/pacs008-merlion.xml"

func readSample(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantErr checks err is an *iso.Error with this reason whose element and
// message contain the given fragments, on line (0: any line).
func wantErr(t *testing.T, err error, reason iso.Reason, element string, line int, msg string) *iso.Error {
	t.Helper()
	e, ok := iso.AsError(err)
	if !ok {
		t.Fatalf("want an *iso.Error %s, got %v", reason, err)
	}
	if e.Reason != reason || !strings.Contains(e.Element, element) || !strings.Contains(e.Msg, msg) || (line > 0 && e.Line != line) {
		t.Fatalf("want %s at %q line %d saying %q, got %+v (%v)", reason, element, line, msg, *e, e)
	}
	return e
}

func TestSplitEnvelopeWithPrefixes(t *testing.T) {
	env, err := iso.SplitBytes(readSample(t), iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if env.Wrapper != "Envelope" || env.MsgDefIdr != "pacs.008.001.08" || env.MessageName() != "pacs.008.001.08" {
		t.Fatalf("envelope %+v", env)
	}
	if env.HeaderNS != iso.NamespacePrefix+"head.001.001.02" || !bytes.HasPrefix(env.HeaderXML, []byte(`<AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.02">`)) || !bytes.Contains(env.HeaderXML, []byte("<Fr><FIId>")) {
		t.Fatalf("header %s %s", env.HeaderNS, env.HeaderXML)
	}
	doc := string(env.Document)
	if strings.Contains(doc, "pacs:") || strings.Contains(doc, "Envelope") || !strings.Contains(doc, `<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08">`) {
		t.Fatalf("document not cut cleanly:\n%s", doc)
	}
	// Lines are kept: the Document starts where it started in the file,
	// and so does every element in it.
	in := strings.Split(string(readSample(t)), "\n")
	out := strings.Split(doc, "\n")
	if !strings.Contains(out[env.Line-1], "<Document") || !strings.Contains(in[env.Line-1], "<pacs:Document") {
		t.Fatalf("Document on line %d: %q / %q", env.Line, out[env.Line-1], in[env.Line-1])
	}
	for i, l := range out {
		if k := strings.Index(l, "<UETR>"); k >= 0 && !strings.Contains(in[i], "<pacs:UETR>"+l[k+6:k+42]) {
			t.Fatalf("line %d moved: %q vs %q", i+1, l, in[i])
		}
	}
}

func TestSplitBareDocument(t *testing.T) {
	raw := isotest.Pacs008{Bare: true, Txs: []isotest.Tx{{}}}.Bytes()
	env, err := iso.SplitBytes(raw, iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if env.Wrapper != "" || env.HeaderXML != nil || env.MessageName() != "pacs.008.001.08" || env.Line != 1 {
		t.Fatalf("%+v", env)
	}
	// A canonical Document splits to itself.
	again, err := iso.SplitBytes(env.Document, iso.Limits{})
	if err != nil || !bytes.Equal(again.Document, env.Document) {
		t.Fatalf("re-split: %v\n%s\n%s", err, again.Document, env.Document)
	}
}

func TestSplitRefuses(t *testing.T) {
	doc := func(ns, body string) string {
		return `<Document xmlns="` + ns + `"><FIToFICstmrCdtTrf>` + body + `</FIToFICstmrCdtTrf></Document>`
	}
	p8 := iso.NamespacePrefix + "pacs.008.001.08"
	hdr := func(defIdr string) string {
		return `<AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.02"><BizMsgIdr>X</BizMsgIdr>` + "\n" + `<MsgDefIdr>` + defIdr + `</MsgDefIdr></AppHdr>`
	}
	cases := []struct {
		name, in, element string
		line              int
		msg               string
	}{
		{"empty", "  \n", "", 0, "empty"},
		{"not xml", "hello", "", 1, "text outside the root"},
		{"unclosed", "<Document xmlns=\"" + p8 + "\">\n<A>\n</Document>", "Document/A", 3, "not well-formed"},
		{"doctype", `<!DOCTYPE Document [<!ENTITY x "boom">]>` + doc(p8, "&x;"), "", 1, "no DTD"},
		{"undefined entity", doc(p8, "<A>&x;</A>"), "Document/FIToFICstmrCdtTrf/A", 1, "not well-formed"},
		{"no namespace", `<Document><A/></Document>`, "Document", 1, "no namespace"},
		{"undeclared prefix", `<p:Document><p:A/></p:Document>`, "Document", 1, "not declared"},
		{"no document", `<Envelope><Other/></Envelope>`, "", 0, "no Document"},
		{"header only", hdr("pacs.008.001.08"), "", 0, "AppHdr without a Document"},
		{"two documents", `<E>` + doc(p8, "") + "\n" + doc(p8, "") + `</E>`, "E/Document", 2, "second Document"},
		{"two roots", doc(p8, "") + "\n" + doc(p8, ""), "Document", 2, "second root"},
		{"header disagrees", "<E>" + hdr("pacs.008.001.09") + doc(p8, "") + "</E>", "AppHdr/MsgDefIdr", 2, "announces pacs.008.001.09"},
		{"header silent", `<E><AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.02"/>` + doc(p8, "") + "</E>", "AppHdr/MsgDefIdr", 1, "does not say"},
		{"latin1", `<?xml version="1.0" encoding="ISO-8859-1"?>` + doc(p8, ""), "", 1, "only UTF-8"},
		{"bad utf8", doc(p8, "<A>\xff</A>"), "", 1, "not well-formed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := iso.SplitBytes([]byte(c.in), iso.Limits{})
			wantErr(t, err, iso.ReasonFileFormat, c.element, c.line, c.msg)
		})
	}
}

func TestSplitLimits(t *testing.T) {
	raw := readSample(t)
	_, err := iso.SplitBytes(raw, iso.Limits{MaxBytes: int64(len(raw) - 1)})
	wantErr(t, err, iso.ReasonFileFormat, "", 0, "larger than")
	_, err = iso.Split(bytes.NewReader(raw), iso.Limits{MaxBytes: 100})
	wantErr(t, err, iso.ReasonFileFormat, "", 0, "larger than")
	_, err = iso.SplitBytes(raw, iso.Limits{MaxDepth: 5})
	wantErr(t, err, iso.ReasonFileFormat, "Envelope/AppHdr/Fr/FIId/FinInstnId", 13, "deeper than 5")
	_, err = iso.SplitBytes(raw, iso.Limits{MaxElements: 50})
	wantErr(t, err, iso.ReasonFileFormat, "", 0, "more than 50 elements")
	deep := strings.Repeat("<a>", 100_000) + strings.Repeat("</a>", 100_000)
	_, err = iso.SplitBytes([]byte(deep), iso.Limits{})
	wantErr(t, err, iso.ReasonFileFormat, "", 1, "deeper than")
	if _, err := iso.SplitBytes(raw, iso.DefaultLimits); err != nil {
		t.Fatal(err)
	}
}

func TestUnsupportedIsMarked(t *testing.T) {
	raw := `<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt/></Document>`
	_, err := iso.DecodeBytes([]byte(raw), iso.Limits{})
	if !errors.Is(err, iso.ErrUnsupported) {
		t.Fatalf("want ErrUnsupported, got %v", err)
	}
	wantErr(t, err, iso.ReasonFileFormat, "Document", 1, "camt.053.001.08 is not a message crossclear takes in")
	hdr := `<E><AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.03"><MsgDefIdr>pacs.008.001.08</MsgDefIdr></AppHdr>` +
		`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"/></E>`
	_, err = iso.DecodeBytes([]byte(hdr), iso.Limits{})
	if !errors.Is(err, iso.ErrUnsupported) {
		t.Fatalf("want ErrUnsupported for head.001.001.03, got %v", err)
	}
}

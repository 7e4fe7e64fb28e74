package iso

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits bound what the splitter reads, before anything is decoded: a file
// over any of them is refused whole.
type Limits struct {
	MaxBytes    int64 // the whole input
	MaxDepth    int   // element nesting
	MaxElements int   // elements in the whole input
}

// DefaultLimits fit a pacs.008 of 10,000 transactions with full postal
// addresses (about 25 MB, 900,000 elements); the deepest ISO 20022 payment
// messages nest about 15 deep, envelopes add a few.
var DefaultLimits = Limits{MaxBytes: 32 << 20, MaxDepth: 40, MaxElements: 1_500_000}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultLimits.MaxElements
	}
	return l
}

// NamespacePrefix starts the namespace of every ISO 20022 message:
// NamespacePrefix + "pacs.008.001.08".
const NamespacePrefix = "urn:iso:std:iso:20022:tech:xsd:"

// Envelope is a file cut into its parts: the business application header
// (when there is one) and the Document, each re-serialised without
// namespace prefixes, with its namespace as the default one. The Document
// keeps the line numbers of the input (it starts with as many newlines as
// it was deep in the file, and no element moves to another line), so that
// an error found while decoding it names the line of the file.
type Envelope struct {
	Wrapper string // the root element's local name when it is not the Document ("Envelope", "message", "AppHdr"…), "" for a bare Document

	HeaderNS   string // the AppHdr's namespace, "" when there is none
	HeaderXML  []byte // the AppHdr element, prefix-free
	HeaderLine int
	MsgDefIdr  string // AppHdr/MsgDefIdr as written, "" when there is no header

	Namespace string // the Document's namespace
	Document  []byte // the Document element, prefix-free, lines kept
	Line      int    // the line <Document> starts on

	canonical bool // Document is as the splitter wrote it (canonScanner reads it)
}

// MessageName is the message identifier the Document's namespace names,
// "pacs.008.001.08", or "" when it is not an ISO 20022 namespace.
func (e *Envelope) MessageName() string { return messageName(e.Namespace) }

func messageName(ns string) string {
	name, ok := strings.CutPrefix(ns, NamespacePrefix)
	if !ok {
		return ""
	}
	return name
}

// Split reads one file: a bare Document, or an AppHdr and a Document side
// by side inside any wrapper element, with or without namespace prefixes.
// It walks the tokens once, under the limits, refuses DTDs (so no entity
// is ever expanded), and checks that the Document's namespace is the one
// the header's MsgDefIdr names. Every error is an *Error with reason FF01
// naming the line and, when it can, the element.
func Split(r io.Reader, lim Limits) (*Envelope, error) {
	lim = lim.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, errorf(ReasonFileFormat, "", 0, "reading the file: %v", err)
	}
	return SplitBytes(data, lim)
}

// SplitBytes is Split over a buffer.
func SplitBytes(data []byte, lim Limits) (*Envelope, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, errorf(ReasonFileFormat, "", 0, "the file is larger than %d bytes", lim.MaxBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errorf(ReasonFileFormat, "", 0, "the file is empty")
	}
	s := splitter{d: xml.NewDecoder(bytes.NewReader(data)), lim: lim, env: &Envelope{}, size: len(data)}
	s.d.Strict = true
	s.d.CharsetReader = func(label string, input io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("encoding %q: only UTF-8 is accepted", label)
	}
	if err := s.run(); err != nil {
		return nil, err
	}
	s.env.canonical = true
	return s.env, nil
}

// splitter is one pass over the tokens.
type splitter struct {
	size  int // of the input: the Document's canonical writing is about as long
	d     *xml.Decoder
	lim   Limits
	env   *Envelope
	path  []string // local names from the root to the current element
	count int
	line  int // the line the next token starts on

	// The part being cut out, if any: its writer and the depth it started at.
	part      *canonWriter
	partDepth int
	partKind  string // "AppHdr" or "Document"
	defIdr    *strings.Builder
	defLine   int
}

func (s *splitter) at() string { return strings.Join(s.path, "/") }

func (s *splitter) fail(format string, args ...any) error {
	return errorf(ReasonFileFormat, s.at(), s.line, format, args...)
}

func (s *splitter) run() error {
	s.line = 1
	sawRoot, rootDone := false, false
	for {
		tok, err := s.d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return errorf(ReasonFileFormat, s.at(), se.Line, "not well-formed XML: %s", se.Msg)
			}
			return s.fail("not well-formed XML: %v", err)
		}
		startLine := s.line
		s.line, _ = s.d.InputPos()
		switch t := tok.(type) {
		case xml.StartElement:
			if rootDone {
				return errorf(ReasonFileFormat, t.Name.Local, startLine, "a second root element after the first one ended")
			}
			sawRoot = true
			s.count++
			if s.count > s.lim.MaxElements {
				return errorf(ReasonFileFormat, s.at(), startLine, "more than %d elements", s.lim.MaxElements)
			}
			if len(s.path) >= s.lim.MaxDepth {
				return errorf(ReasonFileFormat, s.at(), startLine, "elements nested deeper than %d", s.lim.MaxDepth)
			}
			s.path = append(s.path, t.Name.Local)
			if err := s.start(t, startLine); err != nil {
				return err
			}
		case xml.EndElement:
			if err := s.end(t); err != nil {
				return err
			}
			s.path = s.path[:len(s.path)-1]
			if len(s.path) == 0 {
				rootDone = true
			}
		case xml.CharData:
			if s.part != nil {
				s.part.text(t)
			}
			if s.defIdr != nil {
				s.defIdr.Write(t)
			}
			if len(s.path) == 0 && len(bytes.TrimSpace(t)) > 0 {
				return errorf(ReasonFileFormat, "", startLine, "text outside the root element")
			}
		case xml.Directive:
			return errorf(ReasonFileFormat, s.at(), startLine, "<!%s…> is not allowed: no DTD, no entity declarations", firstWord(t))
		case xml.ProcInst, xml.Comment:
			// The XML declaration (its encoding was checked by the decoder)
			// and comments carry nothing.
		}
	}
	if !sawRoot {
		return errorf(ReasonFileFormat, "", s.line, "no root element")
	}
	if s.env.Document == nil {
		what := "no Document element"
		if s.env.HeaderXML != nil {
			what = "an AppHdr without a Document"
		}
		return errorf(ReasonFileFormat, "", 0, "%s: nothing to process", what)
	}
	return s.checkHeader()
}

func firstWord(b []byte) string {
	w, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	if len(w) > 20 {
		w = w[:20]
	}
	return w
}

func (s *splitter) start(t xml.StartElement, line int) error {
	if s.part != nil {
		if s.partKind == "AppHdr" && len(s.path) == s.partDepth+1 && t.Name.Local == "MsgDefIdr" {
			s.defIdr, s.defLine = &strings.Builder{}, line
		}
		if t.Name.Local == "Document" || t.Name.Local == "AppHdr" {
			if s.partKind == "Document" || t.Name.Space == s.part.ns {
				// Inside the message itself, a Document or AppHdr element
				// is only one of its own elements (which none is): refuse
				// what would otherwise be a second message in one file.
				return errorf(ReasonFileFormat, s.at(), line, "a %s inside the %s", t.Name.Local, s.partKind)
			}
		}
		s.part.start(t, line)
		return nil
	}
	switch t.Name.Local {
	case "AppHdr":
		if s.env.HeaderXML != nil {
			return errorf(ReasonFileFormat, s.at(), line, "a second AppHdr: one file carries one message")
		}
		s.begin("AppHdr", t, line)
		s.env.HeaderNS, s.env.HeaderLine = t.Name.Space, line
	case "Document":
		if s.env.Document != nil {
			return errorf(ReasonFileFormat, s.at(), line, "a second Document: one file carries one message")
		}
		s.begin("Document", t, line)
		s.env.Namespace, s.env.Line = t.Name.Space, line
		if t.Name.Space == "" {
			return errorf(ReasonFileFormat, s.at(), line, "the Document has no namespace: it must say which message it is, like xmlns=\"%spacs.008.001.08\"", NamespacePrefix)
		}
		if !strings.Contains(t.Name.Space, ":") {
			// encoding/xml leaves an undeclared prefix where the namespace would be.
			return errorf(ReasonFileFormat, s.at(), line, "the namespace prefix %q is not declared", t.Name.Space)
		}
	default:
		if len(s.path) == 1 {
			s.env.Wrapper = t.Name.Local
		}
	}
	return nil
}

func (s *splitter) begin(kind string, t xml.StartElement, line int) {
	s.part, s.partDepth, s.partKind = newCanonWriter(t.Name.Space, kind == "Document"), len(s.path), kind
	if kind == "Document" {
		s.part.buf.Grow(s.size) // once, not by doubling (60 MB allocated for a 10 MB file)
	}
	if len(s.path) == 1 && kind == "AppHdr" {
		s.env.Wrapper = "AppHdr"
	}
	s.part.start(t, line)
}

func (s *splitter) end(t xml.EndElement) error {
	if s.defIdr != nil && t.Name.Local == "MsgDefIdr" {
		s.env.MsgDefIdr = strings.TrimSpace(s.defIdr.String())
		s.defIdr = nil
	}
	if s.part == nil {
		return nil
	}
	s.part.end(t)
	if len(s.path) == s.partDepth {
		out := s.part.bytes()
		if s.partKind == "Document" {
			s.env.Document = out
		} else {
			s.env.HeaderXML = out
		}
		s.part = nil
	}
	return nil
}

// checkHeader cross-checks the Document against the header.
func (s *splitter) checkHeader() error {
	e := s.env
	if e.HeaderXML == nil {
		return nil
	}
	if e.MsgDefIdr == "" {
		return errorf(ReasonFileFormat, "AppHdr/MsgDefIdr", e.HeaderLine, "the AppHdr does not say which message it carries")
	}
	if want := NamespacePrefix + e.MsgDefIdr; want != e.Namespace {
		return errorf(ReasonFileFormat, "AppHdr/MsgDefIdr", s.defLine, "the AppHdr announces %s but the Document's namespace is %q", e.MsgDefIdr, e.Namespace)
	}
	return nil
}

// canonWriter re-serialises one element and everything in it: local names
// only, the namespace declared as the default one wherever it changes,
// unqualified attributes kept, namespace declarations and qualified
// attributes (xsi:schemaLocation) dropped, comments and processing
// instructions dropped. With keepLines, newlines are added before start
// tags so that every element starts on the line it started on in the input.
type canonWriter struct {
	buf       bytes.Buffer
	ns        string
	stack     []string // namespace of each open element
	keepLines bool
	line      int
}

func newCanonWriter(ns string, keepLines bool) *canonWriter {
	return &canonWriter{ns: ns, keepLines: keepLines, line: 1}
}

func (w *canonWriter) start(t xml.StartElement, line int) {
	if w.keepLines {
		for w.line < line {
			w.buf.WriteByte('\n')
			w.line++
		}
	}
	parent := ""
	if n := len(w.stack); n > 0 {
		parent = w.stack[n-1]
	}
	w.buf.WriteByte('<')
	w.buf.WriteString(t.Name.Local)
	if len(w.stack) == 0 || t.Name.Space != parent {
		w.buf.WriteString(` xmlns="`)
		escapeAttr(&w.buf, t.Name.Space)
		w.buf.WriteByte('"')
	}
	for _, a := range t.Attr {
		if a.Name.Space != "" || a.Name.Local == "xmlns" {
			continue
		}
		w.buf.WriteByte(' ')
		w.buf.WriteString(a.Name.Local)
		w.buf.WriteString(`="`)
		escapeAttr(&w.buf, a.Value)
		w.buf.WriteByte('"')
	}
	w.buf.WriteByte('>')
	w.stack = append(w.stack, t.Name.Space)
}

func (w *canonWriter) end(t xml.EndElement) {
	w.buf.WriteString("</")
	w.buf.WriteString(t.Name.Local)
	w.buf.WriteByte('>')
	w.stack = w.stack[:len(w.stack)-1]
}

func (w *canonWriter) text(b []byte) {
	w.line += bytes.Count(b, []byte{'\n'})
	escapeText(&w.buf, b)
}

func (w *canonWriter) bytes() []byte { return w.buf.Bytes() }

// escapeText escapes character data, keeping newlines and tabs as they are
// (encoding/xml's EscapeText would turn newlines into references).
func escapeText(buf *bytes.Buffer, b []byte) {
	last := 0
	for i, c := range b {
		var esc string
		switch c {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#xD;"
		default:
			continue
		}
		buf.Write(b[last:i])
		buf.WriteString(esc)
		last = i + 1
	}
	buf.Write(b[last:])
}

func escapeAttr(buf *bytes.Buffer, s string) {
	xml.EscapeText(buf, []byte(s)) // quotes, newlines and tabs become references
}

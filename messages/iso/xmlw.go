package iso

import (
	"bytes"
	"encoding/xml"
)

// xmlWriter writes indented XML for crossclear's own encoders: elements
// are written only when they have content, so optional branches of the
// schema are simply absent (never an empty element, never a zero date).
type xmlWriter struct {
	buf   bytes.Buffer
	depth int
}

// spaces indent up to 32 levels without allocating.
const spaces = "                                                                "

func (w *xmlWriter) indent() {
	n := 2 * w.depth
	for ; n > len(spaces); n -= len(spaces) {
		w.buf.WriteString(spaces)
	}
	w.buf.WriteString(spaces[:n])
}

// open starts an element; attrs are name, value pairs.
func (w *xmlWriter) open(name string, attrs ...string) {
	w.indent()
	w.buf.WriteByte('<')
	w.buf.WriteString(name)
	w.attrs(attrs)
	w.buf.WriteString(">\n")
	w.depth++
}

func (w *xmlWriter) close(name string) {
	w.depth--
	w.indent()
	w.buf.WriteString("</")
	w.buf.WriteString(name)
	w.buf.WriteString(">\n")
}

// leaf writes <name attrs>text</name>, or nothing when text is empty.
func (w *xmlWriter) leaf(name, text string, attrs ...string) {
	if text == "" {
		return
	}
	w.indent()
	w.buf.WriteByte('<')
	w.buf.WriteString(name)
	w.attrs(attrs)
	w.buf.WriteByte('>')
	w.escape(text)
	w.buf.WriteString("</")
	w.buf.WriteString(name)
	w.buf.WriteString(">\n")
}

// escape writes s as character data (or an attribute value), escaped as
// encoding/xml's EscapeText does; most text needs no escaping and is
// written as it is.
func (w *xmlWriter) escape(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '&' || c == '<' || c == '>' || c == '"' || c == '\'' {
			xml.EscapeText(&w.buf, []byte(s))
			return
		}
	}
	w.buf.WriteString(s)
}

func (w *xmlWriter) attrs(kv []string) {
	for i := 0; i+1 < len(kv); i += 2 {
		w.buf.WriteByte(' ')
		w.buf.WriteString(kv[i])
		w.buf.WriteString(`="`)
		w.escape(kv[i+1])
		w.buf.WriteByte('"')
	}
}

// agent writes a BranchAndFinancialInstitutionIdentification6 holding a
// BIC, or nothing.
func (w *xmlWriter) agent(name, bic string) {
	if bic == "" {
		return
	}
	w.open(name)
	w.open("FinInstnId")
	w.leaf("BICFI", bic)
	w.close("FinInstnId")
	w.close(name)
}

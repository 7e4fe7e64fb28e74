package iso

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// xmlWriter writes indented XML for crossclear's own encoders: elements
// are written only when they have content, so optional branches of the
// schema are simply absent (never an empty element, never a zero date).
type xmlWriter struct {
	buf   bytes.Buffer
	depth int
}

func (w *xmlWriter) indent() {
	w.buf.WriteString(strings.Repeat("  ", w.depth))
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
	w.buf.WriteString("</" + name + ">\n")
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
	xml.EscapeText(&w.buf, []byte(text))
	w.buf.WriteString("</" + name + ">\n")
}

func (w *xmlWriter) attrs(kv []string) {
	for i := 0; i+1 < len(kv); i += 2 {
		w.buf.WriteByte(' ')
		w.buf.WriteString(kv[i])
		w.buf.WriteString(`="`)
		xml.EscapeText(&w.buf, []byte(kv[i+1]))
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

package iso

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// tokenizer is what cut reads a Document with: encoding/xml's Decoder, or
// a canonScanner when the Document is the splitter's own output.
type tokenizer interface {
	Token() (xml.Token, error)
	InputPos() (line, column int)
}

// canonScanner tokenizes a Document written by the splitter's canonWriter
// (envelope.go): well-formed, prefix-free, a default namespace declared
// where it changes, only the character references canonWriter and
// xml.EscapeText write, no comments, no processing instructions. It
// gives the tokens encoding/xml's Decoder gives for that text, without
// the Decoder's byte-at-a-time reading and name interning: the Document
// was checked by the Decoder once, in the splitter. Anything outside that
// form is an error (a Document changed after Split is decoded with
// encoding/xml: Envelope.canonical is false then).
type canonScanner struct {
	doc  []byte
	pos  int
	line int
	open []string // local name of each open element
	ns   []string // its namespace
	buf  []byte   // unescaped text or attribute value
	attr []xml.Attr
}

func newCanonScanner(doc []byte) *canonScanner { return &canonScanner{doc: doc, line: 1} }

func (s *canonScanner) InputPos() (int, int) { return s.line, 0 }

var errNotCanonical = errors.New("not in the splitter's canonical form")

func (s *canonScanner) fail(what string) error {
	return fmt.Errorf("line %d: %s: %w", s.line, what, errNotCanonical)
}

func (s *canonScanner) Token() (xml.Token, error) {
	if s.pos >= len(s.doc) {
		if len(s.open) > 0 {
			return nil, s.fail("unclosed element")
		}
		return nil, io.EOF
	}
	if s.doc[s.pos] != '<' {
		end := bytes.IndexByte(s.doc[s.pos:], '<')
		if end < 0 {
			end = len(s.doc) - s.pos
		}
		raw := s.doc[s.pos : s.pos+end]
		s.pos += end
		s.line += bytes.Count(raw, []byte{'\n'})
		text, err := s.unescape(raw)
		if err != nil {
			return nil, err
		}
		return xml.CharData(text), nil
	}
	if s.pos+1 < len(s.doc) && s.doc[s.pos+1] == '/' {
		end := bytes.IndexByte(s.doc[s.pos:], '>')
		k := len(s.open) - 1
		if end < 0 || k < 0 || string(s.doc[s.pos+2:s.pos+end]) != s.open[k] {
			return nil, s.fail("an end tag")
		}
		name, space := s.open[k], s.ns[k]
		s.pos += end + 1
		s.open, s.ns = s.open[:k], s.ns[:k]
		return xml.EndElement{Name: xml.Name{Space: space, Local: name}}, nil
	}
	return s.start()
}

// start reads <Name attr="value"…>.
func (s *canonScanner) start() (xml.Token, error) {
	i := s.pos + 1
	n := nameEnd(s.doc, i)
	if n <= i {
		return nil, s.fail("a start tag")
	}
	t := xml.StartElement{Name: xml.Name{Local: string(s.doc[i:n])}}
	if len(s.ns) > 0 {
		t.Name.Space = s.ns[len(s.ns)-1]
	}
	s.attr = s.attr[:0]
	i = n
	for {
		if i >= len(s.doc) {
			return nil, s.fail("a start tag")
		}
		if s.doc[i] == '>' {
			break
		}
		if s.doc[i] != ' ' {
			return nil, s.fail("a start tag")
		}
		a := i + 1
		e := nameEnd(s.doc, a)
		if e <= a || e+1 >= len(s.doc) || s.doc[e] != '=' || s.doc[e+1] != '"' {
			return nil, s.fail("an attribute")
		}
		q := bytes.IndexByte(s.doc[e+2:], '"')
		if q < 0 {
			return nil, s.fail("an attribute")
		}
		v, err := s.unescape(s.doc[e+2 : e+2+q])
		if err != nil {
			return nil, err
		}
		name := string(s.doc[a:e])
		s.attr = append(s.attr, xml.Attr{Name: xml.Name{Local: name}, Value: string(v)})
		if name == "xmlns" {
			t.Name.Space = string(v)
		}
		i = e + 2 + q + 1
	}
	s.pos = i + 1
	if len(s.attr) > 0 {
		t.Attr = append([]xml.Attr(nil), s.attr...)
	}
	s.open, s.ns = append(s.open, t.Name.Local), append(s.ns, t.Name.Space)
	return t, nil
}

// nameEnd is where the name starting at i ends: a prefix-free XML name
// (canonWriter writes only local names).
func nameEnd(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == ' ' || c == '>' || c == '=' || c == '/' || c == '<' || c == '"' || c == '\n' || c == '\t' || c == '\r':
			return i
		case c == ':' || c == '&':
			return -1
		}
	}
	return i
}

// unescape resolves the references canonWriter writes. Text without any
// is returned as it is, not copied.
func (s *canonScanner) unescape(raw []byte) ([]byte, error) {
	amp := bytes.IndexByte(raw, '&')
	if amp < 0 {
		if bytes.IndexByte(raw, '\r') >= 0 || bytes.IndexByte(raw, '>') >= 0 {
			return nil, s.fail("a raw carriage return or >")
		}
		return raw, nil
	}
	out := append(s.buf[:0], raw[:amp]...)
	for i := amp; i < len(raw); {
		c := raw[i]
		if c == '\r' || c == '>' {
			return nil, s.fail("a raw carriage return or >")
		}
		if c != '&' {
			out = append(out, c)
			i++
			continue
		}
		semi := bytes.IndexByte(raw[i:], ';')
		if semi < 0 {
			return nil, s.fail("a reference")
		}
		ref := string(raw[i+1 : i+semi])
		i += semi + 1
		switch ref {
		case "amp":
			out = append(out, '&')
		case "lt":
			out = append(out, '<')
		case "gt":
			out = append(out, '>')
		case "quot":
			out = append(out, '"')
		case "apos":
			out = append(out, '\'')
		default:
			var (
				r   uint64
				err error
			)
			switch {
			case len(ref) > 2 && ref[:2] == "#x":
				r, err = strconv.ParseUint(ref[2:], 16, 32)
			case len(ref) > 1 && ref[0] == '#':
				r, err = strconv.ParseUint(ref[1:], 10, 32)
			default:
				err = errNotCanonical
			}
			if err != nil || !utf8.ValidRune(rune(r)) {
				return nil, s.fail("a reference")
			}
			out = utf8.AppendRune(out, rune(r))
		}
	}
	s.buf = out
	return out, nil
}

package iso

import (
	"bytes"
	"encoding/xml"
	"io"
	"slices"
	"strings"
)

// part is one block of a message cut out for decoding on its own (a group
// header, a PmtInf without its transactions, one transaction): its XML for
// moov-io/iso20022, and what crossclear reads itself, the text of every
// element with its currency attribute and the line it starts on.
type part struct {
	name   string // local name: "GrpHdr", "CdtTrfTxInf"…
	line   int
	xml    []byte
	parent *part           // the enclosing part (a transaction's PmtInf)
	elems  map[string]elem // path below the part ("PmtId/UETR") → its first occurrence

	// checked against a shape (cutter.open) instead of keeping xml:
	checkErr error               // moov's type would fail on this text
	all      map[string][]string // every occurrence's untrimmed text at the kept paths
}

type elem struct {
	text string // trimmed character data
	ccy  string // the Ccy attribute, if any
	line int
}

// get returns the first occurrence of path and whether it is there.
func (p *part) get(path string) (elem, bool) {
	e, ok := p.elems[path]
	return e, ok
}

func (p *part) text(path string) string { return p.elems[path].text }

// lines is the line map of the part, kept on decoded values for errors.
func (p *part) lines() map[string]int {
	out := make(map[string]int, len(p.elems))
	for k, e := range p.elems {
		out[k] = e.line
	}
	return out
}

// cut walks a canonical Document (from Split) and cuts out the elements
// whose path below the message element (["GrpHdr"], ["PmtInf",
// "CdtTrfTxInf"]) cutAt accepts, in document order. A part nested in
// another is left out of the outer one's XML. root is the message
// element's local name, checked here.
func cut(doc []byte, root string, cutAt func(path []string) bool) ([]*part, int, error) {
	var parts []*part // in document order: an enclosing part before its nested ones
	c := cutter{root: root, at: cutAt, done: func(*part) {},
		open: func(p *part) (*shape, []string) { parts = append(parts, p); return nil, nil }}
	rootLine, err := c.run(doc)
	if err != nil {
		return nil, 0, err
	}
	return parts, rootLine, nil
}

// A cutter cuts parts out of a Document and hands each over (done) as
// soon as it ends, in the order they end (an enclosing part after its
// nested ones), so that a caller may decode and drop each one before the
// next is read.
type cutter struct {
	// canonical: the Document is the splitter's output, read with a
	// canonScanner; else with encoding/xml.
	canonical bool
	root      string
	at        func(path []string) bool
	// open, when set, may give a new part a shape (shape.go): the part is
	// then checked against it (checkErr) and collects every occurrence's
	// text at keep's paths in all, instead of keeping its XML.
	open func(p *part) (s *shape, keep []string)
	done func(p *part)
}

// openPart is a part being cut, with the state of its elements.
type openPart struct {
	p      *part
	depth  int          // len(path) at the part's element
	w      *canonWriter // nil when the part is checked against a shape
	keys   []string     // path below the part of each open element
	first  []bool       // whether it is its path's first occurrence (whose text the elem holds)
	shapes []*shape     // shape of each open element, nil when not checked
	texts  [][]byte     // direct text of each open element, when needed
	keep   []string
}

func (c *cutter) run(doc []byte) (int, error) {
	var d tokenizer = newCanonScanner(doc)
	if !c.canonical {
		x := xml.NewDecoder(bytes.NewReader(doc))
		x.Strict = true
		d = x
	}
	var (
		path     []string // below Document
		open     []*openPart
		line     = 1
		rootLine int
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, errorf(ReasonFileFormat, strings.Join(path, "/"), line, "%v", err)
		}
		startLine := line
		line, _ = d.InputPos()
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			if len(path) == 1 {
				continue // Document
			}
			rel := path[1:]
			if len(rel) == 1 {
				if t.Name.Local != c.root {
					return 0, errorf(ReasonFileFormat, "Document/"+t.Name.Local, startLine, "the Document holds %s, not %s", t.Name.Local, c.root)
				}
				rootLine = startLine
				continue
			}
			if c.at(rel[1:]) {
				p := &part{name: t.Name.Local, line: startLine, elems: map[string]elem{}}
				if n := len(open); n > 0 {
					p.parent = open[n-1].p
				}
				o := &openPart{p: p, depth: len(path)}
				var s *shape
				if c.open != nil {
					s, o.keep = c.open(p)
				}
				if s != nil {
					o.shapes = append(o.shapes, s)
					o.texts = append(o.texts, nil)
				} else {
					o.w = newCanonWriter(t.Name.Space, false)
					o.w.start(t, startLine)
				}
				o.keys, o.first = append(o.keys, ""), append(o.first, false)
				open = append(open, o)
				continue
			}
			if n := len(open); n > 0 {
				o := open[n-1]
				key := t.Name.Local
				if parent := o.keys[len(o.keys)-1]; parent != "" {
					key = parent + "/" + key
				}
				p := o.p
				_, seen := p.elems[key]
				o.keys, o.first = append(o.keys, key), append(o.first, !seen)
				if !seen {
					e := elem{line: startLine}
					for _, a := range t.Attr {
						if a.Name.Local == "Ccy" && a.Name.Space == "" {
							e.ccy = a.Value
						}
					}
					p.elems[key] = e
				}
				if o.w != nil {
					o.w.start(t, startLine)
				} else {
					o.startShaped(t.Name.Local, key)
				}
			}
		case xml.EndElement:
			if n := len(open); n > 0 {
				o := open[n-1]
				if o.w != nil {
					o.w.end(t)
				} else {
					o.endShaped()
				}
				o.keys, o.first = o.keys[:len(o.keys)-1], o.first[:len(o.first)-1]
				if len(path) == o.depth {
					if o.w != nil {
						o.p.xml = o.w.bytes()
					}
					open = open[:n-1]
					o.p.trim()
					c.done(o.p)
				}
			}
			path = path[:len(path)-1]
		case xml.CharData:
			if n := len(open); n > 0 {
				o := open[n-1]
				if o.w != nil {
					o.w.text(t)
				} else if k := len(o.texts) - 1; o.texts[k] != nil {
					o.texts[k] = append(o.texts[k], t...)
				}
				if k := len(o.keys) - 1; k > 0 && o.first[k] {
					e := o.p.elems[o.keys[k]]
					e.text += string(t)
					o.p.elems[o.keys[k]] = e
				}
			}
		}
	}
	if rootLine == 0 {
		return 0, errorf(ReasonFileFormat, "Document", 0, "the Document does not hold a %s", c.root)
	}
	return rootLine, nil
}

// startShaped enters a child element of a part checked against a shape:
// its shape is its parent's field of that name (or the ",any" field's),
// none when encoding/xml would skip it. Its direct text is gathered when
// its type parses it or its path is kept.
func (o *openPart) startShaped(name, key string) {
	var s *shape
	if parent := o.shapes[len(o.shapes)-1]; parent != nil && parent.children != nil {
		if s = parent.children[name]; s == nil {
			s = parent.any
		}
	}
	o.shapes = append(o.shapes, s)
	var text []byte
	if (s != nil && s.check != nil) || slices.Contains(o.keep, key) {
		text = []byte{} // not nil: gather
	}
	o.texts = append(o.texts, text)
}

// endShaped leaves an element of a part checked against a shape: its
// text is parsed as encoding/xml would at this point (a type's text is
// parsed when its element ends), and the first failure is the part's.
func (o *openPart) endShaped() {
	n := len(o.shapes) - 1
	s, text, key := o.shapes[n], o.texts[n], o.keys[len(o.keys)-1]
	o.shapes, o.texts = o.shapes[:n], o.texts[:n]
	if s != nil && s.check != nil && o.p.checkErr == nil {
		o.p.checkErr = s.check(text)
	}
	if text != nil && slices.Contains(o.keep, key) {
		if o.p.all == nil {
			o.p.all = map[string][]string{}
		}
		o.p.all[key] = append(o.p.all[key], string(text))
	}
}

// trim trims the text of every element of a finished part.
func (p *part) trim() {
	for k, e := range p.elems {
		if t := strings.TrimSpace(e.text); t != e.text {
			e.text = t
			p.elems[k] = e
		}
	}
}

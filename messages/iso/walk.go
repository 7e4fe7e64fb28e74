package iso

import (
	"bytes"
	"encoding/xml"
	"io"
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
	counts map[string]int  // path → occurrences
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
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var (
		path     []string // below Document
		open     []*part  // parts being cut, innermost last
		openAt   []int    // depth each open part started at
		writers  []*canonWriter
		parts    []*part
		line     = 1
		rootLine int
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, errorf(ReasonFileFormat, strings.Join(path, "/"), line, "%v", err)
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
				if t.Name.Local != root {
					return nil, 0, errorf(ReasonFileFormat, "Document/"+t.Name.Local, startLine, "the Document holds %s, not %s", t.Name.Local, root)
				}
				rootLine = startLine
				continue
			}
			below := rel[1:]
			if cutAt(below) {
				p := &part{name: t.Name.Local, line: startLine, elems: map[string]elem{}, counts: map[string]int{}}
				if n := len(open); n > 0 {
					p.parent = open[n-1]
				}
				w := newCanonWriter(t.Name.Space, false)
				w.start(t, startLine)
				open, openAt, writers = append(open, p), append(openAt, len(path)), append(writers, w)
				parts = append(parts, p)
				continue
			}
			if n := len(open); n > 0 {
				p := open[n-1]
				key := strings.Join(path[openAt[n-1]:], "/")
				p.counts[key]++
				if _, seen := p.elems[key]; !seen {
					e := elem{line: startLine}
					for _, a := range t.Attr {
						if a.Name.Local == "Ccy" && a.Name.Space == "" {
							e.ccy = a.Value
						}
					}
					p.elems[key] = e
				}
				writers[n-1].start(t, startLine)
			}
		case xml.EndElement:
			if n := len(open); n > 0 {
				writers[n-1].end(t)
				if len(path) == openAt[n-1] {
					open[n-1].xml = writers[n-1].bytes()
					open, openAt, writers = open[:n-1], openAt[:n-1], writers[:n-1]
				}
			}
			path = path[:len(path)-1]
		case xml.CharData:
			if n := len(open); n > 0 {
				writers[n-1].text(t)
				if len(path) > openAt[n-1] {
					key := strings.Join(path[openAt[n-1]:], "/")
					if e, ok := open[n-1].elems[key]; ok && open[n-1].counts[key] == 1 {
						e.text += string(t)
						open[n-1].elems[key] = e
					}
				}
			}
		}
	}
	for _, p := range parts {
		for k, e := range p.elems {
			if t := strings.TrimSpace(e.text); t != e.text {
				e.text = t
				p.elems[k] = e
			}
		}
	}
	if rootLine == 0 {
		return nil, 0, errorf(ReasonFileFormat, "Document", 0, "the Document does not hold a %s", root)
	}
	return parts, rootLine, nil
}

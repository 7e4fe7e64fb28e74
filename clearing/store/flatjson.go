package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// A payment read gets its events and legs as the engines' JSON aggregates
// write them: an array of flat objects (json_agg of json_build_object on
// PostgreSQL, json_group_array of json_object on SQLite). decodeFlatArray
// reads that shape without encoding/json's reflection, which was most of
// the cost of decoding a read, and gives what encoding/json gives decoding
// it into a struct of string and integer fields (exact key names; values
// strings, integers or null, anything else refused):
// TestDecodeFlatArrayMatchesEncodingJSON compares the two.

// flatValue is one member's value.
type flatValue struct {
	kind byte // '"' a string, '0' an integer, 'n' null
	str  string
	num  int64
}

// setString stores a string value in dst; null leaves dst as it is.
func (v flatValue) setString(dst *string) error {
	switch v.kind {
	case '"':
		*dst = v.str
	case '0':
		return errors.New("a number where a string belongs")
	}
	return nil
}

// setInt stores an integer value in dst; null leaves dst as it is.
func setInt[T int | int64](v flatValue, dst *T) error {
	switch v.kind {
	case '0':
		*dst = T(v.num)
	case '"':
		return errors.New("a string where a number belongs")
	}
	return nil
}

// decodeFlatArray reads data, a JSON array of objects (or null, read as
// empty), calling object before each object's members and member for each
// of them in order. String values are data's substrings unless they hold
// escapes or invalid UTF-8.
func decodeFlatArray(data string, object func(), member func(key string, v flatValue) error) error {
	d := flatReader{data: data}
	d.space()
	if strings.HasPrefix(d.data[d.i:], "null") {
		d.i += len("null")
		return d.end()
	}
	if !d.eat('[') {
		return d.fail("an array")
	}
	if d.space(); d.eat(']') {
		return d.end()
	}
	for {
		if d.space(); !d.eat('{') {
			return d.fail("an object")
		}
		object()
		if d.space(); !d.eat('}') {
			for {
				d.space()
				key, err := d.string()
				if err != nil {
					return err
				}
				if d.space(); !d.eat(':') {
					return d.fail(`":"`)
				}
				d.space()
				v, err := d.value()
				if err != nil {
					return err
				}
				if err := member(key, v); err != nil {
					return fmt.Errorf("member %q: %w", key, err)
				}
				if d.space(); d.eat('}') {
					break
				}
				if !d.eat(',') {
					return d.fail(`"," or "}"`)
				}
			}
		}
		if d.space(); d.eat(']') {
			return d.end()
		}
		if !d.eat(',') {
			return d.fail(`"," or "]"`)
		}
	}
}

type flatReader struct {
	data string
	i    int
}

func (d *flatReader) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *flatReader) eat(c byte) bool {
	if d.i < len(d.data) && d.data[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end checks nothing but space follows.
func (d *flatReader) end() error {
	if d.space(); d.i != len(d.data) {
		return d.fail("the end")
	}
	return nil
}

func (d *flatReader) fail(want string) error {
	if d.i >= len(d.data) {
		return fmt.Errorf("JSON ends where %s belongs", want)
	}
	return fmt.Errorf("JSON has %q at offset %d where %s belongs", d.data[d.i], d.i, want)
}

func (d *flatReader) value() (flatValue, error) {
	if d.i >= len(d.data) {
		return flatValue{}, d.fail("a value")
	}
	switch c := d.data[d.i]; {
	case c == '"':
		s, err := d.string()
		return flatValue{kind: '"', str: s}, err
	case c == '-' || '0' <= c && c <= '9':
		return d.integer()
	case strings.HasPrefix(d.data[d.i:], "null"):
		d.i += len("null")
		return flatValue{kind: 'n'}, nil
	}
	return flatValue{}, d.fail("a string, an integer or null")
}

// integer reads a JSON number that must be an integer, as encoding/json
// refuses a fraction or an exponent for an integer field.
func (d *flatReader) integer() (flatValue, error) {
	start := d.i
	d.eat('-')
	switch {
	case d.eat('0'):
	case d.i < len(d.data) && '1' <= d.data[d.i] && d.data[d.i] <= '9':
		for d.i < len(d.data) && '0' <= d.data[d.i] && d.data[d.i] <= '9' {
			d.i++
		}
	default:
		return flatValue{}, d.fail("a digit")
	}
	if d.i < len(d.data) {
		switch d.data[d.i] {
		case '.', 'e', 'E':
			return flatValue{}, fmt.Errorf("JSON number at offset %d is not an integer", start)
		}
	}
	n, err := strconv.ParseInt(d.data[start:d.i], 10, 64)
	if err != nil {
		return flatValue{}, fmt.Errorf("JSON number at offset %d: %w", start, err)
	}
	return flatValue{kind: '0', num: n}, nil
}

// string reads a JSON string. As encoding/json, it replaces invalid UTF-8
// and unpaired surrogate escapes with U+FFFD.
func (d *flatReader) string() (string, error) {
	if !d.eat('"') {
		return "", d.fail("a string")
	}
	start := d.i
	// Fast path: no escapes, valid UTF-8 — a substring of data.
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			return d.data[start : d.i-1], nil
		case c == '\\' || c < ' ':
			return d.unescape(start)
		case c < utf8.RuneSelf:
			d.i++
		default:
			r, size := utf8.DecodeRuneInString(d.data[d.i:])
			if r == utf8.RuneError && size == 1 {
				return d.unescape(start)
			}
			d.i += size
		}
	}
	return "", d.fail(`a closing '"'`)
}

// unescape reads the rest of a string that began at start and needs
// rewriting; d.i is at the first byte that does.
func (d *flatReader) unescape(start int) (string, error) {
	b := make([]byte, 0, d.i-start+16)
	b = append(b, d.data[start:d.i]...)
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			return string(b), nil
		case c < ' ':
			return "", d.fail("a character of a string (a control character must be escaped)")
		case c == '\\':
			d.i++
			if d.i >= len(d.data) {
				return "", d.fail("an escape")
			}
			e := d.data[d.i]
			d.i++
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(d.data[d.i:])
				if !ok {
					return "", d.fail("four hex digits")
				}
				d.i += 4
				if utf16.IsSurrogate(r) {
					pair := unicode.ReplacementChar // unless r begins a valid pair
					if rest := d.data[d.i:]; strings.HasPrefix(rest, `\u`) {
						if r2, ok := hex4(rest[2:]); ok {
							if pair = utf16.DecodeRune(r, r2); pair != unicode.ReplacementChar {
								d.i += 6
							}
						}
					}
					r = pair
				}
				b = utf8.AppendRune(b, r)
			default:
				d.i--
				return "", d.fail("an escape")
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			d.i++
		default:
			r, size := utf8.DecodeRuneInString(d.data[d.i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, unicode.ReplacementChar)
			} else {
				b = append(b, d.data[d.i:d.i+size]...)
			}
			d.i += size
		}
	}
	return "", d.fail(`a closing '"'`)
}

// hex4 reads the four hex digits of a \u escape.
func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

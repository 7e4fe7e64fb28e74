package iso

import (
	"encoding"
	"encoding/xml"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// A shape is what encoding/xml does with an element when it decodes it
// into one of moov-io/iso20022's Go types, reduced to what can fail: the
// element's own text parsed as a typed value (a date, an amount, a
// number), and the shapes of the children the type has fields for. The
// pacs.008 hot path walks a transaction's elements against its type's
// shape while cutting it (walk.go), so that it reaches moov's verdict on
// the block — and the same error — without decoding the block a second
// time through reflection; TestShapeAgreesWithMoov holds the two to the
// same answers.
//
// A shape is built from the type by encoding/xml's own rules (field names
// from tags, embedded structs promoted unless shadowed by a shallower
// field, ",chardata", ",attr", ",any"); a type using a feature those
// rules are not reproduced for here (a named XMLName, "a>b" paths,
// namespaced tags, UnmarshalXML, typed attributes) has no shape and is
// decoded with moov.
type shape struct {
	check    func(text []byte) error // nil when the element's text cannot fail
	children map[string]*shape       // by local name; nil: children are skipped
	any      *shape                  // where unmatched children go (",any"), nil: skipped
}

// leafShape is a string-like element: its text and children never fail.
var leafShape = &shape{}

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	xmlUnmarshalerType  = reflect.TypeFor[xml.Unmarshaler]()
	xmlAttrUnmarshaler  = reflect.TypeFor[xml.UnmarshalerAttr]()
	shapes              sync.Map // reflect.Type → *shape, or error
)

// shapeOf returns the shape of t, or an error naming what it cannot
// reproduce.
func shapeOf(t reflect.Type) (*shape, error) {
	if v, ok := shapes.Load(t); ok {
		if err, isErr := v.(error); isErr {
			return nil, err
		}
		return v.(*shape), nil
	}
	s, err := buildShape(t, map[reflect.Type]*shape{})
	if err != nil {
		shapes.Store(t, err)
		return nil, err
	}
	shapes.Store(t, s)
	return s, nil
}

// buildShape builds t's shape; building holds the struct shapes under
// construction, so that a recursive type ends in a cycle, not a loop.
func buildShape(t reflect.Type, building map[reflect.Type]*shape) (*shape, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 {
		t = t.Elem() // each occurrence decodes into a new element
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
	}
	pt := reflect.PointerTo(t)
	if t.Implements(xmlUnmarshalerType) || pt.Implements(xmlUnmarshalerType) {
		return nil, fmt.Errorf("%s implements xml.Unmarshaler", t)
	}
	if t.Implements(textUnmarshalerType) || pt.Implements(textUnmarshalerType) {
		return &shape{check: textCheck(t)}, nil
	}
	switch t.Kind() {
	case reflect.String, reflect.Slice: // []byte
		return leafShape, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Bool:
		return &shape{check: kindCheck(t)}, nil
	case reflect.Struct:
	default:
		return nil, fmt.Errorf("%s: a %s field", t, t.Kind())
	}
	if s, ok := building[t]; ok {
		return s, nil
	}
	s := &shape{children: map[string]*shape{}}
	building[t] = s
	if err := s.addFields(t, building, map[string]bool{}); err != nil {
		return nil, err
	}
	return s, nil
}

// addFields adds t's fields to s, then those of its untagged embedded
// structs, which a field already named at a shallower depth shadows
// (shadowed holds the names taken above).
func (s *shape) addFields(t reflect.Type, building map[reflect.Type]*shape, shadowed map[string]bool) error {
	var embedded []reflect.Type
	names := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("xml")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && tag == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() != reflect.Struct {
				return fmt.Errorf("%s: embedded %s", t, et)
			}
			embedded = append(embedded, et)
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.ContainsAny(name, "> ") {
			return fmt.Errorf("%s.%s: tag %q", t, f.Name, tag)
		}
		if f.Name == "XMLName" {
			if name != "" {
				return fmt.Errorf("%s: a named XMLName", t)
			}
			continue
		}
		mode := ""
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "attr", "chardata", "cdata", "innerxml", "comment", "any":
				mode = o
			}
		}
		switch mode {
		case "attr":
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() != reflect.String || reflect.PointerTo(ft).Implements(textUnmarshalerType) || reflect.PointerTo(ft).Implements(xmlAttrUnmarshaler) {
				return fmt.Errorf("%s.%s: a typed attribute", t, f.Name)
			}
			continue
		case "chardata", "cdata":
			fs, err := buildShape(f.Type, building)
			if err != nil {
				return err
			}
			if fs.children != nil {
				return fmt.Errorf("%s.%s: a struct as character data", t, f.Name)
			}
			s.check = fs.check
			continue
		case "innerxml", "comment":
			continue
		case "any":
			fs, err := buildShape(f.Type, building)
			if err != nil {
				return err
			}
			s.any = fs
			continue
		}
		if name == "" {
			name = f.Name
		}
		if shadowed[name] {
			continue
		}
		fs, err := buildShape(f.Type, building)
		if err != nil {
			return err
		}
		s.children[name] = fs
		names[name] = true
	}
	if len(embedded) == 0 {
		return nil
	}
	below := map[string]bool{}
	for n := range shadowed {
		below[n] = true
	}
	for n := range names {
		below[n] = true
	}
	for _, et := range embedded {
		if err := s.addFields(et, building, below); err != nil {
			return err
		}
	}
	return nil
}

// textCheck parses text with t's UnmarshalText, as encoding/xml does.
func textCheck(t reflect.Type) func([]byte) error {
	return func(text []byte) error {
		return reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText(text)
	}
}

// kindCheck parses text as encoding/xml's copyValue does for t's kind,
// with the same errors.
func kindCheck(t reflect.Type) func([]byte) error {
	bits := 0
	if t.Kind() != reflect.Bool {
		bits = t.Bits()
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(src []byte) error {
			if len(src) == 0 {
				return nil
			}
			_, err := strconv.ParseBool(strings.TrimSpace(string(src)))
			return err
		}
	case reflect.Float32, reflect.Float64:
		return func(src []byte) error {
			if len(src) == 0 {
				return nil
			}
			_, err := strconv.ParseFloat(strings.TrimSpace(string(src)), bits)
			return err
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(src []byte) error {
			if len(src) == 0 {
				return nil
			}
			_, err := strconv.ParseInt(strings.TrimSpace(string(src)), 10, bits)
			return err
		}
	default:
		return func(src []byte) error {
			if len(src) == 0 {
				return nil
			}
			_, err := strconv.ParseUint(strings.TrimSpace(string(src)), 10, bits)
			return err
		}
	}
}

package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
)

// checkText refuses, in one place and before any of it reaches the
// database, text that no field may hold: a NUL in a header, a path
// parameter, a query parameter or any JSON string (which the database
// drivers reject with an error that would be a 500), and control, format
// (bidi overrides like U+202E, zero-width characters like U+200B) and line
// separator characters, which would spoof what an operator or a regulator
// reads in a name, a reason or a statement. Fields carrying structured
// multi-line text (multiLine) may hold line breaks and tabs. The answer is
// 422 invalid_character naming the field: payments[3].reference, a query
// parameter's name, a path parameter's name.
func checkText(c *fiber.Ctx) error {
	var err error
	c.Request().Header.VisitAll(func(k, v []byte) {
		if err == nil && bytes.IndexByte(v, 0) >= 0 {
			err = badCharacter(string(k), 0)
		}
	})
	if err != nil {
		return err
	}
	if err := checkPath(c); err != nil {
		return err
	}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		if err == nil {
			err = checkString(string(k), string(k), false)
		}
		if err == nil {
			err = checkString(string(k), string(v), false)
		}
	})
	if err != nil {
		return err
	}
	if body := bytes.TrimSpace(c.Body()); len(body) > 0 && (body[0] == '{' || body[0] == '[') {
		if err := checkJSON(body); err != nil {
			return err
		}
	}
	return c.Next()
}

// multiLine are the JSON fields whose text has lines: a PEM public key.
var multiLine = map[string]bool{"public_key_pem": true}

// maxPathParam bounds a path parameter: every id is far shorter.
const maxPathParam = 256

// checkString refuses NUL everywhere, and control, format and line
// separator characters unless lines allows line breaks and tabs.
func checkString(field, v string, lines bool) error {
	for _, r := range v {
		switch {
		case r == 0:
			return badCharacter(field, r)
		case lines && (r == '\n' || r == '\r' || r == '\t'):
		case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp):
			return badCharacter(field, r)
		}
	}
	return nil
}

func badCharacter(field string, r rune) error {
	what := "a control or formatting character"
	if r == 0 {
		what = "NUL"
	}
	return clearing.Errorf(clearing.Invalid, "invalid_character", field, "must not contain %U (%s)", r, what)
}

// checkPath checks every segment of the decoded path, naming the route's
// parameter the bad one stands for. Handlers read parameters undecoded
// (fiber leaves "%00" as is), but an id is never escaped: refusing here
// keeps every handler from having to care.
func checkPath(c *fiber.Ctx) error {
	segments := strings.Split(c.Path(), "/")
	for i, seg := range segments {
		v, err := url.PathUnescape(seg)
		if err != nil {
			v = seg
		}
		if len(v) > maxPathParam {
			return clearing.Errorf(clearing.Invalid, "too_long", pathParam(c, i), "at most %d bytes, got %d", maxPathParam, len(v))
		}
		// The parameter's name is looked up (every route walked) only for
		// a segment that fails: this runs on every request.
		if checkString("path", v, false) != nil {
			return checkString(pathParam(c, i), v, false)
		}
	}
	return nil
}

// pathParam is the name of the parameter at segment i of the request's
// path in the route it matches ("path" if none): the route is matched only
// after this group's handlers, so it is looked up here, on the error path.
func pathParam(c *fiber.Ctx, i int) string {
	segments := strings.Split(c.Path(), "/")
	for _, methodRoutes := range c.App().Stack() {
		for _, r := range methodRoutes {
			if r.Method != c.Method() || len(r.Params) == 0 {
				continue
			}
			pattern := strings.Split(r.Path, "/")
			if len(pattern) != len(segments) || !strings.HasPrefix(pattern[i], ":") {
				continue
			}
			match := true
			for j, p := range pattern {
				if !strings.HasPrefix(p, ":") && !strings.EqualFold(p, segments[j]) {
					match = false
					break
				}
			}
			if match {
				return pattern[i][1:]
			}
		}
	}
	return "path"
}

// checkJSON checks every string value of a JSON body, tracking where it
// is. Malformed JSON is left for decode to report.
func checkJSON(body []byte) error {
	type frame struct {
		object  bool
		key     string // object: the member being read
		index   int    // array: the element being read
		wantKey bool
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.object {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			} else {
				fmt.Fprintf(&b, "[%d]", f.index)
			}
		}
		return b.String()
	}
	next := func() { // a value ended
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or malformed: decode's to report
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			if key, ok := tok.(string); ok {
				stack[n-1].key, stack[n-1].wantKey = key, false
				continue
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				next()
			}
		case string:
			leaf := ""
			if n := len(stack); n > 0 && stack[n-1].object {
				leaf = stack[n-1].key
			}
			if err := checkString(path(), t, multiLine[leaf]); err != nil {
				return err
			}
			next()
		default:
			next()
		}
	}
}

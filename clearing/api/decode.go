package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
)

// decode reads the request body into v strictly: unknown fields, trailing
// data and wrong JSON types are 400 malformed_json, so a typo in a field
// name ("ammount") is reported instead of silently ignored. An empty body
// decodes as {} because several actions have only optional fields.
func decode(c *fiber.Ctx, v any) error {
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return newError(http.StatusBadRequest, "malformed_json", "", "request body must hold exactly one JSON object")
	}
	return nil
}

// malformed explains a decoding error and names the field when it can.
func malformed(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		want := typeErr.Type.String()
		if want == "string" {
			// Money is always a decimal string; a JSON number would lose
			// exactness in most clients before it ever reached us.
			return newError(http.StatusBadRequest, "malformed_json", field, "must be a JSON string, got %s", typeErr.Value)
		}
		return newError(http.StatusBadRequest, "malformed_json", field, "must be %s, got %s", jsonKind(want), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return newError(http.StatusBadRequest, "malformed_json", "", "invalid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return newError(http.StatusBadRequest, "malformed_json", "", "request body ends before the JSON does")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return newError(http.StatusBadRequest, "malformed_json", name, "unknown field %q", name)
	}
	return newError(http.StatusBadRequest, "malformed_json", "", "%v", err)
}

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case goType == "bool":
		return "a boolean"
	}
	return "an object"
}

// queryInt reads an optional integer query parameter in 1..max; 0 when
// absent, so the store's default applies.
func queryInt(c *fiber.Ctx, name string, max int) (int, error) {
	raw := c.Query(name)
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n <= 0 || n > max {
		return 0, clearing.Errorf(clearing.Invalid, "invalid_"+name, name, "must be an integer from 1 to %d, got %q", max, raw)
	}
	return n, nil
}

// checkReason bounds free text that goes into the audit trail.
func checkReason(reason string) error {
	if len(reason) > clearing.MaxReasonLen {
		return clearing.Errorf(clearing.Invalid, "invalid_reason", "reason", "at most %d characters", clearing.MaxReasonLen)
	}
	return nil
}

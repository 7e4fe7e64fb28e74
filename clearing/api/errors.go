package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
)

// errorBody is the one shape every error response has, so that clients
// need a single decoder: {"error":{"code":"…","message":"…","field":"…"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// For an uploaded ISO 20022 file: the line of the file and the ISO
	// reason code (FF01, DU01…); Field is then the element.
	Line   int    `json:"line,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// apiError is an error that already knows its HTTP status: the errors this
// package makes itself (auth, JSON decoding, body limit) rather than the
// domain's.
type apiError struct {
	Status int
	errorDetail
}

func (e *apiError) Error() string { return e.Message }

func newError(status int, code, field, format string, args ...any) *apiError {
	return &apiError{Status: status, errorDetail: errorDetail{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}}
}

// kindStatus maps a domain error kind to a status. Refused is 422, not 409:
// the request was understood and is valid, but a business rule (a cap, the
// payment's state) says no, and retrying it unchanged will not help.
var kindStatus = map[clearing.Kind]int{
	clearing.Invalid:   http.StatusUnprocessableEntity,
	clearing.NotFound:  http.StatusNotFound,
	clearing.Conflict:  http.StatusConflict,
	clearing.Forbidden: http.StatusForbidden,
	clearing.Refused:   http.StatusUnprocessableEntity,
}

// fiberCodes names the statuses fiber itself produces (no route, wrong
// method, body over the limit) in our snake_case vocabulary.
var fiberCodes = map[int]string{
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestEntityTooLarge: "body_too_large",
	http.StatusBadRequest:            "bad_request",
	http.StatusRequestTimeout:        "request_timeout",
}

// classify turns any error into a status and the detail to show. Anything
// not recognised is internal: the caller gets a generic message and the
// detail goes to the log only, so that SQL or invariant text never leaks.
func classify(err error) (int, errorDetail, bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status, ae.errorDetail, false
	}
	if ce, ok := clearing.AsError(err); ok {
		status, known := kindStatus[ce.Kind]
		if !known {
			status = http.StatusUnprocessableEntity
		}
		return status, errorDetail{Code: ce.Code, Message: ce.Msg, Field: ce.Field}, false
	}
	var fe *fiber.Error
	if errors.As(err, &fe) && fe.Code < 500 {
		code, ok := fiberCodes[fe.Code]
		if !ok {
			code = "http_" + fmt.Sprint(fe.Code)
		}
		msg := fe.Message
		if fe.Code == http.StatusRequestEntityTooLarge {
			msg = "request body is larger than the server accepts"
		}
		return fe.Code, errorDetail{Code: code, Message: msg}, false
	}
	if store.Unavailable(err) {
		return http.StatusServiceUnavailable, errorDetail{Code: "unavailable",
			Message: "the database is busy or unreachable; nothing was changed: retry in a moment (with the same Idempotency-Key)"}, false
	}
	return http.StatusInternalServerError, errorDetail{Code: "internal", Message: "internal error; it has been logged"}, true
}

// retryAfterUnavailable is the Retry-After of a 503: long enough for a
// busy SQLite writer or a PostgreSQL failover to pass, short enough not to
// stall a client.
const retryAfterUnavailable = "1"

// writeError renders err as the JSON error body. It is the only place that
// does, so the status mapping cannot drift between handlers.
func writeError(c *fiber.Ctx, log *slog.Logger, err error) error {
	status, detail, internal := classify(err)
	if internal {
		log.Error("internal error", "method", c.Method(), "path", c.Path(), "request_id", requestID(c), "err", err)
		detail.Message += " (request " + requestID(c) + ")"
	}
	switch status {
	case http.StatusUnauthorized:
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="crossclear"`)
	case http.StatusServiceUnavailable:
		log.Warn("database unavailable", "method", c.Method(), "path", c.Path(), "request_id", requestID(c), "err", err)
		c.Set(fiber.HeaderRetryAfter, retryAfterUnavailable)
	}
	return c.Status(status).JSON(errorBody{Error: detail})
}

// amountError turns an fx parse error into a 422 naming the field to fix:
// an unknown currency is the currency field's fault, everything else the
// amount's. The fx message is kept: it says exactly what was wrong.
func amountError(err error, amountField, currencyField string) error {
	code, field := "invalid_amount", amountField
	switch {
	case errors.Is(err, fx.ErrUnknownCurrency):
		code, field = "unknown_currency", currencyField
	case errors.Is(err, fx.ErrTooPrecise):
		code = "amount_too_precise"
	case errors.Is(err, fx.ErrNotPositive):
		code = "amount_not_positive"
	case errors.Is(err, fx.ErrTooLarge):
		code = "amount_too_large"
	case errors.Is(err, fx.ErrMalformed):
		code = "amount_malformed"
	}
	return clearing.Errorf(clearing.Invalid, code, field, "%v", err)
}

// Errors the API itself raises.
var (
	errForbidden = func(why string) error {
		return clearing.Errorf(clearing.Forbidden, "forbidden", "", "%s", why)
	}
	errReadOnly = clearing.Errorf(clearing.Forbidden, "read_only", "", "regulator keys are read-only")
)

func required(field string) error {
	return clearing.Errorf(clearing.Invalid, "required", field, "is required")
}

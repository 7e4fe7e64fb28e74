// Package clearing is the domain of crossclear: participants, merchants,
// payments in escrow and their state machine, the double-entry ledger of
// obligations, settlement cycles and multilateral netting. Everything here
// is pure Go over values; persistence lives in clearing/store and HTTP in
// clearing/api.
package clearing

import (
	"errors"
	"fmt"
)

// Kind classifies an Error so that edges (HTTP, CLI) can map it to a status
// without knowing every code.
type Kind int

const (
	Invalid   Kind = iota + 1 // the request is wrong: 422/400
	NotFound                  // 404; also what a caller sees for data it may not read
	Conflict                  // a duplicate or a lost race: 409
	Forbidden                 // authenticated but not allowed: 403
	Refused                   // valid but a business rule says no (cap, state): 422
)

// Error is a domain error with a stable machine code and the offending field.
type Error struct {
	Kind  Kind
	Code  string // stable, snake_case: "amount_too_precise", "net_debit_cap_exceeded"
	Field string // JSON field name the caller should fix, "" when none
	Msg   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Msg
	}
	return e.Msg
}

// Errorf builds an *Error.
func Errorf(kind Kind, code, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// AsError finds the *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// ErrInvariant marks a broken invariant (a ledger that does not balance,
// nets that do not sum to zero). It is a bug, never the caller's fault.
var ErrInvariant = errors.New("clearing invariant violated")

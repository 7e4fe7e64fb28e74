package api

import (
	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/access"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
)

// The documents below are the API's answers to the operator, for the
// command line's --json: a script reads the same JSON from
// 'crossclear cycle show --json' as from GET /v1/cycles/{id}.

// CycleDocument is GET /v1/cycles/{id} as the operator sees it.
func CycleDocument(c clearing.Cycle) any { return toCycle(c, access.Everything) }

// ExposureDocument is GET /v1/exposure.
func ExposureDocument(r store.ExposureReport) any { return toExposure(r) }

// PaymentDocument is GET /v1/payments/{id}: the payment, its events and
// its posting legs.
func PaymentDocument(p clearing.Payment, events []clearing.Event, legs []store.Leg) any {
	out := toPayment(p)
	out.Events = toEvents(p.Currency, events)
	out.Legs = toLegs(legs)
	return out
}

// LedgerDocument is GET /v1/ledger/check.
func LedgerDocument(l clearing.LedgerCheck) any { return toLedger(l) }

// RatesDocument is GET /v1/rates: {"rates": [...]}.
func RatesDocument(rs []fx.Rate) map[string]any { return toRates(rs) }

// QuoteDocument is POST /v1/quotes's answer.
func QuoteDocument(q clearing.FXQuote) any { return toQuote(q) }

// APIKeyDocument is POST /v1/api-keys's answer; secret is shown only there.
func APIKeyDocument(k store.APIKey, secret string) any {
	out := toAPIKey(k)
	out.Secret = secret
	return out
}

// AuditDocument is GET /v1/audit: a page of the audit log.
func AuditDocument(p store.AuditPage) any { return toAuditLog(p) }

package compliance

import (
	"context"
	"time"
)

// History is what the AML rules know of earlier payments: those screened
// and not rejected (held, or waiting for review), by payer, payee and
// bank. The store implements it over its screening decisions.
type History interface {
	// Activity answers each query: how many payments of the key since
	// Since, their total in the rules' base currency (minor units), and
	// how many of them were in [BandLow, BandHigh) when a band is given.
	Activity(ctx context.Context, qs []HistoryQuery) ([]Activity, error)
}

// HistoryQuery asks about one key within a window.
type HistoryQuery struct {
	Kind              KeyKind
	Key               string
	Since             time.Time
	BandLow, BandHigh int64 // base minor units; both 0 for no band
}

// Activity is a key's payments within a window.
type Activity struct {
	Count     int
	BaseMinor int64
	InBand    int
}

package fx

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
)

// InversePlaces is the precision of an inverted rate. 1/x rarely terminates,
// so an inverted leg is rounded to InversePlaces decimal places, and always
// in the provider's favour: the inverted bid 1/ask is rounded down and the
// inverted ask 1/bid up. Rates are below 10^12, so 1/x is above 10^-12 and
// keeps at least 4 significant digits; for the rates of real currencies
// (10^-5 to 10^5) it keeps 11 or more, far below any minor unit of the
// amounts converted.
const InversePlaces = 16

var (
	one        = decimal.New(1, 0)
	inverseULP = decimal.New(1, -InversePlaces)
)

// Conversion is a rate for a pair as the book can offer it: the stored rate
// itself, its inverse, or a cross through a base currency. Path records every
// leg used, e.g. ["USD/EUR ecb 2026-11-20 (inverted)", "EUR/JPY ecb 2026-11-20"].
type Conversion struct {
	Pair
	Bid, Ask   decimal.Decimal
	Path       []string
	AsOf       time.Time // of the oldest leg
	ValidUntil time.Time // of the leg that expires first
}

// Mid is (Bid + Ask) / 2, exactly.
func (c Conversion) Mid() decimal.Decimal { return mid(c.Bid, c.Ask) }

// Book holds the latest rate of each (source, pair) and derives inverses and
// cross rates. It is safe for concurrent use: Lookup reads an immutable
// snapshot through an atomic pointer without locking; Put copies the
// snapshot, changes the copy and publishes it (writes are serialized). The
// zero Book is empty and crosses through EUR, then USD. A Book must not be
// copied after first use.
type Book struct {
	bases []string // immutable after NewBook; nil means defaultBases
	mu    sync.Mutex
	snap  atomic.Pointer[bookSnapshot]
}

var defaultBases = []string{"EUR", "USD"}

type bookKey struct {
	source string
	pair   Pair
}

// bookEntry is a stored rate with what Lookup needs precomputed: the
// inverted bid and ask, and the labels of both directions.
type bookEntry struct {
	Rate
	invBid, invAsk  decimal.Decimal
	label, invLabel string
}

type bookSnapshot struct{ m map[bookKey]*bookEntry }

// NewBook returns an empty book that crosses through the given base
// currencies, in order of preference; none means EUR, then USD.
func NewBook(bases ...string) (*Book, error) {
	b := &Book{}
	if len(bases) == 0 {
		return b, nil
	}
	seen := map[string]bool{}
	for _, code := range bases {
		if _, err := LookupCurrency(code); err != nil {
			return nil, fmt.Errorf("fx: cross base: %w", err)
		}
		if seen[code] {
			return nil, fmt.Errorf("fx: cross base %s listed twice", code)
		}
		seen[code] = true
	}
	b.bases = slices.Clone(bases)
	return b, nil
}

// Bases returns the cross currencies in order of preference.
func (b *Book) Bases() []string {
	if b.bases == nil {
		return slices.Clone(defaultBases)
	}
	return slices.Clone(b.bases)
}

// Put validates every rate and then stores them all, or none. A rate
// replaces the stored rate of the same source and pair unless that one has
// a later AsOf (equal AsOf: the last put wins, so a correction applies and a
// reload changes nothing).
func (b *Book) Put(rates ...Rate) error {
	for i, r := range rates {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("fx: book: rate %d of %d: %w", i+1, len(rates), err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var m map[bookKey]*bookEntry
	if old := b.snap.Load(); old != nil {
		m = maps.Clone(old.m)
	} else {
		m = make(map[bookKey]*bookEntry, len(rates))
	}
	for _, r := range rates {
		k := bookKey{source: r.Source, pair: r.Pair}
		if e, ok := m[k]; ok && e.AsOf.After(r.AsOf) {
			continue
		}
		m[k] = newBookEntry(r)
	}
	b.snap.Store(&bookSnapshot{m: m})
	return nil
}

func newBookEntry(r Rate) *bookEntry {
	return &bookEntry{
		Rate:     r,
		invBid:   inverseDown(r.Ask),
		invAsk:   inverseUp(r.Bid),
		label:    legLabel(r, false),
		invLabel: legLabel(r, true),
	}
}

// inverseDown is 1/x rounded down to InversePlaces (x > 0).
func inverseDown(x decimal.Decimal) decimal.Decimal {
	q, _ := one.QuoRem(x, InversePlaces)
	return q
}

// inverseUp is 1/x rounded up to InversePlaces (x > 0).
func inverseUp(x decimal.Decimal) decimal.Decimal {
	q, r := one.QuoRem(x, InversePlaces)
	if !r.IsZero() {
		q = q.Add(inverseULP)
	}
	return q
}

// Rates returns every stored rate, ordered by source and pair.
func (b *Book) Rates() []Rate {
	s := b.snap.Load()
	if s == nil {
		return nil
	}
	out := make([]Rate, 0, len(s.m))
	for _, e := range s.m {
		out = append(out, e.Rate)
	}
	slices.SortFunc(out, func(x, y Rate) int {
		return cmp.Or(strings.Compare(x.Source, y.Source), strings.Compare(x.Base, y.Base), strings.Compare(x.Quote, y.Quote))
	})
	return out
}

// leg is one rate as used in a conversion, possibly inverted.
type leg struct {
	bid, ask         decimal.Decimal
	label            string
	asOf, validUntil time.Time
}

func (e *bookEntry) leg(inverted bool) leg {
	if inverted {
		return leg{bid: e.invBid, ask: e.invAsk, label: e.invLabel, asOf: e.AsOf, validUntil: e.ValidUntil}
	}
	return leg{bid: e.Bid, ask: e.Ask, label: e.label, asOf: e.AsOf, validUntil: e.ValidUntil}
}

// staleness says why the entry may not be used at now, or "" if it may.
func (e *bookEntry) staleness(now time.Time, maxAge time.Duration) string {
	age := now.Sub(e.AsOf).Round(time.Second)
	if now.After(e.ValidUntil) {
		return fmt.Sprintf("%s from %s as of %s is %s old and expired at %s", e.Pair, e.Source,
			e.AsOf.Format(time.RFC3339), age, e.ValidUntil.Format(time.RFC3339))
	}
	if maxAge > 0 && now.Sub(e.AsOf) > maxAge {
		return fmt.Sprintf("%s from %s as of %s is %s old (max age %s)", e.Pair, e.Source,
			e.AsOf.Format(time.RFC3339), age, maxAge)
	}
	return ""
}

// find returns the fresh leg from p.Base to p.Quote: the stored rate of p,
// else the inverse of the stored rate of p's inverse. When there is none,
// stale says why a stored one was refused ("" if nothing was stored).
func (s *bookSnapshot) find(source string, p Pair, now time.Time, maxAge time.Duration) (l leg, ok bool, stale string) {
	if e := s.m[bookKey{source: source, pair: p}]; e != nil {
		if stale = e.staleness(now, maxAge); stale == "" {
			return e.leg(false), true, ""
		}
	}
	if e := s.m[bookKey{source: source, pair: p.Inverse()}]; e != nil {
		why := e.staleness(now, maxAge)
		if why == "" {
			return e.leg(true), true, ""
		}
		if stale == "" {
			stale = why
		}
	}
	return leg{}, false, stale
}

// Lookup returns a conversion for pair from source's rates, trying in order
// the stored rate of the pair, the inverse of the stored rate of its inverse
// (see InversePlaces), and crosses through each base currency (EUR, then USD
// unless configured): Base→X then X→Quote, each leg direct or inverted, with
// bid = bid₁ × bid₂ and ask = ask₁ × ask₂ computed exactly.
//
// A stored rate is not used if now is after its ValidUntil or, when maxAge
// is positive, it is more than maxAge old. If no usable route exists the
// error wraps ErrStaleRate when a route failed only because of such a rate
// (naming that rate and its age), else ErrNoRate (naming where it looked).
func (b *Book) Lookup(pair Pair, source string, now time.Time, maxAge time.Duration) (Conversion, error) {
	if err := pair.Validate(); err != nil {
		return Conversion{}, err
	}
	s := b.snap.Load()
	if s == nil {
		s = &bookSnapshot{}
	}
	l, ok, stale := s.find(source, pair, now, maxAge)
	if ok {
		return Conversion{Pair: pair, Bid: l.bid, Ask: l.ask, Path: []string{l.label}, AsOf: l.asOf, ValidUntil: l.validUntil}, nil
	}
	bases := b.bases
	if bases == nil {
		bases = defaultBases
	}
	var via []string
	for _, x := range bases {
		if x == pair.Base || x == pair.Quote {
			continue
		}
		via = append(via, x)
		l1, ok, why := s.find(source, Pair{Base: pair.Base, Quote: x}, now, maxAge)
		if !ok {
			stale = cmp.Or(stale, why)
			continue
		}
		l2, ok, why := s.find(source, Pair{Base: x, Quote: pair.Quote}, now, maxAge)
		if !ok {
			stale = cmp.Or(stale, why)
			continue
		}
		return Conversion{
			Pair:       pair,
			Bid:        l1.bid.Mul(l2.bid),
			Ask:        l1.ask.Mul(l2.ask),
			Path:       []string{l1.label, l2.label},
			AsOf:       earliest(l1.asOf, l2.asOf),
			ValidUntil: earliest(l1.validUntil, l2.validUntil),
		}, nil
	}
	if stale != "" {
		return Conversion{}, fmt.Errorf("%w for %s: %s", ErrStaleRate, pair, stale)
	}
	where := fmt.Sprintf("looked for %s and %s", pair, pair.Inverse())
	if len(via) > 0 {
		where += " and crosses through " + strings.Join(via, ", ")
	}
	return Conversion{}, fmt.Errorf("%w for %s from source %q: %s", ErrNoRate, pair, source, where)
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

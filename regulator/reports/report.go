// Package reports builds the reports a local-government regulator
// receives: one per closed settlement cycle and one per UTC day, for each
// jurisdiction, scoped to what touches a participant of that jurisdiction
// (a payment touches the jurisdictions of its buyer's bank and of its
// merchant's bank, as the API's regulator keys see it).
//
// A report is rendered twice, from the same value: canonical JSON (RFC
// 8785 for the values it holds; the authoritative form) and CSV (one row
// per figure, for spreadsheets). Each report has a sequence number per
// (jurisdiction, kind) without gaps, and a period with nothing to report
// still gets one — a nil report — so that a withheld report shows as a
// missing number. Its log entry (Entry) names both files with their SHA-256;
// that entry is the leaf of the Merkle log.
//
// ISO 20022 has no message for these reports. The regulatory messages in
// moov-io/iso20022 are the currency-control set (auth.018–auth.027, the
// Russian-style regime): auth.024 PaymentRegulatoryInformationNotification
// is the nearest, and it is a bank's per-transaction notification tied to
// registered contracts, whose mandatory fields (a transaction certificate
// and its record ids, a five-digit local instrument "VO" code, the
// referred contract document) crossclear would have to invent. Aggregates
// per cycle (positions, corridors, escrow ageing) have no ISO home at all.
// A report that invents codes for a regulator is worse than none, so the
// formats are JSON and CSV; a jurisdiction that mandates an ISO message
// would get a profile rendering its own fields from the same Report.
package reports

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
)

// Kind is what period a report covers.
type Kind string

const (
	KindCycle Kind = "cycle" // one closed settlement cycle
	KindDay   Kind = "day"   // one UTC day
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == KindCycle || k == KindDay }

// Schema names the report format; it changes when the format does.
const Schema = "crossclear/regulator-report/v1"

// Report is one report for one jurisdiction and period.
type Report struct {
	Schema       string       `json:"schema"`
	ID           string       `json:"id"`
	Jurisdiction string       `json:"jurisdiction"`
	Kind         Kind         `json:"kind"`
	Period       string       `json:"period"` // the cycle's id, or the day (2006-01-02)
	PeriodStart  time.Time    `json:"period_start"`
	PeriodEnd    time.Time    `json:"period_end"`
	Seq          int64        `json:"seq"`
	Nil          bool         `json:"nil"` // nothing to report in this period
	Cycle        *CycleReport `json:"cycle,omitempty"`
	Day          *DayReport   `json:"day,omitempty"`
}

// ReportID names a report: "SG-cycle-42", "US-NY-day-2026-11-21".
func ReportID(jurisdiction string, kind Kind, period string) string {
	return jurisdiction + "-" + string(kind) + "-" + period
}

// CycleReport is what a closed cycle did in one jurisdiction.
type CycleReport struct {
	Participants []Participant   `json:"participants"`
	Positions    []Position      `json:"positions"`
	Corridors    []Corridor      `json:"corridors"`
	FXRates      []FXRate        `json:"fx_rates"`
	Payments     []PaymentTotals `json:"payments"`
	Escrow       []Escrow        `json:"escrow"`
	Disputes     []Disputes      `json:"disputes"`
}

// Participant is a bank or FX provider of the jurisdiction.
type Participant struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Country string `json:"country"`
}

// Position is a participant's gross and net in one currency for the cycle.
// Whether it was settled later is not in the report: a report says what
// was so at the close, whenever it is built.
type Position struct {
	Participant string `json:"participant"`
	Currency    string `json:"currency"`
	Paid        string `json:"paid"`
	Received    string `json:"received"`
	Net         string `json:"net"`
}

// Corridor is what was held between two countries (the buyer's bank's and
// the merchant's bank's) in one currency.
type Corridor struct {
	From     string `json:"from_country"`
	To       string `json:"to_country"`
	Currency string `json:"currency"`
	Count    int64  `json:"count"`
	Amount   string `json:"amount"`
}

// FXRate is a locked rate the cycle's cross-currency holds converted at.
type FXRate struct {
	SellCurrency string `json:"sell_currency"`
	BuyCurrency  string `json:"buy_currency"`
	Rate         string `json:"rate"`
	Provider     string `json:"provider"`
	Count        int64  `json:"count"`
	SellAmount   string `json:"sell_amount"`
	BuyAmount    string `json:"buy_amount"`
}

// Tally is a count and an amount.
type Tally struct {
	Count  int64  `json:"count"`
	Amount string `json:"amount"`
}

// PaymentTotals are the cycle's payments in one currency (escrow's): held
// into escrow, settled (released to the merchant's bank), failed (refunded
// to the buyer's bank), and pending (still in escrow at the close).
type PaymentTotals struct {
	Currency string `json:"currency"`
	Held     Tally  `json:"held"`
	Settled  Tally  `json:"settled"`
	Failed   Tally  `json:"failed"`
	Pending  Tally  `json:"pending"`
}

// Escrow is what escrow held at the close in one currency, by age.
type Escrow struct {
	Currency string      `json:"currency"`
	Balance  string      `json:"balance"`
	Count    int64       `json:"count"`
	Ageing   []AgeBucket `json:"ageing"`
}

// AgeBucket is the part of escrow held for an age range (since the hold).
type AgeBucket struct {
	Age    string `json:"age"` // "0-1d", "1-7d", "7-30d", "30d+"
	Count  int64  `json:"count"`
	Amount string `json:"amount"`
}

// Disputes are the dispute events of the cycle's window in one currency.
type Disputes struct {
	Currency        string `json:"currency"`
	Opened          Tally  `json:"opened"`           // amount: the disputed payments' amounts
	ResolvedRelease Tally  `json:"resolved_release"` // amount: released to the merchant
	ResolvedRefund  Tally  `json:"resolved_refund"`  // amount: refunded to the buyer
}

// Ageing are escrow's age limits, and AgeLabels their buckets' names.
var (
	Ageing    = []time.Duration{24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}
	AgeLabels = []string{"0-1d", "1-7d", "7-30d", "30d+"}
)

// CycleInput is what BuildCycle reads: the cycle's activity (loaded with
// Ageing) and every participant.
type CycleInput struct {
	Activity     store.CycleActivity
	Participants []clearing.Participant
}

// BuildCycle builds jurisdiction j's report of a closed cycle, numbered
// seq. A jurisdiction without any figure gets a nil report.
func BuildCycle(j string, seq int64, in CycleInput) (Report, error) {
	c := in.Activity.Cycle
	period := strconv.FormatInt(c.ID, 10)
	r := Report{Schema: Schema, ID: ReportID(j, KindCycle, period), Jurisdiction: j, Kind: KindCycle, Period: period,
		PeriodStart: c.OpenedAt.UTC(), PeriodEnd: c.ClosedAt.UTC(), Seq: seq}
	if c.Result == nil {
		return Report{}, fmt.Errorf("cycle %d has no result: is it closed?", c.ID)
	}
	byID := make(map[string]clearing.Participant, len(in.Participants))
	for _, p := range in.Participants {
		byID[p.ID] = p
	}
	cr := CycleReport{Participants: []Participant{}, Positions: []Position{}, Corridors: []Corridor{}, FXRates: []FXRate{},
		Payments: []PaymentTotals{}, Escrow: []Escrow{}, Disputes: []Disputes{}} // lists, never null
	for _, p := range in.Participants {
		if p.Jurisdiction == j && !p.CreatedAt.After(c.ClosedAt) {
			cr.Participants = append(cr.Participants, Participant{ID: p.ID, Name: p.Name, Kind: string(p.Kind), Country: p.Country})
		}
	}
	slices.SortFunc(cr.Participants, func(a, b Participant) int { return cmp.Compare(a.ID, b.ID) })
	var err error
	sum := func(a, b int64) int64 {
		s, ok := fx.AddMinor(a, b)
		if !ok && err == nil {
			err = fmt.Errorf("cycle %d: a total overflows", c.ID)
		}
		return s
	}
	money := func(ccy string, minor int64) string {
		c, cerr := fx.LookupCurrency(ccy)
		if cerr != nil {
			if err == nil {
				err = fmt.Errorf("cycle %d: %w", in.Activity.Cycle.ID, cerr)
			}
			return ""
		}
		return c.FromMinor(minor).Value()
	}
	for _, np := range c.Result.Positions {
		if p, ok := byID[np.Participant]; ok && p.Jurisdiction == j {
			cr.Positions = append(cr.Positions, Position{Participant: np.Participant, Currency: np.Currency,
				Paid: money(np.Currency, np.PaidMinor), Received: money(np.Currency, np.ReceivedMinor), Net: money(np.Currency, np.NetMinor)})
		}
	}
	slices.SortFunc(cr.Positions, func(a, b Position) int {
		return cmp.Or(cmp.Compare(a.Participant, b.Participant), cmp.Compare(a.Currency, b.Currency))
	})

	type corridorKey struct{ from, to, ccy string }
	corridors := map[corridorKey]*[2]int64{}
	for _, v := range in.Activity.Corridors {
		if !v.Touches(j) {
			continue
		}
		k := corridorKey{byID[v.BuyerBank].Country, byID[v.MerchantBank].Country, v.Currency}
		t := entry(corridors, k)
		t[0], t[1] = sum(t[0], v.Count), sum(t[1], v.AmountMinor)
	}
	for k, t := range corridors {
		cr.Corridors = append(cr.Corridors, Corridor{From: k.from, To: k.to, Currency: k.ccy, Count: t[0], Amount: money(k.ccy, t[1])})
	}
	slices.SortFunc(cr.Corridors, func(a, b Corridor) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Currency, b.Currency))
	})

	type rateKey struct{ sell, buy, rate, provider string }
	rates := map[rateKey]*[3]int64{}
	for _, v := range in.Activity.FX {
		if !v.Touches(j) {
			continue
		}
		k := rateKey{v.SellCurrency, v.BuyCurrency, v.Rate, v.Provider}
		t := entry(rates, k)
		t[0], t[1], t[2] = sum(t[0], v.Count), sum(t[1], v.SellMinor), sum(t[2], v.BuyMinor)
	}
	for k, t := range rates {
		cr.FXRates = append(cr.FXRates, FXRate{SellCurrency: k.sell, BuyCurrency: k.buy, Rate: k.rate, Provider: k.provider,
			Count: t[0], SellAmount: money(k.sell, t[1]), BuyAmount: money(k.buy, t[2])})
	}
	slices.SortFunc(cr.FXRates, func(a, b FXRate) int {
		return cmp.Or(cmp.Compare(a.SellCurrency, b.SellCurrency), cmp.Compare(a.BuyCurrency, b.BuyCurrency),
			cmp.Compare(a.Rate, b.Rate), cmp.Compare(a.Provider, b.Provider))
	})

	// Payments per currency: held, settled, failed from the postings;
	// pending from escrow at the close.
	type tallyKey struct {
		ccy  string
		what int // 0 held, 1 settled, 2 failed, 3 pending
	}
	tallies := map[tallyKey]*[2]int64{}
	for _, f := range in.Activity.Flows {
		if !f.Touches(j) {
			continue
		}
		what := -1
		switch f.Kind {
		case clearing.PostHold, clearing.PostFXDelivery:
			what = 0
		case clearing.PostRelease:
			what = 1
		case clearing.PostRefund, clearing.PostFXGiveBack:
			what = 2
		}
		if what >= 0 {
			t := entry(tallies, tallyKey{f.Currency, what})
			t[0], t[1] = sum(t[0], f.Payments), sum(t[1], f.AmountMinor)
		}
	}
	type bucketKey struct {
		ccy    string
		bucket int
	}
	buckets := map[bucketKey]*[2]int64{}
	for _, e := range in.Activity.Escrow {
		if !e.Touches(j) {
			continue
		}
		if e.Bucket < 0 || e.Bucket >= len(AgeLabels) {
			return Report{}, fmt.Errorf("cycle %d: escrow age bucket %d is not one of %v", c.ID, e.Bucket, AgeLabels)
		}
		b := entry(buckets, bucketKey{e.Currency, e.Bucket})
		b[0], b[1] = sum(b[0], e.Count), sum(b[1], e.AmountMinor)
		t := entry(tallies, tallyKey{e.Currency, 3})
		t[0], t[1] = sum(t[0], e.Count), sum(t[1], e.AmountMinor)
	}
	for _, ccy := range currencies(tallies, func(k tallyKey) string { return k.ccy }) {
		tally := func(what int) Tally {
			t := tallies[tallyKey{ccy, what}]
			if t == nil {
				return Tally{Amount: money(ccy, 0)}
			}
			return Tally{Count: t[0], Amount: money(ccy, t[1])}
		}
		cr.Payments = append(cr.Payments, PaymentTotals{Currency: ccy, Held: tally(0), Settled: tally(1), Failed: tally(2), Pending: tally(3)})
	}
	for _, ccy := range currencies(buckets, func(k bucketKey) string { return k.ccy }) {
		e := Escrow{Currency: ccy, Ageing: make([]AgeBucket, len(AgeLabels))}
		var balance int64
		for i, label := range AgeLabels {
			e.Ageing[i] = AgeBucket{Age: label, Amount: money(ccy, 0)}
			if b := buckets[bucketKey{ccy, i}]; b != nil {
				e.Ageing[i] = AgeBucket{Age: label, Count: b[0], Amount: money(ccy, b[1])}
				e.Count, balance = sum(e.Count, b[0]), sum(balance, b[1])
			}
		}
		e.Balance = money(ccy, balance)
		cr.Escrow = append(cr.Escrow, e)
	}

	type disputeKey struct {
		ccy string
		typ clearing.EventType
	}
	disputes := map[disputeKey]*[2]int64{}
	for _, d := range in.Activity.Disputes {
		if d.Touches(j) {
			t := entry(disputes, disputeKey{d.Currency, d.Type})
			t[0], t[1] = sum(t[0], d.Count), sum(t[1], d.AmountMinor)
		}
	}
	for _, ccy := range currencies(disputes, func(k disputeKey) string { return k.ccy }) {
		tally := func(typ clearing.EventType) Tally {
			if t := disputes[disputeKey{ccy, typ}]; t != nil {
				return Tally{Count: t[0], Amount: money(ccy, t[1])}
			}
			return Tally{Amount: money(ccy, 0)}
		}
		cr.Disputes = append(cr.Disputes, Disputes{Currency: ccy, Opened: tally(clearing.EventDisputed),
			ResolvedRelease: tally(clearing.EventResolvedRelease), ResolvedRefund: tally(clearing.EventResolvedRefund)})
	}
	if err != nil {
		return Report{}, err
	}
	if len(cr.Positions)+len(cr.Corridors)+len(cr.FXRates)+len(cr.Payments)+len(cr.Escrow)+len(cr.Disputes) == 0 {
		r.Nil = true // the participants alone are no activity
		return r, nil
	}
	r.Cycle = &cr
	return r, nil
}

// entry returns m[k], creating it.
func entry[K comparable, V any](m map[K]*V, k K) *V {
	v, ok := m[k]
	if !ok {
		v = new(V)
		m[k] = v
	}
	return v
}

// currencies are the distinct currencies among m's keys, sorted.
func currencies[K comparable, V any](m map[K]V, ccy func(K) string) []string {
	var out []string
	for k := range m {
		if c := ccy(k); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crossclear/crossclear/clearing"
)

// PaymentDetail loads a payment with its events and its posting legs in
// one round trip: the events and legs come aggregated as JSON columns of
// the payment's row (each engine has its own JSON functions).
func (s *Store) PaymentDetail(ctx context.Context, id string) (clearing.Payment, []clearing.Event, []Leg, error) {
	var row struct {
		paymentRow
		Events string `bun:"events_json"`
		Legs   string `bun:"legs_json"`
	}
	obj, agg := "json_object", "json_group_array"
	if s.postgres {
		obj, agg = "json_build_object", "json_agg"
	}
	events := fmt.Sprintf(`(SELECT COALESCE(%s(%s('seq', e.seq, 'type', e.type, 'from', e.from_state, 'to', e.to_state,
		'amount', e.amount_minor, 'actor', e.actor, 'reason', e.reason, 'at', e.at)), '[]') FROM payment_events AS e WHERE e.payment_id = p.id)`, agg, obj)
	legs := fmt.Sprintf(`(SELECT COALESCE(%s(%s('seq', po.seq, 'leg', po.leg, 'cycle', po.cycle_id, 'kind', po.kind, 'currency', po.currency,
		'debit', po.debit, 'credit', po.credit, 'amount', po.amount_minor, 'at', po.at)), '[]') FROM postings AS po WHERE po.payment_id = p.id)`, agg, obj)
	err := s.conn(ctx).NewSelect().TableExpr("payments AS p").ColumnExpr("p.*").
		ColumnExpr(events+" AS events_json").ColumnExpr(legs+" AS legs_json").
		Where("p.id = ?", id).Limit(1).Scan(ctx, &row)
	if isNoRows(err) {
		return clearing.Payment{}, nil, nil, notFound("payment", "id", id)
	}
	if err != nil {
		return clearing.Payment{}, nil, nil, fmt.Errorf("load payment %s: %w", id, err)
	}
	var evs []struct {
		Seq            int
		Type, From, To string
		Amount         int64
		Actor, Reason  string
		At             jsonTime
	}
	if err := json.Unmarshal([]byte(row.Events), &evs); err != nil {
		return clearing.Payment{}, nil, nil, fmt.Errorf("decode events of %s: %w", id, err)
	}
	var lgs []struct {
		Seq, Leg                      int
		Cycle                         int64
		Kind, Currency, Debit, Credit string
		Amount                        int64
		At                            jsonTime
	}
	if err := json.Unmarshal([]byte(row.Legs), &lgs); err != nil {
		return clearing.Payment{}, nil, nil, fmt.Errorf("decode legs of %s: %w", id, err)
	}
	outEvents := make([]clearing.Event, len(evs))
	for i, e := range evs {
		outEvents[i] = clearing.Event{PaymentID: id, Seq: e.Seq, Type: clearing.EventType(e.Type), From: clearing.State(e.From), To: clearing.State(e.To),
			AmountMinor: e.Amount, Actor: e.Actor, Reason: e.Reason, At: time.Time(e.At)}
	}
	slices.SortFunc(outEvents, func(a, b clearing.Event) int { return a.Seq - b.Seq })
	outLegs := make([]Leg, len(lgs))
	for i, l := range lgs {
		outLegs[i] = Leg{Posting: clearing.Posting{PaymentID: id, Kind: clearing.PostingKind(l.Kind), Currency: l.Currency, Debit: l.Debit,
			Credit: l.Credit, AmountMinor: l.Amount}, Seq: l.Seq, Leg: l.Leg, CycleID: l.Cycle, At: time.Time(l.At)}
	}
	slices.SortFunc(outLegs, func(a, b Leg) int {
		if a.Seq != b.Seq {
			return a.Seq - b.Seq
		}
		return a.Leg - b.Leg
	})
	return row.paymentRow.domain(), outEvents, outLegs, nil
}

// jsonTime reads a timestamp as each engine writes it into JSON:
// PostgreSQL in RFC 3339, SQLite as stored ("2006-01-02 15:04:05.999999-07:00").
type jsonTime time.Time

func (t *jsonTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999"} {
		if v, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			*t = jsonTime(v.UTC())
			return nil
		}
	}
	return fmt.Errorf("timestamp %q in an unknown layout", s)
}

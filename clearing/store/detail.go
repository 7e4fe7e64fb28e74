package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crossclear/crossclear/clearing"
)

// PaymentDetail loads a payment with its events and its posting legs in
// one round trip: the events and legs come aggregated as JSON columns of
// the payment's row (each engine has its own JSON functions), read by
// decodeFlatArray. The query is a hotQuery: bound, and prepared on SQLite.
func (s *Store) PaymentDetail(ctx context.Context, id string) (clearing.Payment, []clearing.Event, []Leg, error) {
	var row struct {
		paymentRow
		Events string `bun:"events_json"`
		Legs   string `bun:"legs_json"`
	}
	rows, err := s.query(ctx, &s.detail, id)
	if err != nil {
		return clearing.Payment{}, nil, nil, fmt.Errorf("load payment %s: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return clearing.Payment{}, nil, nil, fmt.Errorf("load payment %s: %w", id, err)
		}
		return clearing.Payment{}, nil, nil, notFound("payment", "id", id)
	}
	if err := s.db.ScanRow(ctx, rows, &row); err != nil {
		return clearing.Payment{}, nil, nil, fmt.Errorf("load payment %s: %w", id, err)
	}
	events, err := decodeEvents(id, row.Events)
	if err != nil {
		return clearing.Payment{}, nil, nil, fmt.Errorf("decode events of %s: %w", id, err)
	}
	legs, err := decodeLegs(id, row.Legs)
	if err != nil {
		return clearing.Payment{}, nil, nil, fmt.Errorf("decode legs of %s: %w", id, err)
	}
	return row.paymentRow.domain(), events, legs, nil
}

// paymentDetailQuery is PaymentDetail's query in the engine's SQL.
func paymentDetailQuery(postgres bool) string {
	obj, agg, param := "json_object", "json_group_array", "?"
	if postgres {
		obj, agg, param = "json_build_object", "json_agg", "$1"
	}
	events := fmt.Sprintf(`(SELECT COALESCE(%s(%s('seq', e.seq, 'type', e.type, 'from', e.from_state, 'to', e.to_state,
		'amount', e.amount_minor, 'actor', e.actor, 'reason', e.reason, 'at', e.at)), '[]') FROM payment_events AS e WHERE e.payment_id = p.id)`, agg, obj)
	legs := fmt.Sprintf(`(SELECT COALESCE(%s(%s('seq', po.seq, 'leg', po.leg, 'cycle', po.cycle_id, 'kind', po.kind, 'currency', po.currency,
		'debit', po.debit, 'credit', po.credit, 'amount', po.amount_minor, 'at', po.at)), '[]') FROM postings AS po WHERE po.payment_id = p.id)`, agg, obj)
	return "SELECT p.*, " + events + " AS events_json, " + legs + " AS legs_json FROM payments AS p WHERE p.id = " + param + " LIMIT 1"
}

// decodeEvents reads a payment's aggregated events, in order.
func decodeEvents(id, data string) ([]clearing.Event, error) {
	var out []clearing.Event
	var e *clearing.Event
	err := decodeFlatArray(data, func() {
		out = append(out, clearing.Event{PaymentID: id})
		e = &out[len(out)-1]
	}, func(key string, v flatValue) error {
		switch key {
		case "seq":
			return setInt(v, &e.Seq)
		case "type":
			return v.setString((*string)(&e.Type))
		case "from":
			return v.setString((*string)(&e.From))
		case "to":
			return v.setString((*string)(&e.To))
		case "amount":
			return setInt(v, &e.AmountMinor)
		case "actor":
			return v.setString(&e.Actor)
		case "reason":
			return v.setString(&e.Reason)
		case "at":
			return v.setTime(&e.At)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []clearing.Event{}
	}
	slices.SortFunc(out, func(a, b clearing.Event) int { return a.Seq - b.Seq })
	return out, nil
}

// decodeLegs reads a payment's aggregated posting legs, in order.
func decodeLegs(id, data string) ([]Leg, error) {
	var out []Leg
	var l *Leg
	err := decodeFlatArray(data, func() {
		out = append(out, Leg{Posting: clearing.Posting{PaymentID: id}})
		l = &out[len(out)-1]
	}, func(key string, v flatValue) error {
		switch key {
		case "seq":
			return setInt(v, &l.Seq)
		case "leg":
			return setInt(v, &l.Leg)
		case "cycle":
			return setInt(v, &l.CycleID)
		case "kind":
			return v.setString((*string)(&l.Kind))
		case "currency":
			return v.setString(&l.Currency)
		case "debit":
			return v.setString(&l.Debit)
		case "credit":
			return v.setString(&l.Credit)
		case "amount":
			return setInt(v, &l.AmountMinor)
		case "at":
			return v.setTime(&l.At)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []Leg{}
	}
	slices.SortFunc(out, func(a, b Leg) int {
		if a.Seq != b.Seq {
			return a.Seq - b.Seq
		}
		return a.Leg - b.Leg
	})
	return out, nil
}

// setTime reads a timestamp as each engine writes it into JSON:
// PostgreSQL in RFC 3339, SQLite as stored ("2006-01-02 15:04:05.999999-07:00").
// Unlike a string field, a timestamp must be there: null is refused.
func (v flatValue) setTime(dst *time.Time) error {
	if v.kind != '"' {
		return errors.New("a timestamp must be a string")
	}
	s := strings.TrimSpace(v.str)
	layouts := []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", time.RFC3339Nano}
	if len(s) > 10 && s[10] == 'T' { // only RFC 3339 has it: try that first
		layouts = []string{time.RFC3339Nano}
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, s); err == nil {
			*dst = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("timestamp %q in an unknown layout", s)
}

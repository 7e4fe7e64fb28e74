package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/crossclear/crossclear/clearing"
)

// TestDecodeFlatArrayMatchesEncodingJSON: decodeEvents and decodeLegs give
// exactly what encoding/json gives decoding the same aggregates into
// structs (the reference below is how PaymentDetail decoded them before),
// and refuse what it refuses — on written cases (both engines' layouts,
// unicode, every escape, lone surrogates, invalid UTF-8, empty lists,
// nulls, malformed JSON) and on random events and legs written four ways.
func TestDecodeFlatArrayMatchesEncodingJSON(t *testing.T) {
	const id = "pay-1"
	events := []string{
		``, `[]`, ` [ ] `, "\n[\n]\n", `null`, `nul`, `[`, `]`, `{}`, `[{}]`, `[{}, {}]`, `[[]]`, `["x"]`, `[1]`, `[{},]`, `[{}]x`, `[{}] `,
		// PostgreSQL's json_agg of json_build_object
		`[{"seq" : 2, "type" : "release", "from" : "held", "to" : "released", "amount" : 2500, "actor" : "bank:b1", "reason" : "first parcel", "at" : "2026-12-06T13:18:15.123456+00:00"}, 
 {"seq" : 1, "type" : "hold", "from" : "", "to" : "held", "amount" : 10000, "actor" : "bank:b1", "reason" : "", "at" : "2026-12-06T12:00:00+01:00"}]`,
		// SQLite's json_group_array of json_object
		`[{"seq":1,"type":"hold","from":"","to":"held","amount":10000,"actor":"bank:b1","reason":"","at":"2026-12-06 13:18:15.123456+00:00"},{"seq":2,"type":"dispute","from":"held","to":"disputed","amount":0,"actor":"bank:b1","reason":"second parcel missing, \"quoted\"","at":"2026-12-06 13:18:16"}]`,
		`[{"reason":"é 日本 😀 \u00e9\u65e5\ud83d\ude00 \"\\\/\b\f\n\r\t", "at":"2026-12-06T13:18:15Z"}]`,
		`[{"reason":"lone \ud800 and \udc00, \ud800\u0041, \ud83d\ud83d\ude00, \uD83D\uDE00, \ud800\u12", "at":"2026-12-06T13:18:15Z"}]`,
		"[{\"reason\":\"invalid \xff \xc3 \xed\xa0\x80 utf-8 \xe6\x97\", \"at\":\"2026-12-06T13:18:15Z\"}]",
		"[{\"reason\":\"valid é\xe6\x97\xa5\", \"actor\":\"\", \"at\":\"2026-12-06T13:18:15Z\"}]",
		`[{"seq":-0,"amount":-9223372036854775808,"at":"2026-12-06T13:18:15Z"}]`,
		`[{"seq":3,"amount":9223372036854775807,"at":"2026-12-06T13:18:15Z"}]`,
		`[{"seq":null,"type":null,"reason":null,"at":"2026-12-06T13:18:15Z"}]`,
		`[{"seq":1,"seq":2,"reason":"a","reason":"b","unknown":"x","other":7,"gone":null,"at":"2026-12-06T13:18:15Z"}]`,
		`[{"seq":1}]`, `[{"at":null}]`, `[{"at":5}]`, `[{"at":"yesterday"}]`, `[{"at":" 2026-12-06 13:18:15 "}]`,
		`[{"amount":9223372036854775808}]`, `[{"amount":1.5}]`, `[{"amount":1e3}]`, `[{"amount":1E3}]`, `[{"amount":01}]`, `[{"amount":-}]`,
		`[{"amount":"5"}]`, `[{"reason":5}]`, `[{"reason":true}]`, `[{"reason":"a"b}]`, `[{"reason":"tab	raw"}]`, `[{"reason":"\x"}]`,
		`[{"reason":"\u12G4"}]`, `[{"reason":"unterminated}]`, `[{"reason" "x"}]`, `[{"reason":"x",}]`, `[{"reason":"x" "seq":1}]`, `[{seq:1}]`,
		`[{"re\u0061son":"escaped key","at":"2026-12-06T13:18:15Z"}]`,
	}
	legs := []string{
		``, `[]`, `null`, `[{}]`,
		`[{"seq" : 1, "leg" : 0, "cycle" : 7, "kind" : "hold", "currency" : "EUR", "debit" : "b1", "credit" : "escrow", "amount" : 10000, "at" : "2026-12-06T13:18:15.123456+00:00"}, 
 {"seq" : 1, "leg" : 1, "cycle" : 7, "kind" : "fee", "currency" : "EUR", "debit" : "b1", "credit" : "fees", "amount" : 12, "at" : "2026-12-06T13:18:15.123456+00:00"}]`,
		`[{"seq":2,"leg":0,"cycle":7,"kind":"release","currency":"EUR","debit":"escrow","credit":"b2","amount":2500,"at":"2026-12-06 13:18:15.5+00:00"},{"seq":1,"leg":3,"cycle":7,"kind":"hold","currency":"EUR","debit":"b1","credit":"escrow","amount":10000,"at":"2026-12-06 13:18:15+00:00"},{"seq":1,"leg":1,"cycle":7,"kind":"hold","currency":"EUR","debit":"b1","credit":"escrow","amount":1,"at":"2026-12-06 13:18:15+00:00"}]`,
		`[{"cycle":"7"}]`, `[{"leg":1.0}]`, `[{"debit":"b\u00fcrger \ud83d\ude00","at":"2026-12-06T13:18:15Z"}]`,
	}
	for _, data := range events {
		compareDecoders(t, data, func() (any, error) { return decodeEvents(id, data) }, func() (any, error) { return referenceEvents(id, data) })
	}
	for _, data := range legs {
		compareDecoders(t, data, func() (any, error) { return decodeLegs(id, data) }, func() (any, error) { return referenceLegs(id, data) })
	}

	rng := rand.New(rand.NewPCG(17, 2))
	for range 300 {
		evs := make([]map[string]any, rng.IntN(6))
		for i := range evs {
			evs[i] = map[string]any{"seq": rng.IntN(20) - 2, "type": randomText(rng), "from": randomText(rng), "to": randomText(rng),
				"amount": rng.Int64() - rng.Int64(), "actor": randomText(rng), "reason": randomText(rng), "at": randomTime(rng)}
		}
		lgs := make([]map[string]any, rng.IntN(6))
		for i := range lgs {
			lgs[i] = map[string]any{"seq": rng.IntN(4), "leg": rng.IntN(4), "cycle": rng.Int64(), "kind": randomText(rng), "currency": randomText(rng),
				"debit": randomText(rng), "credit": randomText(rng), "amount": rng.Int64(), "at": randomTime(rng)}
		}
		for style := range 4 {
			ev, lg := writeObjects(rng, evs, style), writeObjects(rng, lgs, style)
			compareDecoders(t, ev, func() (any, error) { return decodeEvents(id, ev) }, func() (any, error) { return referenceEvents(id, ev) })
			compareDecoders(t, lg, func() (any, error) { return decodeLegs(id, lg) }, func() (any, error) { return referenceLegs(id, lg) })
		}
	}
}

func compareDecoders(t *testing.T, data string, decode, reference func() (any, error)) {
	t.Helper()
	got, err := decode()
	want, wantErr := reference()
	switch {
	case (err == nil) != (wantErr == nil):
		t.Errorf("%q: error %v, encoding/json's %v", data, err, wantErr)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Errorf("%q:\n got %#v\nwant %#v", data, got, want)
	}
}

// randomText is a string of pieces JSON treats specially: quotes,
// backslashes, control characters, multi-byte runes, U+2028, invalid UTF-8.
func randomText(rng *rand.Rand) string {
	pieces := []string{"a", "Z", " ", "0", `"`, `\`, "/", "\x00", "\n", "\t", "\x1f", "\x7f", "é", "日本", "😀", "\u2028", "\ufffd", "\xff", "\xc3", "<&>"}
	var b strings.Builder
	for range rng.IntN(8) {
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.String()
}

// randomTime is a timestamp in one of the engines' layouts.
func randomTime(rng *rand.Rand) string {
	t := time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(time.FixedZone("", (rng.IntN(25)-12)*3600))
	return t.Format([]string{time.RFC3339Nano, "2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05"}[rng.IntN(3)])
}

// writeObjects writes objs as a JSON array: style 0 compact, 1 spaced as
// PostgreSQL writes, 2 with every non-ASCII rune and some ASCII escaped
// (surrogate pairs included), 3 with a lone surrogate escape or invalid
// UTF-8 left raw in strings.
func writeObjects(rng *rand.Rand, objs []map[string]any, style int) string {
	var b strings.Builder
	b.WriteString("[")
	for i, o := range objs {
		if i > 0 {
			b.WriteString([]string{",", ", \n ", ",", ","}[style])
		}
		b.WriteString("{")
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		for j, k := range keys {
			if j > 0 {
				b.WriteString([]string{",", ", ", ",", ","}[style])
			}
			b.WriteString(strconv.Quote(k))
			b.WriteString([]string{":", " : ", ":", ":"}[style])
			switch v := o[k].(type) {
			case string:
				writeString(&b, rng, v, style)
			default:
				fmt.Fprint(&b, v)
			}
		}
		b.WriteString("}")
	}
	b.WriteString("]")
	return b.String()
}

func writeString(b *strings.Builder, rng *rand.Rand, s string, style int) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r < ' ':
			fmt.Fprintf(b, `\u%04x`, r)
		case style == 2 && (r >= utf8.RuneSelf || rng.IntN(4) == 0):
			if r == utf8.RuneError && size == 1 {
				fmt.Fprintf(b, `\u%04X`, utf8.RuneError)
			} else if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				fmt.Fprintf(b, `\u%04x\u%04X`, r1, r2)
			} else {
				fmt.Fprintf(b, `\u%04x`, r)
			}
		case style == 3 && rng.IntN(8) == 0:
			b.WriteString([]string{`\ud83d`, `\ude00`, "\xff", `\ud83d\u0041`}[rng.IntN(4)])
			b.WriteString(s[i : i+size])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

// referenceEvents and referenceLegs decode as PaymentDetail did before
// decodeFlatArray: encoding/json into structs.
func referenceEvents(id, data string) ([]clearing.Event, error) {
	var evs []struct {
		Seq            int
		Type, From, To string
		Amount         int64
		Actor, Reason  string
		At             referenceTime
	}
	if err := json.Unmarshal([]byte(data), &evs); err != nil {
		return nil, err
	}
	out := make([]clearing.Event, len(evs))
	for i, e := range evs {
		out[i] = clearing.Event{PaymentID: id, Seq: e.Seq, Type: clearing.EventType(e.Type), From: clearing.State(e.From), To: clearing.State(e.To),
			AmountMinor: e.Amount, Actor: e.Actor, Reason: e.Reason, At: time.Time(e.At)}
	}
	slices.SortFunc(out, func(a, b clearing.Event) int { return a.Seq - b.Seq })
	return out, nil
}

func referenceLegs(id, data string) ([]Leg, error) {
	var lgs []struct {
		Seq, Leg                      int
		Cycle                         int64
		Kind, Currency, Debit, Credit string
		Amount                        int64
		At                            referenceTime
	}
	if err := json.Unmarshal([]byte(data), &lgs); err != nil {
		return nil, err
	}
	out := make([]Leg, len(lgs))
	for i, l := range lgs {
		out[i] = Leg{Posting: clearing.Posting{PaymentID: id, Kind: clearing.PostingKind(l.Kind), Currency: l.Currency, Debit: l.Debit,
			Credit: l.Credit, AmountMinor: l.Amount}, Seq: l.Seq, Leg: l.Leg, CycleID: l.Cycle, At: time.Time(l.At)}
	}
	slices.SortFunc(out, func(a, b Leg) int {
		if a.Seq != b.Seq {
			return a.Seq - b.Seq
		}
		return a.Leg - b.Leg
	})
	return out, nil
}

type referenceTime time.Time

func (t *referenceTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999"} {
		if v, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			*t = referenceTime(v.UTC())
			return nil
		}
	}
	return fmt.Errorf("timestamp %q in an unknown layout", s)
}

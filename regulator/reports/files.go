package reports

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Format is a rendering of a report.
type Format string

const (
	FormatJSON Format = "json" // canonical JSON: the authoritative form
	FormatCSV  Format = "csv"  // one figure per row
)

// Formats are the renderings every report has, in entry order.
var Formats = []Format{FormatJSON, FormatCSV}

// ContentType is the media type a format is served with.
func (f Format) ContentType() string {
	if f == FormatCSV {
		return "text/csv; charset=utf-8"
	}
	return "application/json"
}

// File is one rendering of a report: exact bytes and their SHA-256.
type File struct {
	Format  Format
	Name    string // "SG-cycle-42.json"
	Content []byte
	SHA256  string // hex
}

// Render produces r's files, in Formats order.
func Render(r Report) ([]File, error) {
	js, err := Canonical(r)
	if err != nil {
		return nil, fmt.Errorf("report %s as JSON: %w", r.ID, err)
	}
	cs, err := renderCSV(r)
	if err != nil {
		return nil, fmt.Errorf("report %s as CSV: %w", r.ID, err)
	}
	return []File{newFile(r.ID, FormatJSON, js), newFile(r.ID, FormatCSV, cs)}, nil
}

func newFile(id string, f Format, content []byte) File {
	sum := sha256.Sum256(content)
	return File{Format: f, Name: id + "." + string(f), Content: content, SHA256: hex.EncodeToString(sum[:])}
}

// EntrySchema names the log entry format.
const EntrySchema = "crossclear/regulator-log-entry/v1"

// Entry is a report's leaf in the Merkle log: who and what period it is
// for, its number, and the SHA-256 of each of its files. Its canonical JSON
// is the leaf's data, so a file is in the log when its hash is in an entry
// that is.
type Entry struct {
	Schema       string      `json:"schema"`
	ID           string      `json:"id"`
	Jurisdiction string      `json:"jurisdiction"`
	Kind         Kind        `json:"kind"`
	Period       string      `json:"period"`
	Seq          int64       `json:"seq"`
	Nil          bool        `json:"nil"`
	Files        []EntryFile `json:"files"`
}

// EntryFile is one file of a report as its entry names it.
type EntryFile struct {
	Format Format `json:"format"`
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// NewEntry is r's entry over its files.
func NewEntry(r Report, files []File) Entry {
	e := Entry{Schema: EntrySchema, ID: r.ID, Jurisdiction: r.Jurisdiction, Kind: r.Kind, Period: r.Period, Seq: r.Seq, Nil: r.Nil}
	for _, f := range files {
		e.Files = append(e.Files, EntryFile{Format: f.Format, Name: f.Name, SHA256: f.SHA256, Size: int64(len(f.Content))})
	}
	return e
}

// Marshal is the entry's canonical JSON: the leaf data.
func (e Entry) Marshal() ([]byte, error) { return Canonical(e) }

// ParseEntry reads a leaf back. It must be exactly the canonical form of
// a known schema: a leaf that decodes but is not what crossclear writes is
// refused rather than interpreted.
func ParseEntry(leaf []byte) (Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(leaf))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Entry{}, fmt.Errorf("log entry: %w", err)
	}
	if e.Schema != EntrySchema {
		return Entry{}, fmt.Errorf("log entry: schema %q, expected %q", e.Schema, EntrySchema)
	}
	again, err := e.Marshal()
	if err != nil || !bytes.Equal(again, leaf) {
		return Entry{}, fmt.Errorf("log entry for %s is not in canonical form", e.ID)
	}
	return e, nil
}

// File returns the entry's file of format f.
func (e Entry) File(f Format) (EntryFile, bool) {
	for _, ef := range e.Files {
		if ef.Format == f {
			return ef, true
		}
	}
	return EntryFile{}, false
}

// renderCSV writes one row per figure: section, key (what the row is
// about within the section), currency (of the value, when money), measure,
// value. The same rows come from every report, so a regulator's
// spreadsheet can pivot them without knowing the JSON.
func renderCSV(r Report) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	row := func(section, key, ccy, measure, value string) {
		_ = w.Write([]string{section, key, ccy, measure, value})
	}
	row("section", "key", "currency", "measure", "value")
	row("report", "", "", "id", r.ID)
	row("report", "", "", "jurisdiction", r.Jurisdiction)
	row("report", "", "", "kind", string(r.Kind))
	row("report", "", "", "period", r.Period)
	row("report", "", "", "period_start", r.PeriodStart.UTC().Format(time.RFC3339Nano))
	row("report", "", "", "period_end", r.PeriodEnd.UTC().Format(time.RFC3339Nano))
	row("report", "", "", "seq", strconv.FormatInt(r.Seq, 10))
	row("report", "", "", "nil", strconv.FormatBool(r.Nil))
	if c := r.Cycle; c != nil {
		for _, p := range c.Participants {
			row("participant", p.ID, "", "name", p.Name)
			row("participant", p.ID, "", "kind", p.Kind)
			row("participant", p.ID, "", "country", p.Country)
		}
		for _, p := range c.Positions {
			row("position", p.Participant, p.Currency, "paid", p.Paid)
			row("position", p.Participant, p.Currency, "received", p.Received)
			row("position", p.Participant, p.Currency, "net", p.Net)
		}
		for _, k := range c.Corridors {
			key := k.From + "-" + k.To
			row("corridor", key, k.Currency, "count", strconv.FormatInt(k.Count, 10))
			row("corridor", key, k.Currency, "amount", k.Amount)
		}
		for _, f := range c.FXRates {
			key := f.SellCurrency + "/" + f.BuyCurrency + " " + f.Rate + " " + f.Provider
			row("fx_rate", key, "", "count", strconv.FormatInt(f.Count, 10))
			row("fx_rate", key, f.SellCurrency, "sell_amount", f.SellAmount)
			row("fx_rate", key, f.BuyCurrency, "buy_amount", f.BuyAmount)
		}
		for _, p := range c.Payments {
			for _, t := range []struct {
				key string
				t   Tally
			}{{"held", p.Held}, {"settled", p.Settled}, {"failed", p.Failed}, {"pending", p.Pending}} {
				row("payments", t.key, p.Currency, "count", strconv.FormatInt(t.t.Count, 10))
				row("payments", t.key, p.Currency, "amount", t.t.Amount)
			}
		}
		for _, e := range c.Escrow {
			row("escrow", "total", e.Currency, "count", strconv.FormatInt(e.Count, 10))
			row("escrow", "total", e.Currency, "balance", e.Balance)
			for _, a := range e.Ageing {
				row("escrow", a.Age, e.Currency, "count", strconv.FormatInt(a.Count, 10))
				row("escrow", a.Age, e.Currency, "amount", a.Amount)
			}
		}
		for _, d := range c.Disputes {
			for _, t := range []struct {
				key string
				t   Tally
			}{{"opened", d.Opened}, {"resolved_release", d.ResolvedRelease}, {"resolved_refund", d.ResolvedRefund}} {
				row("disputes", t.key, d.Currency, "count", strconv.FormatInt(t.t.Count, 10))
				row("disputes", t.key, d.Currency, "amount", t.t.Amount)
			}
		}
	}
	if d := r.Day; d != nil {
		for _, sec := range []struct {
			name   string
			events []ComplianceEvent
		}{{"large_value", d.LargeValue}, {"sanctions_hit", d.SanctionsHits}, {"travel_rule_exception", d.TravelRule}, {"suspicious", d.Suspicious}} {
			for _, e := range sec.events {
				row(sec.name, e.Payment, "", "screening_id", e.Screening)
				row(sec.name, e.Payment, "", "flags", strings.Join(e.Flags, " "))
				row(sec.name, e.Payment, "", "outcome", e.Outcome)
				row(sec.name, e.Payment, "", "status", e.Status)
				row(sec.name, e.Payment, "", "buyer_bank", e.BuyerBank)
				row(sec.name, e.Payment, "", "merchant_bank", e.MerchantBank)
				row(sec.name, e.Payment, "", "merchant", e.Merchant)
				row(sec.name, e.Payment, e.Currency, "amount", e.Amount)
				if e.BaseCurrency != "" {
					row(sec.name, e.Payment, e.BaseCurrency, "base_amount", e.BaseAmount)
				}
				row(sec.name, e.Payment, "", "screened_at", e.ScreenedAt.Format(time.RFC3339Nano))
				if res := e.Resolution; res != nil {
					row(sec.name, e.Payment, "", "resolved_by", res.By)
					row(sec.name, e.Payment, "", "resolved_at", res.At.Format(time.RFC3339Nano))
					row(sec.name, e.Payment, "", "comment", res.Comment)
					if res.HoldError != "" {
						row(sec.name, e.Payment, "", "hold_error", res.HoldError)
					}
				}
				for _, rs := range e.Reasons {
					row(sec.name, e.Payment, "", "reason", rs.Code+" "+rs.Outcome+": "+rs.Message)
				}
				for _, m := range e.Matches {
					row(sec.name, e.Payment, "", "match", m.List+" "+m.EntryID+" "+m.EntryName+" score "+m.Score)
				}
			}
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

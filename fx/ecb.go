package fx

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// SourceECB is the Source of the European Central Bank's euro reference rates.
const SourceECB = "ecb"

// ECBDailyURL is where the ECB publishes today's reference rates.
const ECBDailyURL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"

// MaxECBBytes bounds the input of ParseECB: the daily file is about 1.5 KiB,
// the 90-day history about 100 KiB.
const MaxECBBytes = 1 << 20

// ecbWithdrawn are codes the ECB has published that are no longer active
// ISO 4217 currencies (euro adopters, redenominations). ParseECB skips them
// (history files contain them); any other unknown code is an error.
var ecbWithdrawn = map[string]bool{
	"BGN": true, "CYP": true, "EEK": true, "HRK": true, "LTL": true, "LVL": true,
	"MTL": true, "ROL": true, "SIT": true, "SKK": true, "TRL": true,
}

// ecbLocation is Frankfurt's time zone, or CET as a fixed +01:00 offset when
// the system has no time zone data.
var ecbLocation = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Berlin"); err == nil {
		return loc
	}
	return time.FixedZone("CET", 60*60)
})

type ecbDocument struct {
	XMLName xml.Name
	Outer   []struct {
		Days []struct {
			Time  string `xml:"time,attr"`
			Rates []struct {
				Currency string `xml:"currency,attr"`
				Rate     string `xml:"rate,attr"`
			} `xml:"Cube"`
		} `xml:"Cube"`
	} `xml:"Cube"`
}

// ParseECB reads the ECB's euro foreign exchange reference rates in the
// format of eurofxref-daily.xml (gesmes:Envelope / Cube / Cube time=... /
// Cube currency=... rate=...). Several day cubes (the history files) are
// accepted. Every rate is EUR-based with Bid == Ask == the reference rate,
// Source "ecb", AsOf the day at 16:00 Frankfurt time (when the ECB publishes;
// a fixed +01:00 if the system has no time zone data), and ValidUntil AsOf +
// validity.
//
// At most MaxECBBytes are read. It refuses malformed XML and anything after
// the document, a missing or malformed date, a missing, malformed, non-positive
// or absurdly precise rate, a currency listed twice in a day, and currency
// codes that are not active ISO 4217 codes, except codes the ECB once
// published and that have since been withdrawn (HRK, BGN, ...), which are
// skipped. Errors wrap ErrBadECB (and ErrBadRate or ErrUnknownCurrency).
func ParseECB(r io.Reader, validity time.Duration) ([]Rate, error) {
	if validity <= 0 {
		return nil, fmt.Errorf("%w: validity %s must be positive", ErrBadECB, validity)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxECBBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fx: reading ECB rates: %w", err)
	}
	if len(data) > MaxECBBytes {
		return nil, fmt.Errorf("%w: input is larger than %d bytes", ErrBadECB, MaxECBBytes)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var doc ecbDocument
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty document", ErrBadECB)
		}
		return nil, fmt.Errorf("%w: %v", ErrBadECB, err)
	}
	if err := xmlTrailer(dec); err != nil {
		return nil, err
	}
	if doc.XMLName.Local != "Envelope" {
		return nil, fmt.Errorf("%w: root element is <%s>, want <gesmes:Envelope>", ErrBadECB, doc.XMLName.Local)
	}
	if len(doc.Outer) != 1 {
		return nil, fmt.Errorf("%w: %d top-level <Cube> elements, want 1", ErrBadECB, len(doc.Outer))
	}
	days := doc.Outer[0].Days
	if len(days) == 0 {
		return nil, fmt.Errorf("%w: no <Cube time=...> day", ErrBadECB)
	}
	loc := ecbLocation()
	var out []Rate
	seenDay := map[string]bool{}
	for _, day := range days {
		if day.Time == "" {
			return nil, fmt.Errorf("%w: a day <Cube> has no time attribute (want time=\"YYYY-MM-DD\")", ErrBadECB)
		}
		d, err := time.ParseInLocation(time.DateOnly, day.Time, loc)
		if err != nil {
			return nil, fmt.Errorf("%w: time=%q is not a date like 2026-11-20", ErrBadECB, day.Time)
		}
		if seenDay[day.Time] {
			return nil, fmt.Errorf("%w: day %s listed twice", ErrBadECB, day.Time)
		}
		seenDay[day.Time] = true
		if len(day.Rates) == 0 {
			return nil, fmt.Errorf("%w: day %s has no rates", ErrBadECB, day.Time)
		}
		asOf := time.Date(d.Year(), d.Month(), d.Day(), 16, 0, 0, 0, loc)
		seen := map[string]bool{}
		for _, x := range day.Rates {
			code := x.Currency
			if !isCodeShaped(code) {
				return nil, fmt.Errorf("%w: day %s: currency %q is not a three-letter upper-case code", ErrBadECB, day.Time, code)
			}
			if seen[code] {
				return nil, fmt.Errorf("%w: day %s: %s listed twice", ErrBadECB, day.Time, code)
			}
			seen[code] = true
			if _, err := LookupCurrency(code); err != nil {
				if ecbWithdrawn[code] {
					continue
				}
				return nil, fmt.Errorf("%w: day %s: %w", ErrBadECB, day.Time, err)
			}
			pair := Pair{Base: "EUR", Quote: code}
			if x.Rate == "" {
				return nil, fmt.Errorf("%w: day %s: %s has no rate attribute", ErrBadECB, day.Time, pair)
			}
			if !plainDecimal(x.Rate) {
				return nil, fmt.Errorf("%w: day %s: %w %s: rate %q is not a plain decimal like 1.0835", ErrBadECB, day.Time, ErrBadRate, pair, x.Rate)
			}
			v, err := decimal.NewFromString(x.Rate)
			if err != nil {
				return nil, fmt.Errorf("%w: day %s: %w %s: rate %q: %v", ErrBadECB, day.Time, ErrBadRate, pair, x.Rate, err)
			}
			rate := Rate{Pair: pair, Bid: v, Ask: v, Source: SourceECB, AsOf: asOf, ValidUntil: asOf.Add(validity)}
			if err := rate.Validate(); err != nil {
				return nil, fmt.Errorf("%w: day %s: %w", ErrBadECB, day.Time, err)
			}
			out = append(out, rate)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no rate of an active currency", ErrBadECB)
	}
	return out, nil
}

// xmlTrailer refuses anything but white space, comments and processing
// instructions after the root element.
func xmlTrailer(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: after the document: %v", ErrBadECB, err)
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return fmt.Errorf("%w: text after the document", ErrBadECB)
			}
		default:
			return fmt.Errorf("%w: content after the document", ErrBadECB)
		}
	}
}

func isCodeShaped(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// LoadECB reads ECB reference rates from source, an http(s) URL (fetched
// with client, or a client with a 30 s timeout when nil) or a file path, and
// parses them with ParseECB.
func LoadECB(ctx context.Context, source string, client *http.Client, validity time.Duration) ([]Rate, error) {
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		return fetchECB(ctx, source, client, validity)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fx: loading ECB rates from %s: %w", source, err)
	}
	f, err := os.Open(source)
	if err != nil {
		return nil, fmt.Errorf("fx: loading ECB rates: %w", err)
	}
	defer f.Close()
	rates, err := ParseECB(f, validity)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return rates, nil
}

func fetchECB(ctx context.Context, url string, client *http.Client, validity time.Duration) ([]Rate, error) {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fx: loading ECB rates from %s: %w", url, err)
	}
	req.Header.Set("Accept", "application/xml, text/xml")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fx: loading ECB rates: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("fx: loading ECB rates from %s: HTTP %s (want 200 OK)", url, resp.Status)
	}
	rates, err := ParseECB(resp.Body, validity)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return rates, nil
}

package fx

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

const ecbSample = "../testdata/ecb/eurofxref-daily.xml"

func readSample(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(ecbSample)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseECBSample(t *testing.T) {
	rates, err := ParseECB(bytes.NewReader(readSample(t)), dayTV)
	if err != nil {
		t.Fatal(err)
	}
	if len(rates) != 29 {
		t.Fatalf("%d rates, want 29", len(rates))
	}
	want := map[string]string{"USD": "1.0835", "JPY": "162.45", "GBP": "0.84215", "ISK": "146.7", "IDR": "18124.63", "ZAR": "19.8746"}
	seen := map[string]bool{}
	for _, r := range rates {
		if r.Base != "EUR" || r.Source != SourceECB || !r.Bid.Equal(r.Ask) {
			t.Errorf("%v: want EUR base, source ecb, bid == ask", r)
		}
		// 16:00 in Frankfurt, CET (+01:00) in November.
		if !r.AsOf.Equal(t0) || !r.ValidUntil.Equal(t0.Add(dayTV)) {
			t.Errorf("%s: AsOf %s, ValidUntil %s; want %s, %s", r.Pair, r.AsOf, r.ValidUntil, t0, t0.Add(dayTV))
		}
		if err := r.Validate(); err != nil {
			t.Error(err)
		}
		seen[r.Quote] = true
		if w, ok := want[r.Quote]; ok && !r.Bid.Equal(d(w)) {
			t.Errorf("%s = %s, want %s", r.Pair, r.Bid, w)
		}
	}
	for code := range want {
		if !seen[code] {
			t.Errorf("%s missing", code)
		}
	}
	if got := legLabel(rates[0], false); got != "EUR/USD ecb 2026-11-20" {
		t.Errorf("label %q", got)
	}
}

// ecbDoc builds an ECB document around the given day cubes.
func ecbDoc(days string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
	<gesmes:subject>Reference rates</gesmes:subject>
	<Cube>` + days + `</Cube>
</gesmes:Envelope>
`
}

func TestParseECBRefuses(t *testing.T) {
	day := func(rates string) string { return ecbDoc(`<Cube time='2026-11-20'>` + rates + `</Cube>`) }
	usd := `<Cube currency='USD' rate='1.0835'/>`
	sample := string(readSample(t))
	tests := []struct {
		name  string
		doc   string
		extra error
		words []string
	}{
		{"empty", "", nil, []string{"empty"}},
		{"not xml", "USD,1.0835\n", nil, nil},
		{"truncated", sample[:len(sample)/2], nil, nil},
		{"mismatched tags", strings.Replace(sample, "</Cube>\n\t</Cube>", "</Cube>\n\t</Cubes>", 1), nil, nil},
		{"trailing element", sample + "<Cube/>", nil, []string{"after the document"}},
		{"trailing text", sample + "junk", nil, []string{"after the document"}},
		{"wrong root", strings.ReplaceAll(sample, "gesmes:Envelope", "Rates"), nil, []string{"Rates", "Envelope"}},
		{"no outer cube", `<gesmes:Envelope xmlns:gesmes="x"></gesmes:Envelope>`, nil, []string{"0 top-level"}},
		{"no day", ecbDoc(""), nil, []string{"no <Cube time"}},
		{"missing time", ecbDoc(`<Cube>` + usd + `</Cube>`), nil, []string{"no time attribute"}},
		{"bad time", ecbDoc(`<Cube time='20.11.2026'>` + usd + `</Cube>`), nil, []string{"20.11.2026"}},
		{"day twice", ecbDoc(`<Cube time='2026-11-20'>` + usd + `</Cube><Cube time='2026-11-20'>` + usd + `</Cube>`), nil, []string{"2026-11-20 listed twice"}},
		{"empty day", day(""), nil, []string{"no rates"}},
		{"negative rate", day(`<Cube currency='USD' rate='-1.0835'/>`), ErrBadRate, []string{"EUR/USD", "-1.0835"}},
		{"zero rate", day(`<Cube currency='USD' rate='0.0000'/>`), ErrBadRate, []string{"EUR/USD", "not positive"}},
		{"exponent", day(`<Cube currency='USD' rate='1.0835e0'/>`), ErrBadRate, []string{"EUR/USD", "plain decimal"}},
		{"junk rate", day(`<Cube currency='USD' rate='n/a'/>`), ErrBadRate, []string{"n/a"}},
		{"comma rate", day(`<Cube currency='USD' rate='1,0835'/>`), ErrBadRate, []string{"1,0835"}},
		{"absurd precision", day(`<Cube currency='USD' rate='1.08350000000000000001'/>`), ErrBadRate, []string{"EUR/USD", "absurd precision"}},
		{"no rate", day(`<Cube currency='USD'/>`), nil, []string{"EUR/USD", "no rate attribute"}},
		{"no currency", day(`<Cube rate='1.0835'/>`), nil, []string{`""`}},
		{"lower case code", day(`<Cube currency='usd' rate='1.0835'/>`), nil, []string{`"usd"`, "upper-case"}},
		{"junk code", day(`<Cube currency='U$D' rate='1.0835'/>`), nil, []string{`"U$D"`}},
		{"unknown code", day(`<Cube currency='XYZ' rate='1.0835'/>`), ErrUnknownCurrency, []string{"XYZ"}},
		{"EUR itself", day(`<Cube currency='EUR' rate='1'/>`), ErrUnknownPair, []string{"EUR/EUR"}},
		{"currency twice", day(usd + `<Cube currency='USD' rate='1.0836'/>`), nil, []string{"USD listed twice"}},
		{"only withdrawn", day(`<Cube currency='HRK' rate='7.5345'/>`), nil, []string{"no rate of an active currency"}},
		{"too large", strings.Replace(sample, "<Cube>", "<!--"+strings.Repeat("x", MaxECBBytes)+"--><Cube>", 1), nil, []string{"larger than 1048576 bytes"}},
	}
	for _, tt := range tests {
		rates, err := ParseECB(strings.NewReader(tt.doc), dayTV)
		if !errors.Is(err, ErrBadECB) || (tt.extra != nil && !errors.Is(err, tt.extra)) {
			t.Errorf("%s: got %d rates, err %v; want ErrBadECB and %v", tt.name, len(rates), err, tt.extra)
			continue
		}
		mention(t, err, tt.words...)
	}
	if _, err := ParseECB(strings.NewReader(sample), 0); !errors.Is(err, ErrBadECB) {
		t.Errorf("zero validity: err = %v", err)
	}
}

func TestParseECBHistory(t *testing.T) {
	// History files list several days and withdrawn currencies (skipped).
	doc := ecbDoc(`<Cube time='2026-07-01'><Cube currency='USD' rate='1.1790'/><Cube currency='HRK' rate='7.5345'/></Cube>
		<Cube time='2026-06-30'><Cube currency='USD' rate='1.1720'/></Cube>`)
	rates, err := ParseECB(strings.NewReader(doc), dayTV)
	if err != nil {
		t.Fatal(err)
	}
	if len(rates) != 2 {
		t.Fatalf("%d rates, want 2: %v", len(rates), rates)
	}
	// Summer: 16:00 CEST is 14:00 UTC (or 15:00 UTC without time zone data).
	want := time.Date(2026, 7, 1, 14, 0, 0, 0, time.UTC)
	if ecbLocation().String() != "Europe/Berlin" {
		want = want.Add(time.Hour)
	}
	if !rates[0].AsOf.Equal(want) || !rates[0].Bid.Equal(d("1.179")) {
		t.Errorf("first rate %v as of %s, want 1.1790 as of %s", rates[0].Bid, rates[0].AsOf, want)
	}
}

func TestLoadECB(t *testing.T) {
	ctx := context.Background()
	rates, err := LoadECB(ctx, ecbSample, nil, dayTV)
	if err != nil || len(rates) != 29 {
		t.Fatalf("file: %d rates, %v", len(rates), err)
	}
	if _, err := LoadECB(ctx, "../testdata/ecb/missing.xml", nil, dayTV); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}

	sample := readSample(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/eurofxref-daily.xml":
			w.Header().Set("Content-Type", "text/xml")
			w.Write(sample)
		case "/junk.xml":
			w.Write([]byte("<html>maintenance</html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	rates, err = LoadECB(ctx, srv.URL+"/eurofxref-daily.xml", srv.Client(), dayTV)
	if err != nil || len(rates) != 29 {
		t.Fatalf("http: %d rates, %v", len(rates), err)
	}
	_, err = LoadECB(ctx, srv.URL+"/gone.xml", srv.Client(), dayTV)
	if err == nil {
		t.Fatal("404: no error")
	}
	mention(t, err, "404", "gone.xml")
	if _, err := LoadECB(ctx, srv.URL+"/junk.xml", srv.Client(), dayTV); !errors.Is(err, ErrBadECB) {
		t.Errorf("junk: err = %v, want ErrBadECB", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := LoadECB(cancelled, srv.URL+"/eurofxref-daily.xml", srv.Client(), dayTV); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled http: err = %v", err)
	}
	if _, err := LoadECB(cancelled, ecbSample, nil, dayTV); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled file: err = %v", err)
	}
}

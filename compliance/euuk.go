package compliance

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"html"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/watchman/pkg/search"
	"github.com/moov-io/watchman/pkg/sources/csl_eu"
	"github.com/moov-io/watchman/pkg/sources/csl_uk"
)

// The EU's consolidated list of persons, groups and entities subject to
// financial sanctions, in the CSV the EU publishes (semicolon separated,
// one row per name, address, birth date, identification or citizenship
// of an entity, grouped by Entity_LogicalId) — the format of the real
// sample inside the watchman module (test/testdata/eu_csl.csv). The EU
// also publishes it as XML; crossclear reads the CSV ("CSV v1.1" on
// https://webgate.ec.europa.eu/fsd/fsf). Rows are read with watchman's
// csl_eu reader; the entries are mapped here (watchman's mapper
// normalises every name with language detection, ten times slower than
// the list needs).

// ParseEU reads the EU consolidated list CSV. The hash is the SHA-256 of
// the file's bytes.
func ParseEU(raw []byte) (*List, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errors.New("EU list: empty file")
	}
	head, _, _ := bytes.Cut(raw, []byte("\n"))
	if !bytes.Contains(head, []byte("Entity_LogicalId")) || !bytes.Contains(head, []byte("NameAlias_WholeName")) {
		return nil, errors.New("EU list: not the consolidated list CSV (no Entity_LogicalId and NameAlias_WholeName columns in the header)")
	}
	recs, _, err := csl_eu.ParseEU(io.NopCloser(bytes.NewReader(raw)))
	if err != nil {
		return nil, fmt.Errorf("EU list: %w", err)
	}
	if len(recs) > MaxListEntries {
		return nil, fmt.Errorf("EU list: %d entries, more than the %d allowed", len(recs), MaxListEntries)
	}
	slices.SortFunc(recs, func(a, b csl_eu.CSLRecord) int { return a.EntityLogicalID - b.EntityLogicalID })
	l := &List{Name: ListEU, Hash: sha256Hex(raw), Entries: make([]Entry, 0, len(recs))}
	for _, r := range recs {
		var names []string
		for _, n := range r.NameAliasWholeNames {
			if n = strings.Join(strings.Fields(n), " "); n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			continue // an entity without a name cannot be screened against
		}
		id := strconv.Itoa(r.EntityLogicalID)
		e := search.Entity[search.Value]{Name: names[0], Source: search.SourceEUCSL, SourceID: id}
		var birth *time.Time
		for _, d := range r.BirthDates {
			if t, err := time.Parse(time.DateOnly, strings.TrimSpace(d)); err == nil {
				birth = &t
				break
			}
		}
		var ids []search.GovernmentID
		for _, d := range r.Identifications {
			if n := strings.TrimSpace(d.Number); n != "" {
				ids = append(ids, search.GovernmentID{Name: d.TypeDescription, Type: unDocType(d.TypeDescription), Country: d.CountryDesc, Identifier: n})
			}
		}
		switch strings.ToLower(strings.TrimSpace(r.EntitySubjectTypeCode)) {
		case "person":
			e.Type, e.Person = search.EntityPerson, &search.Person{Name: names[0], AltNames: names[1:], BirthDate: birth, GovernmentIDs: ids}
		default:
			e.Type, e.Business = search.EntityBusiness, &search.Business{Name: names[0], AltNames: names[1:], GovernmentIDs: ids}
		}
		for i := range r.AddressCountryDescriptions {
			a := search.Address{Country: r.AddressCountryDescriptions[i]}
			if i < len(r.AddressStreets) {
				a.Line1 = r.AddressStreets[i]
			}
			if i < len(r.AddressCities) {
				a.City = r.AddressCities[i]
			}
			e.Addresses = append(e.Addresses, a)
		}
		entry := Entry{List: ListEU, ID: id, Name: names[0], AltNames: names[1:], Type: string(e.Type), Programs: nonEmpty(r.EntityRegulationProgramme)}
		for _, c := range append(slices.Clone(r.CitizenshipCountryISOs), r.AddressCountryISOs...) {
			entry.Countries = appendCountry(entry.Countries, strings.ToUpper(strings.TrimSpace(c)))
		}
		entry.prepare(e)
		l.Entries = append(l.Entries, entry)
	}
	if len(l.Entries) == 0 {
		return nil, fmt.Errorf("EU list: no named entity in %d bytes", len(raw))
	}
	return l, nil
}

// The UK's sanctions lists, in either format the UK has published:
//
//   - the FCDO's UK Sanctions List (https://sanctionslist.fcdo.gov.uk/docs/UK-Sanctions-List.csv,
//     also published as an OpenDocument spreadsheet, .ods, the format of
//     the real sample inside the watchman module: test/testdata/UK_Sanctions_List.ods):
//     one row per name of a designation, grouped by Unique ID;
//   - OFSI's Consolidated List of Financial Sanctions Targets (ConList.csv,
//     the sample test/testdata/ConList.csv; OFSI has since folded it into
//     the UK Sanctions List): one row per name, grouped by Group ID.
//
// The format is recognised from the content. Rows are read with watchman's
// csl_uk readers (an .ods is turned into the CSV first); the entries are
// mapped here. The hash is the SHA-256 of the file's bytes.
func ParseUK(raw []byte) (*List, error) {
	data := raw
	if bytes.HasPrefix(raw, []byte("PK\x03\x04")) {
		var err error
		if data, err = odsToCSV(raw); err != nil {
			return nil, fmt.Errorf("UK list: %w", err)
		}
	}
	first, rest, _ := bytes.Cut(data, []byte("\n"))
	second, _, _ := bytes.Cut(rest, []byte("\n"))
	var (
		l   *List
		err error
	)
	switch {
	case bytes.Contains(second, []byte("Unique ID")) && bytes.Contains(second, []byte("Name 6")):
		l, err = parseUKSanctionsList(data)
	case bytes.HasPrefix(bytes.TrimPrefix(first, []byte("\xef\xbb\xbf")), []byte("Last Updated")) && bytes.Contains(second, []byte("Group ID")):
		l, err = parseOFSIConList(data)
	default:
		return nil, errors.New("UK list: neither the UK Sanctions List (CSV or ODS, a Unique ID column) nor OFSI's consolidated list (ConList.csv, a Group ID column)")
	}
	if err != nil {
		return nil, fmt.Errorf("UK list: %w", err)
	}
	if len(l.Entries) == 0 {
		return nil, fmt.Errorf("UK list: no named designation in %d bytes", len(raw))
	}
	if len(l.Entries) > MaxListEntries {
		return nil, fmt.Errorf("UK list: %d entries, more than the %d allowed", len(l.Entries), MaxListEntries)
	}
	l.Hash = sha256Hex(raw)
	return l, nil
}

func parseUKSanctionsList(data []byte) (*List, error) {
	recs, _, err := csl_uk.ReadSanctionsListFile(io.NopCloser(bytes.NewReader(data)))
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b csl_uk.SanctionsListRecord) int { return strings.Compare(a.UniqueID, b.UniqueID) })
	l := &List{Name: ListUK}
	for _, r := range recs {
		names := cleanNames(r.Names)
		if len(names) == 0 {
			continue
		}
		e := search.Entity[search.Value]{Name: names[0], Source: search.SourceUKCSL, SourceID: r.UniqueID}
		kind := ""
		if r.EntityType != nil {
			kind = string(*r.EntityType)
		}
		var countries []string
		countries = append(countries, r.AddressCountries...)
		countries = append(countries, strings.Split(r.Nationality, ",")...)
		ukEntity(l, &e, kind, names, r.DOB, r.PassportNumber, r.NationalIDNumber, r.Regime, countries, r.Addresses)
	}
	return l, nil
}

func parseOFSIConList(data []byte) (*List, error) {
	recs, _, err := csl_uk.ParseCSL(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b csl_uk.CSLRecord) int { return a.GroupID - b.GroupID })
	l := &List{Name: ListUK}
	for _, r := range recs {
		names := cleanNames(r.Names)
		if len(names) == 0 {
			continue
		}
		id := strconv.Itoa(r.GroupID)
		e := search.Entity[search.Value]{Name: names[0], Source: search.SourceUKCSL, SourceID: id}
		dob := ""
		if len(r.DatesOfBirth) > 0 {
			dob = r.DatesOfBirth[0]
		}
		ukEntity(l, &e, r.GroupType, names, dob, "", "", "", append(slices.Clone(r.Countries), r.Nationalities...), r.Addresses)
	}
	return l, nil
}

// ukEntity maps one UK designation (kind Individual, Entity or Ship) and
// appends it to l.
func ukEntity(l *List, e *search.Entity[search.Value], kind string, names []string, dob, passport, nationalID, regime string, countries, addresses []string) {
	var ids []search.GovernmentID
	if p := strings.TrimSpace(passport); p != "" {
		ids = append(ids, search.GovernmentID{Type: search.GovernmentIDPassport, Identifier: p})
	}
	if n := strings.TrimSpace(nationalID); n != "" {
		ids = append(ids, search.GovernmentID{Type: search.GovernmentIDNational, Identifier: n})
	}
	switch strings.ToLower(strings.TrimSpace(kind)) {
	case "individual":
		e.Type, e.Person = search.EntityPerson, &search.Person{Name: names[0], AltNames: names[1:], BirthDate: ukDate(dob), GovernmentIDs: ids}
	case "ship":
		e.Type, e.Vessel = search.EntityVessel, &search.Vessel{Name: names[0], AltNames: names[1:]}
	default:
		e.Type, e.Business = search.EntityBusiness, &search.Business{Name: names[0], AltNames: names[1:], GovernmentIDs: ids}
	}
	for _, a := range addresses {
		if a = strings.TrimSpace(a); a != "" {
			e.Addresses = append(e.Addresses, search.Address{Line1: a})
		}
	}
	entry := Entry{List: ListUK, ID: e.SourceID, Name: names[0], AltNames: names[1:], Type: string(e.Type), Programs: nonEmpty(regime)}
	for _, c := range countries {
		entry.Countries = appendCountry(entry.Countries, strings.TrimSpace(c))
	}
	entry.prepare(*e)
	l.Entries = append(l.Entries, entry)
}

// ukDate reads a UK date of birth, dd/mm/yyyy; "00" for an unknown day or
// month reads as the 1st, January.
func ukDate(s string) *time.Time {
	parts := strings.Split(strings.TrimSpace(s), "/")
	if len(parts) != 3 {
		return nil
	}
	for i := 0; i < 2; i++ {
		if parts[i] == "00" || parts[i] == "0" {
			parts[i] = "01"
		}
	}
	t, err := time.Parse("02/01/2006", strings.Join(parts, "/"))
	if err != nil {
		return nil
	}
	return &t
}

func cleanNames(in []string) []string {
	var out []string
	for _, n := range in {
		if n = strings.Join(strings.Fields(n), " "); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// maxODSContent bounds the unpacked content.xml of a spreadsheet (the UK
// list's is about 630 MB of XML for 15 MB of zip: every empty cell is
// spelt out).
const maxODSContent = 2 << 30

// odsToCSV turns the first table of an OpenDocument spreadsheet into CSV,
// reading content.xml as a stream: rows (table:table-row) of cells
// (table:table-cell, number-columns-repeated honoured, trailing empty
// cells dropped) whose text is their text:p paragraphs. Empty rows are
// left out. It is a reader for the UK list's spreadsheet, not for every
// ODS feature (no formulas, no merged cells).
func odsToCSV(raw []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		return nil, fmt.Errorf("not an OpenDocument spreadsheet: %w", err)
	}
	f, err := zr.Open("content.xml")
	if err != nil {
		return nil, fmt.Errorf("not an OpenDocument spreadsheet (no content.xml): %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(io.LimitReader(f, maxODSContent), 1<<20)
	var out bytes.Buffer
	w := csv.NewWriter(&out)
	var (
		row        []string
		cell       strings.Builder
		inRow      bool
		inCell     bool
		inPara     bool
		paras      int
		repeat     int
		pending    int // empty cells not yet written: they matter only if a filled one follows
		tables     int
		text       []byte
		maxRepeats = 4096
	)
	flushCell := func() {
		v := cell.String()
		if v == "" {
			pending += repeat
			return
		}
		for ; pending > 0; pending-- {
			row = append(row, "")
		}
		for i := 0; i < min(repeat, maxRepeats); i++ {
			row = append(row, v)
		}
	}
	for {
		text, err = r.ReadSlice('<')
		if err == nil {
			text = text[:len(text)-1]
		}
		if inPara && len(text) > 0 {
			cell.WriteString(html.UnescapeString(string(text))) // an entity split by a full buffer is not worth handling: cells are short
		}
		if err == io.EOF {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("content.xml: %w", err)
		}
		tag, err := r.ReadSlice('>')
		if err != nil {
			return nil, fmt.Errorf("content.xml: a tag longer than 1 MB or cut short: %w", err)
		}
		tag = tag[:len(tag)-1]
		selfClosing := bytes.HasSuffix(tag, []byte("/"))
		name, attrs, _ := bytes.Cut(bytes.TrimSuffix(tag, []byte("/")), []byte(" "))
		switch string(name) {
		case "table:table":
			tables++
		case "/table:table":
			if tables == 1 {
				w.Flush()
				return out.Bytes(), w.Error()
			}
		case "table:table-row":
			if tables == 1 {
				inRow, row, pending = true, row[:0], 0
				if selfClosing {
					inRow = false
				}
			}
		case "/table:table-row":
			if inRow {
				inRow = false
				if len(row) > 0 {
					if err := w.Write(row); err != nil {
						return nil, err
					}
				}
			}
		case "table:table-cell", "table:covered-table-cell":
			if !inRow {
				continue
			}
			cell.Reset()
			paras, repeat = 0, 1
			if i := bytes.Index(attrs, []byte(`table:number-columns-repeated="`)); i >= 0 {
				v := attrs[i+len(`table:number-columns-repeated="`):]
				if j := bytes.IndexByte(v, '"'); j > 0 {
					if n, err := strconv.Atoi(string(v[:j])); err == nil && n > 0 {
						repeat = n
					}
				}
			}
			if selfClosing {
				flushCell()
			} else {
				inCell = true
			}
		case "/table:table-cell", "/table:covered-table-cell":
			if inCell {
				inCell = false
				flushCell()
			}
		case "text:p":
			if inCell && !selfClosing {
				if paras > 0 {
					cell.WriteByte('\n')
				}
				paras++
				inPara = true
			}
		case "/text:p":
			inPara = false
		case "text:s":
			if inPara {
				cell.WriteByte(' ')
			}
		case "text:line-break":
			if inPara {
				cell.WriteByte('\n')
			}
		case "text:tab":
			if inPara {
				cell.WriteByte('\t')
			}
		}
	}
	w.Flush()
	if tables == 0 {
		return nil, errors.New("content.xml has no table")
	}
	return out.Bytes(), w.Error()
}

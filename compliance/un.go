package compliance

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"github.com/moov-io/watchman/pkg/search"
)

// The UN Security Council consolidated list, as published at
// https://scsanctions.un.org/resources/xml/en/consolidated.xml:
// CONSOLIDATED_LIST with INDIVIDUALS/INDIVIDUAL and ENTITIES/ENTITY, names
// split over FIRST_NAME … FOURTH_NAME, aliases with a QUALITY ("Good",
// "a.k.a.", "Low"), dates of birth as DATE, YEAR or FROM_YEAR/TO_YEAR.
// watchman v0.60.0 has no reader for it, so this is ours.

type unList struct {
	XMLName     xml.Name       `xml:"CONSOLIDATED_LIST"`
	Generated   string         `xml:"dateGenerated,attr"`
	Individuals []unIndividual `xml:"INDIVIDUALS>INDIVIDUAL"`
	Entities    []unEntity     `xml:"ENTITIES>ENTITY"`
}

type unIndividual struct {
	DataID      string      `xml:"DATAID"`
	First       string      `xml:"FIRST_NAME"`
	Second      string      `xml:"SECOND_NAME"`
	Third       string      `xml:"THIRD_NAME"`
	Fourth      string      `xml:"FOURTH_NAME"`
	ListType    string      `xml:"UN_LIST_TYPE"`
	Reference   string      `xml:"REFERENCE_NUMBER"`
	Nationality []string    `xml:"NATIONALITY>VALUE"`
	Aliases     []unAlias   `xml:"INDIVIDUAL_ALIAS"`
	Addresses   []unAddress `xml:"INDIVIDUAL_ADDRESS"`
	Births      []unBirth   `xml:"INDIVIDUAL_DATE_OF_BIRTH"`
	Documents   []unDoc     `xml:"INDIVIDUAL_DOCUMENT"`
}

type unEntity struct {
	DataID    string      `xml:"DATAID"`
	Name      string      `xml:"FIRST_NAME"`
	ListType  string      `xml:"UN_LIST_TYPE"`
	Reference string      `xml:"REFERENCE_NUMBER"`
	Aliases   []unAlias   `xml:"ENTITY_ALIAS"`
	Addresses []unAddress `xml:"ENTITY_ADDRESS"`
}

type unAlias struct {
	Quality string `xml:"QUALITY"`
	Name    string `xml:"ALIAS_NAME"`
}

type unAddress struct {
	Street  string `xml:"STREET"`
	City    string `xml:"CITY"`
	State   string `xml:"STATE_PROVINCE"`
	Zip     string `xml:"ZIP_CODE"`
	Country string `xml:"COUNTRY"`
}

type unBirth struct {
	Date string `xml:"DATE"`
	Year string `xml:"YEAR"`
	From string `xml:"FROM_YEAR"`
}

type unDoc struct {
	Type    string `xml:"TYPE_OF_DOCUMENT"`
	Number  string `xml:"NUMBER"`
	Country string `xml:"ISSUING_COUNTRY"`
}

// ParseUN reads the UN consolidated list. Aliases of "Low" quality are
// left out: the UN marks them as too vague to identify anyone, and
// screening on them holds payments of namesakes. The hash is the SHA-256
// of the file's bytes.
func ParseUN(raw []byte) (*List, error) {
	var doc unList
	dec := xml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("UN list: not the consolidated list XML (CONSOLIDATED_LIST): %w", err)
	}
	n := len(doc.Individuals) + len(doc.Entities)
	if n == 0 {
		return nil, fmt.Errorf("UN list: no INDIVIDUALS/INDIVIDUAL or ENTITIES/ENTITY in %d bytes", len(raw))
	}
	if n > MaxListEntries {
		return nil, fmt.Errorf("UN list: %d entries, more than the %d allowed", n, MaxListEntries)
	}
	l := &List{Name: ListUN, Hash: sha256Hex(raw), Entries: make([]Entry, 0, n)}
	for i, p := range doc.Individuals {
		name := joinWords(p.First, p.Second, p.Third, p.Fourth)
		if name == "" {
			return nil, fmt.Errorf("UN list: INDIVIDUAL %d (DATAID %s) has no name", i+1, p.DataID)
		}
		person := &search.Person{Name: name, AltNames: goodAliases(p.Aliases)}
		for _, b := range p.Births {
			if t, ok := unBirthDate(b); ok {
				person.BirthDate = &t
				break
			}
		}
		for _, d := range p.Documents {
			if d.Number != "" {
				person.GovernmentIDs = append(person.GovernmentIDs, search.GovernmentID{Name: d.Type, Type: unDocType(d.Type), Country: d.Country, Identifier: d.Number})
			}
		}
		e := search.Entity[search.Value]{Name: name, Type: search.EntityPerson, Source: ListUN, SourceID: unID(p.Reference, p.DataID), Person: person, Addresses: unAddresses(p.Addresses)}
		entry := Entry{List: ListUN, ID: e.SourceID, Name: name, AltNames: person.AltNames, Type: string(search.EntityPerson), Programs: nonEmpty(p.ListType)}
		for _, c := range p.Nationality {
			entry.Countries = appendCountry(entry.Countries, c)
		}
		for _, a := range p.Addresses {
			entry.Countries = appendCountry(entry.Countries, a.Country)
		}
		entry.prepare(e)
		l.Entries = append(l.Entries, entry)
	}
	for i, o := range doc.Entities {
		name := strings.TrimSpace(o.Name)
		if name == "" {
			return nil, fmt.Errorf("UN list: ENTITY %d (DATAID %s) has no name", i+1, o.DataID)
		}
		business := &search.Business{Name: name, AltNames: goodAliases(o.Aliases)}
		e := search.Entity[search.Value]{Name: name, Type: search.EntityBusiness, Source: ListUN, SourceID: unID(o.Reference, o.DataID), Business: business, Addresses: unAddresses(o.Addresses)}
		entry := Entry{List: ListUN, ID: e.SourceID, Name: name, AltNames: business.AltNames, Type: string(search.EntityBusiness), Programs: nonEmpty(o.ListType)}
		for _, a := range o.Addresses {
			entry.Countries = appendCountry(entry.Countries, a.Country)
		}
		entry.prepare(e)
		l.Entries = append(l.Entries, entry)
	}
	return l, nil
}

func goodAliases(as []unAlias) []string {
	var out []string
	for _, a := range as {
		if name := strings.TrimSpace(a.Name); name != "" && !strings.EqualFold(strings.TrimSpace(a.Quality), "Low") {
			out = append(out, name)
		}
	}
	return out
}

// unBirthDate is the date of birth as precisely as the list gives it: a
// date, else a year (1 January), else the first year of a range.
func unBirthDate(b unBirth) (time.Time, bool) {
	if t, err := time.Parse(time.DateOnly, strings.TrimSpace(b.Date)); err == nil {
		return t, true
	}
	for _, y := range []string{b.Year, b.From} {
		if t, err := time.Parse("2006", strings.TrimSpace(y)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func unDocType(t string) search.GovernmentIDType {
	switch strings.ToLower(strings.TrimSpace(t)) {
	case "passport":
		return search.GovernmentIDPassport
	case "national identification number", "national identity card":
		return search.GovernmentIDNational
	}
	return ""
}

func unAddresses(as []unAddress) []search.Address {
	var out []search.Address
	for _, a := range as {
		if a.Street == "" && a.City == "" && a.Country == "" {
			continue
		}
		out = append(out, search.Address{Line1: a.Street, City: a.City, State: a.State, PostalCode: a.Zip, Country: a.Country})
	}
	return out
}

func unID(reference, dataID string) string {
	if r := strings.TrimSpace(reference); r != "" {
		return r
	}
	return strings.TrimSpace(dataID)
}

func joinWords(parts ...string) string {
	var words []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			words = append(words, p)
		}
	}
	return strings.Join(words, " ")
}

func nonEmpty(s string) []string {
	if s = strings.TrimSpace(s); s != "" {
		return []string{s}
	}
	return nil
}

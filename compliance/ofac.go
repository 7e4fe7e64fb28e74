package compliance

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/moov-io/iso3166"
	"github.com/moov-io/watchman/pkg/download"
	"github.com/moov-io/watchman/pkg/search"
	"github.com/moov-io/watchman/pkg/sources/ofac"
)

// OFACFiles are the four legacy CSV files of OFAC's SDN list, as OFAC
// names them (lower case here; a directory may hold them in upper case):
// no header row, "-0-" for an empty field.
//
//	sdn.csv           ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks
//	add.csv           ent_num, Add_num, Address, City/State/Province/Postal Code, Country, Add_remarks
//	alt.csv           ent_num, alt_num, alt_type, alt_name, alt_remarks
//	sdn_comments.csv  ent_num, Remarks (the continuation of a long Remarks field)
var OFACFiles = []string{"sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv"}

// ParseOFAC reads the SDN list from its four files (keyed by the names of
// OFACFiles) with watchman's reader and maps each record to an entry with
// watchman's mapper (names reordered "Surname, Given" → "Given Surname",
// aliases from alt.csv and the remarks, dates of birth, identifiers and
// addresses parsed from the remarks).
//
// The list's hash is watchman's: the SHA-256 of the hex SHA-256s of
// add.csv, alt.csv, sdn.csv and sdn_comments.csv concatenated in that
// order, so that anyone holding the four files can recompute it.
func ParseOFAC(files map[string][]byte) (*List, error) {
	in := download.Files{}
	for _, name := range OFACFiles {
		b, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("OFAC list: %s is missing (the SDN list is the four files %v)", name, OFACFiles)
		}
		in[name] = io.NopCloser(bytes.NewReader(b))
	}
	res, err := ofac.Read(in)
	if err != nil {
		return nil, fmt.Errorf("OFAC list: %w", err)
	}
	if len(res.SDNs) == 0 {
		return nil, fmt.Errorf("OFAC list: sdn.csv has no record of 12 fields (%d bytes read)", len(files["sdn.csv"]))
	}
	if len(res.SDNs) > MaxListEntries {
		return nil, fmt.Errorf("OFAC list: %d records, more than the %d allowed", len(res.SDNs), MaxListEntries)
	}
	entities := ofac.GroupIntoEntities(res.SDNs, res.Addresses, res.SDNComments, res.AlternateIdentities)
	l := &List{Name: ListOFAC, Hash: res.ListHash, Entries: make([]Entry, len(entities))}
	for i, e := range entities {
		sdn, _ := e.SourceData.(ofac.SDN)
		entry := Entry{List: ListOFAC, ID: e.SourceID, Name: sdn.SDNName, AltNames: altNames(e), Type: string(e.Type), Programs: sdn.Programs}
		for _, a := range e.Addresses {
			entry.Countries = appendCountry(entry.Countries, a.Country)
		}
		if entry.Name == "" {
			entry.Name = e.Name
		}
		entry.prepare(e)
		l.Entries[i] = entry
	}
	return l, nil
}

// altNames are the aliases watchman found for an entity, whatever its type.
func altNames(e search.Entity[search.Value]) []string {
	switch {
	case e.Person != nil:
		return e.Person.AltNames
	case e.Business != nil:
		return e.Business.AltNames
	case e.Organization != nil:
		return e.Organization.AltNames
	case e.Vessel != nil:
		return e.Vessel.AltNames
	case e.Aircraft != nil:
		return e.Aircraft.AltNames
	}
	return nil
}

var (
	countryCodesMu sync.Mutex
	countryCodes   = map[string]string{} // country name → ISO alpha-2, memoised: the lookup scans every name
)

// countryCode turns a country name (or code) as lists write it into its
// ISO 3166-1 alpha-2 code; "" when it is not recognised.
func countryCode(name string) string {
	if name == "" {
		return ""
	}
	if iso3166.ValidAlpha2(name) {
		return name
	}
	countryCodesMu.Lock()
	defer countryCodesMu.Unlock()
	code, ok := countryCodes[name]
	if !ok {
		code = iso3166.Alpha2(name)
		countryCodes[name] = code
	}
	return code
}

func appendCountry(cs []string, name string) []string {
	if c := countryCode(name); c != "" && !slices.Contains(cs, c) {
		return append(cs, c)
	}
	return cs
}

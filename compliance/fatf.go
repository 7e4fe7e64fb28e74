package compliance

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
)

// FATF's high-risk jurisdictions are versioned data: each publication is a
// file data/fatf-YYYY-MM.json embedded in the binary, and the AML rules
// name the one they use, so a decision can always say which version of
// the lists it was taken against.

//go:embed data/fatf-*.json
var fatfFiles embed.FS

// The two FATF lists.
const (
	FATFCallForAction       = "call_for_action"      // "black list": countermeasures
	FATFIncreasedMonitoring = "increased_monitoring" // "grey list": enhanced due diligence
)

// FATFLists is one publication of both lists.
type FATFLists struct {
	Name                string        `json:"name"` // "fatf-2025-10"
	Publisher           string        `json:"publisher"`
	Published           string        `json:"published"` // YYYY-MM-DD
	Source              string        `json:"source"`
	Note                string        `json:"note"`
	CallForAction       []FATFCountry `json:"call_for_action"`
	IncreasedMonitoring []FATFCountry `json:"increased_monitoring"`
}

// FATFCountry is a listed jurisdiction.
type FATFCountry struct {
	Country string `json:"country"` // ISO 3166-1 alpha-2
	Name    string `json:"name"`
}

// FATFVersions are the embedded publications, oldest first.
func FATFVersions() []string {
	ents, _ := fatfFiles.ReadDir("data")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".json"))
	}
	slices.Sort(out)
	return out
}

// LatestFATF is the newest embedded publication.
func LatestFATF() string {
	v := FATFVersions()
	return v[len(v)-1]
}

// LoadFATF reads an embedded publication by name ("fatf-2025-10").
func LoadFATF(name string) (*FATFLists, error) {
	raw, err := fatfFiles.ReadFile(path.Join("data", name+".json"))
	if err != nil {
		return nil, fmt.Errorf("no FATF lists %q: the embedded versions are %v", name, FATFVersions())
	}
	var f FATFLists
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("FATF lists %s: %w", name, err)
	}
	for _, c := range append(slices.Clone(f.CallForAction), f.IncreasedMonitoring...) {
		if !countryRe.MatchString(c.Country) {
			return nil, fmt.Errorf("FATF lists %s: %q is not an ISO 3166-1 alpha-2 code", name, c.Country)
		}
	}
	return &f, nil
}

// Lookup says which list, if any, names country.
func (f *FATFLists) Lookup(country string) (list string, name string, ok bool) {
	for _, l := range []struct {
		name string
		cs   []FATFCountry
	}{{FATFCallForAction, f.CallForAction}, {FATFIncreasedMonitoring, f.IncreasedMonitoring}} {
		for _, c := range l.cs {
			if c.Country == country {
				return l.name, c.Name, true
			}
		}
	}
	return "", "", false
}

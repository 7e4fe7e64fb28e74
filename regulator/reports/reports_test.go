package reports_test

import (
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/regulator/reports"
)

// TestCanonical: keys sorted by UTF-16 code units, no whitespace, the
// RFC 8785 string escapes, integers only.
func TestCanonical(t *testing.T) {
	got, err := reports.Canonical(map[string]any{
		"b":      []any{1, "two", true, nil},
		"a":      "tab\there \"quoted\" back\\slash \u0001 é €",
		"\ufb33": 1, "\U0001F600": 2, "€": 3, // RFC 8785's example: U+1F600 (a surrogate pair, D83D…) sorts before U+FB33 in UTF-16, after it in UTF-8
		"nested": map[string]any{"z": -9007199254740993, "y": map[string]any{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":"tab\there \"quoted\" back\\slash \u0001 é €","b":[1,"two",true,null],"nested":{"y":{},"z":-9007199254740993},"€":3,"😀":2,"דּ":1}`
	if string(got) != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
	if _, err := reports.Canonical(map[string]any{"rate": 1.5}); err == nil || !strings.Contains(err.Error(), "not an integer") {
		t.Fatalf("a float: %v", err)
	}
}

// TestEntryIsCanonical: an entry reads back only in exactly the form
// crossclear writes.
func TestEntryIsCanonical(t *testing.T) {
	r := reports.Report{Schema: reports.Schema, ID: "SG-cycle-1", Jurisdiction: "SG", Kind: reports.KindCycle, Period: "1", Seq: 1, Nil: true,
		PeriodStart: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), PeriodEnd: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
	files, err := reports.Render(r)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := reports.NewEntry(r, files).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	e, err := reports.ParseEntry(leaf)
	if err != nil || e.ID != "SG-cycle-1" || len(e.Files) != 2 || e.Files[0].Name != "SG-cycle-1.json" {
		t.Fatalf("parse: %+v, %v", e, err)
	}
	for _, bad := range []string{
		strings.Replace(string(leaf), `{"files"`, `{ "files"`, 1),
		strings.Replace(string(leaf), `"seq":1`, `"extra":1,"seq":1`, 1),
		strings.Replace(string(leaf), reports.EntrySchema, "other/v9", 1),
	} {
		if _, err := reports.ParseEntry([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// TestBuildCycleScope: a payment inside one jurisdiction counts once for
// it; a cross-border one counts for both sides and no one else.
func TestBuildCycleScope(t *testing.T) {
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	participants := []clearing.Participant{
		{ID: "DBSSSGSG", Jurisdiction: "SG", Country: "SG", CreatedAt: at},
		{ID: "OCBCSGSG", Jurisdiction: "SG", Country: "SG", CreatedAt: at},
		{ID: "DEUTDEFF", Jurisdiction: "DE", Country: "DE", CreatedAt: at},
		{ID: "CHASUS33", Jurisdiction: "US-NY", Country: "US", CreatedAt: at},
	}
	in := reports.CycleInput{Participants: participants, Activity: store.CycleActivity{
		Cycle: clearing.Cycle{ID: 7, State: clearing.CycleClosed, OpenedAt: at, ClosedAt: at.Add(time.Hour), Result: &clearing.NettingResult{}},
		Corridors: []store.CorridorVolume{
			{Sides: store.Sides{BuyerJurisdiction: "SG", MerchantJurisdiction: "SG"}, BuyerBank: "DBSSSGSG", MerchantBank: "OCBCSGSG", Currency: "SGD", Count: 2, AmountMinor: 300},
			{Sides: store.Sides{BuyerJurisdiction: "SG", MerchantJurisdiction: "DE"}, BuyerBank: "DBSSSGSG", MerchantBank: "DEUTDEFF", Currency: "EUR", Count: 1, AmountMinor: 1000},
		},
		Flows: []store.FlowVolume{
			{Sides: store.Sides{BuyerJurisdiction: "SG", MerchantJurisdiction: "SG"}, Kind: clearing.PostHold, Currency: "SGD", Payments: 2, AmountMinor: 300},
			{Sides: store.Sides{BuyerJurisdiction: "SG", MerchantJurisdiction: "DE"}, Kind: clearing.PostHold, Currency: "EUR", Payments: 1, AmountMinor: 1000},
		},
	}}
	sg, err := reports.BuildCycle("SG", 4, in)
	if err != nil {
		t.Fatal(err)
	}
	if sg.ID != "SG-cycle-7" || sg.Seq != 4 || len(sg.Cycle.Corridors) != 2 || sg.Cycle.Payments[1].Held.Count != 2 || sg.Cycle.Payments[1].Held.Amount != "3.00" {
		t.Fatalf("SG: %+v", sg.Cycle)
	}
	de, _ := reports.BuildCycle("DE", 1, in)
	if len(de.Cycle.Corridors) != 1 || de.Cycle.Corridors[0].From != "SG" || de.Cycle.Corridors[0].Amount != "10.00" || len(de.Cycle.Payments) != 1 {
		t.Fatalf("DE: %+v", de.Cycle)
	}
	us, _ := reports.BuildCycle("US-NY", 1, in)
	if !us.Nil || us.Cycle != nil {
		t.Fatalf("US-NY: %+v", us)
	}
}

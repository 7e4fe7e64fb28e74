package compliance_test

import (
	"testing"

	"github.com/crossclear/crossclear/compliance"
)

// TestVariants: each rule of the variant table, on NameKey (the list
// side and the payment side are folded by the same function), and the
// joined key for words joined or split.
func TestVariants(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"Dialog Regions Organisation", "Dialogue Regions Organization"},
		{"Hesa Trade Centre", "HESA TRADE CENTER"},
		{"Academy of National Defence Science", "ACADEMY OF NATIONAL DEFENSE SCIENCE"},
		{"Aluminium Programme Centres", "Aluminum Program Centers"},
		{"Labour Harbour Jewellery", "Labor Harbor Jewelry"},
		{"Mohammed Ali", "Muhammad Ali"}, {"Mohamad Ali", "Mohammad Ali"}, {"Muhammed Ali", "Mohamed Ali"}, {"Mohd Ali", "Muhammad Ali"},
		{"Ahmed Hussein", "Ahmad Husayn"}, {"Osama Yousef", "Usama Yusuf"}, {"Mustapha Khaled", "Mustafa Khalid"},
		{"Abd al-Rahman", "Abdul Rahman"}, {"Abd el Kader", "Abdel Kader"}, {"Abd ur-Rahman", "Abdur Rahman"},
		{"Abdulrahman", "Abdul Rahman"}, {"Abdelkarim", "Abdul Karim"}, {"Abdurrahman", "Abdul Rahman"}, {"Abdurahman", "Abdul Rahman"},
		{"Abdallah", "Abdullah"},
		{"Dmitriy Yevgeny", "Dmitry Evgeny"}, {"Aleksandr Sergey", "Alexander Sergei"},
		{"TNK TradingCo", "TNK Trading Co"}, {"Acme SteelCorp", "Acme Steel"}, {"AcmeLtd", "Acme Ltd"},
		{"O'Neil & Sons", "ONeil and Sons"}, {"T.N.K. Trading", "TNK Trading"},
	} {
		if a, b := compliance.NameKey(tc.a), compliance.NameKey(tc.b); a != b {
			t.Errorf("NameKey(%q) = %q, NameKey(%q) = %q: want equal", tc.a, a, tc.b, b)
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"Abdullah Omar", "Abdul Lah Omar"},   // Abdullah is a name of its own, not Abdul + lah
		{"Prince Holdings", "Pr Holdings"},    // only legal forms are split off a word
		{"Marco Mining", "Mar Mining"},        // "co" is split off company words only
		{"Ahmed Trading", "Mohammed Trading"}, // different names stay different
		{"Centre Point", "Central Point"},     // only the listed words
	} {
		if a, b := compliance.NameKey(tc.a), compliance.NameKey(tc.b); a == b {
			t.Errorf("NameKey(%q) = NameKey(%q) = %q: want different", tc.a, tc.b, a)
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"Bel-Kap-Steel LLC", "BelKapSteel"}, {"Kangbong Trading", "Kang Bong Trading"}, {"Suex OTC", "SuexOTC"},
	} {
		if a, b := compliance.JoinedKey(tc.a), compliance.JoinedKey(tc.b); a != b {
			t.Errorf("JoinedKey(%q) = %q, JoinedKey(%q) = %q: want equal", tc.a, a, tc.b, b)
		}
	}
}

package api

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/compliance"
)

// What an API payment may say about its parties beyond the scheme's
// records — the buyer who pays (debtor) and the parties the debtor pays
// for and the merchant receives for (ultimate debtor and creditor) — as a
// pacs.008 does. They are screened with the hold, judged for the travel
// rule (the originator's account, and address, national identifier or
// date and place of birth) and kept with the screening, so that the
// review queue shows them. Limits are ISO 20022's for the same elements.

// ultimatePartyJSON is a party named by what it is and where it lives.
type ultimatePartyJSON struct {
	Name       string       `json:"name"`
	Country    string       `json:"country"` // of residence; the address's country comes first
	Address    *addressJSON `json:"address"`
	BirthDate  string       `json:"birth_date"`
	BirthPlace string       `json:"birth_place"`
	NationalID string       `json:"national_id"`
}

// debtorJSON is the buyer: an ultimate party's fields and its account.
type debtorJSON struct {
	ultimatePartyJSON
	Account string `json:"account"` // IBAN or other account id
}

// addressJSON is a postal address: free lines, or street, building
// number, post code and town, or both, as ISO 20022's PostalAddress24.
type addressJSON struct {
	Lines          []string `json:"lines"`
	Street         string   `json:"street"`
	BuildingNumber string   `json:"building_number"`
	PostCode       string   `json:"post_code"`
	Town           string   `json:"town"`
	Country        string   `json:"country"`
}

// ISO 20022 lengths.
const (
	maxAddressLines = 7
	maxLine         = 70 // AdrLine, StrtNm: Max70Text
	maxShort        = 16 // BldgNb, PstCd: Max16Text
	maxTown         = 35 // TwnNm: Max35Text
	maxAccount      = 34 // IBAN, Othr/Id: Max34Text
	maxNationalID   = 35 // Othr/Id: Max35Text
	maxBirthPlace   = 70 // CityOfBirth (Max35Text) and CtryOfBirth, written together
)

var (
	countryCode = regexp.MustCompile(`^[A-Z]{2}$`)
	isoDate     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// instruction checks the parties of a payment request and turns them into
// what screening reads.
func (r holdRequest) instruction() (store.Instruction, error) {
	var in store.Instruction
	if r.Debtor != nil {
		p, err := r.Debtor.party(compliance.Debtor, "debtor")
		if err != nil {
			return in, err
		}
		in.Parties = append(in.Parties, p)
	}
	for _, u := range []struct {
		p     *ultimatePartyJSON
		role  compliance.Role
		field string
	}{{r.UltimateDebtor, compliance.UltimateDebtor, "ultimate_debtor"}, {r.UltimateCreditor, compliance.UltimateCreditor, "ultimate_creditor"}} {
		if u.p == nil {
			continue
		}
		p, err := u.p.party(u.role, u.field)
		if err != nil {
			return in, err
		}
		in.Parties = append(in.Parties, p)
	}
	return in, nil
}

func (d debtorJSON) party(role compliance.Role, at string) (compliance.Party, error) {
	acct := strings.TrimSpace(d.Account)
	if err := text(at+".account", acct, maxAccount); err != nil {
		return compliance.Party{}, err
	}
	p, err := d.ultimatePartyJSON.party(role, at)
	p.Account = acct
	return p, err
}

func (u ultimatePartyJSON) party(role compliance.Role, at string) (compliance.Party, error) {
	p := compliance.Party{Role: role, Name: strings.TrimSpace(u.Name), Country: strings.TrimSpace(u.Country), BirthDate: strings.TrimSpace(u.BirthDate),
		BirthPlace: strings.TrimSpace(u.BirthPlace), ID: strings.TrimSpace(u.NationalID)}
	if p.Name == "" {
		return p, required(at + ".name")
	}
	for _, f := range []struct {
		field, v string
		max      int
	}{{"name", p.Name, compliance.MaxNameLen}, {"birth_place", p.BirthPlace, maxBirthPlace}, {"national_id", p.ID, maxNationalID}} {
		if err := text(at+"."+f.field, f.v, f.max); err != nil {
			return p, err
		}
	}
	if err := country(at+".country", p.Country); err != nil {
		return p, err
	}
	if p.BirthDate != "" {
		if _, err := time.Parse(time.DateOnly, p.BirthDate); err != nil || !isoDate.MatchString(p.BirthDate) {
			return p, invalid(at+".birth_date", "expected YYYY-MM-DD, got %q", p.BirthDate)
		}
	}
	if u.Address != nil {
		addr, ctry, err := u.Address.text(at + ".address")
		if err != nil {
			return p, err
		}
		p.Address = addr
		if ctry != "" {
			p.Country = ctry
		}
	}
	// compliance's own limits: the address as one line is bounded too.
	if err := p.Validate(); err != nil {
		var fe *compliance.FieldError
		if !errors.As(err, &fe) {
			return p, err
		}
		field := map[string]string{"dob": "birth_date", "id": "national_id"}[fe.Field]
		if field == "" {
			field = fe.Field
		}
		return p, invalid(at+"."+field, "%s", fe.Msg)
	}
	return p, nil
}

// text is the address as one line, the way screening reads a file's
// (lines, street, building, post code, town), and its country.
func (a addressJSON) text(at string) (string, string, error) {
	if len(a.Lines) > maxAddressLines {
		return "", "", invalid(at+".lines", "at most %d lines, got %d", maxAddressLines, len(a.Lines))
	}
	var parts []string
	for i, l := range a.Lines {
		l = strings.TrimSpace(l)
		if err := text(fmt.Sprintf("%s.lines[%d]", at, i), l, maxLine); err != nil {
			return "", "", err
		}
		if l != "" {
			parts = append(parts, l)
		}
	}
	for _, f := range []struct {
		field, v string
		max      int
	}{{"street", a.Street, maxLine}, {"building_number", a.BuildingNumber, maxShort}, {"post_code", a.PostCode, maxShort}, {"town", a.Town, maxTown}} {
		v := strings.TrimSpace(f.v)
		if err := text(at+"."+f.field, v, f.max); err != nil {
			return "", "", err
		}
		if v != "" {
			parts = append(parts, v)
		}
	}
	ctry := strings.TrimSpace(a.Country)
	if err := country(at+".country", ctry); err != nil {
		return "", "", err
	}
	return strings.Join(parts, ", "), ctry, nil
}

// text checks a free-text field: at most max characters, no control
// characters (an ISO 20022 file could not carry them).
func text(field, v string, max int) error {
	if n := utf8.RuneCountInString(v); n > max {
		return invalid(field, "at most %d characters, got %d", max, n)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return invalid(field, "must not contain control characters")
	}
	return nil
}

func country(field, v string) error {
	if v != "" && !countryCode.MatchString(v) {
		return invalid(field, "expected an ISO 3166-1 alpha-2 code like DE, got %q", v)
	}
	return nil
}

// invalid is a 422 naming the field (debtor.birth_date) and, in its code,
// the kind of field (invalid_birth_date).
func invalid(field, format string, args ...any) error {
	leaf := field[strings.LastIndex(field, ".")+1:]
	if i := strings.IndexByte(leaf, '['); i >= 0 {
		leaf = leaf[:i]
	}
	return clearing.Errorf(clearing.Invalid, "invalid_"+leaf, field, format, args...)
}

// pendingReviewJSON answers a payment screening held for review: accepted
// (202), not held — nothing is in escrow until a compliance officer
// approves it — and where to ask what became of it.
type pendingReviewJSON struct {
	Status       string `json:"status"`     // pending_review
	PaymentID    string `json:"payment_id"` // the UETR: the payment's id once approved
	ScreeningID  string `json:"screening_id"`
	ISOReason    string `json:"iso_reason"`
	Message      string `json:"message"`
	ScreeningURL string `json:"screening_url"` // GET it for the outcome
}

// pendingReview is the 202 answer when err says screening held the
// payment for review.
func pendingReview(err error) (pendingReviewJSON, bool) {
	se, ok := store.AsScreeningError(err)
	if !ok || !se.Pending {
		return pendingReviewJSON{}, false
	}
	return pendingReviewJSON{Status: "pending_review", PaymentID: se.PaymentID, ScreeningID: se.ScreeningID, ISOReason: se.ISOReason,
		Message: se.Error(), ScreeningURL: "/v1/payments/" + se.PaymentID + "/screening"}, true
}

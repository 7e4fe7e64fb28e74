package compliance

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Role is the part a party plays in a payment.
type Role string

const (
	Debtor           Role = "debtor"            // the buyer who pays (the originator)
	UltimateDebtor   Role = "ultimate_debtor"   // on whose behalf the debtor pays
	Creditor         Role = "creditor"          // the merchant paid (the beneficiary)
	UltimateCreditor Role = "ultimate_creditor" // the party the creditor receives for
	DebtorAgent      Role = "debtor_agent"      // the buyer's bank
	CreditorAgent    Role = "creditor_agent"    // the merchant's bank
	Asked            Role = "asked"             // a name a compliance officer checks by hand
)

// Party is someone a payment names, with what the payment says about
// them. Name is what is screened; the other fields make a match more or
// less certain (see Policy) and complete the travel-rule data.
type Party struct {
	Role       Role   `json:"role"`
	Name       string `json:"name"`
	Country    string `json:"country,omitempty"`     // ISO 3166-1 alpha-2
	Account    string `json:"account,omitempty"`     // IBAN or other account id
	Address    string `json:"address,omitempty"`     // postal address beyond the country
	BirthDate  string `json:"birth_date,omitempty"`  // YYYY-MM-DD
	BirthPlace string `json:"birth_place,omitempty"` // city and/or country
	ID         string `json:"id,omitempty"`          // national id, passport, LEI, BIC, registration number
}

// Limits on what a party may carry.
const (
	MaxNameLen = 140 // ISO 20022 Max140Text
	// MaxFieldLen bounds a field in characters: the fullest address as one
	// line — seven 70-character lines, street, building, post code and
	// town with their separators — is 647.
	MaxFieldLen = 700
)

var (
	countryRe      = regexp.MustCompile(`^[A-Z]{2}$`)
	jurisdictionRe = regexp.MustCompile(`^[A-Z]{2}(-[A-Z0-9]{1,3})?$`)
	dateRe         = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// Validate checks what a party carries; errors name the field.
func (p Party) Validate() error {
	if strings.TrimSpace(p.Name) == "" {
		return &FieldError{Field: "name", Msg: "a name is required"}
	}
	if len([]rune(p.Name)) > MaxNameLen {
		return &FieldError{Field: "name", Msg: fmt.Sprintf("at most %d characters, got %d", MaxNameLen, len([]rune(p.Name)))}
	}
	if p.Country != "" && !countryRe.MatchString(p.Country) {
		return &FieldError{Field: "country", Msg: fmt.Sprintf("must be an ISO 3166-1 alpha-2 code like DE, got %q", p.Country)}
	}
	if p.BirthDate != "" {
		if _, err := time.Parse(time.DateOnly, p.BirthDate); err != nil || !dateRe.MatchString(p.BirthDate) {
			return &FieldError{Field: "dob", Msg: fmt.Sprintf("must be a date YYYY-MM-DD, got %q", p.BirthDate)}
		}
	}
	for field, v := range map[string]string{"account": p.Account, "address": p.Address, "birth_place": p.BirthPlace, "id": p.ID} {
		if n := len([]rune(v)); n > MaxFieldLen {
			return &FieldError{Field: field, Msg: fmt.Sprintf("at most %d characters, got %d", MaxFieldLen, n)}
		}
	}
	return nil
}

// Details says whether the party carries more than a name to tell a
// namesake from a listed person: a date of birth, an identifier or an
// address (a country alone is not enough: it narrows little).
func (p Party) Details() bool {
	return p.BirthDate != "" || p.ID != "" || p.Address != ""
}

// FieldError is bad input: which field, and what was expected.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

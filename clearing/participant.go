package clearing

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/crossclear/crossclear/fx"
)

// ParticipantKind says what a participant does in the scheme.
type ParticipantKind string

const (
	Bank       ParticipantKind = "bank"        // a partner bank: buyers' and merchants' banks
	FXProvider ParticipantKind = "fx_provider" // converts between currencies (FX issue)
)

// Status is shared by participants and merchants.
type Status string

const (
	Active    Status = "active"
	Suspended Status = "suspended"
)

// Participant is a partner bank or an FX provider.
type Participant struct {
	ID           string
	Kind         ParticipantKind
	BIC          string
	Name         string
	Country      string // ISO 3166-1 alpha-2
	Jurisdiction string // the regulator's jurisdiction code: "SG", "US-NY"
	Currencies   []SettlementCurrency
	// NetDebitCapTotal is an optional multi-currency net debit cap, in the
	// reporting currency: the deepest total debit across currencies (each
	// debit position converted at the book's mid rate) a hold may take the
	// participant to within one cycle. Checked next to the per-currency caps.
	NetDebitCapTotal TotalCap
	// RequireSignedFiles refuses the participant's uploads that carry no
	// signature by one of its registered keys.
	RequireSignedFiles bool
	// AlarmThresholdPct raises the cap alarm when a debit position reaches
	// that percentage of its cap (1–100); 0 turns the alarm off. New
	// participants get DefaultAlarmThresholdPct.
	AlarmThresholdPct int
	Status            Status
	CreatedAt         time.Time
}

// DefaultAlarmThresholdPct is a new participant's cap alarm threshold.
const DefaultAlarmThresholdPct = 80

// MaxAlarmThresholdPct bounds the alarm threshold: 100 % is the cap itself.
const MaxAlarmThresholdPct = 100

// CapUsage is where a participant's open-cycle position in one currency
// stands against its net debit cap.
type CapUsage struct {
	Currency string
	CapMinor int64 // the net debit cap; 0 for a currency no longer settled
	NetMinor int64 // received − paid in the open cycle; negative is a debit
}

// DebitMinor is the debit position, 0 for a credit.
func (u CapUsage) DebitMinor() int64 { return max(0, -u.NetMinor) }

// HeadroomMinor is how much more may be debited: negative when the cap is
// below the position.
func (u CapUsage) HeadroomMinor() int64 { return u.CapMinor + u.NetMinor }

// BelowPosition reports a cap lowered below the current debit: every
// further debit in the currency is refused until the position recovers.
func (u CapUsage) BelowPosition() bool { return u.DebitMinor() > u.CapMinor }

// Ratio is the debit as a fraction of the cap: 0 with no debit, +Inf for
// a debit against a cap of zero.
func (u CapUsage) Ratio() float64 {
	d := u.DebitMinor()
	switch {
	case d == 0:
		return 0
	case u.CapMinor == 0:
		return math.Inf(1)
	}
	return float64(d) / float64(u.CapMinor)
}

// Alarm reports whether the debit has reached pct percent of the cap (never
// with pct 0, the alarm off, nor without a debit).
func (u CapUsage) Alarm(pct int) bool {
	d := u.DebitMinor()
	return pct > 0 && d > 0 && d*100 >= int64(pct)*u.CapMinor // ≤ 10^17: no overflow
}

// TotalCap is a multi-currency net debit cap: Minor units of Currency.
// The zero TotalCap is no cap.
type TotalCap struct {
	Currency string // "" when there is no cap
	Minor    int64  // ≥ 0
}

// Set reports whether there is a cap.
func (c TotalCap) Set() bool { return c.Currency != "" }

// Amount is the cap as money.
func (c TotalCap) Amount() fx.Amount { return fx.MustCurrency(c.Currency).FromMinor(c.Minor) }

// SettlementCurrency is a currency a participant settles in, with the net
// debit cap that bounds its position in that currency within one cycle.
type SettlementCurrency struct {
	Currency         string
	NetDebitCapMinor int64 // ≥ 0: the deepest debit position allowed in a cycle
}

// Settles reports whether p settles in currency and returns its cap.
func (p Participant) Settles(currency string) (SettlementCurrency, bool) {
	for _, c := range p.Currencies {
		if c.Currency == currency {
			return c, true
		}
	}
	return SettlementCurrency{}, false
}

var (
	bicPattern          = regexp.MustCompile(`^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$`)
	bicLetters          = regexp.MustCompile(`^[A-Z]+$`)
	bicAlnum            = regexp.MustCompile(`^[A-Z0-9]+$`)
	countryPattern      = regexp.MustCompile(`^[A-Z]{2}$`)
	jurisdictionPattern = regexp.MustCompile(`^[A-Z]{2}(-[A-Z0-9]{1,3})?$`)
)

// bicProblem says which part of a malformed BIC is wrong: institution
// (4 letters), country (2 letters), location (2 letters or digits),
// optional branch (3 letters or digits).
func bicProblem(bic string) string {
	switch {
	case len(bic) != 8 && len(bic) != 11:
		return fmt.Sprintf("it has %d characters; a BIC has 8, or 11 with a branch code", len(bic))
	case bic != strings.ToUpper(bic):
		return "BICs are written in capitals"
	case !bicLetters.MatchString(bic[:4]):
		return fmt.Sprintf("its institution code %q must be 4 letters", bic[:4])
	case !bicLetters.MatchString(bic[4:6]):
		return fmt.Sprintf("its country code %q must be 2 letters", bic[4:6])
	case !bicAlnum.MatchString(bic[6:8]):
		return fmt.Sprintf("its location code %q must be 2 letters or digits", bic[6:8])
	default:
		return fmt.Sprintf("its branch code %q must be 3 letters or digits", bic[8:])
	}
}

// CanonicalBIC is the one form crossclear keeps an institution's BIC in:
// an 11-character BIC whose branch code is XXX (the institution itself,
// its head office) is its 8-character BIC, DEUTDEFFXXX is DEUTDEFF. Other
// branch codes (DEUTDEFF500) name branches, kept as they are. Anything
// else is returned unchanged.
func CanonicalBIC(bic string) string {
	if len(bic) == 11 && strings.HasSuffix(bic, "XXX") {
		return bic[:8]
	}
	return bic
}

// BICForms are the ways to write the institution bic names: its
// canonical form and, for an 8-character BIC, the same with branch XXX.
func BICForms(bic string) []string {
	c := CanonicalBIC(bic)
	if len(c) == 8 {
		return []string{c, c + "XXX"}
	}
	return []string{c}
}

// LookupBICs are the participant ids a BIC may name, most specific first:
// the BIC as written, its canonical form and, for a branch (an 11-character
// BIC whose branch code is not XXX), its institution's BIC8 (and BIC8XXX,
// for a database from before canonical ids). A branch registered as a
// participant of its own is that participant; an unregistered branch is
// its institution. Every participant lookup by BIC resolves through it.
func LookupBICs(bic string) []string {
	out := append([]string{bic}, BICForms(bic)...)
	if c := CanonicalBIC(bic); len(c) == 11 {
		out = append(out, BICForms(c[:8])...)
	}
	return slices.Compact(out)
}

// Institution is the BIC8 of the institution a BIC belongs to: DEUTDEFF
// for DEUTDEFF, DEUTDEFFXXX and DEUTDEFF500.
func Institution(bic string) string {
	if len(bic) == 11 {
		return bic[:8]
	}
	return bic
}

// Limits on what grows.
const (
	MaxNameLen       = 140 // ISO 20022 Max140Text
	MaxCurrencies    = 64
	MaxAccountLen    = 34 // an IBAN's maximum length
	MaxReasonLen     = 500
	MaxReferenceLen  = 140
	MaxEndToEndIDLen = 35 // ISO 20022 Max35Text
)

// Validate checks a participant about to be created.
func (p Participant) Validate() error {
	switch p.Kind {
	case Bank, FXProvider:
	default:
		return Errorf(Invalid, "invalid_kind", "kind", "must be %q or %q, got %q", Bank, FXProvider, p.Kind)
	}
	if !bicPattern.MatchString(p.BIC) {
		return Errorf(Invalid, "invalid_bic", "bic", "%q is not a BIC: %s (like DEUTDEFF, or DEUTDEFF500 with a branch)", p.BIC, bicProblem(p.BIC))
	}
	if p.BIC[4:6] != p.Country {
		return Errorf(Invalid, "bic_country_mismatch", "country", "BIC %s is registered in %s, not %q", p.BIC, p.BIC[4:6], p.Country)
	}
	if err := validateName(p.Name); err != nil {
		return err
	}
	if !countryPattern.MatchString(p.Country) || !KnownCountry(p.Country) {
		return Errorf(Invalid, "invalid_country", "country", "must be an assigned ISO 3166-1 alpha-2 code like DE, got %q", p.Country)
	}
	if !jurisdictionPattern.MatchString(p.Jurisdiction) {
		return Errorf(Invalid, "invalid_jurisdiction", "jurisdiction", "must be a country code or an ISO 3166-2 subdivision like SG or US-NY, got %q", p.Jurisdiction)
	}
	if p.Jurisdiction[:2] != p.Country {
		return Errorf(Invalid, "jurisdiction_country_mismatch", "jurisdiction", "%s is not in country %s", p.Jurisdiction, p.Country)
	}
	if len(p.Currencies) == 0 {
		return Errorf(Invalid, "no_currencies", "currencies", "a participant settles at least one currency")
	}
	if len(p.Currencies) > MaxCurrencies {
		return Errorf(Invalid, "too_many_currencies", "currencies", "at most %d currencies, got %d", MaxCurrencies, len(p.Currencies))
	}
	seen := map[string]bool{}
	for _, c := range p.Currencies {
		if _, err := fx.LookupCurrency(c.Currency); err != nil {
			return Errorf(Invalid, "unknown_currency", "currencies", "%v", err)
		}
		if seen[c.Currency] {
			return Errorf(Invalid, "duplicate_currency", "currencies", "%s listed twice", c.Currency)
		}
		seen[c.Currency] = true
		if c.NetDebitCapMinor < 0 || c.NetDebitCapMinor > fx.MaxMinor {
			return Errorf(Invalid, "invalid_net_debit_cap", "currencies", "net debit cap for %s must be between 0 and %d minor units", c.Currency, fx.MaxMinor)
		}
	}
	if t := p.NetDebitCapTotal; t.Set() {
		if _, err := fx.LookupCurrency(t.Currency); err != nil {
			return Errorf(Invalid, "unknown_currency", "net_debit_cap_total", "%v", err)
		}
		if t.Minor < 0 || t.Minor > fx.MaxMinor {
			return Errorf(Invalid, "invalid_net_debit_cap", "net_debit_cap_total", "must be between 0 and %d minor units", fx.MaxMinor)
		}
	} else if t.Minor != 0 {
		return Errorf(Invalid, "invalid_net_debit_cap", "net_debit_cap_total", "a cap of %d minor units needs a currency", t.Minor)
	}
	return ValidateAlarmThreshold(p.AlarmThresholdPct)
}

// ValidateAlarmThreshold checks a cap alarm threshold: 0 (off) to 100 %.
func ValidateAlarmThreshold(pct int) error {
	if pct < 0 || pct > MaxAlarmThresholdPct {
		return Errorf(Invalid, "invalid_alarm_threshold", "alarm_threshold_pct", "must be 0 (off) to %d percent of a cap, got %d", MaxAlarmThresholdPct, pct)
	}
	return nil
}

// SortCurrencies orders settlement currencies by code, for stable output.
func SortCurrencies(cs []SettlementCurrency) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Currency < cs[j].Currency })
}

func validateName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return Errorf(Invalid, "invalid_name", "name", "must be 1 to %d characters", MaxNameLen)
	}
	return nil
}

// Merchant is an overseas seller paid through escrow at its bank, in its
// settlement currency.
type Merchant struct {
	ID        string
	Name      string
	Country   string
	Currency  string // settlement currency
	Account   string // the merchant's account at its bank (IBAN or local number)
	BankID    string // the partner bank that services the merchant
	Status    Status
	CreatedAt time.Time
}

// Validate checks a merchant about to be created against the bank that
// services it.
func (m Merchant) Validate(bank Participant) error {
	if err := validateName(m.Name); err != nil {
		return err
	}
	if !countryPattern.MatchString(m.Country) || !KnownCountry(m.Country) {
		return Errorf(Invalid, "invalid_country", "country", "must be an assigned ISO 3166-1 alpha-2 code like DE, got %q", m.Country)
	}
	if _, err := fx.LookupCurrency(m.Currency); err != nil {
		return Errorf(Invalid, "unknown_currency", "currency", "%v", err)
	}
	if m.Account == "" || len(m.Account) > MaxAccountLen {
		return Errorf(Invalid, "invalid_account", "account", "must be 1 to %d characters", MaxAccountLen)
	}
	if bank.Kind != Bank {
		return Errorf(Invalid, "not_a_bank", "bank_id", "%s is a %s, not a bank", bank.ID, bank.Kind)
	}
	if bank.Status != Active {
		return Errorf(Refused, "participant_suspended", "bank_id", "bank %s is suspended", bank.ID)
	}
	if _, ok := bank.Settles(m.Currency); !ok {
		return Errorf(Invalid, "currency_not_settled", "currency", "bank %s does not settle %s", bank.ID, m.Currency)
	}
	return nil
}

// ValidJurisdiction reports whether s is a jurisdiction code: an ISO 3166-1
// country ("SG") or an ISO 3166-2 subdivision ("US-NY").
func ValidJurisdiction(s string) bool { return jurisdictionPattern.MatchString(s) }

package compliance

import (
	"time"

	"github.com/crossclear/crossclear/fx"
)

// Payment is what screening sees of a payment about to be held.
type Payment struct {
	ID     string    // the UETR
	At     time.Time // when it is screened: the AML windows end here
	Amount fx.Amount // what the buyer's bank pays
	// Jurisdictions of the buyer's and the merchant's banks: whose AML
	// rules apply.
	Jurisdictions []string
	Parties       []Party
	// Keys identify the payer, the payee and the bank for velocity and
	// structuring; an empty key is not checked (an API payment does not
	// name its payer).
	Keys map[KeyKind]string
}

// Party returns the first party with role r.
func (p Payment) Party(r Role) (Party, bool) {
	for _, x := range p.Parties {
		if x.Role == r {
			return x, true
		}
	}
	return Party{}, false
}

// CrossBorder reports whether the debtor's and the creditor's agents are
// in different countries; when either country is unknown it is taken to
// be cross-border, the stricter reading.
func (p Payment) CrossBorder() bool {
	d, _ := p.Party(DebtorAgent)
	c, _ := p.Party(CreditorAgent)
	return d.Country == "" || c.Country == "" || d.Country != c.Country
}

// KeyKind names whose activity a velocity or structuring rule counts.
type KeyKind string

const (
	PayerKey KeyKind = "payer" // the debtor: its account, else its name and country
	PayeeKey KeyKind = "payee" // the merchant
	BankKey  KeyKind = "bank"  // the buyer's bank
)

// PayerKeyOf identifies a debtor across payments: its account when the
// payment names one, else its normalised name and country; "" when the
// payment says nothing about the debtor.
func PayerKeyOf(debtor Party) string {
	switch {
	case debtor.Account != "":
		return "acct:" + Normalize(debtor.Account)
	case debtor.Name != "":
		return "name:" + NameKey(debtor.Name) + "/" + debtor.Country
	}
	return ""
}

package clearing

import "strings"

// Role is what an API key may do.
type Role string

const (
	RoleOperator   Role = "operator"    // runs the scheme: everything
	RoleBank       Role = "bank"        // bound to one participant
	RoleMerchant   Role = "merchant"    // bound to one merchant
	RoleRegulator  Role = "regulator"   // bound to one jurisdiction, read-only
	RoleFXProvider Role = "fx_provider" // bound to one FX provider participant: posts its rates
	RoleCompliance Role = "compliance"  // a compliance officer: screens names, works the review queue
	RoleSystem     Role = "system"      // crossclear itself (auto-release worker, scheduler)
)

// ValidRole reports whether r can be given to an API key.
func ValidRole(r Role) bool {
	switch r {
	case RoleOperator, RoleBank, RoleMerchant, RoleRegulator, RoleFXProvider, RoleCompliance:
		return true
	}
	return false
}

// WithArticle is the role after its indefinite article, for messages:
// "an operator", "a bank", "an fx_provider".
func (r Role) WithArticle() string { return WithArticle(string(r)) }

// WithArticle is a role or a kind of participant after its indefinite
// article, for messages: "an operator", "a bank", "an fx_provider" (said
// "eff-ex"), "a merchant".
func WithArticle(word string) string {
	if strings.HasPrefix(word, "fx") || (word != "" && strings.ContainsRune("aeiou", rune(word[0]))) {
		return "an " + word
	}
	return "a " + word
}

// Actor is who does something: recorded on every event.
type Actor struct {
	Role    Role
	Subject string // participant id, merchant id, jurisdiction code, or the key id for operators
}

// String is the audit form, e.g. "bank:p_123" or "system:auto-release".
func (a Actor) String() string { return string(a.Role) + ":" + a.Subject }

// System actors.
var (
	AutoReleaseWorker = Actor{Role: RoleSystem, Subject: "auto-release"}
	CycleScheduler    = Actor{Role: RoleSystem, Subject: "cycle-scheduler"}
	ECBRefresh        = Actor{Role: RoleSystem, Subject: "ecb-refresh"}
)

// CanSee reports whether a may read payment p. Callers that may not see a
// payment are told it does not exist, so that ids cannot be probed.
func (a Actor) CanSee(p Payment) bool {
	switch a.Role {
	case RoleOperator, RoleSystem, RoleCompliance:
		return true
	case RoleBank:
		return a.Subject == p.BuyerBankID || a.Subject == p.MerchantBankID
	case RoleMerchant:
		return a.Subject == p.MerchantID
	case RoleRegulator:
		return a.Subject == p.BuyerJurisdiction || a.Subject == p.MerchantJurisdiction
	case RoleFXProvider:
		return p.IsFX() && a.Subject == p.FXProviderID
	}
	return false
}

// Permit says whether a may take action k on payment p:
//   - the buyer's bank confirms delivery (release, also partial) or disputes;
//   - the merchant or its bank gives the money back (refund);
//   - only the operator resolves a dispute; the operator may do anything;
//   - regulators only read; FX providers only read the payments they converted;
//   - compliance officers read every payment and act on none: they decide
//     on payments screening held back, before those are held.
func (a Actor) Permit(p Payment, k ActionKind) error {
	if !a.CanSee(p) {
		return Errorf(NotFound, "payment_not_found", "id", "no payment %s", p.ID)
	}
	allowed := false
	switch a.Role {
	case RoleOperator, RoleSystem:
		allowed = true
	case RoleBank:
		switch k {
		case ActionRelease, ActionDispute:
			allowed = a.Subject == p.BuyerBankID
		case ActionRefund:
			allowed = a.Subject == p.MerchantBankID
		}
	case RoleMerchant:
		allowed = k == ActionRefund
	}
	if !allowed {
		return Errorf(Forbidden, "action_not_permitted", "", "%s may not %s payment %s", a.Role, k, p.ID)
	}
	return nil
}

package inbound

import (
	"fmt"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/messages/iso"
)

// mayUpload says whether by may send f. Banks send payments and
// cancellation requests (the store checks that a bank cancels only its own
// payments). Settlement confirmations come from the configured settlement
// bank or the operator, who sends nothing else.
func mayUpload(f *iso.File, bank string, cfg Config, by clearing.Actor) error {
	// Who may send what is the caller's role, not an element of the file:
	// refused like a route the role may not use.
	forbid := func(format string, args ...any) error {
		return &FileError{Code: "forbidden", Err: &iso.Error{Reason: iso.ReasonForbidden, Msg: fmt.Sprintf(format, args...)}}
	}
	operator := by.Role == clearing.RoleOperator
	switch {
	case operator && f.Kind != iso.KindSettlement:
		return forbid("the operator uploads settlement confirmations only (a %s or a %s); a %s comes from the bank that sends it",
			iso.Pacs002v10, iso.Camt054v08, f.Name)
	case f.Kind == iso.KindFunding:
		// A bank funds its own position: the header, when present, is its.
		if h := f.Funding.Header; h != nil && iso.NormalBIC(h.From) != iso.NormalBIC(bank) {
			return &FileError{Code: "wrong_sender", Err: &iso.Error{Reason: iso.ReasonBankIdentifier, Element: "AppHdr/Fr/FIId/FinInstnId/BICFI",
				Msg: fmt.Sprintf("the AppHdr is from %q, but the file was uploaded by %s", h.From, bank)}}
		}
		return nil
	case operator || f.Kind != iso.KindSettlement:
		return nil
	case cfg.SettlementBankBIC == "":
		return forbid("a %s from %s is a settlement confirmation: no settlement bank is configured, so only the operator may send one",
			f.Name, bank)
	case iso.NormalBIC(bank) != iso.NormalBIC(cfg.SettlementBankBIC):
		return forbid("a %s is a settlement confirmation: only the settlement bank %s or the operator may send one, not %s",
			f.Name, cfg.SettlementBankBIC, bank)
	case f.Settlement.Header != nil && iso.NormalBIC(f.Settlement.Header.From) != iso.NormalBIC(bank):
		return &FileError{Code: "wrong_sender", Err: &iso.Error{Reason: iso.ReasonBankIdentifier, Element: "AppHdr/Fr/FIId/FinInstnId/BICFI",
			Msg: fmt.Sprintf("the AppHdr is from %q, but the file was uploaded by %s", f.Settlement.Header.From, bank)}}
	}
	return nil
}

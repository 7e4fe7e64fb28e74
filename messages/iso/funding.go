package iso

import (
	"fmt"
	"regexp"
	"strings"
)

// ReasonNarrative (NARR) refuses a funding transfer whose reference names
// no debit net position of the sender's: the AddtlInf says why.
const ReasonNarrative Reason = "NARR"

// Funding is a pacs.009.001.08 (SWIFT CBPR+) or .09 a net debit bank sends
// to pay its net position of a closed cycle into the settlement account.
// Each transfer names the position by the id crossclear put in the
// pacs.009 it sent for it ("C42-9-DBSSSGSG-EUR": its MsgId, InstrId and
// EndToEndId), which the bank carries as its EndToEndId (or InstrId, or
// the first RmtInf/Ustrd). Matching it to the position is messages/inbound's.
type Funding struct {
	Name      string            `json:"message"`
	Header    *AppHdr           `json:"app_hdr,omitempty"`
	MsgID     string            `json:"msg_id"`
	CreDtTm   string            `json:"cre_dt_tm,omitempty"`
	Transfers []FundingTransfer `json:"transfers"`
}

// FundingTransfer is one CdtTrfTxInf with where it is, the position id it
// names (Reference, found in ReferenceAt) and, when it cannot be used
// whatever the position, its Problem.
type FundingTransfer struct {
	FITransfer
	Element     string `json:"element"` // "CdtTrfTxInf[0]"
	Line        int    `json:"line"`
	Reference   string `json:"reference,omitempty"`
	ReferenceAt string `json:"reference_at,omitempty"` // "PmtId/EndToEndId", "PmtId/InstrId", "RmtInf/Ustrd"
	Problem     *Error `json:"problem,omitempty"`
}

// positionID is the shape of the id crossclear gives a net position's
// pacs.009: C<cycle>-9-<bank>-<currency> (or its hashed form when longer
// than 35 characters, which keeps the C<cycle>-9- start).
var positionID = regexp.MustCompile(`^C[0-9]{1,18}-9-[A-Z0-9-]+$`)

// IsPositionID reports whether s has the shape of a net position's id.
func IsPositionID(s string) bool { return positionID.MatchString(s) }

// DecodeFunding reads a pacs.009.001.08 or .09 sent to crossclear.
func DecodeFunding(env *Envelope) (*Funding, error) {
	name := env.MessageName()
	if name != Pacs009v08 && name != Pacs009v09 {
		return nil, unsupported("Document", env.Line, "%s is not a pacs.009: send a %s or a %s", name, Pacs009v08, Pacs009v09)
	}
	m, parts, err := decodeFICdtTrf(env, name)
	if err != nil {
		return nil, err
	}
	f := &Funding{Name: name, MsgID: m.MsgID, CreDtTm: m.CreDtTm}
	if env.HeaderXML != nil {
		h := m.Header
		f.Header = &h
	}
	if len(m.Transfers) == 0 {
		return nil, errorf(ReasonMissing, "FICdtTrf/CdtTrfTxInf", env.Line, "the %s holds no transfer: it funds nothing", name)
	}
	for i, t := range m.Transfers {
		p := parts[i]
		ft := FundingTransfer{FITransfer: t, Element: indexed("CdtTrfTxInf", i), Line: p.line}
		ft.check(p)
		f.Transfers = append(f.Transfers, ft)
	}
	return f, nil
}

// check finds the transfer's reference and what makes it unusable.
func (t *FundingTransfer) check(p *part) {
	at := func(path string) (string, int) { return t.Element + "/" + path, p.elems[path].line }
	type ref struct{ path, id string }
	var refs []ref
	for _, r := range []ref{{"PmtId/EndToEndId", t.EndToEndID}, {"PmtId/InstrId", t.InstrID}, {"RmtInf/Ustrd", strings.TrimSpace(t.Remittance)}} {
		if IsPositionID(r.id) {
			refs = append(refs, r)
		}
	}
	for _, r := range refs[min(1, len(refs)):] {
		if r.id != refs[0].id {
			e, l := at(r.path)
			t.Problem = &Error{Reason: ReasonNarrative, Element: e, Line: l,
				Msg: fmt.Sprintf("%s names position %s, but %s names %s: one transfer funds one position", r.path, r.id, refs[0].path, refs[0].id)}
			return
		}
	}
	if len(refs) > 0 {
		t.Reference, t.ReferenceAt = refs[0].id, refs[0].path
	}
	switch {
	case t.Debtor == "":
		e, l := at("Dbtr")
		t.Problem = &Error{Reason: ReasonMissing, Element: e + "/FinInstnId/BICFI", Line: l, Msg: "the debtor needs its BIC: the bank whose position is paid"}
	case t.Amount.Value == "" || t.Amount.Currency == "":
		e, l := at("IntrBkSttlmAmt")
		t.Problem = &Error{Reason: ReasonMissing, Element: e, Line: max(l, t.Line), Msg: "the transfer has no IntrBkSttlmAmt with its Ccy"}
	case t.Reference == "":
		e, l := at("PmtId/EndToEndId")
		t.Problem = &Error{Reason: ReasonNarrative, Element: e, Line: max(l, t.Line),
			Msg: fmt.Sprintf("the transfer names no net position: give the id of the pacs.009 crossclear sent for it (C<cycle>-9-<bank>-<currency>) as the EndToEndId, got %q", t.EndToEndID)}
	}
}

// StatusSettled (ACSC, AcceptedSettlementCompleted) answers a funding
// transfer that marked its net position settled.
const StatusSettled = "ACSC"

// FundingReply builds the pacs.002 answering a funding pacs.009: per
// transfer ACSC (the position is settled) or RJCT with its reason; the
// group ACSC when all are settled, RJCT when none is, PART otherwise.
func FundingReply(f *Funding, outcomes []TxOutcome, p ReplyParams) *StatusReport {
	m := &Message{Name: f.Name, MsgID: f.MsgID, CreDtTm: f.CreDtTm, NbOfTxs: fmt.Sprint(len(f.Transfers))}
	for _, t := range f.Transfers {
		m.Transactions = append(m.Transactions, Transaction{InstrID: t.InstrID, EndToEndID: t.EndToEndID, TxID: t.TxID, UETR: t.UETR,
			Amount: t.Amount, SettlementDate: t.SettlementDate})
	}
	r := Reply(m, nil, outcomes, p)
	if r.Original.Status == StatusAccepted {
		r.Original.Status = StatusSettled
	}
	return r
}

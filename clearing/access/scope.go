// Package access decides who may see what: every edge (the JSON API, the
// web console) gets its store filters and by-id lookups from a Scope, so
// that none of them can forget to narrow a listing and all of them answer
// the same. The rules:
//
//	operator   everything
//	bank       itself; payments where it is the buyer's or the merchant's
//	           bank; its merchants; its own positions and mailbox; no
//	           scheme totals
//	merchant   itself, its payments and payouts; no participants, cycles
//	           or positions (the edges refuse it)
//	regulator  read-only; parties and payments touching its jurisdiction,
//	           their positions, and scheme totals
//
// Anything outside the caller's scope is reported as not found, exactly
// like an id that does not exist, so that ids cannot be probed.
package access

import (
	"context"
	"slices"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
)

// Scope is one caller's window on the store.
type Scope struct {
	st *store.Store
	a  clearing.Actor
}

// For is a's scope over st.
func For(st *store.Store, a clearing.Actor) Scope { return Scope{st: st, a: a} }

// Actor is who the scope belongs to.
func (sc Scope) Actor() clearing.Actor { return sc.a }

// nobody is returned for roles this package does not serve (system actors
// never hold API keys); it keeps the switches below exhaustive.
var nobody = clearing.Errorf(clearing.Forbidden, "forbidden", "", "this key's role may not read this")

// Payments is the filter for listing payments; merchantID is the caller's
// optional merchant filter. ok is false when the query and the scope
// cannot overlap (a merchant asking for another merchant): the answer is
// then an empty page, not an error.
func (sc Scope) Payments(merchantID string) (f store.PaymentFilter, ok bool, err error) {
	switch sc.a.Role {
	case clearing.RoleOperator:
	case clearing.RoleBank:
		f.BankID = sc.a.Subject
	case clearing.RoleMerchant:
		if merchantID != "" && merchantID != sc.a.Subject {
			return f, false, nil
		}
		f.MerchantID = sc.a.Subject
	case clearing.RoleRegulator:
		f.Jurisdiction = sc.a.Subject
	default:
		return f, false, nobody
	}
	if merchantID != "" {
		f.MerchantID = merchantID
	}
	return f, true, nil
}

// Payment loads one payment the caller may see, else not found.
func (sc Scope) Payment(ctx context.Context, id string) (clearing.Payment, []clearing.Event, error) {
	p, events, err := sc.st.Payment(ctx, id)
	if err != nil {
		return clearing.Payment{}, nil, err
	}
	if !sc.a.CanSee(p) {
		return clearing.Payment{}, nil, paymentNotFound(id)
	}
	return p, events, nil
}

// PaymentDetail is Payment with its legs, read in one round trip.
func (sc Scope) PaymentDetail(ctx context.Context, id string) (clearing.Payment, []clearing.Event, []store.Leg, error) {
	p, events, legs, err := sc.st.PaymentDetail(ctx, id)
	if err != nil {
		return clearing.Payment{}, nil, nil, err
	}
	if !sc.a.CanSee(p) {
		return clearing.Payment{}, nil, nil, paymentNotFound(id)
	}
	return p, events, legs, nil
}

func paymentNotFound(id string) error {
	return clearing.Errorf(clearing.NotFound, "payment_not_found", "id", "no payment %s", id)
}

// Merchants is the filter for listing merchants.
func (sc Scope) Merchants() (store.MerchantFilter, error) {
	switch sc.a.Role {
	case clearing.RoleOperator:
		return store.MerchantFilter{}, nil
	case clearing.RoleBank:
		return store.MerchantFilter{BankID: sc.a.Subject}, nil
	case clearing.RoleMerchant:
		return store.MerchantFilter{ID: sc.a.Subject}, nil
	case clearing.RoleRegulator:
		return store.MerchantFilter{Jurisdiction: sc.a.Subject}, nil
	}
	return store.MerchantFilter{}, nobody
}

// Merchant loads one merchant the caller may see, else not found: the
// scope's filter narrowed to the id, so visibility is the same query as
// listing.
func (sc Scope) Merchant(ctx context.Context, id string) (clearing.Merchant, error) {
	f, err := sc.Merchants()
	if err != nil {
		return clearing.Merchant{}, err
	}
	notFound := clearing.Errorf(clearing.NotFound, "merchant_not_found", "id", "no merchant %s", id)
	if f.ID != "" && f.ID != id {
		return clearing.Merchant{}, notFound
	}
	f.ID = id
	ms, err := sc.st.Merchants(ctx, f)
	if err != nil {
		return clearing.Merchant{}, err
	}
	if len(ms) == 0 {
		return clearing.Merchant{}, notFound
	}
	return ms[0], nil
}

// Participants is the filter for listing participants. Merchants never
// reach here: the edges refuse them.
func (sc Scope) Participants() (store.ParticipantFilter, error) {
	switch sc.a.Role {
	case clearing.RoleOperator:
		return store.ParticipantFilter{}, nil
	case clearing.RoleBank:
		return store.ParticipantFilter{IDs: []string{sc.a.Subject}}, nil
	case clearing.RoleRegulator:
		return store.ParticipantFilter{Jurisdiction: sc.a.Subject}, nil
	}
	return store.ParticipantFilter{}, nobody
}

// Participant loads one participant the caller may see, else not found.
func (sc Scope) Participant(ctx context.Context, id string) (clearing.Participant, error) {
	f, err := sc.Participants()
	if err != nil {
		return clearing.Participant{}, err
	}
	notFound := clearing.Errorf(clearing.NotFound, "participant_not_found", "id", "no participant %s", id)
	// An unregistered branch (DEUTDEFF500) is its institution's participant.
	if id, err = sc.st.ParticipantID(ctx, id); err != nil {
		return clearing.Participant{}, err
	}
	if len(f.IDs) > 0 && !slices.ContainsFunc(f.IDs, func(own string) bool { return clearing.CanonicalBIC(own) == clearing.CanonicalBIC(id) }) {
		return clearing.Participant{}, notFound
	}
	f.IDs = []string{id}
	ps, err := sc.st.Participants(ctx, f)
	if err != nil {
		return clearing.Participant{}, err
	}
	if len(ps) == 0 {
		return clearing.Participant{}, notFound
	}
	return ps[0], nil
}

// View says which cycle figures the caller may see: the scheme's totals,
// and the positions of which ledger accounts.
type View struct {
	Totals bool
	owners map[string]bool // nil: every account, escrow included
	only   string          // non-empty: the one participant whose positions OpenPositions should load
}

// Everything is the operator's view.
var Everything = View{Totals: true}

// Owner reports whether the view shows account owner o's positions.
func (v View) Owner(o string) bool { return v.owners == nil || v.owners[o] }

// View builds the caller's view of cycles and positions. A regulator's is
// the participants of its jurisdiction, looked up now.
func (sc Scope) View(ctx context.Context) (View, error) {
	switch sc.a.Role {
	case clearing.RoleOperator:
		return Everything, nil
	case clearing.RoleBank:
		return View{owners: map[string]bool{sc.a.Subject: true}, only: sc.a.Subject}, nil
	case clearing.RoleRegulator:
		ps, err := sc.st.Participants(ctx, store.ParticipantFilter{Jurisdiction: sc.a.Subject})
		if err != nil {
			return View{}, err
		}
		v := View{Totals: true, owners: make(map[string]bool, len(ps))}
		for _, p := range ps {
			v.owners[p.ID] = true
		}
		return v, nil
	}
	return View{}, nobody
}

// Positions loads the open cycle's positions in the caller's view.
func (sc Scope) Positions(ctx context.Context) ([]store.Position, error) {
	v, err := sc.View(ctx)
	if err != nil {
		return nil, err
	}
	all, err := sc.st.OpenPositions(ctx, v.only)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, p := range all {
		if v.Owner(p.Participant) {
			out = append(out, p)
		}
	}
	return out, nil
}

// APIKeys keeps the keys the caller may list: operators all of them,
// everyone else only the keys speaking for the same role and subject.
func (sc Scope) APIKeys(all []store.APIKey) []store.APIKey {
	if sc.a.Role == clearing.RoleOperator {
		return all
	}
	out := []store.APIKey{}
	for _, k := range all {
		if k.Role == sc.a.Role && k.Subject == sc.a.Subject {
			out = append(out, k)
		}
	}
	return out
}

// Mailboxes is the filter for listing mailbox files: a bank its own;
// operators any bank's (bankID, "" for all), unsigned ones included.
func (sc Scope) Mailboxes(bankID string) store.MailboxFilter {
	if sc.a.Role == clearing.RoleOperator {
		return store.MailboxFilter{BankID: bankID, Unsealed: true}
	}
	return store.MailboxFilter{BankID: sc.a.Subject}
}

// MailboxFile loads a signed file the caller may download (its own, or
// any for the operator), else not found; an unsigned one is a conflict.
func (sc Scope) MailboxFile(ctx context.Context, id string) (store.MailboxFile, error) {
	f, err := sc.st.MailboxFile(ctx, id)
	if err != nil {
		return store.MailboxFile{}, err
	}
	if sc.a.Role != clearing.RoleOperator && f.BankID != sc.a.Subject {
		return store.MailboxFile{}, clearing.Errorf(clearing.NotFound, "file_not_found", "id", "no file %s", id)
	}
	if f.SealedAt.IsZero() {
		return store.MailboxFile{}, clearing.Errorf(clearing.Conflict, "awaiting_signature", "id",
			"file %s is waiting for its signature (the signer is unavailable); it is released once signed", id)
	}
	return f, nil
}

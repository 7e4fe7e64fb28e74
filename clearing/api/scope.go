package api

import (
	"context"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
)

// Who may see what lives here and only here: handlers get their store
// filters and by-id lookups from a scope, so none of them can forget to
// narrow a listing. The rules:
//
//	operator   everything
//	bank       itself; payments where it is the buyer's or the merchant's
//	           bank; its merchants; its own positions; no scheme totals
//	merchant   itself, its payments and payouts; no participants, cycles
//	           or positions (the routes refuse it with 403)
//	regulator  read-only; parties and payments touching its jurisdiction,
//	           their positions, and scheme totals
//
// Anything outside the caller's scope is reported as not found, exactly
// like an id that does not exist, so that ids cannot be probed.

// allow lets only the given roles through to a route: the route table in
// server.go thereby states who may call what.
func allow(roles ...clearing.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !slices.Contains(roles, actor(c).Role) {
			return errForbidden(string(actor(c).Role) + " keys may not " + c.Method() + " " + c.Route().Path)
		}
		return c.Next()
	}
}

// readOnly refuses every mutating call from a regulator before anything
// else runs (including idempotency bookkeeping): supervisors observe.
func readOnly(c *fiber.Ctx) error {
	if actor(c).Role == clearing.RoleRegulator && c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		return errReadOnly
	}
	return c.Next()
}

type scope struct {
	st *store.Store
	a  clearing.Actor
}

func scopeOf(c *fiber.Ctx, st *store.Store) scope { return scope{st: st, a: actor(c)} }

// nobody is returned for roles this package does not serve (system actors
// never hold API keys); it keeps the switches below exhaustive.
var nobody = errForbidden("this key's role may not read this")

// payments is the filter for listing payments; merchantID is the caller's
// optional merchant_id query. ok is false when the query and the scope
// cannot overlap (a merchant asking for another merchant): the answer is
// then an empty page, not an error.
func (sc scope) payments(merchantID string) (f store.PaymentFilter, ok bool, err error) {
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

// payment loads one payment the caller may see, else 404.
func (sc scope) payment(ctx context.Context, id string) (clearing.Payment, []clearing.Event, error) {
	p, events, err := sc.st.Payment(ctx, id)
	if err != nil {
		return clearing.Payment{}, nil, err
	}
	if !sc.a.CanSee(p) {
		return clearing.Payment{}, nil, paymentNotFound(id)
	}
	return p, events, nil
}

// paymentDetail is payment with its legs, read in one round trip.
func (sc scope) paymentDetail(ctx context.Context, id string) (clearing.Payment, []clearing.Event, []store.Leg, error) {
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

// merchants is the filter for listing merchants.
func (sc scope) merchants() (store.MerchantFilter, error) {
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

// merchant loads one merchant the caller may see, else 404: the scope's
// filter narrowed to the id, so visibility is the same query as listing.
func (sc scope) merchant(ctx context.Context, id string) (clearing.Merchant, error) {
	f, err := sc.merchants()
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

// participants is the filter for listing participants. Merchants never
// reach here: the routes refuse them.
func (sc scope) participants() (store.ParticipantFilter, error) {
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

// participant loads one participant the caller may see, else 404.
func (sc scope) participant(ctx context.Context, id string) (clearing.Participant, error) {
	f, err := sc.participants()
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

// view says which cycle figures the caller may see: the scheme's totals,
// and the positions of which ledger accounts.
type view struct {
	totals bool
	owners map[string]bool // nil: every account, escrow included
	only   string          // non-empty: the one participant whose positions OpenPositions should load
}

func (v view) owner(o string) bool { return v.owners == nil || v.owners[o] }

// view builds the caller's view of cycles and positions. A regulator's is
// the participants of its jurisdiction, looked up now.
func (sc scope) view(ctx context.Context) (view, error) {
	switch sc.a.Role {
	case clearing.RoleOperator:
		return view{totals: true}, nil
	case clearing.RoleBank:
		return view{owners: map[string]bool{sc.a.Subject: true}, only: sc.a.Subject}, nil
	case clearing.RoleRegulator:
		ps, err := sc.st.Participants(ctx, store.ParticipantFilter{Jurisdiction: sc.a.Subject})
		if err != nil {
			return view{}, err
		}
		v := view{totals: true, owners: make(map[string]bool, len(ps))}
		for _, p := range ps {
			v.owners[p.ID] = true
		}
		return v, nil
	}
	return view{}, nobody
}

// positions loads the open cycle's positions in the caller's view.
func (sc scope) positions(ctx context.Context) ([]store.Position, error) {
	v, err := sc.view(ctx)
	if err != nil {
		return nil, err
	}
	all, err := sc.st.OpenPositions(ctx, v.only)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, p := range all {
		if v.owner(p.Participant) {
			out = append(out, p)
		}
	}
	return out, nil
}

// apiKeys keeps the keys the caller may list: operators all of them,
// everyone else only the keys speaking for the same role and subject.
func (sc scope) apiKeys(all []store.APIKey) []store.APIKey {
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

package clearing

import (
	"fmt"
	"regexp"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/fx"
)

// State of a payment in escrow.
//
//	received ─▶ held ─┬─▶ released            (buyer confirms, deadline passes, partial releases add up)
//	                  ├─▶ refunded            (merchant gives back)
//	                  └─▶ disputed ─┬─▶ released   (resolution: release)
//	                                └─▶ refunded   (resolution: refund)
//
// released and refunded are final. A held payment may be partly released;
// what is not yet released stays held.
type State string

const (
	Received State = "received"
	Held     State = "held"
	Disputed State = "disputed"
	Released State = "released"
	Refunded State = "refunded"
)

// Final reports whether no transition leaves s.
func (s State) Final() bool { return s == Released || s == Refunded }

// Payment is one buyer-to-merchant payment through escrow. Amounts are in
// minor units of Currency, the currency held in escrow and paid to the
// merchant.
//
// A cross-currency payment (SellCurrency != "") was paid by the buyer's bank
// in SellCurrency: SellMinor (T) = FeeMinor (F, to the fees account) +
// SpreadMinor (S) + ConvertedMinor (C) (both to the FX provider), and the
// provider delivered AmountMinor (M) = RoundDown(C × Rate) of Currency into
// escrow. These fields never change after the hold (docs/fx.md).
type Payment struct {
	ID                   string // the UETR: a UUID v4 carried end to end
	EndToEndID           string
	Reference            string // the order reference (remittance information)
	BuyerBankID          string
	MerchantID           string
	MerchantBankID       string
	BuyerJurisdiction    string
	MerchantJurisdiction string
	Currency             string
	AmountMinor          int64
	ReleasedMinor        int64
	RefundedMinor        int64
	State                State
	ReleaseAt            time.Time // auto-release deadline while held; zero once disputed or final
	HoldCycleID          int64
	Version              int64 // bumped by every transition, for optimistic checks
	CreatedAt            time.Time
	UpdatedAt            time.Time

	SellCurrency   string // "" for a same-currency payment
	SellMinor      int64  // T: what the buyer's bank paid, in SellCurrency
	FeeMinor       int64  // F: the scheme fee, in SellCurrency
	SpreadMinor    int64  // S: the FX spread, in SellCurrency
	ConvertedMinor int64  // C = T − F − S: what was converted, in SellCurrency
	FXProviderID   string // the participant that converted
	QuoteID        string // the quote the conversion was locked at
	Rate           string // Currency per 1 SellCurrency, as quoted (a decimal, never a float)
	// FXResultOwner is the account that bears the FX result of this
	// payment's refunds (locked minus fresh conversion, in SellCurrency):
	// FXResultAccount (the operator's) or the merchant's bank, as configured
	// when the payment was held. "" reads as FXResultAccount (payments held
	// before the choice existed).
	FXResultOwner string
}

// FXResultBearer is the account that bears the FX result of the payment's
// refunds: FXResultOwner, or the operator's FXResultAccount when unset.
func (p Payment) FXResultBearer() string {
	if p.FXResultOwner == "" {
		return FXResultAccount
	}
	return p.FXResultOwner
}

// IsFX reports whether the payment is cross-currency.
func (p Payment) IsFX() bool { return p.SellCurrency != "" }

// HeldMinor is what is still in escrow for this payment.
func (p Payment) HeldMinor() int64 {
	if p.State != Held && p.State != Disputed {
		return 0
	}
	return p.AmountMinor - p.ReleasedMinor - p.RefundedMinor
}

// EventType names what happened to a payment.
type EventType string

const (
	EventReceived          EventType = "received"
	EventHeld              EventType = "held"
	EventPartiallyReleased EventType = "partially_released"
	EventReleased          EventType = "released"
	EventAutoReleased      EventType = "auto_released"
	EventDisputed          EventType = "disputed"
	EventRefunded          EventType = "refunded"
	EventResolvedRelease   EventType = "dispute_resolved_release"
	EventResolvedRefund    EventType = "dispute_resolved_refund"
)

// Event is one transition: who, when, why, and how much moved.
type Event struct {
	PaymentID   string
	Seq         int // 1, 2, … per payment
	Type        EventType
	From, To    State
	AmountMinor int64 // money moved by this event, 0 when none
	Actor       string
	Reason      string
	At          time.Time
}

// PostingKind says why money moved.
type PostingKind string

const (
	PostHold    PostingKind = "hold"    // buyer's bank → escrow
	PostRelease PostingKind = "release" // escrow → merchant's bank
	PostRefund  PostingKind = "refund"  // escrow → buyer's bank

	// The legs of a cross-currency hold (docs/fx.md).
	PostFee          PostingKind = "fee"           // buyer's bank → fees, sell currency
	PostFXSpread     PostingKind = "fx_spread"     // buyer's bank → FX provider, sell currency
	PostFXConversion PostingKind = "fx_conversion" // buyer's bank → FX provider, sell currency
	PostFXDelivery   PostingKind = "fx_delivery"   // FX provider → escrow, buy currency
	// The legs of a cross-currency refund.
	PostFXGiveBack    PostingKind = "fx_give_back"    // escrow → FX provider, buy currency
	PostFXConvertBack PostingKind = "fx_convert_back" // FX provider → buyer's bank, sell currency, at a fresh rate
	PostFXResult      PostingKind = "fx_result"       // bearer → buyer's bank: the fresh conversion fell short of the locked share
	PostFXResultGain  PostingKind = "fx_result_gain"  // buyer's bank → bearer: the fresh conversion exceeded the locked share
	PostFeeBack       PostingKind = "fee_back"        // fees → buyer's bank
	PostFXSpreadBack  PostingKind = "fx_spread_back"  // FX provider → buyer's bank
)

// EscrowAccount is the operator's escrow account; with a currency it forms
// one ledger account, like every participant id does.
const EscrowAccount = "escrow"

// FeesAccount receives the scheme fees of cross-currency payments, and
// FXResultAccount absorbs the difference between the locked and the fresh
// conversion of a cross-currency refund (unless the merchant's bank is
// configured to bear it: FXResultBearer). Both are the operator's, like the
// escrow; participant ids are BICs, so the names cannot clash.
const (
	FeesAccount     = "fees"
	FXResultAccount = "fx_result"
)

// OperatorAccount reports whether owner is one of the operator's accounts
// (escrow, fees, FX result) rather than a participant's.
func OperatorAccount(owner string) bool {
	return owner == EscrowAccount || owner == FeesAccount || owner == FXResultAccount
}

// Posting is one balanced double-entry transfer: Debit pays Credit. Every
// ledger account is an (owner, currency) pair, so a posting can only move
// one currency and always balances by construction.
type Posting struct {
	PaymentID   string
	Kind        PostingKind
	Currency    string
	Debit       string // account owner that pays: a participant id or EscrowAccount
	Credit      string // account owner that receives
	AmountMinor int64
}

// Transition is the outcome of one command on a payment: the new payment,
// the events to append and the postings to book, all or nothing.
type Transition struct {
	Payment  Payment
	Events   []Event
	Postings []Posting
}

// HoldRequest asks to hold a new payment in escrow.
type HoldRequest struct {
	UETR        string // optional: generated when empty
	EndToEndID  string
	Reference   string
	BuyerBankID string
	MerchantID  string
	Amount      fx.Amount // in the buyer's currency: for a cross-currency payment, T
	QuoteID     string    // optional: a quote to convert at (cross-currency payments)
}

// SameInstruction reports whether r asks for exactly what p is: the same
// UETR, references, banks, merchant and amount (what the buyer's bank
// paid, in its currency), and the same quote when r names one. A hold
// retried after a lost answer is the same instruction; the same UETR on
// anything else is a duplicate.
func (p Payment) SameInstruction(r HoldRequest) bool {
	currency, minor := p.Currency, p.AmountMinor
	if p.SellCurrency != "" {
		currency, minor = p.SellCurrency, p.SellMinor
	}
	return p.ID == r.UETR && p.EndToEndID == r.EndToEndID && p.Reference == r.Reference &&
		p.BuyerBankID == r.BuyerBankID && p.MerchantID == r.MerchantID &&
		currency == r.Amount.Currency.Code && minor == r.Amount.Minor &&
		(r.QuoteID == "" || r.QuoteID == p.QuoteID)
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// ValidUETR reports whether s is a lower-case UUID v4, as CBPR+ requires.
func ValidUETR(s string) bool { return uuidV4.MatchString(s) }

// Hold turns a request into a held payment: it checks the parties (both
// banks active and settling the currency, the merchant active and paid in
// it) and books the buyer's bank paying into escrow. It does not know the
// bank's position: the caller checks the net debit cap with CheckNetDebitCap
// inside the same transaction.
func Hold(req HoldRequest, buyerBank Participant, merchant Merchant, merchantBank Participant, by Actor, now time.Time, releaseAfter time.Duration) (Transition, error) {
	if err := checkParties(req, buyerBank, merchant, merchantBank, false); err != nil {
		return Transition{}, err
	}
	ccy := req.Amount.Currency.Code
	p := newPayment(req, buyerBank, merchant, merchantBank, now, releaseAfter)
	p.Currency, p.AmountMinor = ccy, req.Amount.Minor
	actor := by.String()
	return Transition{
		Payment:  p,
		Events:   holdEvents(p, actor, now),
		Postings: []Posting{{PaymentID: p.ID, Kind: PostHold, Currency: ccy, Debit: buyerBank.ID, Credit: EscrowAccount, AmountMinor: p.AmountMinor}},
	}, nil
}

// checkParties checks a hold request against its parties. The buyer's bank
// pays in the request's currency; the merchant's bank is paid in the
// merchant's. Unless fxHold, both must be the same.
func checkParties(req HoldRequest, buyerBank Participant, merchant Merchant, merchantBank Participant, fxHold bool) error {
	if !ValidUETR(req.UETR) {
		return Errorf(Invalid, "invalid_uetr", "uetr", "must be a lower-case UUID v4, got %q", req.UETR)
	}
	if len(req.EndToEndID) > MaxEndToEndIDLen {
		return Errorf(Invalid, "invalid_end_to_end_id", "end_to_end_id", "at most %d characters", MaxEndToEndIDLen)
	}
	if len(req.Reference) > MaxReferenceLen {
		return Errorf(Invalid, "invalid_reference", "reference", "at most %d characters", MaxReferenceLen)
	}
	if req.Amount.Minor <= 0 {
		return Errorf(Invalid, "amount_not_positive", "amount", "must be greater than zero")
	}
	ccy := req.Amount.Currency.Code
	if buyerBank.Kind != Bank {
		return Errorf(Invalid, "not_a_bank", "buyer_bank_id", "%s is %s, not a bank", buyerBank.ID, WithArticle(string(buyerBank.Kind)))
	}
	if buyerBank.Status != Active {
		return Errorf(Refused, "participant_suspended", "buyer_bank_id", "bank %s is suspended", buyerBank.ID)
	}
	if _, ok := buyerBank.Settles(ccy); !ok {
		return Errorf(Invalid, "currency_not_settled", "currency", "bank %s does not settle %s", buyerBank.ID, ccy)
	}
	if merchant.Status != Active {
		return Errorf(Refused, "merchant_suspended", "merchant_id", "merchant %s is suspended", merchant.ID)
	}
	if !fxHold && merchant.Currency != ccy {
		return Errorf(Invalid, "currency_mismatch", "currency", "merchant %s settles in %s, payment is in %s (cross-currency payments need an FX quote)", merchant.ID, merchant.Currency, ccy)
	}
	if merchant.BankID != merchantBank.ID {
		// The caller looked up the wrong bank: releases would pay it.
		return fmt.Errorf("%w: merchant %s is serviced by bank %q, not %q", ErrInvariant, merchant.ID, merchant.BankID, merchantBank.ID)
	}
	if merchantBank.Status != Active {
		return Errorf(Refused, "participant_suspended", "merchant_id", "bank %s of merchant %s is suspended", merchantBank.ID, merchant.ID)
	}
	if _, ok := merchantBank.Settles(merchant.Currency); !ok {
		return Errorf(Invalid, "currency_not_settled", "currency", "merchant bank %s does not settle %s", merchantBank.ID, merchant.Currency)
	}
	return nil
}

// newPayment is a held payment without its amounts.
func newPayment(req HoldRequest, buyerBank Participant, merchant Merchant, merchantBank Participant, now time.Time, releaseAfter time.Duration) Payment {
	return Payment{
		ID:                   req.UETR,
		EndToEndID:           req.EndToEndID,
		Reference:            req.Reference,
		BuyerBankID:          buyerBank.ID,
		MerchantID:           merchant.ID,
		MerchantBankID:       merchantBank.ID,
		BuyerJurisdiction:    buyerBank.Jurisdiction,
		MerchantJurisdiction: merchantBank.Jurisdiction,
		State:                Held,
		ReleaseAt:            now.Add(releaseAfter),
		Version:              1,
		CreatedAt:            now,
		UpdatedAt:            now,
	}
}

func holdEvents(p Payment, actor string, now time.Time) []Event {
	return []Event{
		{PaymentID: p.ID, Seq: 1, Type: EventReceived, To: Received, Actor: actor, At: now},
		{PaymentID: p.ID, Seq: 2, Type: EventHeld, From: Received, To: Held, AmountMinor: p.AmountMinor, Actor: actor, At: now},
	}
}

// CheckNetDebitCap refuses a debit that would take a bank's cycle position
// (received − paid, minor units) below −cap.
func CheckNetDebitCap(bankID string, c SettlementCurrency, positionMinor, debitMinor int64) error {
	if positionMinor-debitMinor < -c.NetDebitCapMinor {
		ccy := fx.MustCurrency(c.Currency)
		return Errorf(Refused, "net_debit_cap_exceeded", "amount",
			"holding %s would take bank %s to a position of %s, past its net debit cap of %s (current position %s)",
			ccy.FromMinor(debitMinor), bankID, ccy.FromMinor(positionMinor-debitMinor), ccy.FromMinor(c.NetDebitCapMinor), ccy.FromMinor(positionMinor))
	}
	return nil
}

// ActionKind is a command on a held or disputed payment.
type ActionKind string

const (
	ActionRelease ActionKind = "release" // pay the merchant (all, or part with AmountMinor)
	ActionDispute ActionKind = "dispute" // the buyer contests: stops the auto-release clock
	ActionRefund  ActionKind = "refund"  // give what is held back to the buyer's bank
	ActionResolve ActionKind = "resolve" // end a dispute with Decision
)

// Decision ends a dispute.
type Decision string

const (
	DecideRelease Decision = "release"
	DecideRefund  Decision = "refund"
)

// Action is a command on a payment.
type Action struct {
	Kind        ActionKind
	AmountMinor int64    // release only: 0 releases everything still held
	Decision    Decision // resolve only
	Reason      string
	// FreshRate converts a cross-currency refund back: sell currency per 1
	// buy currency, the FX provider's bid now. Needed (and only used) when a
	// cross-currency payment is refunded; see NeedsFreshRate.
	FreshRate decimal.Decimal
}

// NeedsFreshRate reports whether a on p would refund a cross-currency
// payment, and so needs Action.FreshRate.
func (p Payment) NeedsFreshRate(a Action) bool {
	if !p.IsFX() {
		return false
	}
	return (a.Kind == ActionRefund && p.State == Held) || (a.Kind == ActionResolve && a.Decision == DecideRefund && p.State == Disputed)
}

// Apply runs action a by actor on p at now. It returns a clear error and
// no transition when the action is illegal in p's state.
func (p Payment) Apply(a Action, by Actor, now time.Time) (Transition, error) {
	if len(a.Reason) > MaxReasonLen {
		return Transition{}, Errorf(Invalid, "invalid_reason", "reason", "at most %d characters", MaxReasonLen)
	}
	switch a.Kind {
	case ActionRelease:
		if p.State != Held {
			return Transition{}, p.illegal(a.Kind, "only a held payment can be released; a disputed one is resolved")
		}
		amount := a.AmountMinor
		if amount == 0 {
			amount = p.HeldMinor()
		}
		if amount < 0 {
			return Transition{}, Errorf(Invalid, "amount_not_positive", "amount", "must be greater than zero")
		}
		if amount > p.HeldMinor() {
			ccy := fx.MustCurrency(p.Currency)
			return Transition{}, Errorf(Refused, "release_exceeds_held", "amount", "cannot release %s: only %s is held", ccy.FromMinor(amount), ccy.FromMinor(p.HeldMinor()))
		}
		return p.release(amount, EventReleased, by, a.Reason, now), nil
	case ActionDispute:
		if p.State != Held {
			return Transition{}, p.illegal(a.Kind, "only a held payment can be disputed")
		}
		next := p.moved(Disputed, now)
		next.ReleaseAt = time.Time{} // a dispute stops the clock
		return Transition{Payment: next, Events: []Event{p.event(EventDisputed, Disputed, 0, by, a.Reason, now)}}, nil
	case ActionRefund:
		if p.State != Held {
			return Transition{}, p.illegal(a.Kind, "only a held payment can be refunded; a disputed one is resolved")
		}
		return p.refund(EventRefunded, by, a, now)
	case ActionResolve:
		if p.State != Disputed {
			return Transition{}, p.illegal(a.Kind, "only a disputed payment can be resolved")
		}
		switch a.Decision {
		case DecideRelease:
			return p.release(p.HeldMinor(), EventResolvedRelease, by, a.Reason, now), nil
		case DecideRefund:
			return p.refund(EventResolvedRefund, by, a, now)
		}
		return Transition{}, Errorf(Invalid, "invalid_decision", "decision", "must be %q or %q, got %q", DecideRelease, DecideRefund, a.Decision)
	}
	return Transition{}, Errorf(Invalid, "invalid_action", "action", "unknown action %q", a.Kind)
}

// AutoRelease releases what is still held once the deadline has passed
// without a dispute: the marketplace rule is that silence pays the merchant.
func (p Payment) AutoRelease(now time.Time) (Transition, error) {
	if p.State != Held {
		return Transition{}, p.illegal("auto-release", "only a held payment is released at its deadline")
	}
	if now.Before(p.ReleaseAt) {
		return Transition{}, Errorf(Refused, "deadline_not_reached", "", "payment %s releases at %s", p.ID, p.ReleaseAt.Format(time.RFC3339))
	}
	return p.release(p.HeldMinor(), EventAutoReleased, AutoReleaseWorker, "release deadline passed without a dispute", now), nil
}

func (p Payment) release(amount int64, typ EventType, by Actor, reason string, now time.Time) Transition {
	to := Released
	if amount < p.HeldMinor() {
		to, typ = Held, EventPartiallyReleased
	}
	next := p.moved(to, now)
	next.ReleasedMinor += amount
	if to == Released {
		next.ReleaseAt = time.Time{}
	}
	return Transition{
		Payment:  next,
		Events:   []Event{p.event(typ, to, amount, by, reason, now)},
		Postings: []Posting{{PaymentID: p.ID, Kind: PostRelease, Currency: p.Currency, Debit: EscrowAccount, Credit: p.MerchantBankID, AmountMinor: amount}},
	}
}

func (p Payment) refund(typ EventType, by Actor, a Action, now time.Time) (Transition, error) {
	amount := p.HeldMinor()
	postings := []Posting{{PaymentID: p.ID, Kind: PostRefund, Currency: p.Currency, Debit: EscrowAccount, Credit: p.BuyerBankID, AmountMinor: amount}}
	if p.IsFX() {
		var err error
		if postings, err = p.fxRefundLegs(amount, a.FreshRate); err != nil {
			return Transition{}, err
		}
	}
	next := p.moved(Refunded, now)
	next.RefundedMinor += amount
	next.ReleaseAt = time.Time{}
	return Transition{
		Payment:  next,
		Events:   []Event{p.event(typ, Refunded, amount, by, a.Reason, now)},
		Postings: postings,
	}, nil
}

func (p Payment) moved(to State, now time.Time) Payment {
	next := p
	next.State = to
	next.Version++
	next.UpdatedAt = now
	return next
}

// event builds the next event; Seq follows Version because every
// transition after the hold appends exactly one event (the hold, version 1,
// appends two).
func (p Payment) event(typ EventType, to State, amount int64, by Actor, reason string, now time.Time) Event {
	return Event{PaymentID: p.ID, Seq: int(p.Version) + 2, Type: typ, From: p.State, To: to, AmountMinor: amount, Actor: by.String(), Reason: reason, At: now}
}

func (p Payment) illegal(action any, why string) error {
	return Errorf(Refused, "illegal_transition", "state", "cannot %v payment %s: it is %s (%s)", action, p.ID, p.State, why)
}

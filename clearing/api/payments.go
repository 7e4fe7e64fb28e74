package api

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
)

type holdRequest struct {
	UETR        string `json:"uetr"`
	EndToEndID  string `json:"end_to_end_id"`
	Reference   string `json:"reference"`
	BuyerBankID string `json:"buyer_bank_id"`
	MerchantID  string `json:"merchant_id"`
	Amount      string `json:"amount"`
	Currency    string `json:"currency"`
	QuoteID     string `json:"quote_id"` // optional: convert at this quote (cross-currency)
	// Optional, for compliance screening and the travel rule
	// (compliance_parties.go).
	Debtor           *debtorJSON        `json:"debtor"`
	UltimateDebtor   *ultimatePartyJSON `json:"ultimate_debtor"`
	UltimateCreditor *ultimatePartyJSON `json:"ultimate_creditor"`
}

type holdBatchRequest struct {
	Payments []holdRequest `json:"payments"`
}

// toHold checks what the API can check alone (the caller may hold as this
// bank, the amount parses in its currency, the parties are well formed)
// and builds the domain request and what it says about its parties; the
// store checks the merchant, the banks, the currency and the cap.
func toHold(a clearing.Actor, r holdRequest) (clearing.HoldRequest, store.Instruction, error) {
	if a.Role == clearing.RoleBank {
		// A bank sends payments for its own buyers only.
		if r.BuyerBankID == "" {
			r.BuyerBankID = a.Subject
		}
		if r.BuyerBankID != a.Subject {
			return clearing.HoldRequest{}, store.Instruction{}, clearing.Errorf(clearing.Forbidden, "forbidden", "buyer_bank_id", "bank %s may hold payments only as the buyer's bank", a.Subject)
		}
	}
	if r.BuyerBankID == "" {
		return clearing.HoldRequest{}, store.Instruction{}, required("buyer_bank_id")
	}
	if r.MerchantID == "" {
		return clearing.HoldRequest{}, store.Instruction{}, required("merchant_id")
	}
	amount, err := fx.ParsePositiveAmount(r.Amount, r.Currency)
	if err != nil {
		return clearing.HoldRequest{}, store.Instruction{}, amountError(err, "amount", "currency")
	}
	in, err := r.instruction()
	if err != nil {
		return clearing.HoldRequest{}, store.Instruction{}, err
	}
	return clearing.HoldRequest{UETR: r.UETR, EndToEndID: r.EndToEndID, Reference: r.Reference,
		BuyerBankID: r.BuyerBankID, MerchantID: r.MerchantID, Amount: amount, QuoteID: r.QuoteID}, in, nil
}

// resolveBuyerBank writes r's buyer_bank_id as its participant's id, as
// the store's own lookups resolve a BIC (store.ParticipantID): DEUTDEFFXXX
// is DEUTDEFF, an unregistered branch DEUTDEFF500 its institution, a
// registered branch itself; an id no participant has stays as sent (the
// store refuses it). Done before toHold, so that the hold path sees one
// form of every bank. seen caches a batch's lookups.
func (h *handlers) resolveBuyerBank(ctx context.Context, r *holdRequest, seen map[string]string) error {
	if r.BuyerBankID == "" {
		return nil
	}
	if id, ok := seen[r.BuyerBankID]; ok {
		r.BuyerBankID = id
		return nil
	}
	id, err := h.st.ParticipantID(ctx, r.BuyerBankID)
	if err != nil {
		return err
	}
	if seen != nil {
		seen[r.BuyerBankID] = id
	}
	r.BuyerBankID = id
	return nil
}

// holdPayment answers 201 with the payment held, or 202 when compliance
// screening holds it for review: accepted, not in escrow yet.
func (h *handlers) holdPayment() batchable {
	return batchable{prepare: h.prepareHold, answer: h.answerHold}
}

func (h *handlers) prepareHold(c *fiber.Ctx) (store.Op, error) {
	var req holdRequest
	if err := decode(c, &req); err != nil {
		return store.Op{}, err
	}
	if err := h.resolveBuyerBank(c.UserContext(), &req, nil); err != nil {
		return store.Op{}, err
	}
	hold, in, err := toHold(actor(c), req)
	if err != nil {
		return store.Op{}, err
	}
	return store.Op{Hold: &hold, Instr: in, By: actor(c)}, nil
}

func (h *handlers) answerHold(c *fiber.Ctx, res store.Result) error {
	if pr, ok := pendingReview(res.Err); ok {
		return c.Status(http.StatusAccepted).JSON(pr)
	}
	c.Locals(localResource, "payment/"+res.Payment.ID)
	if res.Same {
		// This very instruction was held before (its answer was lost):
		// the answer is that payment, not a duplicate.
		c.Set(HeaderReplayed, "true")
		return c.Status(http.StatusOK).JSON(toPayment(res.Payment))
	}
	if res.Err != nil {
		return res.Err
	}
	return c.Status(http.StatusCreated).JSON(toPayment(res.Payment))
}

// holdBatch holds many payments in one transaction. Every item is answered
// on its own: an item the API refuses is never sent to the store, an item
// the store refuses does not stop the others.
func (h *handlers) holdBatch(c *fiber.Ctx) error {
	var req holdBatchRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if len(req.Payments) == 0 {
		return required("payments")
	}
	if len(req.Payments) > store.MaxBatch {
		return clearing.Errorf(clearing.Invalid, "batch_too_large", "payments", "at most %d per batch, got %d", store.MaxBatch, len(req.Payments))
	}
	a := actor(c)
	items := make([]batchItemJSON, len(req.Payments))
	var holds []clearing.HoldRequest
	var instr []store.Instruction
	var at []int                 // at[k] is the item index of holds[k]
	banks := map[string]string{} // buyer_bank_id as sent → participant id
	for i, r := range req.Payments {
		items[i].Index = i
		if err := h.resolveBuyerBank(c.UserContext(), &r, banks); err != nil {
			return err
		}
		hold, in, err := toHold(a, r)
		if err != nil {
			items[i].fail(err)
			continue
		}
		holds, instr = append(holds, hold), append(instr, in)
		at = append(at, i)
	}
	held, pending := 0, 0
	if len(holds) > 0 {
		results, err := h.st.HoldInstructed(c.UserContext(), holds, instr, a)
		if err != nil {
			return err
		}
		for k, res := range results {
			it := &items[at[k]]
			if pr, ok := pendingReview(res.Err); ok {
				it.Status, it.Review = http.StatusAccepted, &pr
				pending++
				continue
			}
			if res.Err != nil && !res.Same {
				it.fail(res.Err)
				continue
			}
			p := toPayment(res.Payment)
			it.Status, it.Payment = http.StatusCreated, &p
			if res.Same {
				it.Status = http.StatusOK // held before, by this same instruction
			}
			held++
		}
	}
	return c.JSON(fiber.Map{"held": held, "pending_review": pending, "failed": len(items) - held - pending, "results": items})
}

// fail records an item's refusal with the status it would have had alone.
func (it *batchItemJSON) fail(err error) {
	status, detail, internal := classify(err)
	if internal {
		detail.Message = "internal error"
	}
	it.Status, it.Error = status, &detail
}

var states = map[clearing.State]bool{clearing.Received: true, clearing.Held: true, clearing.Disputed: true, clearing.Released: true, clearing.Refunded: true}

func (h *handlers) listPayments(c *fiber.Ctx) error {
	f, ok, err := scopeOf(c, h.st).Payments(c.Query("merchant_id"))
	if err != nil {
		return err
	}
	if state := clearing.State(c.Query("state")); state != "" {
		if !states[state] {
			return clearing.Errorf(clearing.Invalid, "invalid_state", "state", "must be received, held, disputed, released or refunded, got %q", state)
		}
		f.State = state
	}
	if ccy := c.Query("currency"); ccy != "" {
		if _, err := fx.LookupCurrency(ccy); err != nil {
			return clearing.Errorf(clearing.Invalid, "unknown_currency", "currency", "%v", err)
		}
		f.Currency = ccy
	}
	if ref := c.Query("reference"); ref != "" {
		if len(ref) > clearing.MaxReferenceLen {
			return clearing.Errorf(clearing.Invalid, "invalid_reference", "reference", "at most %d characters", clearing.MaxReferenceLen)
		}
		f.Reference = ref
	}
	if f.Limit, err = queryInt(c, "limit", store.MaxPage); err != nil {
		return err
	}
	f.Cursor = c.Query("cursor")
	page := store.Page{}
	if ok {
		if page, err = h.st.Payments(c.UserContext(), f); err != nil {
			return err
		}
	}
	out := make([]paymentJSON, len(page.Payments))
	for i, p := range page.Payments {
		out[i] = toPayment(p)
	}
	return c.JSON(fiber.Map{"payments": out, "next_cursor": page.NextCursor})
}

func (h *handlers) getPayment(c *fiber.Ctx) error {
	p, events, legs, err := scopeOf(c, h.st).PaymentDetail(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	out := toPayment(p)
	out.Events = toEvents(p.Currency, events)
	out.Legs = toLegs(legs)
	return c.JSON(out)
}

type releaseRequest struct {
	Amount string `json:"amount"` // optional: a partial release; empty releases all that is held
	Reason string `json:"reason"`
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

type resolveRequest struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

// The single-payment actions, each a batchable route: prepare reads the
// request into the action, answerAct renders the payment after it.
func (h *handlers) release() batchable {
	return h.action(func(c *fiber.Ctx) (clearing.Action, error) {
		var req releaseRequest
		if err := decode(c, &req); err != nil {
			return clearing.Action{}, err
		}
		a := clearing.Action{Kind: clearing.ActionRelease, Reason: req.Reason}
		if req.Amount != "" {
			// The amount means something only in the payment's currency, so
			// the payment is loaded first (and is 404 to those who cannot
			// see it, before its currency is revealed by a parse error).
			p, _, err := scopeOf(c, h.st).Payment(c.UserContext(), c.Params("id"))
			if err != nil {
				return clearing.Action{}, err
			}
			amount, err := fx.ParsePositiveAmount(req.Amount, p.Currency)
			if err != nil {
				return clearing.Action{}, amountError(err, "amount", "amount")
			}
			a.AmountMinor = amount.Minor
		}
		return a, nil
	})
}

func (h *handlers) dispute() batchable { return h.simpleAction(clearing.ActionDispute) }
func (h *handlers) refund() batchable  { return h.simpleAction(clearing.ActionRefund) }

func (h *handlers) simpleAction(kind clearing.ActionKind) batchable {
	return h.action(func(c *fiber.Ctx) (clearing.Action, error) {
		var req reasonRequest
		if err := decode(c, &req); err != nil {
			return clearing.Action{}, err
		}
		return clearing.Action{Kind: kind, Reason: req.Reason}, nil
	})
}

func (h *handlers) resolve() batchable {
	return h.action(func(c *fiber.Ctx) (clearing.Action, error) {
		var req resolveRequest
		if err := decode(c, &req); err != nil {
			return clearing.Action{}, err
		}
		// Checked here as well as in the domain: there the payment's state is
		// checked first, and a typo deserves its own answer.
		d := clearing.Decision(req.Decision)
		if d != clearing.DecideRelease && d != clearing.DecideRefund {
			return clearing.Action{}, clearing.Errorf(clearing.Invalid, "invalid_decision", "decision", "must be %q or %q, got %q", clearing.DecideRelease, clearing.DecideRefund, req.Decision)
		}
		return clearing.Action{Kind: clearing.ActionResolve, Decision: d, Reason: req.Reason}, nil
	})
}

// action makes the batchable route of an action on the payment in the
// path. Permission (clearing.Actor.Permit: 404 for a payment the caller
// cannot see, 403 for an action its role may not take) is decided inside
// the store's transaction, on the locked row.
func (h *handlers) action(read func(c *fiber.Ctx) (clearing.Action, error)) batchable {
	return batchable{
		prepare: func(c *fiber.Ctx) (store.Op, error) {
			a, err := read(c)
			if err != nil {
				return store.Op{}, err
			}
			if err := checkReason(a.Reason); err != nil {
				return store.Op{}, err
			}
			return store.Op{Act: &store.ActRequest{PaymentID: c.Params("id"), Action: a, By: actor(c)}}, nil
		},
		answer: h.answerAct,
	}
}

func (h *handlers) answerAct(c *fiber.Ctx, res store.Result) error {
	if res.Err != nil {
		return res.Err
	}
	p := res.Payment
	c.Locals(localResource, "payment/"+p.ID)
	if p.State == clearing.Refunded {
		h.seal(c) // the refund's pacs.004 is in the buyer's bank's mailbox
	}
	return c.JSON(toPayment(p))
}

// A batchable route is a single-payment handler in two halves, so that a
// commit group can make its store call in one batch with its
// group-mates' (batched, store.OpRequest): prepare reads the request into
// a store call and changes nothing; answer renders the call's result.
type batchable struct {
	prepare func(c *fiber.Ctx) (store.Op, error)
	answer  func(c *fiber.Ctx, r store.Result) error
}

// handler is the route's plain handler: prepare, the store call on its
// own, answer.
func (b batchable) handler(st *store.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		op, err := b.prepare(c)
		if err != nil {
			return err
		}
		res, err := st.Do(c.UserContext(), op)
		if err != nil {
			return err
		}
		return b.answer(c, res)
	}
}

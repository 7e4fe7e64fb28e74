package api

import (
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
)

// actionItem is one escrow action of POST /v1/payments/actions: what the
// single-payment routes take, plus the payment and the action's name.
type actionItem struct {
	PaymentID string `json:"payment_id"`
	Action    string `json:"action"`   // release, dispute, refund or resolve
	Amount    string `json:"amount"`   // release only: a partial release
	Decision  string `json:"decision"` // resolve only
	Reason    string `json:"reason"`
}

type actionBatchRequest struct {
	Actions []actionItem `json:"actions"`
}

var actionKinds = map[string]clearing.ActionKind{
	"release": clearing.ActionRelease, "dispute": clearing.ActionDispute,
	"refund": clearing.ActionRefund, "resolve": clearing.ActionResolve,
}

// actBatch applies many escrow actions in one transaction, in order (two
// actions on one payment see each other). Every item is answered on its
// own, with the status it would have had alone: an item the API refuses
// never reaches the store, and an item the store refuses stops nothing
// else. Under an Idempotency-Key the whole request is replayed.
func (h *handlers) actBatch(c *fiber.Ctx) error {
	var req actionBatchRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if len(req.Actions) == 0 {
		return required("actions")
	}
	if len(req.Actions) > store.MaxBatch {
		return clearing.Errorf(clearing.Invalid, "batch_too_large", "actions", "at most %d per batch, got %d", store.MaxBatch, len(req.Actions))
	}
	by := actor(c)
	items := make([]batchItemJSON, len(req.Actions))
	var acts []store.ActRequest
	var at []int // at[k] is the item index of acts[k]
	for i, it := range req.Actions {
		items[i].Index = i
		a, err := h.toAction(c, it, fmt.Sprintf("actions[%d].", i))
		if err != nil {
			items[i].fail(err)
			continue
		}
		acts = append(acts, store.ActRequest{PaymentID: it.PaymentID, Action: a, By: by})
		at = append(at, i)
	}
	applied, refunded := 0, false
	if len(acts) > 0 {
		results, err := h.st.ActBatch(c.UserContext(), acts)
		if err != nil {
			return err
		}
		for k, res := range results {
			it := &items[at[k]]
			if res.Err != nil {
				it.fail(res.Err)
				continue
			}
			p := toPayment(res.Payment)
			it.Status, it.Payment = http.StatusOK, &p
			applied++
			refunded = refunded || res.Payment.State == clearing.Refunded
		}
	}
	if refunded {
		h.seal(c) // the refunds' pacs.004 are in the buyers' banks' mailboxes
	}
	return c.JSON(fiber.Map{"applied": applied, "failed": len(items) - applied, "results": items})
}

// toAction checks one item as its single-payment route would; field names
// in errors carry the item's prefix ("actions[3].amount").
func (h *handlers) toAction(c *fiber.Ctx, it actionItem, prefix string) (clearing.Action, error) {
	if it.PaymentID == "" {
		return clearing.Action{}, required(prefix + "payment_id")
	}
	kind, ok := actionKinds[it.Action]
	if !ok {
		return clearing.Action{}, clearing.Errorf(clearing.Invalid, "invalid_action", prefix+"action", "must be release, dispute, refund or resolve, got %q", it.Action)
	}
	if len(it.Reason) > clearing.MaxReasonLen {
		return clearing.Action{}, clearing.Errorf(clearing.Invalid, "invalid_reason", prefix+"reason", "at most %d characters", clearing.MaxReasonLen)
	}
	a := clearing.Action{Kind: kind, Reason: it.Reason}
	switch {
	case it.Amount != "" && kind != clearing.ActionRelease:
		return clearing.Action{}, clearing.Errorf(clearing.Invalid, "unexpected_field", prefix+"amount", "only a release takes an amount")
	case it.Decision != "" && kind != clearing.ActionResolve:
		return clearing.Action{}, clearing.Errorf(clearing.Invalid, "unexpected_field", prefix+"decision", "only a resolve takes a decision")
	case kind == clearing.ActionResolve:
		a.Decision = clearing.Decision(it.Decision)
		if a.Decision != clearing.DecideRelease && a.Decision != clearing.DecideRefund {
			return clearing.Action{}, clearing.Errorf(clearing.Invalid, "invalid_decision", prefix+"decision", "must be %q or %q, got %q", clearing.DecideRelease, clearing.DecideRefund, it.Decision)
		}
	case it.Amount != "":
		// As on the single route: the amount means something only in the
		// payment's currency, and a payment the caller cannot see is 404
		// before its currency shows in a parse error.
		p, _, err := scopeOf(c, h.st).Payment(c.UserContext(), it.PaymentID)
		if err != nil {
			return clearing.Action{}, err
		}
		amount, err := fx.ParsePositiveAmount(it.Amount, p.Currency)
		if err != nil {
			return clearing.Action{}, amountError(err, prefix+"amount", prefix+"amount")
		}
		a.AmountMinor = amount.Minor
	}
	return a, nil
}

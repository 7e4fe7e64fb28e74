package api

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/access"
	"github.com/crossclear/crossclear/clearing/store"
)

func (h *handlers) listCycles(c *fiber.Ctx) error {
	limit, err := queryInt(c, "limit", store.MaxPage)
	if err != nil {
		return err
	}
	v, err := scopeOf(c, h.st).View(c.UserContext())
	if err != nil {
		return err
	}
	cs, err := h.st.Cycles(c.UserContext(), limit)
	if err != nil {
		return err
	}
	out := make([]cycleJSON, len(cs))
	for i, cy := range cs {
		out[i] = toCycle(cy, v)
	}
	return c.JSON(fiber.Map{"cycles": out})
}

// currentCycle is the open cycle with the live positions the caller may
// see: what would be netted if the cycle closed now.
func (h *handlers) currentCycle(c *fiber.Ctx) error {
	sc := scopeOf(c, h.st)
	v, err := sc.View(c.UserContext())
	if err != nil {
		return err
	}
	cy, err := h.st.CurrentCycle(c.UserContext())
	if err != nil {
		return err
	}
	ps, err := sc.Positions(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"cycle": toCycle(cy, v), "positions": toPositions(ps)})
}

func (h *handlers) getCycle(c *fiber.Ctx) error {
	id, err := cycleID(c)
	if err != nil {
		return err
	}
	v, err := scopeOf(c, h.st).View(c.UserContext())
	if err != nil {
		return err
	}
	cy, err := h.st.Cycle(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(toCycle(cy, v))
}

// closeCycle closes cycle :id (the scheduler does it on its own clock);
// the answer is the closed cycle with its netting, the same for a cycle
// already closed, so a retry can never close the cycle that opened next.
func (h *handlers) closeCycle(c *fiber.Ctx) error {
	id, err := cycleID(c)
	if err != nil {
		return err
	}
	cy, err := h.st.CloseCycleByID(c.UserContext(), id, actor(c))
	if err != nil {
		return err
	}
	return h.closedCycle(c, cy)
}

// closeOpenCycle closes whichever cycle is open: the older form, kept for
// callers that do not read the open cycle's id first. It needs an
// Idempotency-Key, so that a retried request replays its first answer
// instead of closing the next cycle.
func (h *handlers) closeOpenCycle(c *fiber.Ctx) error {
	if c.Get(HeaderIdempotencyKey) == "" {
		return clearing.Errorf(clearing.Invalid, "idempotency_key_required", HeaderIdempotencyKey,
			"closing the open cycle needs an Idempotency-Key, or close it by id: POST /v1/cycles/{id}/close")
	}
	cy, err := h.st.CloseCycle(c.UserContext(), actor(c))
	if err != nil {
		return err
	}
	return h.closedCycle(c, cy)
}

func (h *handlers) closedCycle(c *fiber.Ctx, cy clearing.Cycle) error {
	c.Locals(localResource, "cycle/"+strconv.FormatInt(cy.ID, 10))
	if h.cfg.CycleFiles != nil && h.cfg.CycleFiles.BuildClosed(c.UserContext(), cy.ID) {
		h.seal(c)
	}
	return c.JSON(toCycle(cy, access.Everything))
}

type settleRequest struct {
	Participant string `json:"participant"`
	Currency    string `json:"currency"`
}

// settlePosition records that one net position of a closed cycle has been
// paid (or received) outside crossclear; the last one settles the cycle.
func (h *handlers) settlePosition(c *fiber.Ctx) error {
	id, err := cycleID(c)
	if err != nil {
		return err
	}
	var req settleRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Participant == "" {
		return required("participant")
	}
	if req.Currency == "" {
		return required("currency")
	}
	cy, err := h.st.SettlePosition(c.UserContext(), id, req.Participant, req.Currency, actor(c))
	if err != nil {
		return err
	}
	return c.JSON(toCycle(cy, access.Everything))
}

// cycleID reads the :id of a cycle route; a non-number names no cycle.
func cycleID(c *fiber.Ctx) (int64, error) {
	raw := c.Params("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, clearing.Errorf(clearing.NotFound, "cycle_not_found", "id", "no cycle %q", raw)
	}
	return id, nil
}

func (h *handlers) listPositions(c *fiber.Ctx) error {
	ps, err := scopeOf(c, h.st).Positions(c.UserContext())
	if err != nil {
		return err
	}
	for _, p := range ps {
		observeCap(p.Participant, p.AlarmThresholdPct, p.Usage())
	}
	return c.JSON(fiber.Map{"positions": toPositions(ps)})
}

// exposure converts the open cycle's positions of the participants the
// caller may see into the reporting currency: the operator sees everyone,
// a bank itself, a regulator its jurisdiction's participants.
func (h *handlers) exposure(c *fiber.Ctx) error {
	f, err := scopeOf(c, h.st).Participants()
	if err != nil {
		return err
	}
	rep, err := h.st.Exposures(c.UserContext(), f)
	if err != nil {
		return err
	}
	return c.JSON(toExposure(rep))
}

func toPositions(ps []store.Position) []positionJSON {
	out := make([]positionJSON, len(ps))
	for i, p := range ps {
		out[i] = toPosition(p)
	}
	return out
}

// checkLedger always answers 200: a failed check is a finding to read, not
// a failed request. Monitoring should alert on ok=false.
func (h *handlers) checkLedger(c *fiber.Ctx) error {
	l, err := h.st.CheckLedger(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(toLedger(l))
}

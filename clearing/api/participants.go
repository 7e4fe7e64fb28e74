package api

import (
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/fx"
)

type createParticipantRequest struct {
	Kind         string                 `json:"kind"`
	BIC          string                 `json:"bic"`
	Name         string                 `json:"name"`
	Country      string                 `json:"country"`
	Jurisdiction string                 `json:"jurisdiction"`
	Currencies   []settlementCurrencyIn `json:"currencies"`
	// NetDebitCapTotal is an optional multi-currency net debit cap, in
	// the reporting currency.
	NetDebitCapTotal string `json:"net_debit_cap_total"`
}

type settlementCurrencyIn struct {
	Currency    string `json:"currency"`
	NetDebitCap string `json:"net_debit_cap"`
}

type statusRequest struct {
	Reason string `json:"reason"`
}

func (h *handlers) createParticipant(c *fiber.Ctx) error {
	var req createParticipantRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p := clearing.Participant{Kind: clearing.ParticipantKind(req.Kind), BIC: req.BIC, Name: req.Name,
		Country: req.Country, Jurisdiction: req.Jurisdiction}
	for i, in := range req.Currencies {
		// A cap is money in its own currency; zero is allowed (a bank that
		// may only ever be a net receiver), negative is not.
		field := fmt.Sprintf("currencies[%d].", i)
		capAmount, err := fx.ParseAmount(in.NetDebitCap, in.Currency)
		if err != nil {
			return amountError(err, field+"net_debit_cap", field+"currency")
		}
		if capAmount.Minor < 0 {
			return clearing.Errorf(clearing.Invalid, "invalid_net_debit_cap", field+"net_debit_cap", "must not be negative, got %s", in.NetDebitCap)
		}
		p.Currencies = append(p.Currencies, clearing.SettlementCurrency{Currency: in.Currency, NetDebitCapMinor: capAmount.Minor})
	}
	if req.NetDebitCapTotal != "" {
		ccy := h.st.FX().ReportingCurrency
		total, err := fx.ParseAmount(req.NetDebitCapTotal, ccy)
		if err != nil {
			return amountError(err, "net_debit_cap_total", "net_debit_cap_total")
		}
		if total.Minor < 0 {
			return clearing.Errorf(clearing.Invalid, "invalid_net_debit_cap", "net_debit_cap_total", "must not be negative, got %s", req.NetDebitCapTotal)
		}
		p.NetDebitCapTotal = clearing.TotalCap{Currency: ccy, Minor: total.Minor}
	}
	created, err := h.st.CreateParticipant(c.UserContext(), p, actor(c))
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(toParticipant(created))
}

func (h *handlers) listParticipants(c *fiber.Ctx) error {
	f, err := scopeOf(c, h.st).Participants()
	if err != nil {
		return err
	}
	ps, err := h.st.Participants(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := make([]participantJSON, len(ps))
	for i, p := range ps {
		out[i] = toParticipant(p)
	}
	return c.JSON(fiber.Map{"participants": out})
}

func (h *handlers) getParticipant(c *fiber.Ctx) error {
	p, err := scopeOf(c, h.st).Participant(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	l, err := h.st.ParticipantLimits(c.UserContext(), p.ID)
	if err != nil {
		return err
	}
	return c.JSON(LimitsDocument(l))
}

// setParticipantStatus suspends or reactivates; operators only, so no scope
// check beyond the route's.
func (h *handlers) setParticipantStatus(status clearing.Status) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req statusRequest
		if err := decode(c, &req); err != nil {
			return err
		}
		if err := checkReason(req.Reason); err != nil {
			return err
		}
		p, err := h.st.SetParticipantStatus(c.UserContext(), c.Params("id"), status, req.Reason, actor(c))
		if err != nil {
			return err
		}
		return c.JSON(toParticipant(p))
	}
}

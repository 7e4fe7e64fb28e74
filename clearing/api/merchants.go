package api

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
)

type createMerchantRequest struct {
	Name     string `json:"name"`
	Country  string `json:"country"`
	Currency string `json:"currency"`
	Account  string `json:"account"`
	BankID   string `json:"bank_id"`
}

// createMerchant onboards a merchant: the operator for any bank, a bank
// only for itself (bank_id then defaults to the calling bank).
func (h *handlers) createMerchant(c *fiber.Ctx) error {
	var req createMerchantRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	a := actor(c)
	if a.Role == clearing.RoleBank {
		if req.BankID == "" {
			req.BankID = a.Subject
		}
		if req.BankID != a.Subject {
			return clearing.Errorf(clearing.Forbidden, "forbidden", "bank_id", "a bank onboards merchants only for itself (%s)", a.Subject)
		}
	}
	if req.BankID == "" {
		return required("bank_id")
	}
	m, err := h.st.CreateMerchant(c.UserContext(), clearing.Merchant{Name: req.Name, Country: req.Country,
		Currency: req.Currency, Account: req.Account, BankID: req.BankID}, a)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(toMerchant(m))
}

func (h *handlers) listMerchants(c *fiber.Ctx) error {
	f, err := scopeOf(c, h.st).Merchants()
	if err != nil {
		return err
	}
	ms, err := h.st.Merchants(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := make([]merchantJSON, len(ms))
	for i, m := range ms {
		out[i] = toMerchant(m)
	}
	return c.JSON(fiber.Map{"merchants": out})
}

func (h *handlers) getMerchant(c *fiber.Ctx) error {
	m, err := scopeOf(c, h.st).Merchant(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(toMerchant(m))
}

// setMerchantStatus suspends or reactivates a merchant: the operator, or
// the bank that services it (its KYC is the bank's).
func (h *handlers) setMerchantStatus(status clearing.Status) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req statusRequest
		if err := decode(c, &req); err != nil {
			return err
		}
		if err := checkReason(req.Reason); err != nil {
			return err
		}
		m, err := scopeOf(c, h.st).Merchant(c.UserContext(), c.Params("id"))
		if err != nil {
			return err
		}
		m, err = h.st.SetMerchantStatus(c.UserContext(), m.ID, status, req.Reason, actor(c))
		if err != nil {
			return err
		}
		return c.JSON(toMerchant(m))
	}
}

func (h *handlers) listPayouts(c *fiber.Ctx) error {
	limit, err := queryInt(c, "limit", store.MaxPage)
	if err != nil {
		return err
	}
	m, err := scopeOf(c, h.st).Merchant(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	ps, err := h.st.Payouts(c.UserContext(), m.ID, limit)
	if err != nil {
		return err
	}
	out := make([]payoutJSON, len(ps))
	for i, p := range ps {
		out[i] = toPayout(p)
	}
	return c.JSON(fiber.Map{"payouts": out})
}

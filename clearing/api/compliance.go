package api

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/messages/inbound"
)

// Compliance: a compliance officer checks a name against the lists by
// hand (POST /v1/screen) and works the queue of payments screening held
// for review, approving or rejecting each with a comment. Only compliance
// keys decide; operators may read the queue. A bank learns what became of
// a payment it sent with GET /v1/payments/{id}/screening — its status and
// ISO reason, never the matched entries or the officer's comment, so that
// its customer is not tipped off.

type screenRequest struct {
	Name    string `json:"name"`
	Country string `json:"country"`
	DOB     string `json:"dob"`
	ID      string `json:"id"`
	Address string `json:"address"`
}

type listJSON struct {
	Name     string `json:"name"`
	Hash     string `json:"hash"`
	Entries  int    `json:"entries"`
	LoadedAt string `json:"loaded_at"`
}

type decisionJSON struct {
	Outcome    string              `json:"outcome"`
	Score      float64             `json:"score"`
	Matches    []compliance.Match  `json:"matches"`
	Reasons    []compliance.Reason `json:"reasons"`
	Lists      []listJSON          `json:"lists"`
	ScreenedAt string              `json:"screened_at"`
}

func toLists(ls []compliance.ListInfo) []listJSON {
	out := make([]listJSON, len(ls))
	for i, l := range ls {
		out[i] = listJSON{Name: l.Name, Hash: l.Hash, Entries: l.Entries, LoadedAt: ts(l.LoadedAt)}
	}
	return out
}

// nonNil keeps empty lists as [] rather than null on the wire.
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

func (h *handlers) screen(c *fiber.Ctx) error {
	var req screenRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	sc, err := h.screener()
	if err != nil {
		return err
	}
	p := compliance.Party{Role: compliance.Asked, Name: req.Name, Country: req.Country, BirthDate: req.DOB, ID: req.ID, Address: req.Address}
	if err := p.Validate(); err != nil {
		var fe *compliance.FieldError
		if errors.As(err, &fe) {
			return clearing.Errorf(clearing.Invalid, "invalid_"+fe.Field, fe.Field, "%s", fe.Msg)
		}
		return err
	}
	d := sc.Check(p)
	return c.JSON(decisionJSON{Outcome: string(d.Outcome), Score: d.Score, Matches: nonNil(d.Matches), Reasons: nonNil(d.Reasons),
		Lists: toLists(d.Lists), ScreenedAt: ts(d.ScreenedAt)})
}

type reviewJSON struct {
	ID                   string              `json:"id"`
	PaymentID            string              `json:"payment_id"`
	Status               string              `json:"status"`
	Outcome              string              `json:"outcome"`
	Score                float64             `json:"score"`
	Flags                []string            `json:"flags"`
	ISOReason            string              `json:"iso_reason,omitempty"`
	BuyerBankID          string              `json:"buyer_bank_id"`
	MerchantID           string              `json:"merchant_id"`
	MerchantBankID       string              `json:"merchant_bank_id"`
	BuyerJurisdiction    string              `json:"buyer_jurisdiction"`
	MerchantJurisdiction string              `json:"merchant_jurisdiction"`
	Amount               string              `json:"amount"`
	Currency             string              `json:"currency"`
	BaseAmount           *string             `json:"base_amount,omitempty"` // in the AML rules' base currency
	BaseCurrency         *string             `json:"base_currency,omitempty"`
	Parties              []compliance.Party  `json:"parties"`
	Matches              []compliance.Match  `json:"matches"`
	Reasons              []compliance.Reason `json:"reasons"`
	Lists                []listJSON          `json:"lists"`
	Channel              string              `json:"channel"` // api or file
	FileID               string              `json:"file_id,omitempty"`
	RequestedBy          string              `json:"requested_by"`
	ScreenedAt           string              `json:"screened_at"`
	ResolvedBy           string              `json:"resolved_by,omitempty"`
	ResolvedAt           *string             `json:"resolved_at,omitempty"`
	Comment              string              `json:"comment,omitempty"`
	HoldError            string              `json:"hold_error,omitempty"` // why the hold was refused after approval
	Payment              *paymentJSON        `json:"payment,omitempty"`    // the payment approval held
}

func toReview(s store.Screening) reviewJSON {
	out := reviewJSON{ID: s.ID, PaymentID: s.PaymentID, Status: s.Status, Outcome: string(s.Outcome), Score: s.Score, Flags: nonNil(s.Flags),
		ISOReason: s.ISOReason, BuyerBankID: s.BuyerBankID, MerchantID: s.MerchantID, MerchantBankID: s.MerchantBankID,
		BuyerJurisdiction: s.BuyerJurisdiction, MerchantJurisdiction: s.MerchantJurisdiction, Amount: s.Amount.Value(), Currency: s.Amount.Currency.Code,
		Parties: nonNil(s.Parties), Matches: nonNil(s.Matches), Reasons: nonNil(s.Reasons), Lists: toLists(s.Lists), Channel: s.Origin.Channel,
		FileID: s.Origin.FileID, RequestedBy: s.RequestedBy, ScreenedAt: ts(s.ScreenedAt), ResolvedBy: s.ResolvedBy, ResolvedAt: optTS(s.ResolvedAt),
		Comment: s.Comment, HoldError: s.HoldError}
	if s.Base.Currency.Code != "" {
		v, c := s.Base.Value(), s.Base.Currency.Code
		out.BaseAmount, out.BaseCurrency = &v, &c
	}
	return out
}

func (h *handlers) listReviews(c *fiber.Ctx) error {
	limit, err := queryInt(c, "limit", store.MaxPage)
	if err != nil {
		return err
	}
	rs, err := h.st.Reviews(c.UserContext(), store.ReviewFilter{Status: c.Query("status"), Limit: limit})
	if err != nil {
		return err
	}
	out := make([]reviewJSON, len(rs))
	for i, r := range rs {
		out[i] = toReview(r)
	}
	return c.JSON(fiber.Map{"reviews": out})
}

func (h *handlers) getReview(c *fiber.Ctx) error {
	s, err := h.review(c)
	if err != nil {
		return err
	}
	return c.JSON(toReview(s))
}

// review loads the review named in the path: a screening that held or
// rejected a payment (a pass is no review).
func (h *handlers) review(c *fiber.Ctx) (store.Screening, error) {
	s, err := h.st.Screening(c.UserContext(), c.Params("id"))
	if err != nil || s.Outcome == compliance.Pass {
		return store.Screening{}, clearing.Errorf(clearing.NotFound, "review_not_found", "id", "no review %s", c.Params("id"))
	}
	return s, nil
}

type commentRequest struct {
	Comment string `json:"comment"`
}

func (h *handlers) approveReview(c *fiber.Ctx) error {
	var req commentRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	s, p, _, err := h.st.ApproveReview(c.UserContext(), c.Params("id"), req.Comment, actor(c), h.reviewAnswer())
	if err != nil {
		return err
	}
	h.seal(c)
	out := toReview(s)
	if s.Status == store.ScreeningApproved {
		pj := toPayment(p)
		out.Payment = &pj
	}
	return c.JSON(out)
}

func (h *handlers) rejectReview(c *fiber.Ctx) error {
	var req commentRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	s, err := h.st.RejectReview(c.UserContext(), c.Params("id"), req.Comment, actor(c), h.reviewAnswer())
	if err != nil {
		return err
	}
	h.seal(c)
	return c.JSON(toReview(s))
}

func (h *handlers) reviewAnswer() store.ReviewAnswer {
	return inbound.ReviewAnswer(inbound.Config{OperatorBIC: h.cfg.OperatorBIC})
}

type paymentScreeningJSON struct {
	PaymentID   string  `json:"payment_id"`
	ScreeningID string  `json:"screening_id"`
	Status      string  `json:"status"`
	ISOReason   string  `json:"iso_reason,omitempty"`
	ScreenedAt  string  `json:"screened_at"`
	ResolvedAt  *string `json:"resolved_at,omitempty"`
}

// paymentScreening tells a bank what became of a payment it sent: held,
// waiting for review, approved or rejected. Another bank's payment is not
// found, as everywhere.
func (h *handlers) paymentScreening(c *fiber.Ctx) error {
	s, err := h.st.PaymentScreening(c.UserContext(), c.Params("id"))
	a := actor(c)
	if err == nil && a.Role == clearing.RoleBank && a.Subject != s.BuyerBankID {
		err = clearing.Errorf(clearing.NotFound, "screening_not_found", "id", "no screening of payment %s", c.Params("id"))
	}
	if err != nil {
		return err
	}
	return c.JSON(paymentScreeningJSON{PaymentID: s.PaymentID, ScreeningID: s.ID, Status: s.Status, ISOReason: s.ISOReason,
		ScreenedAt: ts(s.ScreenedAt), ResolvedAt: optTS(s.ResolvedAt)})
}

// listsJSON are the sanctions lists screening uses now.
type listsJSON struct {
	Lists []listJSON `json:"lists"`
}

func (h *handlers) screener() (*compliance.Screener, error) {
	sc := h.st.Screener()
	if sc == nil {
		return nil, clearing.Errorf(clearing.Refused, "screening_not_configured", "", "this server has no screener: payments are held unscreened")
	}
	return sc, nil
}

func (h *handlers) listLists(c *fiber.Ctx) error {
	sc, err := h.screener()
	if err != nil {
		return err
	}
	return c.JSON(listsJSON{Lists: toLists(sc.Lists())})
}

// reloadLists reloads the lists now, as the scheduled reload does: a list
// that fails keeps its last version, and the answer says which failed.
func (h *handlers) reloadLists(c *fiber.Ctx) error {
	sc, err := h.screener()
	if err != nil {
		return err
	}
	lists, err := sc.Reload(c.UserContext())
	if err != nil {
		h.log.Error("sanctions list reload failed", "err", err, "by", actor(c).String())
		return clearing.Errorf(clearing.Refused, "list_reload_failed", "", "%v", err)
	}
	h.log.Info("sanctions lists reloaded", "by", actor(c).String(), "lists", len(lists))
	return c.JSON(listsJSON{Lists: toLists(lists)})
}

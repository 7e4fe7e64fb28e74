package console

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/messages/inbound"
)

// The compliance officer's pages: the review queue, one review with the
// payment's parties beside the list entries they matched, approve or
// reject with a comment (the store's ApproveReview and RejectReview, as
// POST /v1/reviews/{id}/approve|reject), and the decisions taken.

type reviewsData struct {
	Reviews []store.Screening
	All     bool
}

func (cs *console) reviews(c *fiber.Ctx) error {
	status := ""
	if c.Query("status") == "all" {
		status = "all"
	}
	rs, err := cs.reads.Reviews(c.UserContext(), store.ReviewFilter{Status: status, Limit: 200})
	if err != nil {
		return err
	}
	title := localeOf(c).T("title.reviews")
	if status == "all" {
		title = localeOf(c).T("title.decisions")
	}
	return cs.render(c, "reviews", page{Title: title, Active: "/reviews", Data: reviewsData{Reviews: rs, All: status == "all"}})
}

// partyMatches is one party with the list entries it matched.
type partyMatches struct {
	Party   compliance.Party
	Matches []compliance.Match
}

type reviewData struct {
	Review  store.Screening
	Parties []partyMatches
	Pending bool
}

func (cs *console) review(c *fiber.Ctx) error {
	s, err := cs.loadReview(c)
	if err != nil {
		return err
	}
	d := reviewData{Review: s, Pending: s.Status == store.ScreeningPending}
	for _, p := range s.Parties {
		pm := partyMatches{Party: p}
		for _, m := range s.Matches {
			if m.Role == p.Role && m.Party == p.Name {
				pm.Matches = append(pm.Matches, m)
			}
		}
		d.Parties = append(d.Parties, pm)
	}
	return cs.render(c, "review", page{Title: localeOf(c).T("title.review", "id", s.ID), Active: "/reviews", Data: d})
}

// loadReview loads a screening that held or rejected a payment (a pass is
// no review), as GET /v1/reviews/{id}.
func (cs *console) loadReview(c *fiber.Ctx) (store.Screening, error) {
	s, err := cs.st.Screening(c.UserContext(), c.Params("id"))
	if err != nil || s.Outcome == compliance.Pass {
		return store.Screening{}, fail(fiber.StatusNotFound, "error.review_not_found")
	}
	return s, nil
}

func (cs *console) decide(c *fiber.Ctx) error {
	s, err := cs.loadReview(c)
	if err != nil {
		return err
	}
	id, comment := s.ID, strings.TrimSpace(c.FormValue("comment"))
	answer := inbound.ReviewAnswer(inbound.Config{OperatorBIC: cs.cfg.OperatorBIC})
	switch c.Params("decision") {
	case "approve":
		_, _, _, err = cs.st.ApproveReview(c.UserContext(), id, comment, callerOf(c), answer)
	case "reject":
		_, err = cs.st.RejectReview(c.UserContext(), id, comment, callerOf(c), answer)
	default:
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	cs.kickSealer()
	return c.Redirect(Prefix+"/reviews/"+id, fiber.StatusSeeOther)
}

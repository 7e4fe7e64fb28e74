package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/delivery"
)

// Webhooks (README "Webhooks"): the operator, banks and merchants
// subscribe HTTPS endpoints to events; a subscription belongs to its
// creator's subject and gets only what that subject may see (the store
// decides, with clearing.Actor.CanSee). Only the operator sees every
// subscription; others see their own, and are told any other does not
// exist.

type webhookJSON struct {
	ID         string   `json:"id"`
	Owner      string   `json:"owner"`
	URL        string   `json:"url"`
	Secret     string   `json:"secret,omitempty"` // in the answer to its creation only
	EventTypes []string `json:"event_types"`
	Status     string   `json:"status"`
	Failures   int      `json:"failures"`
	LastError  string   `json:"last_error,omitempty"`
	Delivered  int64    `json:"delivered"`
	Pending    int64    `json:"pending"`
	CreatedBy  string   `json:"created_by"`
	CreatedAt  string   `json:"created_at"`
	PausedAt   string   `json:"paused_at,omitempty"`
	DeletedAt  string   `json:"deleted_at,omitempty"`
}

func toWebhook(w store.WebhookSubscription) webhookJSON {
	types := w.EventTypes
	if types == nil {
		types = []string{}
	}
	out := webhookJSON{ID: w.ID, Owner: w.Owner.String(), URL: w.URL, Secret: w.Secret, EventTypes: types, Status: w.Status,
		Failures: w.Failures, LastError: w.LastError, Delivered: w.Delivered, Pending: w.Pending, CreatedBy: w.CreatedBy,
		CreatedAt: w.CreatedAt.Format(time.RFC3339Nano)}
	if !w.PausedAt.IsZero() && w.Status == store.WebhookPaused {
		out.PausedAt = w.PausedAt.Format(time.RFC3339Nano)
	}
	if !w.DeletedAt.IsZero() {
		out.DeletedAt = w.DeletedAt.Format(time.RFC3339Nano)
	}
	return out
}

type createWebhookRequest struct {
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
}

// createWebhook subscribes; the secret is in this answer and nowhere else
// (an Idempotency-Key replay answers without it, as for API keys).
func (h *handlers) createWebhook(c *fiber.Ctx) error {
	var req createWebhookRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := delivery.CheckURL(req.URL, h.cfg.WebhookHTTPHosts); err != nil {
		return clearing.Errorf(clearing.Invalid, "invalid_url", "url", "%v", err)
	}
	w, err := h.st.CreateWebhook(c.UserContext(), actor(c), req.URL, req.EventTypes)
	if err != nil {
		return err
	}
	out := toWebhook(w)
	secret := out.Secret
	out.Secret = ""
	replay, err := json.Marshal(out)
	if err != nil {
		return err
	}
	c.Locals(localReplayBody, replay)
	out.Secret = secret
	return c.Status(http.StatusCreated).JSON(out)
}

func (h *handlers) listWebhooks(c *fiber.Ctx) error {
	ws, err := h.st.Webhooks(c.UserContext(), actor(c))
	if err != nil {
		return err
	}
	out := make([]webhookJSON, len(ws))
	for i, w := range ws {
		out[i] = toWebhook(w)
	}
	return c.JSON(fiber.Map{"webhooks": out, "event_types": store.WebhookEventTypes})
}

func (h *handlers) getWebhook(c *fiber.Ctx) error {
	w, err := h.st.Webhook(c.UserContext(), c.Params("id"), actor(c))
	if err != nil {
		return err
	}
	return c.JSON(toWebhook(w))
}

func (h *handlers) deleteWebhook(c *fiber.Ctx) error {
	w, err := h.st.DeleteWebhook(c.UserContext(), c.Params("id"), actor(c))
	if err != nil {
		return err
	}
	return c.JSON(toWebhook(w))
}

func (h *handlers) resumeWebhook(c *fiber.Ctx) error {
	w, err := h.st.ResumeWebhook(c.UserContext(), c.Params("id"), actor(c))
	if err != nil {
		return err
	}
	return c.JSON(toWebhook(w))
}

type replayWebhookRequest struct {
	FromEventID string `json:"from_event_id"`
}

// replayWebhook sends the events from from_event_id on again, in order,
// with their ids.
func (h *handlers) replayWebhook(c *fiber.Ctx) error {
	var req replayWebhookRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.FromEventID == "" {
		return clearing.Errorf(clearing.Invalid, "missing_field", "from_event_id", "from_event_id is required")
	}
	n, err := h.st.ReplayWebhook(c.UserContext(), c.Params("id"), req.FromEventID, actor(c))
	if err != nil {
		return err
	}
	return c.Status(http.StatusAccepted).JSON(fiber.Map{"id": c.Params("id"), "from_event_id": req.FromEventID, "queued": n})
}

type webhookAttemptJSON struct {
	EventID    string `json:"event_id"`
	EventType  string `json:"event_type"`
	Attempt    int    `json:"attempt"`
	At         string `json:"at"`
	StatusCode int    `json:"status_code"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// webhookDeliveries is the delivery log, newest first (limit: 1–1000,
// default 100).
func (h *handlers) webhookDeliveries(c *fiber.Ctx) error {
	limit := 100
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return clearing.Errorf(clearing.Invalid, "invalid_limit", "limit", "limit %q: want 1 to 1000", v)
		}
		limit = n
	}
	as, err := h.st.WebhookDeliveries(c.UserContext(), c.Params("id"), actor(c), limit)
	if err != nil {
		return err
	}
	out := make([]webhookAttemptJSON, len(as))
	for i, a := range as {
		out[i] = webhookAttemptJSON{EventID: a.EventID, EventType: a.EventType, Attempt: a.Attempt, At: a.At.Format(time.RFC3339Nano),
			StatusCode: a.StatusCode, Error: a.Error, DurationMS: a.Duration.Milliseconds()}
	}
	return c.JSON(fiber.Map{"deliveries": out})
}

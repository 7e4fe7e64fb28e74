package api

import (
	"encoding/json"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
)

type createAPIKeyRequest struct {
	Role    string `json:"role"`
	Subject string `json:"subject"`
	Name    string `json:"name"`
}

// createAPIKey issues a key; the secret is in this answer and nowhere else.
// An Idempotency-Key replay answers the same key without its secret: the
// store keeps replays in plain text, and secrets only as hashes. A client
// that lost the first answer revokes that key and asks for a new one.
func (h *handlers) createAPIKey(c *fiber.Ctx) error {
	var req createAPIKeyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	k, secret, err := h.st.CreateAPIKey(c.UserContext(), clearing.Role(req.Role), req.Subject, req.Name, actor(c))
	if err != nil {
		return err
	}
	out := toAPIKey(k)
	replay, err := json.Marshal(out)
	if err != nil {
		return err
	}
	c.Locals(localReplayBody, replay)
	out.Secret = secret
	return c.Status(http.StatusCreated).JSON(out)
}

func (h *handlers) listAPIKeys(c *fiber.Ctx) error {
	all, err := h.st.APIKeys(c.UserContext())
	if err != nil {
		return err
	}
	keys := scopeOf(c, h.st).APIKeys(all)
	out := make([]apiKeyJSON, len(keys))
	for i, k := range keys {
		out[i] = toAPIKey(k)
	}
	return c.JSON(fiber.Map{"api_keys": out})
}

func (h *handlers) revokeAPIKey(c *fiber.Ctx) error {
	if err := h.st.RevokeAPIKey(c.UserContext(), c.Params("id"), actor(c)); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

package api

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/signing"
)

// Keys: crossclear publishes the public keys of every version of its
// signing keys (GET /v1/signing-keys) so that banks and regulators verify
// offline; banks register theirs, with which their uploads are verified.

// signingKeys lists, per purpose, every version of crossclear's keys.
func (h *handlers) signingKeys(c *fiber.Ctx) error {
	out := map[string][]signing.PublicKey{}
	for purpose, s := range h.cfg.SigningKeys {
		keys, err := s.PublicKeys(c.UserContext())
		if err != nil {
			return newError(fiber.StatusServiceUnavailable, "signer_unavailable", "", "the signer cannot list its public keys now: %v", err)
		}
		out[purpose] = keys
	}
	return c.JSON(fiber.Map{"keys": out})
}

type bankKeyJSON struct {
	signing.PublicKey
	BankID    string  `json:"bank_id"`
	RevokedAt *string `json:"revoked_at,omitempty"`
}

func toBankKey(k store.BankKey) bankKeyJSON {
	return bankKeyJSON{PublicKey: k.PublicKey, BankID: k.BankID, RevokedAt: optTS(k.RevokedAt)}
}

type addBankKeyRequest struct {
	Key       string `json:"key"`
	Version   int    `json:"version"`
	Algorithm string `json:"algorithm"`
	PEM       string `json:"public_key_pem"`
}

// ownBank lets a bank act only on itself; operators on anyone. Others'
// ids answer 404 like everything a caller may not see.
func (h *handlers) ownBank(c *fiber.Ctx) (clearing.Participant, error) {
	return scopeOf(c, h.st).Participant(c.UserContext(), c.Params("id"))
}

func (h *handlers) addBankKey(c *fiber.Ctx) error {
	p, err := h.ownBank(c)
	if err != nil {
		return err
	}
	var req addBankKeyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Key == "" {
		return clearing.Errorf(clearing.Invalid, "required", "key", "name the key, e.g. \"%s-files\"", p.ID)
	}
	if len(req.Key) > clearing.MaxNameLen {
		return clearing.Errorf(clearing.Invalid, "invalid_key", "key", "at most %d characters", clearing.MaxNameLen)
	}
	if req.Version < 1 {
		return clearing.Errorf(clearing.Invalid, "invalid_version", "version", "a key version is a whole number ≥ 1, got %d", req.Version)
	}
	k, err := h.st.AddBankKey(c.UserContext(), p.ID, signing.PublicKey{Key: req.Key, Version: req.Version, Algorithm: req.Algorithm, PEM: req.PEM}, actor(c))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toBankKey(k))
}

func (h *handlers) listBankKeys(c *fiber.Ctx) error {
	p, err := h.ownBank(c)
	if err != nil {
		return err
	}
	keys, err := h.st.BankKeys(c.UserContext(), p.ID)
	if err != nil {
		return err
	}
	out := make([]bankKeyJSON, len(keys))
	for i, k := range keys {
		out[i] = toBankKey(k)
	}
	return c.JSON(fiber.Map{"keys": out})
}

func (h *handlers) revokeBankKey(c *fiber.Ctx) error {
	p, err := h.ownBank(c)
	if err != nil {
		return err
	}
	version, err := strconv.Atoi(c.Params("version"))
	if err != nil || version < 1 {
		return clearing.Errorf(clearing.Invalid, "invalid_version", "version", "a key version is a whole number ≥ 1, got %q", c.Params("version"))
	}
	k, err := h.st.RevokeBankKey(c.UserContext(), p.ID, c.Params("key"), version, actor(c))
	if err != nil {
		return err
	}
	return c.JSON(toBankKey(k))
}

type requireSignedFilesRequest struct {
	Require *bool `json:"require"`
}

func (h *handlers) requireSignedFiles(c *fiber.Ctx) error {
	p, err := h.ownBank(c)
	if err != nil {
		return err
	}
	var req requireSignedFilesRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Require == nil {
		return clearing.Errorf(clearing.Invalid, "required", "require", "send {\"require\": true} or {\"require\": false}")
	}
	p, err = h.st.SetRequireSignedFiles(c.UserContext(), p.ID, *req.Require, actor(c))
	if err != nil {
		return err
	}
	return c.JSON(toParticipant(p))
}

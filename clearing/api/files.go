package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/inbound"
	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/signing"
)

// ISO 20022 files: a bank uploads a pacs.008 or pain.001 as the raw body
// of POST /v1/files and gets, per transaction, held or rejected with an
// ISO reason; the pacs.002 answering it lands in its mailbox, which it
// lists, downloads (the same bytes every time) and acknowledges. A bank
// cancels its payments with a camt.056 (answered with camt.029s and the
// refunds' pacs.004s); the settlement bank or the operator confirms net
// positions settled with a pacs.002 or camt.054 (messages/inbound).

// DefaultFileLimit bounds an uploaded file: a pacs.008 of 10,000
// transactions with full addresses.
const DefaultFileLimit = 32 << 20

// fileErrorStatus maps inbound's refusals of a whole file.
var fileErrorStatus = map[string]int{
	"malformed_file":       http.StatusBadRequest,
	"unsupported_message":  http.StatusUnprocessableEntity,
	"duplicate_message":    http.StatusConflict,
	"signature_required":   http.StatusUnprocessableEntity,
	"bad_signature":        http.StatusBadRequest,
	"forbidden":            http.StatusForbidden,
	"wrong_sender":         http.StatusUnprocessableEntity,
	"invalid_cancellation": http.StatusUnprocessableEntity,
}

// HeaderSignature carries an upload's detached signature (the FILE.sig
// JSON, base64) when the file is the raw body; a multipart upload sends it
// as the "signature" part beside the "file" part.
const HeaderSignature = "X-Crossclear-Signature"

func (h *handlers) uploadFile(c *fiber.Ctx) error {
	raw, sig, err := uploadedFile(c)
	if err != nil {
		return err
	}
	a := actor(c)
	bank := a.Subject
	if a.Role == clearing.RoleOperator {
		bank = "" // operators upload settlement confirmations, for no bank
	}
	lim := iso.DefaultLimits
	lim.MaxBytes = int64(h.cfg.FileLimit)
	res, err := inbound.Receive(c.UserContext(), h.st, bank, raw, inbound.Config{OperatorBIC: h.cfg.OperatorBIC, Limits: lim, Signature: sig,
		SettlementBankBIC: h.cfg.SettlementBankBIC}, a)
	var fe *inbound.FileError
	if errors.As(err, &fe) {
		e := newError(fileErrorStatus[fe.Code], fe.Code, fe.Err.Element, "%s", fe.Err.Error())
		e.Line, e.Reason = fe.Err.Line, string(fe.Err.Reason)
		return e
	}
	if err != nil {
		return err
	}
	traceMsgID(c, res.File.MsgID)
	h.seal(c)
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
		c.Set(HeaderReplayed, "true")
	}
	if res.Reply != nil {
		c.Location("/v1/files/" + res.Reply.ID)
	}
	return c.Status(status).JSON(res)
}

// uploadedFile reads the file and its optional signature from a raw body
// (signature in HeaderSignature) or a multipart form ("file", "signature").
func uploadedFile(c *fiber.Ctx) (raw, sig []byte, err error) {
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEMultipartForm) {
		form, err := c.MultipartForm()
		if err != nil {
			return nil, nil, newError(http.StatusBadRequest, "malformed_multipart", "body", "a multipart upload needs a \"file\" part: %v", err)
		}
		part := func(name string) ([]byte, error) {
			fhs := form.File[name]
			if len(fhs) == 0 {
				if v := form.Value[name]; len(v) > 0 {
					return []byte(v[0]), nil
				}
				return nil, nil
			}
			f, err := fhs[0].Open()
			if err != nil {
				return nil, fmt.Errorf("open multipart part %s: %w", name, err)
			}
			defer f.Close()
			return io.ReadAll(f)
		}
		if raw, err = part("file"); err != nil {
			return nil, nil, err
		}
		if sig, err = part("signature"); err != nil {
			return nil, nil, err
		}
	} else {
		raw = c.Body() // readBody's own buffer: fasthttp does not reuse it
		if h := c.Get(HeaderSignature); h != "" {
			if sig, err = base64.StdEncoding.DecodeString(h); err != nil {
				return nil, nil, newError(http.StatusBadRequest, "bad_signature", HeaderSignature, "%s must be the base64 of the FILE.sig JSON: %v", HeaderSignature, err)
			}
		}
	}
	if len(raw) == 0 {
		return nil, nil, newError(http.StatusBadRequest, "required", "body", "send the ISO 20022 file as the request body (or as the \"file\" part of a multipart form)")
	}
	return raw, sig, nil
}

// seal signs what the request just put into a mailbox, so that the answer
// is usually downloadable at once; when the signer is down the file waits
// for the outbox worker and the upload still succeeds.
func (h *handlers) seal(c *fiber.Ctx) {
	if h.cfg.Sealer == nil {
		return
	}
	// Only once the files are committed: the sealer signs on its own
	// connection, and a request that rolls back leaves nothing to sign.
	ctx := c.UserContext()
	store.AfterCommit(ctx, func() {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := h.cfg.Sealer.SealPending(ctx); err != nil {
			h.log.Warn("file left unsigned in the outbox", "err", err)
			h.cfg.Sealer.Kick()
		}
	})
}

type mailboxFileJSON struct {
	ID             string  `json:"id"`
	BankID         string  `json:"bank_id"`
	Kind           string  `json:"kind"`
	InReplyTo      string  `json:"in_reply_to,omitempty"`
	Size           int64   `json:"size"`
	SHA256         string  `json:"sha256"`
	CreatedAt      string  `json:"created_at"`
	AcknowledgedAt *string `json:"acknowledged_at,omitempty"`
	// SignedAt is when the file was signed and released; operators also
	// see files still waiting for the signer, without it.
	SignedAt  *string           `json:"signed_at,omitempty"`
	Signature *signatureRefJSON `json:"signature,omitempty"`
}

// signatureRefJSON names the key that signed a file; the signature itself
// is GET /v1/files/:id/signature.
type signatureRefJSON struct {
	Key       string `json:"key"`
	Version   int    `json:"version"`
	Algorithm string `json:"algorithm"`
}

func toMailboxFile(f store.MailboxFile) mailboxFileJSON {
	out := mailboxFileJSON{ID: f.ID, BankID: f.BankID, Kind: f.Kind, InReplyTo: f.InReplyTo, Size: f.Size, SHA256: f.SHA256,
		CreatedAt: ts(f.CreatedAt), AcknowledgedAt: optTS(f.AcknowledgedAt), SignedAt: optTS(f.SealedAt)}
	if sig, err := signing.ParseSignature(f.Signature); err == nil {
		out.Signature = &signatureRefJSON{Key: sig.Key, Version: sig.Version, Algorithm: sig.Algorithm}
	}
	return out
}

func (h *handlers) listFiles(c *fiber.Ctx) error {
	f := scopeOf(c, h.st).Mailboxes(c.Query("bank_id"))
	switch c.Query("acknowledged") {
	case "":
	case "false":
		f.Unacknowledged = true
	default:
		return clearing.Errorf(clearing.Invalid, "invalid_acknowledged", "acknowledged", "only acknowledged=false is supported (files not yet acknowledged), got %q", c.Query("acknowledged"))
	}
	var err error
	if f.Limit, err = queryInt(c, "limit", store.MaxPage); err != nil {
		return err
	}
	files, err := h.st.MailboxFiles(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := make([]mailboxFileJSON, len(files))
	for i, m := range files {
		out[i] = toMailboxFile(m)
	}
	return c.JSON(fiber.Map{"files": out})
}

// mailboxFile loads a file the caller may download (access.Scope.MailboxFile).
func (h *handlers) mailboxFile(c *fiber.Ctx) (store.MailboxFile, error) {
	return scopeOf(c, h.st).MailboxFile(c.UserContext(), c.Params("id"))
}

// getFile sends the file's bytes exactly as stored, with their SHA-256.
func (h *handlers) getFile(c *fiber.Ctx) error {
	f, err := h.mailboxFile(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/xml")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+f.ID+"."+strings.ReplaceAll(f.Kind, ".", "-")+`.xml"`)
	c.Set(fiber.HeaderETag, `"`+f.SHA256+`"`)
	c.Set("X-Content-SHA256", f.SHA256)
	return c.Send(f.Content)
}

// getFileSignature sends the file's detached signature (FILE.sig JSON):
// verify it with the published keys of GET /v1/signing-keys, or offline
// with 'crossclear keys verify'.
func (h *handlers) getFileSignature(c *fiber.Ctx) error {
	f, err := h.mailboxFile(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+f.ID+"."+strings.ReplaceAll(f.Kind, ".", "-")+`.xml.sig"`)
	return c.Send(f.Signature)
}

func (h *handlers) ackFile(c *fiber.Ctx) error {
	if _, err := h.mailboxFile(c); err != nil {
		return err
	}
	f, err := h.st.AcknowledgeMailboxFile(c.UserContext(), c.Params("id"), actor(c))
	if err != nil {
		return err
	}
	return c.JSON(toMailboxFile(f))
}

package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/inbound"
	"github.com/crossclear/crossclear/messages/iso"
)

// ISO 20022 files: a bank uploads a pacs.008 or pain.001 as the raw body
// of POST /v1/files and gets, per transaction, held or rejected with an
// ISO reason; the pacs.002 answering it lands in its mailbox, which it
// lists, downloads (the same bytes every time) and acknowledges.

// DefaultFileLimit bounds an uploaded file: a pacs.008 of 10,000
// transactions with full addresses.
const DefaultFileLimit = 32 << 20

// fileErrorStatus maps inbound's refusals of a whole file.
var fileErrorStatus = map[string]int{
	"malformed_file":      http.StatusBadRequest,
	"unsupported_message": http.StatusUnprocessableEntity,
	"duplicate_message":   http.StatusConflict,
}

// limitBody keeps the JSON routes to BodyLimit while the application
// accepts files up to FileLimit.
func limitBody(cfg Config) fiber.Handler {
	return func(c *fiber.Ctx) error {
		limit := cfg.BodyLimit
		if c.Method() == fiber.MethodPost && c.Path() == "/v1/files" {
			limit = cfg.FileLimit
		}
		if len(c.Request().Body()) > limit {
			return fiber.ErrRequestEntityTooLarge
		}
		return c.Next()
	}
}

func (h *handlers) uploadFile(c *fiber.Ctx) error {
	raw := c.Body()
	if len(raw) == 0 {
		return newError(http.StatusBadRequest, "required", "body", "send the ISO 20022 file as the request body")
	}
	raw = append([]byte(nil), raw...) // fasthttp reuses the buffer
	a := actor(c)
	lim := iso.DefaultLimits
	lim.MaxBytes = int64(h.cfg.FileLimit)
	res, err := inbound.Receive(c.UserContext(), h.st, a.Subject, raw, inbound.Config{OperatorBIC: h.cfg.OperatorBIC, Limits: lim}, a)
	var fe *inbound.FileError
	if errors.As(err, &fe) {
		e := newError(fileErrorStatus[fe.Code], fe.Code, fe.Err.Element, "%s", fe.Err.Error())
		e.Line, e.Reason = fe.Err.Line, string(fe.Err.Reason)
		return e
	}
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
		c.Set(HeaderReplayed, "true")
	}
	c.Location("/v1/files/" + res.Reply.ID)
	return c.Status(status).JSON(res)
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
}

func toMailboxFile(f store.MailboxFile) mailboxFileJSON {
	return mailboxFileJSON{ID: f.ID, BankID: f.BankID, Kind: f.Kind, InReplyTo: f.InReplyTo, Size: f.Size, SHA256: f.SHA256,
		CreatedAt: ts(f.CreatedAt), AcknowledgedAt: optTS(f.AcknowledgedAt)}
}

func (h *handlers) listFiles(c *fiber.Ctx) error {
	a := actor(c)
	f := store.MailboxFilter{BankID: a.Subject}
	if a.Role == clearing.RoleOperator {
		f.BankID = c.Query("bank_id")
	}
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

// mailboxFile loads a file the caller may see (its own, or any for the
// operator), else 404.
func (h *handlers) mailboxFile(c *fiber.Ctx) (store.MailboxFile, error) {
	id := c.Params("id")
	f, err := h.st.MailboxFile(c.UserContext(), id)
	if err != nil {
		return store.MailboxFile{}, err
	}
	if a := actor(c); a.Role != clearing.RoleOperator && f.BankID != a.Subject {
		return store.MailboxFile{}, clearing.Errorf(clearing.NotFound, "file_not_found", "id", "no file %s", id)
	}
	return f, nil
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

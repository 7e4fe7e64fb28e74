package console

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/inbound"
	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/outbox"
)

// Mailboxes and uploads: what crossclear wrote to whom (signed or waiting
// for the signer), downloads of a file and its detached signature, a
// bank's acknowledgement, and a bank's upload of an ISO 20022 file through
// messages/inbound, the path POST /v1/files takes.

type filesData struct {
	Files   []store.MailboxFile
	Bank    string
	Unacked bool
}

func (cs *console) files(c *fiber.Ctx) error {
	f := cs.readScope(c).Mailboxes(strings.TrimSpace(c.Query("bank")))
	f.Unacknowledged, f.Limit = c.Query("unacknowledged") != "", 100
	files, err := cs.reads.MailboxFiles(c.UserContext(), f)
	if err != nil {
		return err
	}
	title := localeOf(c).T("title.mailboxes")
	if callerOf(c).Role == bank {
		title = localeOf(c).T("title.mailbox")
	}
	return cs.render(c, "files", page{Title: title, Data: filesData{Files: files, Bank: c.Query("bank"), Unacked: f.Unacknowledged}})
}

func (cs *console) downloadFile(c *fiber.Ctx) error {
	f, err := cs.readScope(c).MailboxFile(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/xml")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+fileName(f)+`"`)
	c.Set("X-Content-SHA256", f.SHA256)
	return c.Send(f.Content)
}

func (cs *console) downloadSignature(c *fiber.Ctx) error {
	f, err := cs.readScope(c).MailboxFile(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+fileName(f)+`.sig"`)
	return c.Send(f.Signature)
}

func fileName(f store.MailboxFile) string {
	return f.ID + "." + strings.ReplaceAll(f.Kind, ".", "-") + ".xml"
}

func (cs *console) ackFile(c *fiber.Ctx) error {
	if _, err := cs.scopeOf(c).MailboxFile(c.UserContext(), c.Params("id")); err != nil {
		return err
	}
	if _, err := cs.st.AcknowledgeMailboxFile(c.UserContext(), c.Params("id"), callerOf(c)); err != nil {
		return err
	}
	return c.Redirect(Prefix+"/files", fiber.StatusSeeOther)
}

func (cs *console) uploadPage(c *fiber.Ctx) error {
	return cs.render(c, "upload", page{Title: localeOf(c).T("title.upload")})
}

// upload takes a file from the page's script (the raw body, answered with
// inbound's result as JSON, which the script shows as a table) or from
// the plain form (multipart, answered with the page).
func (cs *console) upload(c *fiber.Ctx) error {
	raw, err := cs.uploadedFile(c)
	if err != nil {
		return err
	}
	lim := iso.DefaultLimits
	lim.MaxBytes = int64(cs.cfg.FileLimit)
	a := callerOf(c)
	res, err := inbound.Receive(c.UserContext(), cs.st, a.Subject, raw,
		inbound.Config{OperatorBIC: cs.cfg.OperatorBIC, Limits: lim, SettlementBankBIC: cs.cfg.SettlementBankBIC}, a)
	var fe *inbound.FileError
	if errors.As(err, &fe) {
		err = clearing.Errorf(clearing.Invalid, fe.Code, fe.Err.Element, "%s", fe.Err.Error())
	}
	if err != nil {
		return err
	}
	cs.kickSealer()
	if strings.Contains(c.Get(fiber.HeaderAccept), fiber.MIMEApplicationJSON) {
		return c.JSON(res)
	}
	return cs.render(c, "upload", page{Title: localeOf(c).T("title.upload"), Data: res})
}

// uploadedFile reads the file under FileLimit: the raw body from the
// script, or the "file" part of the form.
func (cs *console) uploadedFile(c *fiber.Ctx) ([]byte, error) {
	limit := int64(cs.cfg.FileLimit)
	var r io.Reader
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEMultipartForm) {
		fh, err := c.FormFile("file")
		if err != nil {
			return nil, fail(fiber.StatusUnprocessableEntity, "error.file_required")
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	} else if req := c.Request(); req.IsBodyStream() {
		r = c.Context().RequestBodyStream()
	} else {
		r = strings.NewReader(string(req.Body()))
	}
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fail(fiber.StatusUnprocessableEntity, "error.file_unreadable", "error", err)
	}
	if int64(len(raw)) > limit {
		return nil, fail(fiber.StatusUnprocessableEntity, "error.file_too_large", "limit", limit)
	}
	if len(raw) == 0 {
		return nil, fail(fiber.StatusUnprocessableEntity, "error.file_empty")
	}
	return raw, nil
}

func (cs *console) sealerHealth(ctx context.Context) (*outbox.Health, error) {
	if cs.cfg.Sealer == nil {
		return nil, nil
	}
	h, err := cs.cfg.Sealer.Health(ctx)
	return &h, err
}

// kickSealer asks the outbox to sign what a page just wrote.
func (cs *console) kickSealer() {
	if cs.cfg.Sealer != nil {
		cs.cfg.Sealer.Kick()
	}
}

package api

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/inbound"
	"github.com/crossclear/crossclear/messages/iso"
)

// What a merchant was paid: its payouts per closed cycle with the payments
// each covers (GET /v1/merchants/{id}/settlements), and a statement of
// every release credited to it in a period, as CSV or as a camt.053
// (GET /v1/merchants/{id}/statement). Who sees a merchant's money is who
// sees the merchant (scope.merchant): the merchant itself, its bank, the
// operator, the regulator of its bank's jurisdiction.

type settledPaymentJSON struct {
	PaymentID  string `json:"payment_id"`
	EndToEndID string `json:"end_to_end_id"`
	Reference  string `json:"reference"`
	Amount     string `json:"amount"`
	Releases   int    `json:"releases"`
	ReleasedAt string `json:"released_at"`
}

type settlementJSON struct {
	CycleID        int64                `json:"cycle_id"`
	State          string               `json:"state"`
	ClosedAt       string               `json:"closed_at"`
	CycleSettledAt *string              `json:"cycle_settled_at,omitempty"`
	BankID         string               `json:"bank_id"`
	Currency       string               `json:"currency"`
	Amount         string               `json:"amount"`
	BankSettledAt  *string              `json:"bank_settled_at,omitempty"`
	Payments       []settledPaymentJSON `json:"payments"`
}

func toSettlement(s store.MerchantSettlement) settlementJSON {
	out := settlementJSON{CycleID: s.CycleID, State: string(s.CycleState), ClosedAt: ts(s.ClosedAt), CycleSettledAt: optTS(s.CycleSettledAt),
		BankID: s.BankID, Currency: s.Currency, Amount: money(s.AmountMinor, s.Currency), BankSettledAt: optTS(s.BankSettledAt),
		Payments: make([]settledPaymentJSON, len(s.Payments))}
	for i, p := range s.Payments {
		out.Payments[i] = settledPaymentJSON{PaymentID: p.PaymentID, EndToEndID: p.EndToEndID, Reference: p.Reference,
			Amount: money(p.AmountMinor, s.Currency), Releases: p.Releases, ReleasedAt: ts(p.ReleasedAt)}
	}
	return out
}

// listSettlements answers a merchant's payouts per closed cycle, newest
// cycle first, a page of cycles at a time.
func (h *handlers) listSettlements(c *fiber.Ctx) error {
	limit, err := queryInt(c, "limit", store.MaxSettlementPage)
	if err != nil {
		return err
	}
	m, err := scopeOf(c, h.st).Merchant(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	page, err := h.st.MerchantSettlements(c.UserContext(), m.ID, limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	out := make([]settlementJSON, len(page.Settlements))
	for i, s := range page.Settlements {
		out[i] = toSettlement(s)
	}
	return c.JSON(fiber.Map{"merchant_id": m.ID, "currency": m.Currency, "settlements": out, "next_cursor": page.NextCursor})
}

// Statement formats.
const (
	StatementCSV     = "csv"
	StatementCamt053 = "camt053"
)

// maxStatementDays bounds a statement's period.
const maxStatementDays = 366

// StatementPeriod reads a statement's period, from and to (YYYY-MM-DD,
// both days included, UTC), and its format ("" is csv): 422 naming from,
// to or format when one is missing or wrong. The API and the command line
// share it.
func StatementPeriod(fromRaw, toRaw, formatRaw string) (from, to time.Time, format string, err error) {
	day := func(name, raw string) (time.Time, error) {
		if raw == "" {
			return time.Time{}, required(name)
		}
		t, err := time.Parse(time.DateOnly, raw)
		if err != nil {
			return time.Time{}, clearing.Errorf(clearing.Invalid, "invalid_date", name, "must be a date like 2025-03-10, got %q", raw)
		}
		return t, nil
	}
	if from, err = day("from", fromRaw); err != nil {
		return
	}
	if to, err = day("to", toRaw); err != nil {
		return
	}
	if to.Before(from) {
		err = clearing.Errorf(clearing.Invalid, "invalid_period", "to", "%s is before from (%s)", to.Format(time.DateOnly), from.Format(time.DateOnly))
		return
	}
	if days := int(to.Sub(from).Hours()/24) + 1; days > maxStatementDays {
		err = clearing.Errorf(clearing.Invalid, "invalid_period", "to", "a statement covers at most %d days, this one %d", maxStatementDays, days)
		return
	}
	switch format = cmp.Or(formatRaw, StatementCSV); format {
	case StatementCSV, StatementCamt053:
	default:
		err = clearing.Errorf(clearing.Invalid, "invalid_format", "format", "must be %q or %q, got %q", StatementCSV, StatementCamt053, format)
	}
	return
}

// Statement is a merchant's statement for a period, ready to send.
type Statement struct {
	Content     []byte
	ContentType string
	FileName    string // statement-mer_…-2025-03-01-2025-03-31.csv
}

// MerchantStatement builds a merchant's statement of releases (from
// Store.MerchantReleases) in format (StatementCSV or StatementCamt053);
// operator is crossclear's BIC, the camt.053's sender ("" is
// inbound.DefaultOperatorBIC).
func MerchantStatement(format, operator string, m clearing.Merchant, from, to time.Time, releases []store.MerchantRelease, now time.Time) (Statement, error) {
	ccy, err := fx.LookupCurrency(m.Currency)
	if err != nil {
		return Statement{}, fmt.Errorf("merchant %s: %w", m.ID, err)
	}
	name := "statement-" + m.ID + "-" + from.Format(time.DateOnly) + "-" + to.Format(time.DateOnly)
	if format == StatementCamt053 {
		body, err := statementCamt053Of(cmp.Or(operator, inbound.DefaultOperatorBIC), m, ccy, from, to, releases, now.UTC())
		return Statement{Content: body, ContentType: "application/xml", FileName: name + ".camt-053-001-08.xml"}, err
	}
	body, err := statementCSVOf(ccy, releases)
	return Statement{Content: body, ContentType: "text/csv; charset=utf-8", FileName: name + ".csv"}, err
}

// merchantStatement sends every release credited to the merchant in the
// period, oldest first, with running totals: a CSV or a camt.053.
func (h *handlers) merchantStatement(c *fiber.Ctx) error {
	from, to, format, err := StatementPeriod(c.Query("from"), c.Query("to"), c.Query("format"))
	if err != nil {
		return err
	}
	m, err := scopeOf(c, h.st).Merchant(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	releases, err := h.st.MerchantReleases(c.UserContext(), m.ID, from, to.AddDate(0, 0, 1), store.MaxStatementEntries, "to")
	if err != nil {
		return err
	}
	st, err := MerchantStatement(format, h.cfg.OperatorBIC, m, from, to, releases, time.Now())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, st.ContentType)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+st.FileName+`"`)
	return c.Send(st.Content)
}

// statementCSVHeader is the header row of a merchant's CSV statement.
var statementCSVHeader = []string{"booked_at", "cycle_id", "payment_id", "end_to_end_id", "reference", "currency", "amount", "running_total"}

// statementCSVOf writes the releases as RFC 4180 CSV (CRLF line ends,
// fields quoted where needed) with a header row; amounts are decimal
// strings with the currency's minor units.
func statementCSVOf(ccy fx.Currency, releases []store.MerchantRelease) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	if err := w.Write(statementCSVHeader); err != nil {
		return nil, err
	}
	var total int64
	for _, r := range releases {
		var ok bool
		if total, ok = fx.AddMinor(total, r.AmountMinor); !ok {
			return nil, fmt.Errorf("statement overflows %s", ccy.Code)
		}
		if err := w.Write([]string{ts(r.At), strconv.FormatInt(r.CycleID, 10), r.PaymentID, r.EndToEndID, r.Reference,
			r.Currency, money(r.AmountMinor, r.Currency), ccy.FromMinor(total).Value()}); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// statementCamt053Of builds the statement as a camt.053.001.08 from
// crossclear (operator) to the merchant's bank, on the merchant's account
// there: the period's releases as booked credits, an opening balance of
// zero at the period's start and the period's total as its closing
// balance (what crossclear credited in the period, not the account's
// balance at the bank, which crossclear does not know).
func statementCamt053Of(operator string, m clearing.Merchant, ccy fx.Currency, from, to time.Time, releases []store.MerchantRelease, now time.Time) ([]byte, error) {
	msgID := shortID("MS", strings.TrimPrefix(m.ID, "mer_"), from.Format("20060102"), to.Format("20060102"))
	rep := iso.AccountReport{ID: msgID, From: iso.DateTime(from), To: iso.DateTime(to.AddDate(0, 0, 1).Add(-time.Millisecond)),
		Account: iso.CashAccount{ID: m.Account, Currency: ccy.Code, Owner: m.Name, Servicer: m.BankID}}
	var total int64
	for _, r := range releases {
		var ok bool
		if total, ok = fx.AddMinor(total, r.AmountMinor); !ok {
			return nil, fmt.Errorf("statement overflows %s", ccy.Code)
		}
		amt := iso.AmountOf(ccy.FromMinor(r.AmountMinor))
		d := iso.EntryDetail{EndToEndID: r.EndToEndID, Amount: &amt}
		if clearing.ValidUETR(r.PaymentID) { // payments are identified by their UETR
			d.UETR = r.PaymentID
		}
		rep.Entries = append(rep.Entries, iso.Entry{Ref: fmt.Sprintf("%.20s-%d-%d", strings.ReplaceAll(r.PaymentID, "-", ""), r.Seq, r.Leg),
			Amount: amt, Status: iso.EntryBooked, BookedAt: iso.DateTime(r.At), ServicerRef: "C" + strconv.FormatInt(r.CycleID, 10),
			Code: string(clearing.PostRelease), Details: []iso.EntryDetail{d}, Info: r.Reference})
	}
	rep.Balances = []iso.Balance{
		{Type: iso.BalanceOpening, Amount: iso.AmountOf(ccy.FromMinor(0)), At: iso.Date(from)},
		{Type: iso.BalanceClosing, Amount: iso.AmountOf(ccy.FromMinor(total)), At: iso.Date(to)},
	}
	r := &iso.CashReport{Message: iso.Camt053v08, MsgID: msgID, CreDtTm: iso.DateTime(now),
		Header:   iso.AppHdr{From: operator, To: m.BankID, BizMsgIdr: msgID, CreDt: iso.DateTime(now)},
		Accounts: []iso.AccountReport{rep}}
	out, err := r.Encode()
	if err != nil {
		return nil, fmt.Errorf("camt.053 for merchant %s: %w", m.ID, err)
	}
	return out, nil
}

// shortID joins parts with "-", shortened with a hash to ISO's 35
// characters.
func shortID(parts ...string) string {
	s := strings.Join(parts, "-")
	if len(s) <= 35 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return s[:35-17] + "-" + hex.EncodeToString(sum[:8])
}

type statementEntryJSON struct {
	BookedAt     string `json:"booked_at"`
	CycleID      int64  `json:"cycle_id"`
	PaymentID    string `json:"payment_id"`
	EndToEndID   string `json:"end_to_end_id"`
	Reference    string `json:"reference"`
	Amount       string `json:"amount"`
	RunningTotal string `json:"running_total"`
}

type statementJSON struct {
	MerchantID string               `json:"merchant_id"`
	Currency   string               `json:"currency"`
	From       string               `json:"from"`
	To         string               `json:"to"`
	Entries    []statementEntryJSON `json:"entries"`
	Total      string               `json:"total"`
}

// StatementDocument is a merchant's statement as one JSON document (the
// CSV's rows, and the total): what `crossclear merchant statement --json`
// prints.
func StatementDocument(m clearing.Merchant, from, to time.Time, releases []store.MerchantRelease) (any, error) {
	doc := statementJSON{MerchantID: m.ID, Currency: m.Currency, From: from.Format(time.DateOnly), To: to.Format(time.DateOnly),
		Entries: make([]statementEntryJSON, len(releases))}
	var total int64
	for i, r := range releases {
		var ok bool
		if total, ok = fx.AddMinor(total, r.AmountMinor); !ok {
			return nil, fmt.Errorf("statement overflows %s", m.Currency)
		}
		doc.Entries[i] = statementEntryJSON{BookedAt: ts(r.At), CycleID: r.CycleID, PaymentID: r.PaymentID, EndToEndID: r.EndToEndID,
			Reference: r.Reference, Amount: money(r.AmountMinor, r.Currency), RunningTotal: money(total, m.Currency)}
	}
	doc.Total = money(total, m.Currency)
	return doc, nil
}

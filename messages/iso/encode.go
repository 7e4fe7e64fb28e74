package iso

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crossclear/crossclear/fx"
)

// What every encoder shares: the checks that refuse a value the schema
// would not accept (so nothing schema-invalid is ever written), the AppHdr,
// and the few element shapes that recur (agents, accounts, amounts with a
// credit/debit indicator, original references).

// DateTime formats t as an ISO 20022 date-time that keeps its offset:
// 2025-03-10T09:15:00.000+08:00 (UTC is +00:00, never a bare local time).
func DateTime(t time.Time) string { return t.Format("2006-01-02T15:04:05.000-07:00") }

// Date formats t's calendar day in its own location: 2025-03-10.
func Date(t time.Time) string { return t.Format("2006-01-02") }

var ibanRe = regexp.MustCompile(`^[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}$`)

// The shapes checked most often are checked by hand: a cycle's files hold
// hundreds of thousands of them, and a regular expression costs more than
// the rest of the encoding.

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isBIC: a BICFIDec2014Identifier, [A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?.
func isBIC(s string) bool {
	if len(s) != 8 && len(s) != 11 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isUpper(c) && (i == 4 || i == 5 || !isDigit(c)) {
			return false
		}
	}
	return true
}

// isCode: an external code, [A-Z0-9]{1,4}.
func isCode(s string) bool {
	if len(s) == 0 || len(s) > 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isUpper(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// shaped reports whether s has template t's shape: a 'd' in t is any
// digit, any other byte itself.
func shaped(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] == 'd' && !isDigit(s[i]) || t[i] != 'd' && s[i] != t[i] {
			return false
		}
	}
	return true
}

// validDate: an xs:date without an offset, 2025-03-10, that exists.
func validDate(s string) bool {
	if !shaped(s, "dddd-dd-dd") {
		return false
	}
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

// validDateTime: an xs:dateTime with an offset (Z or ±hh:mm) and
// optional fractional seconds, that exists. time.Parse alone would also
// take a one-digit hour or a comma before the fraction.
func validDateTime(s string) bool {
	const head = "dddd-dd-ddTdd:dd:dd"
	if len(s) <= len(head) || !shaped(s[:len(head)], head) {
		return false
	}
	rest := s[len(head):]
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && isDigit(rest[i]) {
			i++
		}
		if i == 1 {
			return false
		}
		rest = rest[i:]
	}
	if rest != "Z" && (len(rest) != 6 || rest[0] != '+' && rest[0] != '-' || !shaped(rest[1:], "dd:dd")) {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// EncodeError is a message the encoder refuses to write: it would not be
// schema-valid (or would lose information). Field names the Go field.
type EncodeError struct{ Message, Field, Msg string }

func (e *EncodeError) Error() string { return e.Message + ": " + e.Field + ": " + e.Msg }

// checker keeps the first reason a value cannot be encoded as message.
// Field names are plain ("Amount") within a scope ("Transfers[%d]."),
// formatted only when a check fails: checking allocates nothing.
type checker struct {
	message string
	err     *EncodeError
	scope   string
	idx     [3]int
	nidx    int
}

// in names the list item the checks that follow are about.
func (c *checker) in(scope string, idx ...int) {
	c.scope, c.nidx = scope, copy(c.idx[:], idx)
}

func (c *checker) fail(field, format string, args ...any) {
	if c.err != nil {
		return
	}
	if c.scope != "" {
		idx := make([]any, c.nidx)
		for i := range idx {
			idx[i] = c.idx[i]
		}
		field = fmt.Sprintf(c.scope, idx...) + field
	}
	c.err = &EncodeError{Message: c.message, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// result is the first failure, or a nil error.
func (c *checker) result() error {
	if c.err == nil {
		return nil
	}
	return c.err
}

// text checks a MaxNText.
func (c *checker) text(field, s string, max int, required bool) {
	if s == "" {
		if required {
			c.fail(field, "is required")
		}
		return
	}
	if n := utf8.RuneCountInString(s); n > max {
		c.fail(field, "is %d characters, at most %d", n, max)
	}
}

func (c *checker) bic(field, s string, required bool) {
	if (s != "" || required) && !isBIC(s) {
		c.fail(field, "%q is not a BIC", s)
	}
}

func (c *checker) dateTime(field, s string, required bool) {
	if (s != "" || required) && !validDateTime(s) {
		c.fail(field, "%q is not a date-time with an offset, like 2025-03-10T09:15:00.000+08:00", s)
	}
}

func (c *checker) date(field, s string, required bool) {
	if s == "" && !required {
		return
	}
	if !validDate(s) {
		c.fail(field, "%q is not a date like 2025-03-10", s)
	}
}

func (c *checker) uetr(field, s string, required bool) {
	if (s != "" || required) && !validUETR(s) {
		c.fail(field, "%q is not a lower-case UUID v4", s)
	}
}

// code checks an external code (ExternalXxx1Code: 1 to 4 characters).
func (c *checker) code(field, s string, required bool) {
	if (s != "" || required) && !isCode(s) {
		c.fail(field, "%q is not a code of 1 to 4 upper-case letters or digits", s)
	}
}

// oneOf checks a code of a closed list.
func (c *checker) oneOf(field, s string, allowed ...string) {
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	c.fail(field, "%q is not one of %v", s, allowed)
}

// amount checks an amount the way the encoders write it: a known
// currency, exactly its ISO 4217 decimals, no exponent, at most
// fx.MaxMinor minor units; above zero, or with a sign when signed (a
// balance or an entry: negative is a debit).
func (c *checker) amount(field string, a Amount, signed bool) {
	v, negative := a.Value, false
	if signed {
		v, negative = strings.CutPrefix(v, "-")
	}
	amt, err := fx.ParseAmount(v, a.Currency)
	switch {
	case err != nil:
		c.fail(field, "%v", err)
	case !signed && amt.Minor <= 0:
		c.fail(field, "%s is not above zero", a)
	case amt.Minor < 0:
		c.fail(field, "%s has two signs", a)
	case formatMinor(amt.Minor, amt.Currency.MinorUnits) != v:
		c.fail(field, "%s: write it with exactly %d decimals, like %s", a, amt.Currency.MinorUnits, amt.Value())
	case negative && amt.Minor == 0:
		c.fail(field, "%s: zero has no sign", a)
	}
}

// AmountOf is an exact amount as the encoders take it: its value with
// exactly the currency's decimals ("-12.50" when negative), as fx writes
// it.
func AmountOf(a fx.Amount) Amount {
	return Amount{Value: formatMinor(a.Minor, a.Currency.MinorUnits), Currency: a.Currency.Code}
}

// formatMinor writes minor units with the point put in before the last
// units digits: what fx.Amount.Value writes, without a decimal.Decimal
// (a cycle's files hold hundreds of thousands of amounts).
func formatMinor(minor int64, units int32) string {
	var buf [20]byte
	d, u := strconv.AppendUint(buf[:0], absMinor(minor), 10), int(units)
	out := make([]byte, 0, len(d)+u+3)
	if minor < 0 {
		out = append(out, '-')
	}
	if len(d) <= u { // below one: 0.05
		out = append(out, "0."...)
		for range u - len(d) {
			out = append(out, '0')
		}
		return string(append(out, d...))
	}
	out = append(out, d[:len(d)-u]...)
	if u > 0 {
		out = append(append(out, '.'), d[len(d)-u:]...)
	}
	return string(out)
}

func absMinor(m int64) uint64 {
	if m < 0 {
		return uint64(-(m + 1)) + 1 // also for math.MinInt64
	}
	return uint64(m)
}

// Parse reads the amount exactly.
func (a Amount) Parse() (fx.Amount, error) { return fx.ParseAmount(a.Value, a.Currency) }

// header checks the AppHdr of a message whose MsgDefIdr is msgDef.
func (c *checker) header(h AppHdr, msgDef string) {
	c.bic("Header.From", h.From, true)
	c.bic("Header.To", h.To, true)
	c.text("Header.BizMsgIdr", h.BizMsgIdr, 35, true)
	c.text("Header.BizSvc", h.BizSvc, 35, false)
	c.dateTime("Header.CreDt", h.CreDt, true)
	if h.MsgDefIdr != "" && h.MsgDefIdr != msgDef {
		c.fail("Header.MsgDefIdr", "must be %s, got %q", msgDef, h.MsgDefIdr)
	}
}

// original checks the references to an original message and transaction
// (an Original field).
func (c *checker) original(o Original) {
	c.text("Original.MsgID", o.MsgID, 35, o.MsgNameID != "")
	c.text("Original.MsgNameID", o.MsgNameID, 35, o.MsgID != "")
	c.dateTime("Original.CreDtTm", o.CreDtTm, false)
	if o.CreDtTm != "" && o.MsgID == "" {
		c.fail("Original.CreDtTm", "needs MsgID and MsgNameID")
	}
	c.text("Original.InstrID", o.InstrID, 35, false)
	c.text("Original.EndToEndID", o.EndToEndID, 35, false)
	c.text("Original.TxID", o.TxID, 35, false)
	c.uetr("Original.UETR", o.UETR, false)
}

// wireAmount is an amount as the schema wants it: exactly the currency's
// minor units, no exponent, no sign.
func wireAmount(a Amount) (string, error) {
	amt, err := fx.ParseAmount(a.Value, a.Currency)
	if err != nil {
		return "", err
	}
	if amt.Minor < 0 {
		return "", fmt.Errorf("%s is negative", a)
	}
	return amt.Value(), nil
}

// Original identifies a message and one transaction of it that an answer
// refers to: the original group (OrgnlGrpInf) and the transaction's own
// identifications.
type Original struct {
	MsgID      string `json:"orgnl_msg_id,omitempty"`
	MsgNameID  string `json:"orgnl_msg_nm_id,omitempty"` // "pacs.008.001.08"
	CreDtTm    string `json:"orgnl_cre_dt_tm,omitempty"`
	InstrID    string `json:"orgnl_instr_id,omitempty"`
	EndToEndID string `json:"orgnl_end_to_end_id,omitempty"`
	TxID       string `json:"orgnl_tx_id,omitempty"`
	UETR       string `json:"orgnl_uetr,omitempty"`
}

// Page is the place of one file in a report split over several
// (Pagination1).
type Page struct {
	Number int  `json:"pg_nb"` // from 1
	Last   bool `json:"last_pg_ind"`
}

func (c *checker) page(field string, p *Page) {
	if p != nil && (p.Number < 1 || p.Number > 99999) {
		c.fail(field+".Number", "%d is not between 1 and 99999", p.Number)
	}
}

func writeAppHdr(w *xmlWriter, h AppHdr, msgDef string) {
	w.open("AppHdr", "xmlns", NamespacePrefix+Head001v02)
	w.open("Fr")
	w.agent("FIId", h.From)
	w.close("Fr")
	w.open("To")
	w.agent("FIId", h.To)
	w.close("To")
	w.leaf("BizMsgIdr", h.BizMsgIdr)
	w.leaf("MsgDefIdr", msgDef)
	w.leaf("BizSvc", h.BizSvc)
	w.leaf("CreDt", h.CreDt)
	if h.PssblDplct {
		w.leaf("PssblDplct", "true")
	}
	w.close("AppHdr")
}

// begin starts a file: the XML declaration, the BusinessMessage wrapper
// and the AppHdr; the Document's message element is opened and left for
// the caller to fill and end. size is about how long the file will be:
// growing the buffer as it fills would copy it over and over.
func begin(h AppHdr, msgDef, root string, size int) *xmlWriter {
	w := &xmlWriter{}
	w.buf.Grow(size)
	w.buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.open("BusinessMessage")
	writeAppHdr(w, h, msgDef)
	w.open("Document", "xmlns", NamespacePrefix+msgDef)
	w.open(root)
	return w
}

// end closes what begin opened and returns the file.
func (w *xmlWriter) end(root string) []byte {
	w.close(root)
	w.close("Document")
	w.close("BusinessMessage")
	return w.buf.Bytes()
}

// money writes an amount element: its value without a sign, and Ccy.
func (w *xmlWriter) money(name string, a Amount) {
	w.leaf(name, strings.TrimPrefix(a.Value, "-"), "Ccy", a.Currency)
}

// signed writes a signed amount the way the schema does: Amt, then
// CdtDbtInd (DBIT when negative).
func (w *xmlWriter) signed(name string, a Amount) {
	w.money(name, a)
	w.leaf("CdtDbtInd", creditDebit(a))
}

func creditDebit(a Amount) string {
	if strings.HasPrefix(a.Value, "-") {
		return "DBIT"
	}
	return "CRDT"
}

// accountID writes an account's Id: an IBAN when it has the shape of one,
// else Othr/Id.
func (w *xmlWriter) accountID(id string) {
	w.open("Id")
	if ibanRe.MatchString(id) {
		w.leaf("IBAN", id)
	} else {
		w.open("Othr")
		w.leaf("Id", id)
		w.close("Othr")
	}
	w.close("Id")
}

// account writes a CashAccount holding only its Id, or nothing.
func (w *xmlWriter) account(name, id string) {
	if id == "" {
		return
	}
	w.open(name)
	w.accountID(id)
	w.close(name)
}

// partyAgent writes a Party40Choice holding an agent's BIC.
func (w *xmlWriter) partyAgent(name, bic string) {
	w.open(name)
	w.agent("Agt", bic)
	w.close(name)
}

// originalGroup writes OrgnlGrpInf, when there is an original message.
func (w *xmlWriter) originalGroup(o Original) {
	if o.MsgID == "" {
		return
	}
	w.open("OrgnlGrpInf")
	w.leaf("OrgnlMsgId", o.MsgID)
	w.leaf("OrgnlMsgNmId", o.MsgNameID)
	w.leaf("OrgnlCreDtTm", o.CreDtTm)
	w.close("OrgnlGrpInf")
}

// reasonInfo writes a reason block (Orgtr-less): Rsn/Cd, then the
// explanation in AddtlInf lines of at most 105 characters.
func (w *xmlWriter) reasonInfo(name, code, info string) {
	if code == "" && info == "" {
		return
	}
	w.open(name)
	if code != "" {
		w.open("Rsn")
		w.leaf("Cd", code)
		w.close("Rsn")
	}
	for _, line := range cutRunes(info, 105) {
		w.leaf("AddtlInf", line)
	}
	w.close(name)
}

// cutRunes cuts s into pieces of at most n characters.
func cutRunes(s string, n int) []string {
	var out []string
	for s != "" {
		i, k := 0, 0
		for i < len(s) && k < n {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			k++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

package iso

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/fx"
)

// Directory is what validation asks about the scheme. Implementations
// answer from the database; nil skips the checks that need it (offline
// inspection, the conformance corpus).
type Directory interface {
	// Bank returns the id of the bank of the scheme with this BIC (an
	// 11-character BIC ending in XXX is also looked up as its 8-character
	// head), and whether there is one.
	Bank(bic string) (id string, ok bool)
	// Merchant returns the id of the merchant with this account at the
	// bank, and whether there is one.
	Merchant(bankID, account string) (id string, ok bool)
}

// Context is who uploads the file and what the scheme knows.
type Context struct {
	Sender    string    // the uploading bank's BIC; "" skips the checks that it instructs
	Directory Directory // nil skips the directory checks
}

// Report is the outcome of validation: a reason the whole file is refused,
// or one result per transaction (in file order).
type Report struct {
	Group *Error
	Txs   []TxResult
}

// TxResult is one transaction's outcome. When Err is nil the transaction
// may be held: Amount is what the buyer's bank pays, BuyerBank and
// Merchant are ids of the scheme (empty without a Directory).
type TxResult struct {
	Err       *Error
	Amount    fx.Amount
	BuyerBank string
	Merchant  string
}

// Accepted counts the transactions without an error.
func (r Report) Accepted() int {
	if r.Group != nil {
		return 0
	}
	n := 0
	for _, t := range r.Txs {
		if t.Err == nil {
			n++
		}
	}
	return n
}

// The elements each message names for the same thing.
type elements struct {
	amount, xchgRate, sttlmDt, instgAgt string
}

func namesOf(msg string) elements {
	if IsPain001(msg) {
		return elements{amount: "Amt/InstdAmt", xchgRate: "XchgRateInf/XchgRate", sttlmDt: "../ReqdExctnDt", instgAgt: "../DbtrAgt/FinInstnId/BICFI"}
	}
	return elements{amount: "IntrBkSttlmAmt", xchgRate: "XchgRate", sttlmDt: "IntrBkSttlmDt", instgAgt: "InstgAgt/FinInstnId/BICFI"}
}

// Validate applies crossclear's business rules to a decoded message. File
// rules (totals, the header's sender) refuse the whole file; transaction
// rules refuse only their transaction, each with the first rule it breaks.
func Validate(m *Message, ctx Context) Report {
	r := Report{Txs: make([]TxResult, len(m.Transactions))}
	r.Group = validateGroup(m, ctx)
	names := namesOf(m.Name)
	seen := map[string]int{}
	for i := range m.Transactions {
		t := &m.Transactions[i]
		res := validateTx(m, t, names, ctx)
		if res.Err == nil && t.UETR != "" {
			if j, dup := seen[t.UETR]; dup {
				res = TxResult{Err: t.Errorf(ReasonDuplicate, "PmtId/UETR", "UETR %s is also the UETR of transaction %d of this file", t.UETR, j)}
			} else {
				seen[t.UETR] = i
			}
		}
		r.Txs[i] = res
	}
	return r
}

var numeric = regexp.MustCompile(`^[0-9]{1,15}$`)

func validateGroup(m *Message, ctx Context) *Error {
	grp := func(r Reason, elem, format string, args ...any) *Error {
		return &Error{Reason: r, Element: elem, Line: m.lineOf(elem), Msg: fmt.Sprintf(format, args...)}
	}
	if m.MsgID == "" {
		return grp(ReasonMissing, "GrpHdr/MsgId", "the message has no MsgId")
	}
	if len(m.MsgID) > 35 {
		return grp(ReasonFormallyWrong, "GrpHdr/MsgId", "MsgId is longer than 35 characters")
	}
	if h := m.Header; h != nil && ctx.Sender != "" && !ctx.isSender(h.From) {
		return &Error{Reason: ReasonBankIdentifier, Element: "AppHdr/Fr/FIId/FinInstnId/BICFI", Msg: fmt.Sprintf("the AppHdr is from %q, but the file was uploaded by %s", h.From, ctx.Sender)}
	}
	if !numeric.MatchString(m.NbOfTxs) {
		return grp(ReasonNumberOfTxs, "GrpHdr/NbOfTxs", "NbOfTxs must be a number, got %q", m.NbOfTxs)
	}
	if n, _ := strconv.Atoi(m.NbOfTxs); n != len(m.Transactions) || n == 0 {
		return grp(ReasonNumberOfTxs, "GrpHdr/NbOfTxs", "NbOfTxs says %s, the file holds %d transaction(s)", m.NbOfTxs, len(m.Transactions))
	}
	if err := checkSum(m.CtrlSum, m.Transactions, "GrpHdr/CtrlSum", m.lineOf("GrpHdr/CtrlSum")); err != nil {
		return err
	}
	if total := m.TotalAmount; total != nil {
		sum := decimal.Zero
		for _, t := range m.Transactions {
			if t.Amount.Currency != total.Currency {
				return grp(ReasonControlSum, "GrpHdr/TtlIntrBkSttlmAmt", "TtlIntrBkSttlmAmt is in %s, transaction %d is in %s", total.Currency, t.Index, t.Amount.Currency)
			}
			d, err := plainDecimal(t.Amount.Value)
			if err != nil {
				return grp(ReasonControlSum, "GrpHdr/TtlIntrBkSttlmAmt", "cannot check TtlIntrBkSttlmAmt: transaction %d's amount %q is not a decimal", t.Index, t.Amount.Value)
			}
			sum = sum.Add(d)
		}
		want, err := plainDecimal(total.Value)
		if err != nil || !want.Equal(sum) {
			return grp(ReasonControlSum, "GrpHdr/TtlIntrBkSttlmAmt", "TtlIntrBkSttlmAmt is %s, the transactions add up to %s %s", total, sum.String(), total.Currency)
		}
	}
	ids := map[string]bool{}
	for k, pi := range m.PaymentInfos {
		elem := func(e string) string { return fmt.Sprintf("PmtInf[%d]/%s", k, e) }
		at := func(e string) int { return pi.lines[e] }
		if ids[pi.ID] {
			return &Error{Reason: ReasonDuplicatePmtInf, Element: elem("PmtInfId"), Line: at("PmtInfId"), Msg: fmt.Sprintf("PmtInfId %q appears twice", pi.ID)}
		}
		ids[pi.ID] = true
		txs := m.Transactions[pi.First : pi.First+pi.Count]
		if pi.NbOfTxs != "" {
			if n, err := strconv.Atoi(pi.NbOfTxs); err != nil || !numeric.MatchString(pi.NbOfTxs) || n != len(txs) {
				return &Error{Reason: ReasonNumberOfTxs, Element: elem("NbOfTxs"), Line: at("NbOfTxs"), Msg: fmt.Sprintf("NbOfTxs says %s, the block holds %d transaction(s)", pi.NbOfTxs, len(txs))}
			}
		}
		if err := checkSum(pi.CtrlSum, txs, elem("CtrlSum"), at("CtrlSum")); err != nil {
			return err
		}
	}
	return nil
}

// checkSum checks a CtrlSum (the sum of the amounts, whatever their
// currencies) exactly.
func checkSum(ctrl string, txs []Transaction, elem string, line int) *Error {
	if ctrl == "" {
		return nil
	}
	want, err := plainDecimal(ctrl)
	if err != nil {
		return &Error{Reason: ReasonControlSum, Element: elem, Line: line, Msg: fmt.Sprintf("CtrlSum %q is not a decimal number", ctrl)}
	}
	sum := decimal.Zero
	for _, t := range txs {
		d, err := plainDecimal(t.Amount.Value)
		if err != nil {
			return &Error{Reason: ReasonControlSum, Element: elem, Line: line, Msg: fmt.Sprintf("cannot check CtrlSum: transaction %d's amount %q is not a decimal", t.Index, t.Amount.Value)}
		}
		sum = sum.Add(d)
	}
	if !sum.Equal(want) {
		return &Error{Reason: ReasonControlSum, Element: elem, Line: line, Msg: fmt.Sprintf("CtrlSum is %s, the amounts add up to %s", ctrl, sum.String())}
	}
	return nil
}

// plainDecimal parses an xs:decimal as written: digits with an optional
// sign and point, no exponent (which xs:decimal does not allow either).
func plainDecimal(s string) (decimal.Decimal, error) {
	if s == "" || strings.ContainsAny(s, "eE") {
		return decimal.Decimal{}, fmt.Errorf("not a plain decimal")
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' && c != '-' && c != '+' {
			return decimal.Decimal{}, fmt.Errorf("not a plain decimal")
		}
	}
	return decimal.NewFromString(s)
}

func validateTx(m *Message, t *Transaction, n elements, ctx Context) TxResult {
	fail := func(e *Error) TxResult { return TxResult{Err: e} }
	if len(t.Problems) > 0 {
		return fail(t.Problems[0])
	}
	switch {
	case t.UETR == "":
		return fail(t.Errorf(ReasonMissing, "PmtId/UETR", "the transaction has no UETR"))
	case !validUETR(t.UETR):
		return fail(t.Errorf(ReasonFormallyWrong, "PmtId/UETR", "UETR %q is not a lower-case UUID v4", t.UETR))
	case t.EndToEndID == "":
		return fail(t.Errorf(ReasonMissing, "PmtId/EndToEndId", "the transaction has no EndToEndId"))
	case len(t.EndToEndID) > 35:
		return fail(t.Errorf(ReasonFormallyWrong, "PmtId/EndToEndId", "EndToEndId is longer than 35 characters"))
	}
	amount, err := parseAmount(t, n.amount, t.Amount)
	if err != nil {
		return fail(err)
	}
	if ia := t.InstructedAmount; ia != nil {
		if _, err := parseAmount(t, "InstdAmt", *ia); err != nil {
			return fail(err)
		}
		if ia.Currency != t.Amount.Currency && t.ExchangeRate == "" {
			return fail(t.Errorf(ReasonMissing, n.xchgRate, "InstdAmt is in %s and %s in %s: XchgRate is required when the currencies differ", ia.Currency, n.amount, t.Amount.Currency))
		}
	}
	if t.ExchangeRate != "" {
		if d, err := plainDecimal(t.ExchangeRate); err != nil || !d.IsPositive() {
			return fail(t.Errorf(ReasonFormallyWrong, n.xchgRate, "XchgRate %q is not a positive decimal number", t.ExchangeRate))
		}
	}
	if err := checkDate(m, t, n); err != nil {
		return fail(err)
	}
	if ref := t.Reference(); len(ref) > 140 {
		return fail(t.Errorf(ReasonFormallyWrong, "RmtInf/Ustrd", "the remittance information is longer than 140 characters"))
	}
	res := TxResult{Amount: amount}
	if ctx.Sender != "" {
		instg, elem := t.InstructingAgent, n.instgAgt
		if instg == nil && m.InstructingAgent != nil && !IsPain001(m.Name) {
			instg = m.InstructingAgent // pacs.008 may say it once, in the group header
		}
		if instg == nil || !ctx.isSender(instg.BIC) {
			who := "no instructing agent"
			if instg != nil {
				who = "instructing agent " + instg.String()
			}
			if IsPain001(m.Name) {
				who = strings.Replace(who, "instructing", "debtor", 1)
			}
			return fail(t.Errorf(ReasonBankIdentifier, elem, "%s, but the file was uploaded by %s", who, ctx.Sender))
		}
		res.BuyerBank = ctx.Sender
	}
	cdtrAgt := t.CreditorAgent
	if cdtrAgt == nil || cdtrAgt.BIC == "" {
		return fail(t.Errorf(ReasonCreditorAgent, "CdtrAgt/FinInstnId/BICFI", "the creditor agent must be identified by its BIC, got %s", cdtrAgt.String()))
	}
	account := t.CreditorAccount.ID()
	if account == "" {
		return fail(t.Errorf(ReasonCreditorAccount, "CdtrAcct", "the creditor account is missing"))
	}
	if d := ctx.Directory; d != nil {
		bank, ok := d.Bank(cdtrAgt.BIC)
		if !ok {
			return fail(t.Errorf(ReasonCreditorAgent, "CdtrAgt/FinInstnId/BICFI", "creditor agent %s is not a bank of the scheme", cdtrAgt.BIC))
		}
		if res.BuyerBank != "" {
			if id, ok := d.Bank(res.BuyerBank); ok {
				res.BuyerBank = id
			}
		}
		merchant, ok := d.Merchant(bank, account)
		if !ok {
			elem := "CdtrAcct/Id/Othr/Id"
			if t.CreditorAccount.IBAN != "" {
				elem = "CdtrAcct/Id/IBAN"
			}
			return fail(t.Errorf(ReasonCreditorAccount, elem, "no merchant has account %s at %s", account, bank))
		}
		res.Merchant = merchant
	}
	return res
}

// parseAmount reads an amount exactly, in its currency's minor units.
func parseAmount(t *Transaction, elem string, a Amount) (fx.Amount, *Error) {
	if a.Value == "" && a.Currency == "" {
		return fx.Amount{}, t.Errorf(ReasonMissing, elem, "the amount is missing")
	}
	if a.Currency == "" {
		return fx.Amount{}, t.Errorf(ReasonCurrency, elem, "the amount has no Ccy")
	}
	amount, err := fx.ParseAmount(a.Value, a.Currency)
	switch {
	case errors.Is(err, fx.ErrUnknownCurrency):
		return fx.Amount{}, t.Errorf(ReasonCurrency, elem, "Ccy %q is not an active ISO 4217 currency", a.Currency)
	case errors.Is(err, fx.ErrTooLarge):
		return fx.Amount{}, t.Errorf(ReasonAmountTooLarge, elem, "%s is above the scheme's limit per payment", a)
	case errors.Is(err, fx.ErrTooPrecise):
		return fx.Amount{}, t.Errorf(ReasonInvalidAmount, elem, "%s has more decimals than %s allows (%d)", a, a.Currency, fx.MustCurrency(a.Currency).MinorUnits)
	case err != nil:
		return fx.Amount{}, t.Errorf(ReasonInvalidAmount, elem, "%q is not a plain decimal amount (no exponent, no separators)", a.Value)
	case amount.Minor == 0:
		return fx.Amount{}, t.Errorf(ReasonZeroAmount, elem, "the amount is zero")
	case amount.Minor < 0:
		return fx.Amount{}, t.Errorf(ReasonInvalidAmount, elem, "the amount %s is negative", a)
	}
	return amount, nil
}

func checkDate(m *Message, t *Transaction, n elements) *Error {
	d, elem, line := t.SettlementDate, n.sttlmDt, 0
	if d == "" && !IsPain001(m.Name) && m.SettlementDate != "" {
		d, elem, line = m.SettlementDate, "GrpHdr/IntrBkSttlmDt", m.lineOf("GrpHdr/IntrBkSttlmDt")
	}
	mk := func(format string, args ...any) *Error {
		if line > 0 {
			return &Error{Reason: ReasonInvalidDate, Element: elem, Line: line, Msg: fmt.Sprintf(format, args...)}
		}
		return t.Errorf(ReasonInvalidDate, elem, format, args...)
	}
	if d == "" {
		return mk("the settlement date is missing")
	}
	if _, err := time.Parse("2006-01-02", d); err == nil {
		return nil
	}
	if IsPain001(m.Name) {
		if _, err := parseDateTime(d); err == nil {
			return nil
		}
	}
	return mk("%q is not a date like 2025-03-10", d)
}

// parseDateTime reads an xs:dateTime with or without an offset.
func parseDateTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05.999999999", s)
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func validUETR(s string) bool { return uuidV4.MatchString(s) }

// isSender says whether bic names the uploading bank: its BIC (XXX being
// the institution itself) or, with a directory, a BIC resolving to the
// same participant (an unregistered branch of the sender).
func (ctx Context) isSender(bic string) bool {
	if sameBIC(bic, ctx.Sender) {
		return true
	}
	if ctx.Directory == nil || bic == "" {
		return false
	}
	a, ok := ctx.Directory.Bank(bic)
	b, ok2 := ctx.Directory.Bank(ctx.Sender)
	return ok && ok2 && a == b
}

// sameBIC compares BICs, an 11-character BIC ending in XXX being its
// 8-character head.
func sameBIC(a, b string) bool { return NormalBIC(a) == NormalBIC(b) && a != "" }

// NormalBIC drops the XXX branch code: "MLCOUS33XXX" is "MLCOUS33".
func NormalBIC(b string) string {
	if len(b) == 11 && strings.HasSuffix(b, "XXX") {
		return b[:8]
	}
	return b
}

package iso

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/moov-io/iso20022/pkg/camt_v08"

	"github.com/crossclear/crossclear/fx"
)

// Balance types (BalanceType12Code) and entry statuses
// (ExternalEntryStatus1Code) crossclear writes.
const (
	BalanceOpening = "OPBD" // OpeningBooked: the first page's opening balance
	BalanceClosing = "CLBD" // ClosingBooked: the last page's closing balance
	BalanceInterim = "ITBD" // InterimBooked: where a page of a longer statement starts or ends

	EntryBooked  = "BOOK"
	EntryPending = "PDNG"
)

// CashReport is a camt.053.001.08 bank-to-customer statement
// (BkToCstmrStmt: balances and entries of an account) or a camt.054.001.08
// debit/credit notification (BkToCstmrDbtCdtNtfctn: entries only), as
// Message says. crossclear services the accounts it reports: a bank's
// clearing account in one currency (statements), a merchant's account at
// its bank (notifications of merchant credits).
type CashReport struct {
	Message  string          `json:"message"` // Camt053v08 or Camt054v08
	Header   AppHdr          `json:"app_hdr"` // MsgDefIdr is Message
	MsgID    string          `json:"msg_id"`
	CreDtTm  string          `json:"cre_dt_tm"`
	Page     *Page           `json:"msg_pgntn,omitempty"` // GrpHdr/MsgPgntn
	Accounts []AccountReport `json:"accounts"`            // Stmt or Ntfctn, at least one
}

// AccountReport is one account's statement (Stmt) or notification
// (Ntfctn).
type AccountReport struct {
	ID       string      `json:"id"`
	Page     *Page       `json:"pgntn,omitempty"` // StmtPgntn or NtfctnPgntn
	From     string      `json:"fr_dt_tm,omitempty"`
	To       string      `json:"to_dt_tm,omitempty"` // FrToDt: both or neither
	Account  CashAccount `json:"acct"`
	Balances []Balance   `json:"bal,omitempty"` // a statement has at least one; a notification none
	Entries  []Entry     `json:"ntry,omitempty"`
}

// CashAccount is the account reported on.
type CashAccount struct {
	ID       string `json:"id"` // an IBAN, or another identification (Othr/Id)
	Currency string `json:"ccy,omitempty"`
	Owner    string `json:"ownr,omitempty"` // Ownr/Nm
	Servicer string `json:"svcr,omitempty"` // Svcr BIC
}

// Balance is an account's balance at a moment (CashBalance8).
type Balance struct {
	Type   string `json:"tp"`  // OPBD, CLBD, ITBD…
	Amount Amount `json:"amt"` // signed: below zero the account is in debit
	At     string `json:"dt"`  // a date-time (DtTm) or a date (Dt)
}

// Entry is one booking on the account (ReportEntry10).
type Entry struct {
	Ref         string        `json:"ntry_ref,omitempty"`
	Amount      Amount        `json:"amt"`                // signed: below zero a debit
	Status      string        `json:"sts"`                // BOOK, PDNG…
	BookedAt    string        `json:"bookg_dt,omitempty"` // a date-time or a date
	ValueDate   string        `json:"val_dt,omitempty"`   // a date-time or a date
	ServicerRef string        `json:"acct_svcr_ref,omitempty"`
	Code        string        `json:"bk_tx_cd"`            // BkTxCd/Prtry/Cd (read from Domn as "PMNT-RCDT-ESCT" when there is no Prtry)
	MsgNameID   string        `json:"msg_nm_id,omitempty"` // AddtlInfInd/MsgNmId: the message behind the entry, "pacs.009.001.09"
	Details     []EntryDetail `json:"tx_dtls,omitempty"`
	Info        string        `json:"addtl_ntry_inf,omitempty"` // at most 500 characters
}

// EntryDetail is one transaction behind an entry (NtryDtls/TxDtls): the
// references of the payment and its own amount.
type EntryDetail struct {
	MsgID      string  `json:"msg_id,omitempty"`
	InstrID    string  `json:"instr_id,omitempty"`
	EndToEndID string  `json:"end_to_end_id,omitempty"`
	UETR       string  `json:"uetr,omitempty"`
	TxID       string  `json:"tx_id,omitempty"`
	Amount     *Amount `json:"amt,omitempty"` // signed
}

// names are the elements that differ between a statement and a
// notification.
func (r *CashReport) names() (root, account, page string) {
	if r.Message == Camt053v08 {
		return "BkToCstmrStmt", "Stmt", "StmtPgntn"
	}
	return "BkToCstmrDbtCdtNtfctn", "Ntfctn", "NtfctnPgntn"
}

func (r *CashReport) check() error {
	c := &checker{message: r.Message}
	if r.Message != Camt053v08 && r.Message != Camt054v08 {
		c.message = "camt"
		c.fail("Message", "must be %s or %s, got %q", Camt053v08, Camt054v08, r.Message)
		return c.result()
	}
	statement := r.Message == Camt053v08
	c.header(r.Header, r.Message)
	c.text("MsgID", r.MsgID, 35, true)
	c.dateTime("CreDtTm", r.CreDtTm, true)
	c.page("Page", r.Page)
	if len(r.Accounts) == 0 {
		c.fail("Accounts", "a report covers at least one account")
	}
	for i, a := range r.Accounts {
		c.in("Accounts[%d].", i)
		c.text("ID", a.ID, 35, true)
		c.page("Page", a.Page)
		c.dateTime("From", a.From, a.To != "")
		c.dateTime("To", a.To, a.From != "")
		c.text("Account.ID", a.Account.ID, 34, true)
		if a.Account.Currency != "" {
			if _, err := fx.LookupCurrency(a.Account.Currency); err != nil {
				c.fail("Account.Currency", "%v", err)
			}
		}
		c.text("Account.Owner", a.Account.Owner, 140, false)
		c.bic("Account.Servicer", a.Account.Servicer, false)
		switch {
		case statement && len(a.Balances) == 0:
			c.fail("Balances", "a statement has at least one balance")
		case !statement && len(a.Balances) > 0:
			c.fail("Balances", "a notification has no balances")
		}
		for j, b := range a.Balances {
			c.in("Accounts[%d].Balances[%d].", i, j)
			c.code("Type", b.Type, true)
			c.amount("Amount", b.Amount, true)
			c.dateOrTime("At", b.At, true)
		}
		for j, e := range a.Entries {
			c.in("Accounts[%d].Entries[%d].", i, j)
			c.text("Ref", e.Ref, 35, false)
			c.amount("Amount", e.Amount, true)
			c.code("Status", e.Status, true)
			c.dateOrTime("BookedAt", e.BookedAt, false)
			c.dateOrTime("ValueDate", e.ValueDate, false)
			c.text("ServicerRef", e.ServicerRef, 35, false)
			c.text("Code", e.Code, 35, true)
			c.text("MsgNameID", e.MsgNameID, 35, false)
			c.text("Info", e.Info, 500, false)
			for k, d := range e.Details {
				c.in("Accounts[%d].Entries[%d].Details[%d].", i, j, k)
				c.text("MsgID", d.MsgID, 35, false)
				c.text("InstrID", d.InstrID, 35, false)
				c.text("EndToEndID", d.EndToEndID, 35, false)
				c.uetr("UETR", d.UETR, false)
				c.text("TxID", d.TxID, 35, false)
				if d.Amount != nil {
					c.amount("Amount", *d.Amount, true)
				}
			}
		}
	}
	return c.result()
}

// dateOrTime checks a DateAndDateTime2Choice: a date or a date-time.
func (c *checker) dateOrTime(field, s string, required bool) {
	if strings.Contains(s, "T") {
		c.dateTime(field, s, required)
	} else {
		c.date(field, s, required)
	}
}

// Encode writes the report as one file: the AppHdr and the Document.
func (r *CashReport) Encode() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	root, account, pageName := r.names()
	w := begin(r.Header, r.Message, root, r.size())
	w.open("GrpHdr")
	w.leaf("MsgId", r.MsgID)
	w.leaf("CreDtTm", r.CreDtTm)
	w.page("MsgPgntn", r.Page)
	w.close("GrpHdr")
	for _, a := range r.Accounts {
		w.open(account)
		w.leaf("Id", a.ID)
		w.page(pageName, a.Page)
		if a.From != "" {
			w.open("FrToDt")
			w.leaf("FrDtTm", a.From)
			w.leaf("ToDtTm", a.To)
			w.close("FrToDt")
		}
		w.cashAccount(a.Account)
		for _, b := range a.Balances {
			w.open("Bal")
			w.open("Tp")
			w.open("CdOrPrtry")
			w.leaf("Cd", b.Type)
			w.close("CdOrPrtry")
			w.close("Tp")
			w.signed("Amt", b.Amount)
			w.dateOrTime("Dt", b.At)
			w.close("Bal")
		}
		for _, e := range a.Entries {
			w.entry(e)
		}
		w.close(account)
	}
	return w.end(root), nil
}

// size is about how long the encoded report is.
func (r *CashReport) size() int {
	n := 1536
	for _, a := range r.Accounts {
		n += 768 + 256*len(a.Balances)
		for _, e := range a.Entries {
			n += 512 + 192*len(e.Details)
		}
	}
	return n
}

func (w *xmlWriter) page(name string, p *Page) {
	if p == nil {
		return
	}
	w.open(name)
	w.leaf("PgNb", itoa(p.Number))
	w.leaf("LastPgInd", fmt.Sprint(p.Last))
	w.close(name)
}

func (w *xmlWriter) cashAccount(a CashAccount) {
	w.open("Acct")
	w.accountID(a.ID)
	w.leaf("Ccy", a.Currency)
	if a.Owner != "" {
		w.open("Ownr")
		w.leaf("Nm", a.Owner)
		w.close("Ownr")
	}
	w.agent("Svcr", a.Servicer)
	w.close("Acct")
}

// dateOrTime writes a DateAndDateTime2Choice, or nothing.
func (w *xmlWriter) dateOrTime(name, s string) {
	if s == "" {
		return
	}
	w.open(name)
	if strings.Contains(s, "T") {
		w.leaf("DtTm", s)
	} else {
		w.leaf("Dt", s)
	}
	w.close(name)
}

func (w *xmlWriter) entry(e Entry) {
	w.open("Ntry")
	w.leaf("NtryRef", e.Ref)
	w.signed("Amt", e.Amount)
	w.open("Sts")
	w.leaf("Cd", e.Status)
	w.close("Sts")
	w.dateOrTime("BookgDt", e.BookedAt)
	w.dateOrTime("ValDt", e.ValueDate)
	w.leaf("AcctSvcrRef", e.ServicerRef)
	w.open("BkTxCd")
	w.open("Prtry")
	w.leaf("Cd", e.Code)
	w.close("Prtry")
	w.close("BkTxCd")
	if e.MsgNameID != "" {
		w.open("AddtlInfInd")
		w.leaf("MsgNmId", e.MsgNameID)
		w.close("AddtlInfInd")
	}
	if len(e.Details) > 0 {
		w.open("NtryDtls")
		for _, d := range e.Details {
			w.open("TxDtls")
			if d.MsgID != "" || d.InstrID != "" || d.EndToEndID != "" || d.UETR != "" || d.TxID != "" {
				w.open("Refs")
				w.leaf("MsgId", d.MsgID)
				w.leaf("InstrId", d.InstrID)
				w.leaf("EndToEndId", d.EndToEndID)
				w.leaf("UETR", d.UETR)
				w.leaf("TxId", d.TxID)
				w.close("Refs")
			}
			if d.Amount != nil {
				w.signed("Amt", *d.Amount)
			}
			w.close("TxDtls")
		}
		w.close("NtryDtls")
	}
	w.leaf("AddtlNtryInf", e.Info)
	w.close("Ntry")
}

// DecodeCashReport reads a camt.053.001.08 or camt.054.001.08 with
// moov-io/iso20022 (amounts, dates and date-times from the text).
func DecodeCashReport(env *Envelope) (*CashReport, error) {
	r, _, err := decodeCashReport(env)
	return r, err
}

// entryLine is where a decoded entry and each of its details start, for
// errors about them; by account, then entry.
type entryLine struct {
	line    int
	details []int
}

func decodeCashReport(env *Envelope) (*CashReport, [][]entryLine, error) {
	name := env.MessageName()
	if name != Camt053v08 && name != Camt054v08 {
		return nil, nil, unsupported("Document", env.Line, "%s is not a %s or a %s", name, Camt053v08, Camt054v08)
	}
	hdr, err := headerOf(env, name)
	if err != nil {
		return nil, nil, err
	}
	r := &CashReport{Message: name, Header: hdr}
	root, account, pageName := r.names()
	parts, rootLine, err := cut(env.Document, root, func(p []string) bool {
		switch len(p) {
		case 1:
			return p[0] == "GrpHdr" || p[0] == account
		case 2:
			return p[0] == account && (p[1] == "Bal" || p[1] == "Ntry")
		case 4:
			return p[0] == account && p[1] == "Ntry" && p[2] == "NtryDtls" && p[3] == "TxDtls"
		}
		return false
	})
	if err != nil {
		return nil, nil, err
	}
	var (
		lines    [][]entryLine
		sawGroup bool
		acct     *AccountReport
		entry    *Entry
	)
	for _, p := range parts {
		switch p.name {
		case "GrpHdr":
			var g camt_v08.GroupHeader81
			if err := unmarshalPart(p, name, &g); err != nil {
				return nil, nil, err
			}
			sawGroup = true
			r.MsgID, r.CreDtTm, r.Page = string(g.MsgId), p.text("CreDtTm"), pageAt(p, "MsgPgntn")
		case account:
			var block any = &camt_v08.AccountStatement9{}
			if name == Camt054v08 {
				block = &camt_v08.AccountNotification17{}
			}
			if err := unmarshalPart(p, name, block); err != nil {
				return nil, nil, err
			}
			r.Accounts = append(r.Accounts, AccountReport{
				ID: p.text("Id"), Page: pageAt(p, pageName), From: p.text("FrToDt/FrDtTm"), To: p.text("FrToDt/ToDtTm"),
				Account: CashAccount{ID: accountAt(p, "Acct"), Currency: p.text("Acct/Ccy"), Owner: p.text("Acct/Ownr/Nm"), Servicer: p.text("Acct/Svcr/FinInstnId/BICFI")},
			})
			acct = &r.Accounts[len(r.Accounts)-1]
			lines = append(lines, nil)
		case "Bal":
			var b camt_v08.CashBalance8
			if err := unmarshalPart(p, name, &b); err != nil {
				return nil, nil, err
			}
			amt, _ := signedAt(p, "Amt", "CdtDbtInd")
			acct.Balances = append(acct.Balances, Balance{Type: code(p, "Tp/CdOrPrtry"), Amount: amt, At: dateOrTimeAt(p, "Dt")})
		case "Ntry":
			var e camt_v08.ReportEntry10
			if err := unmarshalPart(p, name, &e); err != nil {
				return nil, nil, err
			}
			amt, _ := signedAt(p, "Amt", "CdtDbtInd")
			acct.Entries = append(acct.Entries, Entry{
				Ref: p.text("NtryRef"), Amount: amt, Status: code(p, "Sts"), BookedAt: dateOrTimeAt(p, "BookgDt"), ValueDate: dateOrTimeAt(p, "ValDt"),
				ServicerRef: p.text("AcctSvcrRef"), Code: bankTxCode(p), MsgNameID: p.text("AddtlInfInd/MsgNmId"), Info: p.text("AddtlNtryInf"),
			})
			entry = &acct.Entries[len(acct.Entries)-1]
			l := &lines[len(lines)-1]
			*l = append(*l, entryLine{line: p.line})
		case "TxDtls":
			if err := unmarshalPart(p, name, &camt_v08.EntryTransaction10{}); err != nil {
				return nil, nil, err
			}
			d := EntryDetail{MsgID: p.text("Refs/MsgId"), InstrID: p.text("Refs/InstrId"), EndToEndID: p.text("Refs/EndToEndId"), UETR: p.text("Refs/UETR"), TxID: p.text("Refs/TxId")}
			if amt, ok := signedAt(p, "Amt", "CdtDbtInd"); ok {
				d.Amount = &amt
			}
			entry.Details = append(entry.Details, d)
			l := lines[len(lines)-1]
			l[len(l)-1].details = append(l[len(l)-1].details, p.line)
		}
	}
	if !sawGroup {
		return nil, nil, errorf(ReasonFileFormat, root+"/GrpHdr", rootLine, "the message has no GrpHdr")
	}
	return r, lines, nil
}

// signedAt reads an amount and its credit/debit indicator: a debit is
// negative (zero has no sign).
func signedAt(p *part, amt, ind string) (Amount, bool) {
	a, ok := amountAt(p, amt)
	if ok && p.text(ind) == "DBIT" && strings.Trim(a.Value, "0.") != "" {
		a.Value = "-" + a.Value
	}
	return a, ok
}

func pageAt(p *part, path string) *Page {
	if _, ok := p.get(path); !ok {
		return nil
	}
	n, _ := strconv.Atoi(p.text(path + "/PgNb")) // Max5NumericText: digits
	last := p.text(path + "/LastPgInd")
	return &Page{Number: n, Last: last == "true" || last == "1"}
}

// code reads a code-or-proprietary choice.
func code(p *part, path string) string {
	if c := p.text(path + "/Cd"); c != "" {
		return c
	}
	return p.text(path + "/Prtry")
}

func dateOrTimeAt(p *part, path string) string {
	if d := p.text(path + "/DtTm"); d != "" {
		return d
	}
	return p.text(path + "/Dt")
}

func bankTxCode(p *part) string {
	if c := p.text("BkTxCd/Prtry/Cd"); c != "" {
		return c
	}
	d := []string{p.text("BkTxCd/Domn/Cd"), p.text("BkTxCd/Domn/Fmly/Cd"), p.text("BkTxCd/Domn/Fmly/SubFmlyCd")}
	return strings.Trim(strings.Join(d, "-"), "-")
}

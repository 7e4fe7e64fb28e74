// Package outbound turns what crossclear decided into the ISO 20022 files
// it sends to banks: for a closed settlement cycle, a pacs.009 per net
// position, a camt.053 statement per bank and currency, and a camt.054
// listing the merchant credits to each merchant's bank (cycle.go); a
// pacs.004 for a refund and a camt.029 answering a cancellation request
// (answers.go).
//
// It is pure: values in, files out, no database, no clock, no randomness.
// The same input gives the same bytes (ids come from the cycle, bank and
// currency, inputs are sorted), so a rebuild after a crash writes
// identical files. Every file is encoded by messages/iso, which refuses
// anything the ISO schema would not accept.
package outbound

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/iso"
)

// File is one file for one bank's mailbox.
type File struct {
	BankID  string // the participant it goes to: its BIC
	Kind    string // the message: iso.Pacs009v09, iso.Camt053v08…
	Name    string // "C42-9-DBSSSGSG-EUR.xml": the message id, unique per bank
	Content []byte
}

// Cycle is what a closed settlement cycle sends. Banks are named by their
// BIC (a participant's id).
type Cycle struct {
	ID       int64
	OpenedAt time.Time // the statements' start
	ClosedAt time.Time // the files' creation time, the statements' end; its day (in its location) is the settlement date
	Operator string    // crossclear's BIC: the sender of every file, the servicer of the accounts it reports

	Settlement      []SettlementAccount // where net positions are paid in and out, one per currency
	Positions       []Position          // a pacs.009 each, when not zero
	Statements      []Statement         // a camt.053 (or more: pages) each
	MerchantCredits []MerchantCredit    // a camt.054 (or more) per merchant's bank and currency
}

// SettlementAccount is the operator's account for one currency at the
// bank that settles it (a central bank, or a commercial settlement bank).
type SettlementAccount struct {
	Currency string
	Agent    string // BIC of the bank holding the account
	Account  string // an IBAN, or another identification
}

// Position is a bank's net position in one currency: above zero the bank
// receives it from the settlement account, below zero it pays it in.
type Position struct {
	Bank string
	Net  fx.Amount
}

// Statement is a bank's clearing account in one currency over the cycle:
// the opening balance (the currency of the statement) and every posting
// of the cycle on it. Its closing balance is the opening plus the entries,
// and the entries must add up to the bank's net position.
type Statement struct {
	Bank     string
	BankName string // the account owner's name (optional)
	Opening  fx.Amount
	Entries  []Entry
}

// Entry is one posting on a bank's account.
type Entry struct {
	Ref        string    // the posting's id: NtryRef, at most 35 characters
	Kind       string    // the posting kind (hold, release, refund, fee…): the bank transaction code
	Amount     fx.Amount // above zero credits the bank, below zero debits it
	BookedAt   time.Time
	UETR       string // the payment's, when the posting belongs to one
	EndToEndID string
}

// MerchantCredit is what a merchant is credited in the cycle, at its
// bank: the sum of the payments released to it.
type MerchantCredit struct {
	Bank         string // the merchant's bank: the camt.054 goes there
	MerchantID   string // NtryRef, at most 35 characters
	MerchantName string
	Account      string // the merchant's account at its bank
	Payments     []CreditedPayment
}

// CreditedPayment is one payment (or part of one) released to a merchant.
type CreditedPayment struct {
	UETR       string
	EndToEndID string
	Amount     fx.Amount // above zero, in the credit's currency
}

// Options bound the files.
type Options struct {
	// MaxEntriesPerFile splits a statement with more entries, and a
	// notification with more payments, into pages (default 5,000: a file
	// of about 5 MB).
	MaxEntriesPerFile int
}

// DefaultMaxEntriesPerFile is the page size when Options leaves it zero.
const DefaultMaxEntriesPerFile = 5000

// Entry codes crossclear writes besides the posting kinds.
const CodeMerchantCredit = "merchant_credit"

// BuildCycle builds every file of a closed cycle: the pacs.009s, then the
// statements, then the notifications, each sorted by bank and currency.
func BuildCycle(c Cycle, opt Options) ([]File, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var out []File
	for _, build := range []func(Cycle, Options) ([]File, error){settlementFiles, statementFiles, notificationFiles} {
		files, err := build(c, opt)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	return out, nil
}

func (c Cycle) check() error {
	switch {
	case c.ID <= 0:
		return fmt.Errorf("cycle id must be positive, got %d", c.ID)
	case c.Operator == "":
		return fmt.Errorf("cycle %d: the operator's BIC is required", c.ID)
	case c.ClosedAt.IsZero() || c.OpenedAt.IsZero() || c.ClosedAt.Before(c.OpenedAt):
		return fmt.Errorf("cycle %d: it must open (%s) before it closes (%s)", c.ID, c.OpenedAt, c.ClosedAt)
	}
	return nil
}

func (c Cycle) header(to, msgID string) iso.AppHdr {
	return iso.AppHdr{From: c.Operator, To: to, BizMsgIdr: msgID, CreDt: iso.DateTime(c.ClosedAt)}
}

func (c Cycle) file(bank, kind, msgID string, content []byte) File {
	return File{BankID: bank, Kind: kind, Name: msgID + ".xml", Content: content}
}

// settlementFiles builds a pacs.009 per non-zero net position.
func settlementFiles(c Cycle, _ Options) ([]File, error) {
	accounts := map[string]SettlementAccount{}
	for _, a := range c.Settlement {
		if _, dup := accounts[a.Currency]; dup {
			return nil, fmt.Errorf("cycle %d: two settlement accounts for %s", c.ID, a.Currency)
		}
		if a.Agent == "" || a.Account == "" {
			return nil, fmt.Errorf("cycle %d: the settlement account for %s needs the BIC of the bank holding it and its identification", c.ID, a.Currency)
		}
		accounts[a.Currency] = a
	}
	ps := slices.Clone(c.Positions)
	slices.SortFunc(ps, func(a, b Position) int {
		return cmp.Or(cmp.Compare(a.Bank, b.Bank), cmp.Compare(a.Net.Currency.Code, b.Net.Currency.Code))
	})
	var out []File
	for i, p := range ps {
		ccy := p.Net.Currency.Code
		if ccy == "" {
			return nil, fmt.Errorf("cycle %d: the net position of %s has no currency", c.ID, p.Bank)
		}
		if i > 0 && ps[i-1].Bank == p.Bank && ps[i-1].Net.Currency.Code == ccy {
			return nil, fmt.Errorf("cycle %d: two net positions of %s in %s", c.ID, p.Bank, ccy)
		}
		if p.Net.Minor == 0 {
			continue // nothing moves
		}
		acct, ok := accounts[ccy]
		if !ok {
			return nil, fmt.Errorf("cycle %d: no settlement account for %s, the currency of %s's net position", c.ID, ccy, p.Bank)
		}
		msgID, u := PositionRef(c.ID, p.Bank, ccy)
		t := iso.FITransfer{InstrID: msgID, EndToEndID: msgID, UETR: u, SettlementDate: iso.Date(c.ClosedAt)}
		if p.Net.Minor < 0 { // the bank pays into the settlement account
			t.Amount = iso.AmountOf(fx.Amount{Minor: -p.Net.Minor, Currency: p.Net.Currency})
			t.Debtor, t.CreditorAgent, t.Creditor, t.CreditorAccount = p.Bank, acct.Agent, c.Operator, acct.Account
			t.Remittance = fmt.Sprintf("crossclear cycle %d: %s pays its net position in %s", c.ID, p.Bank, ccy)
		} else { // the bank receives from it
			t.Amount = iso.AmountOf(p.Net)
			t.Debtor, t.DebtorAccount, t.DebtorAgent, t.Creditor = c.Operator, acct.Account, acct.Agent, p.Bank
			t.Remittance = fmt.Sprintf("crossclear cycle %d: %s receives its net position in %s", c.ID, p.Bank, ccy)
		}
		m := &iso.FICreditTransfer{
			Header: c.header(p.Bank, msgID), MsgID: msgID, CreDtTm: iso.DateTime(c.ClosedAt), SettlementMethod: iso.SettleByClearing,
			InstructingAgent: c.Operator, InstructedAgent: p.Bank, Transfers: []iso.FITransfer{t},
		}
		content, err := m.Encode()
		if err != nil {
			return nil, fmt.Errorf("cycle %d: pacs.009 for %s in %s: %w", c.ID, p.Bank, ccy, err)
		}
		out = append(out, c.file(p.Bank, iso.Pacs009v09, msgID, content))
	}
	return out, nil
}

func pageSize(opt Options) int {
	if opt.MaxEntriesPerFile > 0 {
		return opt.MaxEntriesPerFile
	}
	return DefaultMaxEntriesPerFile
}

// pageOf is the pagination of page k (0-based) of n: none for one page.
func pageOf(k, n int) *iso.Page {
	if n == 1 {
		return nil
	}
	return &iso.Page{Number: k + 1, Last: k == n-1}
}

// pagedID names page k of n: "C42-S-DBSSSGSG-EUR", or "C42-S2-…" when the
// report has pages.
func pagedID(cycle int64, kind string, k, n int, bank, currency string) string {
	if n > 1 {
		kind += strconv.Itoa(k + 1)
	}
	return id(cycleID(cycle), kind, bank, currency)
}

// statementFiles builds the camt.053s: per statement, its entries in
// booking order, split into pages; the closing balance is the opening
// plus the entries, and must be the opening plus the net position.
func statementFiles(c Cycle, opt Options) ([]File, error) {
	nets := map[[2]string]int64{}
	for _, p := range c.Positions {
		nets[[2]string{p.Bank, p.Net.Currency.Code}] = p.Net.Minor
	}
	sts := slices.Clone(c.Statements)
	slices.SortFunc(sts, func(a, b Statement) int {
		return cmp.Or(cmp.Compare(a.Bank, b.Bank), cmp.Compare(a.Opening.Currency.Code, b.Opening.Currency.Code))
	})
	size := pageSize(opt)
	var out []File
	for i, s := range sts {
		ccy := s.Opening.Currency
		if ccy.Code == "" {
			return nil, fmt.Errorf("cycle %d: the statement of %s has no currency: give its opening balance in the account's currency", c.ID, s.Bank)
		}
		if i > 0 && sts[i-1].Bank == s.Bank && sts[i-1].Opening.Currency.Code == ccy.Code {
			return nil, fmt.Errorf("cycle %d: two statements of %s in %s", c.ID, s.Bank, ccy.Code)
		}
		entries := slices.Clone(s.Entries)
		slices.SortStableFunc(entries, func(a, b Entry) int { return cmp.Or(a.BookedAt.Compare(b.BookedAt), cmp.Compare(a.Ref, b.Ref)) })
		var sum int64
		for _, e := range entries {
			if e.Amount.Currency.Code != ccy.Code {
				return nil, fmt.Errorf("cycle %d: statement of %s in %s: entry %s is in %s", c.ID, s.Bank, ccy.Code, e.Ref, e.Amount.Currency.Code)
			}
			var ok bool
			if sum, ok = fx.AddMinor(sum, e.Amount.Minor); !ok {
				return nil, fmt.Errorf("cycle %d: statement of %s in %s: the entries overflow", c.ID, s.Bank, ccy.Code)
			}
		}
		if net := nets[[2]string{s.Bank, ccy.Code}]; sum != net {
			return nil, fmt.Errorf("cycle %d: statement of %s in %s: the entries add up to %s but the net position is %s",
				c.ID, s.Bank, ccy.Code, ccy.FromMinor(sum), ccy.FromMinor(net))
		}
		files, err := statementPages(c, s, entries, size)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	return out, nil
}

func statementPages(c Cycle, s Statement, entries []Entry, size int) ([]File, error) {
	ccy := s.Opening.Currency
	n := max(1, (len(entries)+size-1)/size)
	stmtID := id(cycleID(c.ID), "S", s.Bank, ccy.Code)
	balance, at := s.Opening.Minor, iso.DateTime(c.OpenedAt)
	var out []File
	for k := range n {
		page := entries[k*size : min(len(entries), (k+1)*size)]
		open := iso.Balance{Type: iso.BalanceInterim, Amount: iso.AmountOf(ccy.FromMinor(balance)), At: at}
		if k == 0 {
			open.Type = iso.BalanceOpening
		}
		rep := iso.AccountReport{
			ID: stmtID, Page: pageOf(k, n), From: iso.DateTime(c.OpenedAt), To: iso.DateTime(c.ClosedAt),
			Account: iso.CashAccount{ID: s.Bank, Currency: ccy.Code, Owner: s.BankName, Servicer: c.Operator},
		}
		for _, e := range page {
			balance += e.Amount.Minor // cannot overflow: the whole sum did not
			at = iso.DateTime(e.BookedAt)
			ne := iso.Entry{Ref: e.Ref, Amount: iso.AmountOf(e.Amount), Status: iso.EntryBooked, BookedAt: at, Code: e.Kind}
			if e.UETR != "" || e.EndToEndID != "" {
				ne.Details = []iso.EntryDetail{{EndToEndID: e.EndToEndID, UETR: e.UETR}}
			}
			rep.Entries = append(rep.Entries, ne)
		}
		end := iso.Balance{Type: iso.BalanceInterim, Amount: iso.AmountOf(ccy.FromMinor(balance)), At: at}
		if k == n-1 {
			end.Type, end.At = iso.BalanceClosing, iso.DateTime(c.ClosedAt)
		}
		rep.Balances = []iso.Balance{open, end}
		msgID := pagedID(c.ID, "S", k, n, s.Bank, ccy.Code)
		r := &iso.CashReport{Message: iso.Camt053v08, Header: c.header(s.Bank, msgID), MsgID: msgID, CreDtTm: iso.DateTime(c.ClosedAt),
			Page: pageOf(k, n), Accounts: []iso.AccountReport{rep}}
		content, err := r.Encode()
		if err != nil {
			return nil, fmt.Errorf("cycle %d: camt.053 for %s in %s: %w", c.ID, s.Bank, ccy.Code, err)
		}
		out = append(out, c.file(s.Bank, iso.Camt053v08, msgID, content))
	}
	return out, nil
}

// notificationFiles builds the camt.054s: per merchant's bank and
// currency, a notification (Ntfctn) per merchant credit listing its
// payments. A credit with more payments than a page holds is split into
// several notifications, each with the sum of its own payments.
func notificationFiles(c Cycle, opt Options) ([]File, error) {
	type group struct {
		bank     string
		currency fx.Currency
		credits  []MerchantCredit
	}
	groups := map[[2]string]*group{}
	for _, mc := range c.MerchantCredits {
		if len(mc.Payments) == 0 {
			return nil, fmt.Errorf("cycle %d: merchant credit of %s lists no payment", c.ID, mc.MerchantID)
		}
		ccy := mc.Payments[0].Amount.Currency
		k := [2]string{mc.Bank, ccy.Code}
		if groups[k] == nil {
			groups[k] = &group{bank: mc.Bank, currency: ccy}
		}
		groups[k].credits = append(groups[k].credits, mc)
	}
	keys := slices.SortedFunc(maps.Keys(groups), func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	size := pageSize(opt)
	var out []File
	for _, k := range keys {
		g := groups[k]
		reports, err := creditReports(c, g.bank, g.currency, g.credits, size)
		if err != nil {
			return nil, err
		}
		pages := paginate(reports, size)
		for p, reps := range pages {
			msgID := pagedID(c.ID, "N", p, len(pages), g.bank, g.currency.Code)
			r := &iso.CashReport{Message: iso.Camt054v08, Header: c.header(g.bank, msgID), MsgID: msgID, CreDtTm: iso.DateTime(c.ClosedAt),
				Page: pageOf(p, len(pages)), Accounts: reps}
			content, err := r.Encode()
			if err != nil {
				return nil, fmt.Errorf("cycle %d: camt.054 for %s in %s: %w", c.ID, g.bank, g.currency.Code, err)
			}
			out = append(out, c.file(g.bank, iso.Camt054v08, msgID, content))
		}
	}
	return out, nil
}

// creditReports turns one bank's merchant credits in one currency into
// notifications of at most size payments each, in merchant order.
func creditReports(c Cycle, bank string, ccy fx.Currency, credits []MerchantCredit, size int) ([]iso.AccountReport, error) {
	credits = slices.Clone(credits)
	slices.SortFunc(credits, func(a, b MerchantCredit) int {
		return cmp.Or(cmp.Compare(a.MerchantID, b.MerchantID), cmp.Compare(a.Account, b.Account))
	})
	var out []iso.AccountReport
	for i, mc := range credits {
		if i > 0 && credits[i-1].MerchantID == mc.MerchantID && credits[i-1].Account == mc.Account {
			return nil, fmt.Errorf("cycle %d: two credits of merchant %s to account %s in %s", c.ID, mc.MerchantID, mc.Account, ccy.Code)
		}
		payments := slices.Clone(mc.Payments)
		slices.SortStableFunc(payments, func(a, b CreditedPayment) int { return cmp.Compare(a.UETR, b.UETR) })
		for start := 0; start < len(payments); start += size {
			chunk := payments[start:min(len(payments), start+size)]
			var sum int64
			details := make([]iso.EntryDetail, len(chunk))
			for j, p := range chunk {
				if p.Amount.Currency.Code != ccy.Code || p.Amount.Minor <= 0 {
					return nil, fmt.Errorf("cycle %d: merchant credit of %s: payment %s credits %s, not a positive amount in %s", c.ID, mc.MerchantID, p.UETR, p.Amount, ccy.Code)
				}
				var ok bool
				if sum, ok = fx.AddMinor(sum, p.Amount.Minor); !ok || sum > fx.MaxMinor {
					return nil, fmt.Errorf("cycle %d: merchant credit of %s is more than %s", c.ID, mc.MerchantID, ccy.FromMinor(fx.MaxMinor))
				}
				a := iso.AmountOf(p.Amount)
				details[j] = iso.EntryDetail{EndToEndID: p.EndToEndID, UETR: p.UETR, Amount: &a}
			}
			out = append(out, iso.AccountReport{
				ID:      id(cycleID(c.ID), "M"+strconv.Itoa(len(out)+1), bank, ccy.Code),
				Account: iso.CashAccount{ID: mc.Account, Currency: ccy.Code, Owner: mc.MerchantName, Servicer: bank},
				Entries: []iso.Entry{{Ref: mc.MerchantID, Amount: iso.AmountOf(ccy.FromMinor(sum)), Status: iso.EntryBooked,
					BookedAt: iso.DateTime(c.ClosedAt), ValueDate: iso.Date(c.ClosedAt), Code: CodeMerchantCredit, Details: details}},
			})
		}
	}
	return out, nil
}

// paginate packs notifications into pages of at most size payments.
func paginate(reports []iso.AccountReport, size int) [][]iso.AccountReport {
	var pages [][]iso.AccountReport
	var page []iso.AccountReport
	n := 0
	for _, r := range reports {
		k := len(r.Entries[0].Details)
		if n+k > size && len(page) > 0 {
			pages, page, n = append(pages, page), nil, 0
		}
		page, n = append(page, r), n+k
	}
	return append(pages, page)
}

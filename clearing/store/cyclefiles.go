package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// A closed cycle's outbound files (pacs.009 per net position, camt.053 per
// bank and currency, camt.054 per merchant's bank) are written once, after
// the close, by messages/cyclefiles: CycleFileData loads what they say and
// PutCycleFiles writes them with the cycle's files_built_at mark in one
// transaction, so a crash in between only means they are built again.

// CycleFileData is what a closed cycle's files are built from.
type CycleFileData struct {
	Cycle     clearing.Cycle
	Banks     map[string]clearing.Participant // the participants concerned, by id
	Accounts  []AccountActivity               // every (participant, currency) with a position or postings this cycle
	Credits   []MerchantCredit                // every release to a merchant this cycle, by bank, currency, merchant, time
	Merchants map[string]clearing.Merchant
}

// AccountActivity is one participant's account in one currency over the
// cycle: its balance before (the sum of its earlier cycles' nets, since
// settlement is recorded beside the ledger, not in it), its net position
// and every posting.
type AccountActivity struct {
	Owner        string
	Currency     string
	OpeningMinor int64
	NetMinor     int64 // the cycle's net position: received − paid
	Entries      []AccountEntry
}

// AccountEntry is one posting as the account's owner sees it.
type AccountEntry struct {
	PaymentID   string // the UETR
	EndToEndID  string
	Seq, Leg    int
	Kind        string
	AmountMinor int64 // above zero credits the owner, below zero debits it
	At          time.Time
}

// MerchantCredit is one release to a merchant.
type MerchantCredit struct {
	BankID      string // the merchant's bank
	MerchantID  string
	Currency    string
	PaymentID   string // the UETR
	EndToEndID  string
	AmountMinor int64
	At          time.Time
}

// ClosedCyclesWithoutFiles lists closed cycles whose files are not yet
// written, oldest first.
func (s *Store) ClosedCyclesWithoutFiles(ctx context.Context) ([]int64, error) {
	var ids []int64
	err := s.conn(ctx).NewSelect().Model((*cycleRow)(nil)).Column("id").Where("state <> ? AND files_built_at IS NULL", clearing.CycleOpen).
		OrderExpr("id").Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("list cycles without files: %w", err)
	}
	return ids, nil
}

// CycleFileData loads a closed cycle's positions, postings and merchant
// credits. Only participants' accounts are included: escrow, fees and FX
// results are crossclear's own.
func (s *Store) CycleFileData(ctx context.Context, id int64) (CycleFileData, error) {
	c, err := s.Cycle(ctx, id)
	if err != nil {
		return CycleFileData{}, err
	}
	if c.State == clearing.CycleOpen {
		return CycleFileData{}, clearing.Errorf(clearing.Conflict, "cycle_open", "id", "cycle %d is still open", id)
	}
	d := CycleFileData{Cycle: c, Banks: map[string]clearing.Participant{}, Merchants: map[string]clearing.Merchant{}}
	ps, err := s.Participants(ctx, ParticipantFilter{})
	if err != nil {
		return CycleFileData{}, err
	}
	for _, p := range ps {
		d.Banks[p.ID] = p
	}
	type key struct{ owner, ccy string }
	accounts := map[key]*AccountActivity{}
	account := func(owner, ccy string) *AccountActivity {
		k := key{owner, ccy}
		if a, ok := accounts[k]; ok {
			return a
		}
		a := &AccountActivity{Owner: owner, Currency: ccy}
		accounts[k] = a
		return a
	}

	var before []struct {
		Owner    string `bun:"owner"`
		Currency string `bun:"currency"`
		Net      int64  `bun:"net"`
	}
	err = s.conn(ctx).NewSelect().Model((*positionRow)(nil)).ColumnExpr("owner, currency, SUM(received_minor - paid_minor) AS net").
		Where("cycle_id < ?", id).Group("owner", "currency").Scan(ctx, &before)
	if err != nil {
		return CycleFileData{}, fmt.Errorf("opening balances: %w", err)
	}
	for _, b := range before {
		if _, ok := d.Banks[b.Owner]; ok && b.Net != 0 {
			account(b.Owner, b.Currency).OpeningMinor = b.Net
		}
	}
	if c.Result != nil {
		for _, p := range c.Result.Positions {
			if _, ok := d.Banks[p.Participant]; ok {
				account(p.Participant, p.Currency).NetMinor = p.NetMinor
			}
		}
	}

	var rows []struct {
		postingRow
		EndToEndID string `bun:"end_to_end_id"`
		MerchantID string `bun:"merchant_id"`
	}
	err = s.conn(ctx).NewSelect().Model((*postingRow)(nil)).ColumnExpr("po.*, p.end_to_end_id, p.merchant_id").
		Join("JOIN payments AS p ON p.id = po.payment_id").Where("po.cycle_id = ?", id).
		OrderExpr("po.at, po.payment_id, po.seq, po.leg").Scan(ctx, &rows)
	if err != nil {
		return CycleFileData{}, fmt.Errorf("cycle postings: %w", err)
	}
	merchants := map[string]bool{}
	for _, r := range rows {
		e := AccountEntry{PaymentID: r.PaymentID, EndToEndID: r.EndToEndID, Seq: r.Seq, Leg: r.Leg, Kind: r.Kind, At: r.At.UTC()}
		if _, ok := d.Banks[r.Credit]; ok {
			e.AmountMinor = r.AmountMinor
			a := account(r.Credit, r.Currency)
			a.Entries = append(a.Entries, e)
		}
		if _, ok := d.Banks[r.Debit]; ok {
			e.AmountMinor = -r.AmountMinor
			a := account(r.Debit, r.Currency)
			a.Entries = append(a.Entries, e)
		}
		if r.Kind == string(clearing.PostRelease) {
			d.Credits = append(d.Credits, MerchantCredit{BankID: r.Credit, MerchantID: r.MerchantID, Currency: r.Currency,
				PaymentID: r.PaymentID, EndToEndID: r.EndToEndID, AmountMinor: r.AmountMinor, At: r.At.UTC()})
			merchants[r.MerchantID] = true
		}
	}
	for _, a := range accounts {
		d.Accounts = append(d.Accounts, *a)
	}
	sortAccounts(d.Accounts)
	if len(merchants) > 0 {
		ms, err := s.Merchants(ctx, MerchantFilter{})
		if err != nil {
			return CycleFileData{}, err
		}
		for _, m := range ms {
			if merchants[m.ID] {
				d.Merchants[m.ID] = m
			}
		}
	}
	return d, nil
}

func sortAccounts(as []AccountActivity) {
	slices.SortFunc(as, func(a, b AccountActivity) int {
		return cmp.Or(cmp.Compare(a.Owner, b.Owner), cmp.Compare(a.Currency, b.Currency))
	})
}

// PutCycleFiles writes a closed cycle's files into their banks' mailboxes
// (unsealed: the outbox signs them) and marks the cycle's files built, in
// one transaction. When another process wrote them first it writes nothing
// and returns false.
func (s *Store) PutCycleFiles(ctx context.Context, id int64, files []MailboxFile, by clearing.Actor) (bool, error) {
	written := false
	err := s.inTx(ctx, func(tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*cycleRow)(nil)).Set("files_built_at = ?", s.now()).
			Where("id = ? AND state <> ? AND files_built_at IS NULL", id, clearing.CycleOpen).Exec(ctx)
		if err != nil {
			return fmt.Errorf("mark cycle %d files built: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if _, err := s.putMailboxFiles(ctx, tx, files...); err != nil {
			return err
		}
		written = true
		return s.audit(ctx, tx, by, "cycle.files", fmt.Sprint(id), fmt.Sprintf("%d files", len(files)))
	})
	return written, err
}

package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// Payment loads a payment and its events, oldest first.
func (s *Store) Payment(ctx context.Context, id string) (clearing.Payment, []clearing.Event, error) {
	var row paymentRow
	err := s.conn(ctx).NewSelect().Model(&row).Where("id = ?", id).Limit(1).Scan(ctx)
	if isNoRows(err) {
		return clearing.Payment{}, nil, notFound("payment", "id", id)
	}
	if err != nil {
		return clearing.Payment{}, nil, fmt.Errorf("load payment: %w", err)
	}
	var evs []eventRow
	if err := s.conn(ctx).NewSelect().Model(&evs).Where("payment_id = ?", id).OrderExpr("seq").Scan(ctx); err != nil {
		return clearing.Payment{}, nil, fmt.Errorf("load events: %w", err)
	}
	events := make([]clearing.Event, len(evs))
	for i, e := range evs {
		events[i] = e.domain()
	}
	return row.domain(), events, nil
}

// PaymentFilter narrows a payment listing. Scope fields express who asks:
// BankID matches either side's bank, Jurisdiction either side's
// jurisdiction. Empty fields match all.
type PaymentFilter struct {
	State        clearing.State
	BankID       string
	MerchantID   string
	Jurisdiction string
	Currency     string
	Reference    string // the order reference, exactly
	Limit        int    // default 100, at most 1000
	Cursor       string // from the previous page's NextCursor
}

// Page is one page of a listing, newest first.
type Page struct {
	Payments   []clearing.Payment
	NextCursor string // empty on the last page
}

// MaxPage bounds a listing page.
const MaxPage = 1000

// pageSize is a keyset-paged list's page size: 100 when unset, an error
// naming limit above MaxPage.
func pageSize(limit int) (int, error) {
	if limit <= 0 {
		return 100, nil
	}
	if limit > MaxPage {
		return 0, clearing.Errorf(clearing.Invalid, "invalid_limit", "limit", "at most %d", MaxPage)
	}
	return limit, nil
}

// Payments lists payments newest first, a page at a time.
func (s *Store) Payments(ctx context.Context, f PaymentFilter) (Page, error) {
	limit, err := pageSize(f.Limit)
	if err != nil {
		return Page{}, err
	}
	f.Limit = limit
	var rows []paymentRow
	q := s.conn(ctx).NewSelect().Model(&rows).OrderExpr("created_at DESC, id DESC").Limit(int64(f.Limit + 1))
	if f.State != "" {
		q.Where("state = ?", f.State)
	}
	if f.BankID != "" {
		q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("buyer_bank_id = ?", f.BankID).WhereOr("merchant_bank_id = ?", f.BankID)
		})
	}
	if f.Jurisdiction != "" {
		q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("buyer_jurisdiction = ?", f.Jurisdiction).WhereOr("merchant_jurisdiction = ?", f.Jurisdiction)
		})
	}
	if f.MerchantID != "" {
		q.Where("merchant_id = ?", f.MerchantID)
	}
	if f.Currency != "" {
		q.Where("currency = ?", f.Currency)
	}
	if f.Reference != "" {
		q.Where("reference = ?", f.Reference)
	}
	if f.Cursor != "" {
		at, id, err := parseCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		q.Where("(created_at < ? OR (created_at = ? AND id < ?))", at, at, id)
	}
	if err := q.Scan(ctx); err != nil {
		return Page{}, fmt.Errorf("list payments: %w", err)
	}
	var page Page
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		page.NextCursor = last.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + last.ID
	}
	page.Payments = make([]clearing.Payment, len(rows))
	for i, r := range rows {
		page.Payments[i] = r.domain()
	}
	return page, nil
}

func parseCursor(c string) (time.Time, string, error) {
	at, id, ok := strings.Cut(c, "|")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", clearing.Errorf(clearing.Invalid, "invalid_cursor", "cursor", "use the next_cursor of a previous page")
	}
	return t, id, nil
}

// Payout is money released from escrow to a merchant's bank for the merchant.
type Payout struct {
	PaymentID   string
	MerchantID  string
	Currency    string
	AmountMinor int64
	CycleID     int64
	At          time.Time
}

// Payouts lists a merchant's payouts, newest first.
func (s *Store) Payouts(ctx context.Context, merchantID string, limit int) ([]Payout, error) {
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	var out []Payout
	err := s.conn(ctx).NewSelect().TableExpr("postings AS po").
		Join("JOIN payments AS p ON p.id = po.payment_id").
		ColumnExpr("po.payment_id, p.merchant_id, po.currency, po.amount_minor, po.cycle_id, po.at").
		Where("po.kind = ?", clearing.PostRelease).Where("p.merchant_id = ?", merchantID).
		OrderExpr("po.at DESC, po.payment_id, po.seq").Limit(int64(limit)).
		Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("list payouts: %w", err)
	}
	for i := range out {
		out[i].At = out[i].At.UTC()
	}
	return out, nil
}

package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// What a merchant was paid. A release posts escrow → the merchant's bank
// (clearing.PostRelease) in the payment's currency, which is always the
// merchant's own: a cross-currency payment is converted into it when it is
// held, so a release's amount is what the merchant receives. Released is
// final — nothing is ever taken back from a merchant after a release — so
// a cycle's payout to a merchant is exactly the sum of the releases booked
// in that cycle.

// MerchantRelease is one release to a merchant: one posting crediting its
// bank for it.
type MerchantRelease struct {
	PaymentID   string
	EndToEndID  string
	Reference   string
	BankID      string // the merchant's bank, credited
	Currency    string // the merchant's currency
	AmountMinor int64
	CycleID     int64
	Seq, Leg    int
	At          time.Time
}

// SettledPayment is one payment behind a cycle's payout: what was
// released of it in that cycle (one release or several partial ones).
type SettledPayment struct {
	PaymentID   string
	EndToEndID  string
	Reference   string
	AmountMinor int64
	Releases    int
	ReleasedAt  time.Time // the last release of it in the cycle
}

// MerchantSettlement is a closed cycle's payout to a merchant in one
// currency, paid through its bank.
type MerchantSettlement struct {
	CycleID        int64
	CycleState     clearing.CycleState // closed or settled
	ClosedAt       time.Time
	CycleSettledAt time.Time // zero until every net position of the cycle is settled
	BankID         string
	Currency       string
	AmountMinor    int64
	// BankSettledAt is when the bank's net position in Currency for the
	// cycle was settled; zero while it is not. A bank whose net is zero
	// has nothing to pay or receive: its side is done when the cycle is,
	// so BankSettledAt is then the cycle's settled time.
	BankSettledAt time.Time
	Payments      []SettledPayment // by release time, then id
}

// SettlementPage is one page of a merchant's payouts by cycle, newest
// cycle first.
type SettlementPage struct {
	Settlements []MerchantSettlement
	NextCursor  string // empty on the last page
}

// MaxSettlementPage bounds a page of payouts by cycle (each lists all of
// its payments).
const MaxSettlementPage = 100

// DefaultSettlementPage is a page of payouts by cycle when none is asked.
const DefaultSettlementPage = 20

// MerchantSettlements lists a merchant's payouts per closed cycle, newest
// cycle first, keyset-paged on the cycle id: cursor is the previous page's
// NextCursor ("" for the first page). The open cycle's releases are not
// yet a payout: they show once it closes.
func (s *Store) MerchantSettlements(ctx context.Context, merchantID string, limit int, cursor string) (SettlementPage, error) {
	if limit <= 0 {
		limit = DefaultSettlementPage
	}
	if limit > MaxSettlementPage {
		return SettlementPage{}, clearing.Errorf(clearing.Invalid, "invalid_limit", "limit", "at most %d", MaxSettlementPage)
	}
	db := s.conn(ctx)
	q := db.NewSelect().TableExpr("postings AS po").
		Join("JOIN payments AS p ON p.id = po.payment_id").
		Join("JOIN cycles AS c ON c.id = po.cycle_id").
		ColumnExpr("po.cycle_id").
		Where("p.merchant_id = ?", merchantID).Where("po.kind = ?", clearing.PostRelease).
		Where("c.state <> ?", clearing.CycleOpen).
		GroupExpr("po.cycle_id").OrderExpr("po.cycle_id DESC").Limit(int64(limit + 1))
	if cursor != "" {
		before, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || before <= 0 {
			return SettlementPage{}, clearing.Errorf(clearing.Invalid, "invalid_cursor", "cursor", "use the next_cursor of a previous page")
		}
		q.Where("po.cycle_id < ?", before)
	}
	var ids []int64
	if err := q.Scan(ctx, &ids); err != nil {
		return SettlementPage{}, fmt.Errorf("list payout cycles: %w", err)
	}
	var page SettlementPage
	if len(ids) > limit {
		ids = ids[:limit]
		page.NextCursor = strconv.FormatInt(ids[len(ids)-1], 10)
	}
	if len(ids) == 0 {
		return page, nil
	}
	var releases []MerchantRelease
	err := releaseQuery(db, merchantID).Where("po.cycle_id IN (?)", bun.In(ids)).
		OrderExpr("po.cycle_id DESC, po.at, po.payment_id, po.seq, po.leg").Scan(ctx, &releases)
	if err != nil {
		return SettlementPage{}, fmt.Errorf("list payouts: %w", err)
	}
	var cycles []cycleRow
	if err := db.NewSelect().Model(&cycles).Column("id", "state", "closed_at", "settled_at").Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return SettlementPage{}, fmt.Errorf("load payout cycles: %w", err)
	}
	byID := make(map[int64]cycleRow, len(cycles))
	for _, c := range cycles {
		byID[c.ID] = c
	}
	var nets []netPositionRow
	banks := map[string]bool{}
	for _, r := range releases {
		banks[r.BankID] = true
	}
	owners := make([]string, 0, len(banks))
	for b := range banks {
		owners = append(owners, b)
	}
	if err := db.NewSelect().Model(&nets).Where("cycle_id IN (?)", bun.In(ids)).Where("owner IN (?)", bun.In(owners)).Scan(ctx); err != nil {
		return SettlementPage{}, fmt.Errorf("load net positions: %w", err)
	}
	type key struct {
		cycle          int64
		bank, currency string
	}
	netOf := make(map[key]netPositionRow, len(nets))
	for _, n := range nets {
		netOf[key{n.CycleID, n.Owner, n.Currency}] = n
	}
	index := map[key]int{}
	type pkey struct {
		key
		payment string
	}
	paymentIndex := map[pkey]int{}
	for _, r := range releases {
		r.At = r.At.UTC()
		k := key{r.CycleID, r.BankID, r.Currency}
		i, ok := index[k]
		if !ok {
			c := byID[r.CycleID]
			ms := MerchantSettlement{CycleID: r.CycleID, CycleState: clearing.CycleState(c.State), BankID: r.BankID, Currency: r.Currency}
			if !c.ClosedAt.IsZero() {
				ms.ClosedAt = c.ClosedAt.Time.UTC()
			}
			if !c.SettledAt.IsZero() {
				ms.CycleSettledAt = c.SettledAt.Time.UTC()
			}
			n, has := netOf[k]
			switch {
			case has && !n.SettledAt.IsZero():
				ms.BankSettledAt = n.SettledAt.Time.UTC()
			case !has || n.NetMinor == 0:
				ms.BankSettledAt = ms.CycleSettledAt
			}
			i = len(page.Settlements)
			index[k] = i
			page.Settlements = append(page.Settlements, ms)
		}
		ms := &page.Settlements[i]
		ms.AmountMinor += r.AmountMinor
		j, ok := paymentIndex[pkey{k, r.PaymentID}]
		if !ok {
			j = len(ms.Payments)
			paymentIndex[pkey{k, r.PaymentID}] = j
			ms.Payments = append(ms.Payments, SettledPayment{PaymentID: r.PaymentID, EndToEndID: r.EndToEndID, Reference: r.Reference})
		}
		p := &ms.Payments[j]
		p.AmountMinor += r.AmountMinor
		p.Releases++
		if r.At.After(p.ReleasedAt) {
			p.ReleasedAt = r.At
		}
	}
	for i := range page.Settlements {
		slices.SortFunc(page.Settlements[i].Payments, func(a, b SettledPayment) int {
			return cmp.Or(a.ReleasedAt.Compare(b.ReleasedAt), cmp.Compare(a.PaymentID, b.PaymentID))
		})
	}
	slices.SortStableFunc(page.Settlements, func(a, b MerchantSettlement) int {
		return cmp.Or(cmp.Compare(b.CycleID, a.CycleID), cmp.Compare(a.Currency, b.Currency), cmp.Compare(a.BankID, b.BankID))
	})
	return page, nil
}

// MaxStatementEntries bounds one statement: a longer period is refused,
// to be asked for in shorter ones.
const MaxStatementEntries = 50_000

// MerchantReleases lists every release credited to a merchant from from
// (inclusive) to to (exclusive), oldest first; more than max is refused
// with 422 statement_too_large naming field.
func (s *Store) MerchantReleases(ctx context.Context, merchantID string, from, to time.Time, max int, field string) ([]MerchantRelease, error) {
	if max <= 0 || max > MaxStatementEntries {
		max = MaxStatementEntries
	}
	var out []MerchantRelease
	err := releaseQuery(s.conn(ctx), merchantID).Where("po.at >= ?", from.UTC()).Where("po.at < ?", to.UTC()).
		OrderExpr("po.at, po.payment_id, po.seq, po.leg").Limit(int64(max+1)).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("list releases: %w", err)
	}
	if len(out) > max {
		return nil, clearing.Errorf(clearing.Invalid, "statement_too_large", field, "more than %d releases in the period: ask for a shorter one", max)
	}
	for i := range out {
		out[i].At = out[i].At.UTC()
	}
	return out, nil
}

func releaseQuery(db bun.IDB, merchantID string) *bun.SelectQuery {
	return db.NewSelect().TableExpr("postings AS po").
		Join("JOIN payments AS p ON p.id = po.payment_id").
		ColumnExpr("po.payment_id, p.end_to_end_id, p.reference, po.credit AS bank_id, po.currency, po.amount_minor, po.cycle_id, po.seq, po.leg, po.at").
		Where("p.merchant_id = ?", merchantID).Where("po.kind = ?", clearing.PostRelease)
}

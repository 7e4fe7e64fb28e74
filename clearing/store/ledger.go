package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/crossclear/crossclear/clearing"
)

// CheckLedger checks the books: per currency every account balance sums to
// zero; the balances kept per cycle equal the balances recomputed from the
// postings; and the escrow balance equals what held and disputed payments
// still hold. It reads everything, so it is an operator's check, not a
// hot path. Its queries read one snapshot: read one after another while
// payments move, the positions and the payments would each be seen at a
// different moment (an auto-release committing in between made the escrow
// look larger than what payments hold).
func (s *Store) CheckLedger(ctx context.Context) (report clearing.LedgerCheck, err error) {
	err = s.inSnapshot(ctx, func(ctx context.Context) error {
		report, err = s.checkLedger(ctx)
		return err
	})
	return report, err
}

func (s *Store) checkLedger(ctx context.Context) (clearing.LedgerCheck, error) {
	type sum struct {
		Owner    string
		Currency string
		Minor    int64
	}
	var kept, credits, debits []sum
	if err := s.conn(ctx).NewRaw("SELECT owner, currency, SUM(received_minor - paid_minor) AS minor FROM positions GROUP BY owner, currency").Scan(ctx, &kept); err != nil {
		return clearing.LedgerCheck{}, fmt.Errorf("sum positions: %w", err)
	}
	if err := s.conn(ctx).NewRaw("SELECT credit AS owner, currency, SUM(amount_minor) AS minor FROM postings GROUP BY credit, currency").Scan(ctx, &credits); err != nil {
		return clearing.LedgerCheck{}, fmt.Errorf("sum credits: %w", err)
	}
	if err := s.conn(ctx).NewRaw("SELECT debit AS owner, currency, SUM(amount_minor) AS minor FROM postings GROUP BY debit, currency").Scan(ctx, &debits); err != nil {
		return clearing.LedgerCheck{}, fmt.Errorf("sum debits: %w", err)
	}
	var held []sum
	if err := s.conn(ctx).NewRaw("SELECT '' AS owner, currency, SUM(amount_minor - released_minor - refunded_minor) AS minor FROM payments WHERE state IN (?, ?) GROUP BY currency",
		clearing.Held, clearing.Disputed).Scan(ctx, &held); err != nil {
		return clearing.LedgerCheck{}, fmt.Errorf("sum held payments: %w", err)
	}

	fromPostings := map[positionKey]int64{}
	for _, c := range credits {
		fromPostings[positionKey{c.Owner, c.Currency}] += c.Minor
	}
	for _, d := range debits {
		fromPostings[positionKey{d.Owner, d.Currency}] -= d.Minor
	}
	checks := map[string]*clearing.CurrencyCheck{}
	check := func(ccy string) *clearing.CurrencyCheck {
		if checks[ccy] == nil {
			checks[ccy] = &clearing.CurrencyCheck{Currency: ccy}
		}
		return checks[ccy]
	}
	report := clearing.LedgerCheck{OK: true}
	fail := func(format string, args ...any) {
		report.OK = false
		report.Problems = append(report.Problems, fmt.Sprintf(format, args...))
	}
	for k, v := range fromPostings {
		check(k.currency).PostingsMinor += v
	}
	for _, k := range kept {
		c := check(k.Currency)
		c.SumMinor += k.Minor
		if k.Owner == clearing.EscrowAccount {
			c.EscrowBalanceMinor = k.Minor
		}
		key := positionKey{k.Owner, k.Currency}
		if fromPostings[key] != k.Minor {
			fail("%s %s: positions say %d, postings say %d", k.Owner, k.Currency, k.Minor, fromPostings[key])
		}
		delete(fromPostings, key)
	}
	for k, v := range fromPostings {
		if v != 0 {
			fail("%s %s: postings sum to %d but no position records it", k.owner, k.currency, v)
		}
	}
	for _, h := range held {
		check(h.Currency).HeldMinor = h.Minor
	}
	for _, c := range checks {
		if c.SumMinor != 0 || c.PostingsMinor != 0 {
			fail("%s: balances sum to %d and postings to %d, both must be 0", c.Currency, c.SumMinor, c.PostingsMinor)
		}
		if c.EscrowBalanceMinor != c.HeldMinor {
			fail("%s: escrow balance %d but payments hold %d", c.Currency, c.EscrowBalanceMinor, c.HeldMinor)
		}
		report.Currencies = append(report.Currencies, *c)
	}
	sort.Slice(report.Currencies, func(i, j int) bool { return report.Currencies[i].Currency < report.Currencies[j].Currency })
	return report, nil
}

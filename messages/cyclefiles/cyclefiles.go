// Package cyclefiles writes a closed settlement cycle's ISO 20022 files
// into the banks' mailboxes: a pacs.009 per net position, a camt.053 per
// bank and currency, a camt.054 per merchant's bank listing every merchant
// credit. It runs after the close, not inside it, so that closing a large
// cycle stays quick; Builder.BuildMissing catches up on any closed cycle
// without its files (a crash between the close and the files, another
// process's close), and writing is idempotent per cycle.
package cyclefiles

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/outbound"
)

// Builder builds and stores cycles' files.
type Builder struct {
	Store    *store.Store
	Operator string           // crossclear's BIC, the sender and the settlement agent
	Options  outbound.Options // page sizes
	Written  func()           // called after files were written (the outbox's Kick); nil for none
	Logger   *slog.Logger     // nil discards
}

var system = clearing.Actor{Role: clearing.RoleSystem, Subject: "cycle-files"}

// SettlementAccount is where net positions in ccy are paid in and out: the
// operator's account for the currency, held with the operator as agent.
func SettlementAccount(operator, ccy string) outbound.SettlementAccount {
	return outbound.SettlementAccount{Currency: ccy, Agent: operator, Account: "CROSSCLEAR-SETTLEMENT-" + ccy}
}

// Build writes cycle id's files; it returns how many it wrote (0 when they
// were already written).
func (b *Builder) Build(ctx context.Context, id int64) (int, error) {
	d, err := b.Store.CycleFileData(ctx, id)
	if err != nil {
		return 0, err
	}
	c, err := b.cycle(d)
	if err != nil {
		return 0, fmt.Errorf("cycle %d files: %w", id, err)
	}
	files, err := outbound.BuildCycle(c, b.Options)
	if err != nil {
		return 0, fmt.Errorf("cycle %d files: %w", id, err)
	}
	mail := make([]store.MailboxFile, len(files))
	for i, f := range files {
		mail[i] = store.MailboxFile{BankID: f.BankID, Kind: f.Kind, Content: f.Content}
	}
	written, err := b.Store.PutCycleFiles(ctx, id, mail, system)
	if err != nil || !written {
		return 0, err
	}
	if b.Written != nil {
		b.Written()
	}
	return len(mail), nil
}

// BuildClosed writes the files of a cycle just closed, as part of closing
// it (the API's and the console's close): a failure is logged, not
// returned — the cycle is closed either way, and BuildMissing (serve's
// sweep) writes its files later. It reports whether they are written.
func (b *Builder) BuildClosed(ctx context.Context, id int64) bool {
	if _, err := b.Build(ctx, id); err != nil {
		b.logger().Error("cycle files", "cycle", id, "err", err)
		return false
	}
	return true
}

// BuildMissing writes the files of every closed cycle that lacks them.
func (b *Builder) BuildMissing(ctx context.Context) (int, error) {
	ids, err := b.Store.ClosedCyclesWithoutFiles(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, id := range ids {
		n, err := b.Build(ctx, id)
		if err != nil {
			return total, err
		}
		total += n
		b.logger().Info("cycle files written", "cycle", id, "files", n)
	}
	return total, nil
}

// Run calls BuildMissing every interval until ctx ends.
func (b *Builder) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := b.BuildMissing(ctx); err != nil && ctx.Err() == nil {
			b.logger().Error("cycle files", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (b *Builder) logger() *slog.Logger {
	if b.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return b.Logger
}

// cycle maps the stored cycle onto the files' model.
func (b *Builder) cycle(d store.CycleFileData) (outbound.Cycle, error) {
	c := outbound.Cycle{ID: d.Cycle.ID, OpenedAt: d.Cycle.OpenedAt, ClosedAt: d.Cycle.ClosedAt, Operator: b.Operator}
	amount := func(minor int64, ccy string) (fx.Amount, error) {
		cur, err := fx.LookupCurrency(ccy)
		if err != nil {
			return fx.Amount{}, err
		}
		return fx.Amount{Minor: minor, Currency: cur}, nil
	}
	currencies := map[string]bool{}
	for _, a := range d.Accounts {
		if a.NetMinor != 0 {
			net, err := amount(a.NetMinor, a.Currency)
			if err != nil {
				return c, err
			}
			c.Positions = append(c.Positions, outbound.Position{Bank: a.Owner, Net: net})
			currencies[a.Currency] = true
		}
		if len(a.Entries) == 0 && a.OpeningMinor == 0 {
			continue
		}
		opening, err := amount(a.OpeningMinor, a.Currency)
		if err != nil {
			return c, err
		}
		st := outbound.Statement{Bank: a.Owner, BankName: d.Banks[a.Owner].Name, Opening: opening}
		for _, e := range a.Entries {
			amt, err := amount(e.AmountMinor, a.Currency)
			if err != nil {
				return c, err
			}
			st.Entries = append(st.Entries, outbound.Entry{Ref: entryRef(e), Kind: e.Kind, Amount: amt, BookedAt: e.At,
				UETR: e.PaymentID, EndToEndID: e.EndToEndID})
		}
		c.Statements = append(c.Statements, st)
	}
	for ccy := range currencies {
		c.Settlement = append(c.Settlement, SettlementAccount(b.Operator, ccy))
	}
	byMerchant := map[string]int{} // merchant id + currency → index in c.MerchantCredits
	for _, cr := range d.Credits {
		amt, err := amount(cr.AmountMinor, cr.Currency)
		if err != nil {
			return c, err
		}
		k := cr.MerchantID + "/" + cr.Currency
		i, ok := byMerchant[k]
		if !ok {
			m := d.Merchants[cr.MerchantID]
			i = len(c.MerchantCredits)
			byMerchant[k] = i
			c.MerchantCredits = append(c.MerchantCredits, outbound.MerchantCredit{Bank: cr.BankID, MerchantID: cr.MerchantID,
				MerchantName: m.Name, Account: m.Account})
		}
		c.MerchantCredits[i].Payments = append(c.MerchantCredits[i].Payments, outbound.CreditedPayment{UETR: cr.PaymentID, EndToEndID: cr.EndToEndID, Amount: amt})
	}
	return c, nil
}

// entryRef names a posting in at most 35 characters: the first 20 hex
// digits of its payment's UETR (80 random bits), then its seq and leg.
func entryRef(e store.AccountEntry) string {
	id := strings.ReplaceAll(e.PaymentID, "-", "")
	return fmt.Sprintf("%.20s-%d-%d", id, e.Seq, e.Leg)
}

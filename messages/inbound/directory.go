package inbound

import (
	"context"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/iso"
)

// directory answers validation from the store: the banks are loaded once
// per file (there are few), a bank's merchants when a transaction first
// names that bank as creditor agent.
type directory struct {
	ctx       context.Context
	st        *store.Store
	banks     map[string]string            // normalised BIC → participant id
	merchants map[string]map[string]string // bank → account → merchant id
	err       error
}

func newDirectory(ctx context.Context, st *store.Store) (*directory, error) {
	ps, err := st.Participants(ctx, store.ParticipantFilter{Kind: clearing.Bank})
	if err != nil {
		return nil, err
	}
	d := &directory{ctx: ctx, st: st, banks: map[string]string{}, merchants: map[string]map[string]string{}}
	for _, p := range ps {
		// One institution, one participant: DEUTDEFFXXX in a file is
		// DEUTDEFF. Should a database from before that rule hold both forms,
		// the canonical one (listed first, by id) answers.
		if _, seen := d.banks[iso.NormalBIC(p.BIC)]; !seen {
			d.banks[iso.NormalBIC(p.BIC)] = p.ID
		}
	}
	return d, nil
}

// Bank resolves a BIC: a registered branch (DEUTDEFF500) is itself, an
// unregistered one its institution's participant (DEUTDEFF).
func (d *directory) Bank(bic string) (string, bool) {
	for _, b := range clearing.LookupBICs(bic) {
		if id, ok := d.banks[iso.NormalBIC(b)]; ok {
			return id, true
		}
	}
	return "", false
}

func (d *directory) Merchant(bank, account string) (string, bool) {
	accounts, ok := d.merchants[bank]
	if !ok {
		accounts = map[string]string{}
		ms, err := d.st.Merchants(d.ctx, store.MerchantFilter{BankID: bank})
		if err != nil {
			d.err = err
			return "", false
		}
		for _, m := range ms {
			accounts[m.Account] = m.ID
		}
		d.merchants[bank] = accounts
	}
	id, ok := accounts[account]
	return id, ok
}

package cyclefiles_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/cyclefiles"
	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

var op = storetest.Operator

// TestCycleFiles: after a cycle with releases, a refund and a partial
// release closes, its files land in the banks' mailboxes — each valid
// against the ISO schema — and say what the books say: the pacs.009s move
// exactly the net positions, each bank's camt.053 entries add up to its
// net, the camt.054 lists every merchant credit with its UETR. Building
// again writes nothing.
func TestCycleFiles(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, engine, store.Options{})
			w := storetest.Seed(t, st)
			de, sg, us := w.Banks[0].ID, w.Banks[1].ID, w.Banks[2].ID
			hold := func(bank string, merchant int, value string) clearing.Payment {
				m := w.Merchants[merchant]
				a, err := fx.ParseAmount(value, m.Currency)
				if err != nil {
					t.Fatal(err)
				}
				p, err := st.Hold(ctx, clearing.HoldRequest{UETR: uuid.NewString(), BuyerBankID: bank, MerchantID: m.ID, Amount: a}, op)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			act := func(id string, a clearing.Action) {
				if _, err := st.Act(ctx, id, a, op); err != nil {
					t.Fatal(err)
				}
			}
			p1 := hold(sg, 0, "120.00") // SG buyer → Berlin Books (DE), EUR
			p2 := hold(us, 0, "80.00")  // US buyer → Berlin Books, EUR
			hold(de, 0, "10.00")        // still held at the close: in escrow, no credit
			act(p1.ID, clearing.Action{Kind: clearing.ActionRelease})
			act(p2.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 3000})
			act(p2.ID, clearing.Action{Kind: clearing.ActionRefund})
			closed, err := st.CloseCycle(ctx, op)
			if err != nil {
				t.Fatal(err)
			}

			written := 0
			b := &cyclefiles.Builder{Store: st, Operator: isotest.Operator, Written: func() { written++ }}
			n, err := b.BuildMissing(ctx)
			if err != nil || n == 0 || written != 1 {
				t.Fatalf("built %d files (%d writes): %v", n, written, err)
			}
			if again, err := b.Build(ctx, closed.ID); err != nil || again != 0 {
				t.Fatalf("a second build wrote %d: %v", again, err)
			}
			all, err := st.MailboxFiles(ctx, store.MailboxFilter{Unsealed: true})
			if err != nil {
				t.Fatal(err)
			}
			var files []store.MailboxFile // the cycle's, beside the refund's pacs.004
			for _, f := range all {
				if f.Kind != iso.Pacs004v09 {
					files = append(files, f)
				}
			}
			if len(files) != n || len(all) != n+1 {
				t.Fatalf("%d cycle files in mailboxes (%d in all), %d built", len(files), len(all), n)
			}
			moved := map[string]int64{} // bank/ccy → signed pacs.009 amount (+ received)
			statementNet := map[string]int64{}
			credits := map[string]string{} // UETR → amount
			for _, meta := range files {
				f, err := st.MailboxFile(ctx, meta.ID)
				if err != nil {
					t.Fatal(err)
				}
				isotest.SchemaValid(t, f.Kind, f.Content)
				env, err := iso.SplitBytes(f.Content, iso.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				header := func(h iso.AppHdr) {
					if h.To != f.BankID || h.From != isotest.Operator || h.MsgDefIdr != f.Kind {
						t.Fatalf("%s for %s: header %+v", f.Kind, f.BankID, h)
					}
				}
				switch f.Kind {
				case iso.Pacs009v09:
					m, err := iso.DecodeFICreditTransfer(env)
					if err != nil {
						t.Fatal(err)
					}
					header(m.Header)
					for _, tr := range m.Transfers {
						a := mustMinor(t, tr.Amount)
						if tr.Creditor == f.BankID {
							moved[f.BankID+"/"+tr.Amount.Currency] += a
						} else {
							moved[f.BankID+"/"+tr.Amount.Currency] -= a
						}
					}
				case iso.Camt053v08, iso.Camt054v08:
					r, err := iso.DecodeCashReport(env)
					if err != nil {
						t.Fatal(err)
					}
					header(r.Header)
					for _, acct := range r.Accounts {
						for _, e := range acct.Entries {
							if f.Kind == iso.Camt053v08 {
								statementNet[f.BankID+"/"+e.Amount.Currency] += mustMinor(t, e.Amount)
								continue
							}
							for _, d := range e.Details {
								if d.Amount != nil {
									credits[d.UETR] = d.Amount.Value
								}
							}
						}
					}
				}
			}
			want := map[string]int64{}
			for _, p := range closed.Result.Positions {
				if _, bank := map[string]bool{de: true, sg: true, us: true}[p.Participant]; bank && p.NetMinor != 0 {
					want[p.Participant+"/"+p.Currency] = p.NetMinor
				}
			}
			if !equal(moved, want) || !equal(statementNet, want) {
				t.Fatalf("nets %v\npacs.009 %v\ncamt.053 %v", want, moved, statementNet)
			}
			if len(credits) != 2 || credits[p1.ID] != "120.00" || credits[p2.ID] != "30.00" {
				t.Fatalf("camt.054 credits %v", credits)
			}
		})
	}
}

func mustMinor(t *testing.T, a iso.Amount) int64 {
	t.Helper()
	v, err := fx.ParseAmount(a.Value, a.Currency)
	if err != nil {
		t.Fatal(err)
	}
	return v.Minor
}

func equal(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/inbound"
)

// The FX result charged to the merchant (fx_result_charged_to = merchant):
// a Singapore buyer's bank, OCBCSGSG, pays 1,000.00 SGD to a merchant at
// DBSSSGSG settled in EUR; DBSSSGSG settles SGD, so it can bear the FX
// result of the refund in SGD. The worked example's 2.26 SGD is then booked
// between DBSSSGSG and OCBCSGSG, and the cycle result shows it. A merchant
// whose bank does not settle SGD cannot be paid in SGD.
func TestFXResultChargedToTheMerchantsBank(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			c := newClock()
			dsn := storetest.DSN(t, engine)
			open := func(charge clearing.FXResultCharge) *store.Store {
				t.Helper()
				st, err := store.Open(ctx, dsn, store.Options{Now: c.now, Refunds: inbound.RefundFile(""), FX: store.FXOptions{Book: &fx.Book{}, Provider: storetest.FXProviderBIC,
					FeeBps: fxFeeBps, SpreadBps: fxSpreadBps, ResultChargedTo: charge}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				if _, err := st.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := st.LoadRates(ctx); err != nil {
					t.Fatal(err)
				}
				return st
			}
			s := open(clearing.ChargeMerchant)
			e := fxEnv{env: env{engine: engine, s: s, w: storetest.Seed(t, s), clock: c}}
			e.fxp = storetest.SeedFX(t, s)
			e.postRate(t, "SGD/EUR", "0.6845", "0.6855")
			e.postRate(t, "EUR/SGD", "1.4550", "1.4570")
			buyer, err := s.CreateParticipant(ctx, clearing.Participant{Kind: clearing.Bank, BIC: "OCBCSGSG", Name: "OCBC Test", Country: "SG", Jurisdiction: "SG",
				Currencies: []clearing.SettlementCurrency{{Currency: "SGD", NetDebitCapMinor: storetest.CapMinor}}}, storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			shop, err := s.CreateMerchant(ctx, clearing.Merchant{Name: "Marina Euro Shop", Country: "SG", Currency: "EUR", Account: "SG-1", BankID: "DBSSSGSG"}, storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			hold := func(st *store.Store, merchant string) (clearing.Payment, error) {
				return st.Hold(ctx, clearing.HoldRequest{BuyerBankID: buyer.ID, MerchantID: merchant, Amount: amount(t, "1000.00", "SGD")}, storetest.Operator)
			}
			// Berlin Books' bank DEUTDEFF settles only EUR: refused, nothing changes.
			before, quotes := e.snapshot(t), e.quotes(t)
			_, err = hold(s, e.w.Merchants[0].ID)
			wantCode(t, err, "fx_result_currency_not_settled", "currency")
			if !strings.Contains(err.Error(), "bank DEUTDEFF of merchant") || !strings.Contains(err.Error(), "does not settle SGD") {
				t.Fatalf("message: %v", err)
			}
			e.unchanged(t, before)
			if e.quotes(t) != quotes {
				t.Fatal("the quotes changed")
			}

			p, err := hold(s, shop.ID)
			if err != nil {
				t.Fatal(err)
			}
			if p.FXResultOwner != "DBSSSGSG" || p.AmountMinor != 67_902 {
				t.Fatalf("held %+v", p)
			}
			if got, _, _ := s.Payment(ctx, p.ID); got != p {
				t.Fatalf("reloaded %+v", got)
			}
			e.clock.advance(time.Hour)
			e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 30_000})
			e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRefund})
			wantLines(t, e.legs(t, p.ID)[4:], []string{
				"release escrow→DBSSSGSG 300.00 EUR",
				"fx_give_back escrow→KSTLGB2L 379.02 EUR",
				"fx_convert_back KSTLGB2L→OCBCSGSG 551.47 SGD",
				"fx_result DBSSSGSG→OCBCSGSG 2.26 SGD",
				"fee_back fees→OCBCSGSG 1.68 SGD",
				"fx_spread_back KSTLGB2L→OCBCSGSG 2.80 SGD",
			})
			e.ledgerOK(t)

			// A payment held while the operator bore the FX result keeps
			// that bearer when the configuration changes before its refund.
			op := open(clearing.ChargeOperator)
			old, err := hold(op, shop.ID)
			if err != nil || old.FXResultOwner != clearing.FXResultAccount {
				t.Fatalf("held under operator: %+v %v", old, err)
			}
			if _, err := s.Act(ctx, old.ID, clearing.Action{Kind: clearing.ActionRefund}, storetest.Operator); err != nil {
				t.Fatal(err)
			}
			if got := e.legs(t, old.ID)[6]; got != "fx_result fx_result→OCBCSGSG 4.03 SGD" {
				t.Fatalf("refund of a payment held under operator: %s", got)
			}

			cyc, err := s.CloseCycle(ctx, storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			// The second refund converts all 679.02 EUR back: RoundDown(679.02 ×
			// 1.4550 = 987.9741) = 987.97 SGD, 4.03 short of C = 992.00.
			if got := fmt.Sprint(cyc.Result.FXResults); got != "[{DBSSSGSG SGD 226 0 -226 1} {fx_result SGD 403 0 -403 1}]" {
				t.Fatalf("FX results %s", got)
			}
			stored, err := s.Cycle(ctx, cyc.ID)
			if err != nil || fmt.Sprint(stored.Result.FXResults) != fmt.Sprint(cyc.Result.FXResults) {
				t.Fatalf("stored FX results %+v %v", stored.Result, err)
			}
			var nets []string
			for _, np := range cyc.Result.Positions {
				if np.Currency == "SGD" {
					nets = append(nets, fmt.Sprintf("%s %s", np.Participant, fx.MustCurrency("SGD").FromMinor(np.NetMinor).Value()))
				}
			}
			// DBSSSGSG's only SGD movement is the FX result it bore.
			wantLines(t, nets, []string{"DBSSSGSG -2.26", "KSTLGB2L 446.76", "OCBCSGSG -441.79", "fees 1.32", "fx_result -4.03"})
		})
	}
}

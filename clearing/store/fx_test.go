package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

// The FX fixtures: the seeded world plus KSTLGB2L, which posts SGD/EUR at
// bid 0.6845 / ask 0.6855 and EUR/SGD at 1.4550 / 1.4570; the scheme fee is
// 30 bps and the spread 50 bps.

const (
	fxFeeBps    = 30
	fxSpreadBps = 50
)

// fxEnv is env with an FX rate book.
type fxEnv struct {
	env
	book *fx.Book
	fxp  clearing.Participant
}

func eachEngineFX(t *testing.T, fn func(t *testing.T, e fxEnv)) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { fn(t, newFXEnv(t, engine)) })
	}
}

func newFXEnv(t *testing.T, engine string) fxEnv {
	t.Helper()
	c := newClock()
	book := &fx.Book{}
	s := storetest.Open(t, engine, store.Options{Now: c.now, ReleaseAfter: 15 * 24 * time.Hour,
		FX: store.FXOptions{Book: book, Provider: storetest.FXProviderBIC, FeeBps: fxFeeBps, SpreadBps: fxSpreadBps, QuoteTTL: 2 * time.Minute}})
	e := fxEnv{env: env{engine: engine, s: s, w: storetest.Seed(t, s), clock: c}, book: book}
	e.fxp = storetest.SeedFX(t, s)
	e.postRate(t, "SGD/EUR", "0.6845", "0.6855")
	e.postRate(t, "EUR/SGD", "1.4550", "1.4570")
	return e
}

// postRate posts a provider rate as of now, valid for a day.
func (e fxEnv) postRate(t testing.TB, pair, bid, ask string) {
	t.Helper()
	p, err := fx.ParsePair(pair)
	if err != nil {
		t.Fatal(err)
	}
	r := fx.Rate{Pair: p, Bid: decimal.RequireFromString(bid), Ask: decimal.RequireFromString(ask), Source: storetest.FXProviderBIC,
		AsOf: e.clock.now(), ValidUntil: e.clock.now().Add(24 * time.Hour)}
	if err := e.s.PostRates(ctx, []fx.Rate{r}, storetest.Operator); err != nil {
		t.Fatal(err)
	}
}

// holdFX holds value of ccy from bank to merchant (without a quote: made at hold time).
func (e fxEnv) holdFX(t testing.TB, bank, merchant int, value, ccy, quoteID string) (clearing.Payment, error) {
	t.Helper()
	return e.s.Hold(ctx, clearing.HoldRequest{UETR: uuid.NewString(), BuyerBankID: e.w.Banks[bank].ID, MerchantID: e.w.Merchants[merchant].ID,
		Amount: amount(t, value, ccy), QuoteID: quoteID}, storetest.Operator)
}

// legs renders a payment's postings as "kind debit→credit amount ccy" lines.
func (e fxEnv) legs(t testing.TB, id string) []string {
	t.Helper()
	ls, err := e.s.PaymentLegs(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		out = append(out, fmt.Sprintf("%s %s→%s %s", l.Kind, l.Debit, l.Credit, fx.MustCurrency(l.Currency).FromMinor(l.AmountMinor)))
	}
	return out
}

// quotes is the quotes table as a string: what a refused hold must not change.
func (e fxEnv) quotes(t testing.TB) string {
	t.Helper()
	var rows []struct {
		ID        string `bun:"id"`
		PaymentID string `bun:"payment_id"`
	}
	if err := e.s.DB().NewRaw("SELECT id, COALESCE(payment_id, '') AS payment_id FROM quotes ORDER BY id").Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(rows)
}

func wantLines(t testing.TB, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestCrossCurrencyPaymentBooksDocsFXLegs is the worked example of the
// README's FX model: DBSSSGSG's buyer pays 1,000.00 SGD to Berlin Books,
// settled in EUR at DEUTDEFF; 300.00 EUR are released, the rest refunded
// at a fresh rate.
func TestCrossCurrencyPaymentBooksDocsFXLegs(t *testing.T) {
	eachEngineFX(t, func(t *testing.T, e fxEnv) {
		p, err := e.holdFX(t, 1, 0, "1000.00", "SGD", "")
		if err != nil {
			t.Fatal(err)
		}
		if !p.IsFX() || p.Currency != "EUR" || p.AmountMinor != 67_902 || p.SellCurrency != "SGD" || p.SellMinor != 100_000 ||
			p.FeeMinor != 300 || p.SpreadMinor != 500 || p.ConvertedMinor != 99_200 || p.FXProviderID != storetest.FXProviderBIC || p.Rate != "0.6845" || p.QuoteID == "" {
			t.Fatalf("payment %+v", p)
		}
		got, _, err := e.s.Payment(ctx, p.ID)
		if err != nil || got != p {
			t.Fatalf("reloaded\n %+v\n %+v %v", got, p, err)
		}
		q, err := e.s.Quote(ctx, p.QuoteID)
		if err != nil || q.PaymentID != p.ID || q.BuyMinor != 67_902 || q.TotalMinor != 100_000 || len(q.Path) != 1 || !strings.HasPrefix(q.Path[0], "SGD/EUR KSTLGB2L ") {
			t.Fatalf("the quote made at hold time: %+v %v", q, err)
		}
		wantLines(t, e.legs(t, p.ID), []string{
			"fee DBSSSGSG→fees 3.00 SGD",
			"fx_spread DBSSSGSG→KSTLGB2L 5.00 SGD",
			"fx_conversion DBSSSGSG→KSTLGB2L 992.00 SGD",
			"fx_delivery KSTLGB2L→escrow 679.02 EUR",
		})
		e.ledgerOK(t)

		e.clock.advance(time.Hour)
		e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 30_000})
		p = e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRefund, Reason: "second item out of stock"})
		if p.State != clearing.Refunded || p.RefundedMinor != 37_902 || p.ReleasedMinor != 30_000 {
			t.Fatalf("after the refund: %+v", p)
		}
		wantLines(t, e.legs(t, p.ID)[4:], []string{
			"release escrow→DEUTDEFF 300.00 EUR",
			"fx_give_back escrow→KSTLGB2L 379.02 EUR",
			"fx_convert_back KSTLGB2L→DBSSSGSG 551.47 SGD",
			"fx_result fx_result→DBSSSGSG 2.26 SGD",
			"fee_back fees→DBSSSGSG 1.68 SGD",
			"fx_spread_back KSTLGB2L→DBSSSGSG 2.80 SGD",
		})
		e.ledgerOK(t)

		cyc, err := e.s.CloseCycle(ctx, storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		var nets []string
		sums := map[string]int64{}
		for _, np := range cyc.Result.Positions {
			nets = append(nets, fmt.Sprintf("%s %s %s", np.Currency, np.Participant, fx.MustCurrency(np.Currency).FromMinor(np.NetMinor).Value()))
			sums[np.Currency] += np.NetMinor
		}
		wantLines(t, nets, []string{
			"EUR DEUTDEFF 300.00",
			"EUR KSTLGB2L -300.00",
			"EUR escrow 0.00",
			"SGD DBSSSGSG -441.79",
			"SGD KSTLGB2L 442.73",
			"SGD fees 1.32",
			"SGD fx_result -2.26",
		})
		if sums["EUR"] != 0 || sums["SGD"] != 0 {
			t.Fatalf("nets sum to %v", sums)
		}
		if fmt.Sprint(cyc.Result.FXResults) != "[{fx_result SGD 226 0 -226 1}]" {
			t.Fatalf("FX results %+v", cyc.Result.FXResults)
		}
		for _, c := range cyc.Result.Currencies {
			if c.Currency == "SGD" && (c.Holds != 0 || c.FXLegs != 7 || c.GrossMinor != 100_000+55_821) {
				t.Fatalf("SGD totals %+v", c)
			}
			if c.Currency == "EUR" && (c.Holds != 1 || c.Releases != 1 || c.Refunds != 1 || c.FXLegs != 0) {
				t.Fatalf("EUR totals %+v", c)
			}
		}
		e.ledgerOK(t)
	})
}

func TestQuotesAreCheckedAndUsedOnce(t *testing.T) {
	eachEngineFX(t, func(t *testing.T, e fxEnv) {
		sg := e.w.Banks[1].ID
		q, err := e.s.CreateQuote(ctx, store.QuoteRequest{BankID: sg, Sell: amount(t, "1000.00", "SGD"), Buy: "EUR"})
		if err != nil {
			t.Fatal(err)
		}
		if q.Bank != sg || q.Provider != storetest.FXProviderBIC || q.TotalMinor != 100_000 || q.FeeMinor != 300 || q.SpreadMinor != 500 ||
			q.ConvertedMinor != 99_200 || q.BuyMinor != 67_902 || !q.ExpiresAt.Equal(e.clock.now().Add(2*time.Minute)) || q.PaymentID != "" {
			t.Fatalf("quote %+v", q)
		}
		if got, err := e.s.Quote(ctx, q.ID); err != nil || got.ID != q.ID || !got.Rate.Equal(q.Rate) || !got.ExpiresAt.Equal(q.ExpiresAt) {
			t.Fatalf("stored quote %+v %v", got, err)
		}
		bad := []struct {
			name              string
			bank, merchant    int
			value, ccy, quote string
			code, field       string
			advance           time.Duration
		}{
			{"unknown quote", 1, 0, "1000.00", "SGD", "fxq_nope", "unknown_quote", "quote_id", 0},
			{"another bank's quote", 2, 0, "1000.00", "USD", q.ID, "unknown_quote", "quote_id", 0},
			{"another amount", 1, 0, "1000.01", "SGD", q.ID, "quote_mismatch", "quote_id", 0},
			{"another buy currency", 1, 2, "1000.00", "SGD", q.ID, "quote_mismatch", "quote_id", 0},
			{"a same-currency payment", 1, 1, "1000.00", "SGD", q.ID, "quote_mismatch", "quote_id", 0},
			{"expired", 1, 0, "1000.00", "SGD", q.ID, "quote_expired", "quote_id", 2 * time.Minute},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				e.clock.advance(tc.advance)
				defer e.clock.advance(-tc.advance)
				before, quotes := e.snapshot(t), e.quotes(t)
				_, err := e.holdFX(t, tc.bank, tc.merchant, tc.value, tc.ccy, tc.quote)
				wantCode(t, err, tc.code, tc.field)
				e.unchanged(t, before)
				if e.quotes(t) != quotes {
					t.Fatal("the quotes changed")
				}
			})
		}
		p, err := e.holdFX(t, 1, 0, "1000.00", "SGD", q.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.QuoteID != q.ID || p.AmountMinor != q.BuyMinor {
			t.Fatalf("held %+v", p)
		}
		used, _ := e.s.Quote(ctx, q.ID)
		if used.PaymentID != p.ID {
			t.Fatalf("quote not marked used: %+v", used)
		}
		before, quotes := e.snapshot(t), e.quotes(t)
		_, err = e.holdFX(t, 1, 0, "1000.00", "SGD", q.ID)
		wantCode(t, err, "quote_used", "quote_id")
		e.unchanged(t, before)
		if e.quotes(t) != quotes {
			t.Fatal("the quotes changed")
		}
		// Twice in one batch: the second is refused, the first held.
		q2, err := e.s.CreateQuote(ctx, store.QuoteRequest{BankID: sg, Sell: amount(t, "10.00", "SGD"), Buy: "EUR"})
		if err != nil {
			t.Fatal(err)
		}
		req := clearing.HoldRequest{BuyerBankID: sg, MerchantID: e.w.Merchants[0].ID, Amount: amount(t, "10.00", "SGD"), QuoteID: q2.ID}
		res, err := e.s.HoldBatch(ctx, []clearing.HoldRequest{req, req}, storetest.Operator)
		if err != nil || res[0].Err != nil {
			t.Fatalf("batch: %v %+v", err, res)
		}
		wantCode(t, res[1].Err, "quote_used", "quote_id")
		e.ledgerOK(t)
	})
}

func TestQuoteRequestsAreChecked(t *testing.T) {
	eachEngineFX(t, func(t *testing.T, e fxEnv) {
		for _, tc := range []struct {
			req         store.QuoteRequest
			code, field string
		}{
			{store.QuoteRequest{BankID: "NOPESGSG", Sell: amount(t, "1.00", "SGD"), Buy: "EUR"}, "unknown_participant", "bank_id"},
			{store.QuoteRequest{BankID: storetest.FXProviderBIC, Sell: amount(t, "1.00", "SGD"), Buy: "EUR"}, "not_a_bank", "bank_id"},
			{store.QuoteRequest{BankID: "DEUTDEFF", Sell: amount(t, "1.00", "SGD"), Buy: "USD"}, "currency_not_settled", "sell_currency"},
			{store.QuoteRequest{BankID: "DBSSSGSG", Sell: amount(t, "1.00", "SGD"), Buy: "SGD"}, "same_currency", "buy_currency"},
			{store.QuoteRequest{BankID: "DBSSSGSG", Sell: amount(t, "1.00", "SGD"), Buy: "XYZ"}, "unknown_currency", "buy_currency"},
			{store.QuoteRequest{BankID: "DBSSSGSG", Sell: amount(t, "1.00", "SGD"), Buy: "JPY"}, "fx_provider_unavailable", "buy_currency"},
			{store.QuoteRequest{BankID: "DBSSSGSG", Sell: amount(t, "1.00", "SGD"), Buy: "USD"}, "no_rate", "buy_currency"},
			{store.QuoteRequest{BankID: "DBSSSGSG", Sell: amount(t, "0.01", "SGD"), Buy: "EUR"}, "amount_too_small", "sell_amount"},
		} {
			_, err := e.s.CreateQuote(ctx, tc.req)
			wantCode(t, err, tc.code, tc.field)
		}
		if q := e.quotes(t); q != "[]" {
			t.Fatalf("refused quotes were stored: %s", q)
		}
		// A day later the rates have expired: holds, quotes and refunds are refused, nothing changes.
		p, err := e.holdFX(t, 1, 0, "50.00", "SGD", "")
		if err != nil {
			t.Fatal(err)
		}
		e.clock.advance(24*time.Hour + time.Second)
		before, quotes := e.snapshot(t), e.quotes(t)
		_, err = e.holdFX(t, 1, 0, "50.00", "SGD", "")
		wantCode(t, err, "stale_rate", "currency")
		_, err = e.s.CreateQuote(ctx, store.QuoteRequest{BankID: "DBSSSGSG", Sell: amount(t, "1.00", "SGD"), Buy: "EUR"})
		wantCode(t, err, "stale_rate", "buy_currency")
		_, err = e.s.Act(ctx, p.ID, clearing.Action{Kind: clearing.ActionRefund}, storetest.Operator)
		wantCode(t, err, "stale_rate", "")
		e.unchanged(t, before)
		if e.quotes(t) != quotes {
			t.Fatal("the quotes changed")
		}
		// Releases need no rate.
		e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease})
		e.ledgerOK(t)
	})
}

// Without a rate book cross-currency holds stay refused, with a clear error.
func TestCrossCurrencyNeedsABook(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		before := e.snapshot(t)
		_, err := e.s.Hold(ctx, clearing.HoldRequest{BuyerBankID: e.w.Banks[1].ID, MerchantID: e.w.Merchants[0].ID, Amount: amount(t, "10.00", "SGD")}, storetest.Operator)
		wantCode(t, err, "currency_mismatch", "currency")
		if !strings.Contains(err.Error(), "no FX rate book") {
			t.Fatalf("error %q does not say why", err)
		}
		_, err = e.s.CreateQuote(ctx, store.QuoteRequest{BankID: e.w.Banks[1].ID, Sell: amount(t, "10.00", "SGD"), Buy: "EUR"})
		wantCode(t, err, "fx_not_configured", "")
		e.unchanged(t, before)
	})
}

func TestRacingHoldsUseAQuoteOnce(t *testing.T) {
	eachEngineFX(t, func(t *testing.T, e fxEnv) {
		q, err := e.s.CreateQuote(ctx, store.QuoteRequest{BankID: e.w.Banks[1].ID, Sell: amount(t, "250.00", "SGD"), Buy: "EUR"})
		if err != nil {
			t.Fatal(err)
		}
		const n = 12
		errs := make([]error, n)
		race(n, func(i int) {
			_, errs[i] = e.holdFX(t, 1, 0, "250.00", "SGD", q.ID)
		})
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
				continue
			}
			if ce, ok := clearing.AsError(err); !ok || ce.Code != "quote_used" || ce.Field != "quote_id" {
				t.Errorf("unexpected error: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d holds used the quote, want exactly 1", wins)
		}
		page, _ := e.s.Payments(ctx, store.PaymentFilter{})
		if len(page.Payments) != 1 {
			t.Fatalf("%d payments", len(page.Payments))
		}
		e.ledgerOK(t)
	})
}

// Posted rates are in the database: a restarted process loads them into its
// book and quotes as the last one did; expired ones are not loaded.
func TestRatesSurviveARestart(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			c := newClock()
			dsn := storetest.DSN(t, engine)
			opts := func(b *fx.Book) store.Options {
				return store.Options{Now: c.now, FX: store.FXOptions{Book: b, Provider: storetest.FXProviderBIC, FeeBps: fxFeeBps, SpreadBps: fxSpreadBps}}
			}
			s1, err := store.Open(ctx, dsn, opts(&fx.Book{}))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s1.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			e := fxEnv{env: env{engine: engine, s: s1, w: storetest.Seed(t, s1), clock: c}}
			storetest.SeedFX(t, s1)
			e.postRate(t, "SGD/EUR", "0.6845", "0.6855")
			old := fx.Rate{Pair: fx.Pair{Base: "EUR", Quote: "USD"}, Bid: decimal.RequireFromString("1.08"), Ask: decimal.RequireFromString("1.09"), Source: fx.SourceECB,
				AsOf: c.now().Add(-2 * time.Hour), ValidUntil: c.now().Add(time.Hour)}
			if err := s1.PostRates(ctx, []fx.Rate{old}, storetest.Operator); err != nil {
				t.Fatal(err)
			}
			s1.Close()

			c.advance(90 * time.Minute) // the ECB rate has expired
			book := &fx.Book{}
			s2, err := store.Open(ctx, dsn, opts(book))
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			if n, err := s2.LoadRates(ctx); err != nil || n != 1 || len(book.Rates()) != 1 || book.Rates()[0].Source != storetest.FXProviderBIC {
				t.Fatalf("loaded %d %v: %+v", n, err, book.Rates())
			}
			q, err := s2.CreateQuote(ctx, store.QuoteRequest{BankID: "DBSSSGSG", Sell: amount(t, "1000.00", "SGD"), Buy: "EUR"})
			if err != nil || q.BuyMinor != 67_902 {
				t.Fatalf("quote after restart: %+v %v", q, err)
			}
		})
	}
}

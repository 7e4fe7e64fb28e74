package clearing

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/fx"
)

// world is a random scheme: banks settling random currencies, merchants at
// those banks, and the payments held so far.
type world struct {
	r          *rand.Rand
	t          *testing.T
	pool       []string
	banks      []Participant
	fx         Participant // converts between every currency of the pool
	merchants  []Merchant
	payments   []Payment
	events     map[string][]Event
	postings   []Posting
	back       map[string]int64 // per cross-currency payment: Σ C′, what its provider converted back
	now        time.Time
	steps      int // transitions that succeeded
	refusals   int
	fxHolds    int // cross-currency holds that succeeded
	fxRefunds  int
	unquotable int // quotes refused because nothing was left to convert
}

// currencyPool picks 4 currencies: one with 0 minor units, one with 3 and
// two with 2, from the full ISO 4217 table.
func currencyPool(r *rand.Rand) []string {
	byUnits := map[int32][]string{}
	for _, c := range fx.Currencies() {
		byUnits[c.MinorUnits] = append(byUnits[c.MinorUnits], c.Code)
	}
	pick := func(units int32) string { return byUnits[units][r.IntN(len(byUnits[units]))] }
	pool := []string{pick(0), pick(3), pick(2)}
	for {
		if c := pick(2); c != pool[2] {
			return append(pool, c)
		}
	}
}

func newWorld(t *testing.T, r *rand.Rand) *world {
	w := &world{r: r, t: t, events: map[string][]Event{}, back: map[string]int64{}, now: t0}
	pool := currencyPool(r)
	w.pool = pool
	w.fx = Participant{ID: "p_fx", Kind: FXProvider, BIC: "FXPRGB2L", Name: "FX", Country: "GB", Jurisdiction: "GB", Status: Active}
	for _, c := range pool {
		w.fx.Currencies = append(w.fx.Currencies, SettlementCurrency{c, 0})
	}
	for i := range 2 + r.IntN(5) {
		var cs []SettlementCurrency
		for _, c := range pool {
			if r.IntN(3) > 0 {
				cs = append(cs, SettlementCurrency{c, r.Int64N(1_000_000)})
			}
		}
		if len(cs) == 0 {
			cs = append(cs, SettlementCurrency{pool[r.IntN(len(pool))], 0})
		}
		b := Participant{ID: fmt.Sprintf("p_%d", i), Kind: Bank, BIC: "BANKSGSG", Name: "Bank", Country: "SG", Jurisdiction: "SG", Currencies: cs, Status: Active}
		if r.IntN(10) == 0 {
			b.Status = Suspended
		}
		if err := b.Validate(); err != nil {
			t.Fatalf("random bank: %v", err)
		}
		w.banks = append(w.banks, b)
	}
	for i := range 1 + r.IntN(5) {
		b := w.banks[r.IntN(len(w.banks))]
		m := Merchant{ID: fmt.Sprintf("m_%d", i), Name: "Shop", Country: "DE", Currency: b.Currencies[r.IntN(len(b.Currencies))].Currency, Account: "1", BankID: b.ID, Status: Active}
		if r.IntN(10) == 0 {
			m.Status = Suspended
		}
		w.merchants = append(w.merchants, m)
	}
	return w
}

func (w *world) bank(id string) Participant {
	for _, b := range w.banks {
		if b.ID == id {
			return b
		}
	}
	w.t.Fatalf("no bank %s", id)
	return Participant{}
}

func (w *world) uetr() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(w.r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// expect checks err against a model: want is the set of codes that may
// explain a refusal, empty when the command must succeed.
func (w *world) expect(what string, err error, want ...string) bool {
	w.t.Helper()
	if len(want) == 0 {
		if err != nil {
			w.t.Fatalf("%s: unexpected refusal %v", what, err)
		}
		return true
	}
	if err == nil {
		w.t.Fatalf("%s: succeeded, want one of %v", what, want)
	}
	e, ok := AsError(err)
	if !ok || !slices.Contains(want, e.Code) {
		w.t.Fatalf("%s: error %v, want one of %v", what, err, want)
	}
	w.refusals++
	return false
}

func (w *world) record(tr Transition) {
	w.postings = append(w.postings, tr.Postings...)
	w.events[tr.Payment.ID] = append(w.events[tr.Payment.ID], tr.Events...)
	w.steps++
}

func (w *world) hold() {
	r := w.r
	if r.IntN(3) == 0 {
		w.holdFX()
		return
	}
	buyer := w.banks[r.IntN(len(w.banks))]
	m := w.merchants[r.IntN(len(w.merchants))]
	mbank := w.bank(m.BankID)
	ccy := m.Currency
	if r.IntN(8) == 0 {
		ccy = buyer.Currencies[r.IntN(len(buyer.Currencies))].Currency
	}
	amount := 1 + r.Int64N(1_000_000)
	switch r.IntN(20) {
	case 0:
		amount = 0
	case 1:
		amount = -amount
	case 2:
		amount = 1
	}
	var want []string
	if amount <= 0 {
		want = append(want, "amount_not_positive")
	}
	if buyer.Status != Active || mbank.Status != Active {
		want = append(want, "participant_suspended")
	}
	if _, ok := buyer.Settles(ccy); !ok {
		want = append(want, "currency_not_settled")
	}
	if m.Status != Active {
		want = append(want, "merchant_suspended")
	}
	if ccy != m.Currency {
		want = append(want, "currency_mismatch")
	}
	req := HoldRequest{UETR: w.uetr(), BuyerBankID: buyer.ID, MerchantID: m.ID, Amount: fx.MustCurrency(ccy).FromMinor(amount)}
	by := Actor{Role: RoleBank, Subject: buyer.ID}
	tr, err := Hold(req, buyer, m, mbank, by, w.now, time.Duration(1+r.IntN(72))*time.Hour)
	if !w.expect("hold", err, want...) {
		return
	}
	p := tr.Payment
	if p.State != Held || p.Version != 1 || p.HeldMinor() != amount || len(tr.Events) != 2 || len(tr.Postings) != 1 ||
		tr.Postings[0] != (Posting{PaymentID: p.ID, Kind: PostHold, Currency: ccy, Debit: buyer.ID, Credit: EscrowAccount, AmountMinor: amount}) {
		w.t.Fatalf("hold %+v", tr)
	}
	w.payments = append(w.payments, p)
	w.record(tr)
}

// holdFX holds a cross-currency payment at a random rate, fee and spread,
// sometimes with an expired, foreign or mismatching quote.
func (w *world) holdFX() {
	r := w.r
	buyer := w.banks[r.IntN(len(w.banks))]
	m := w.merchants[r.IntN(len(w.merchants))]
	mbank := w.bank(m.BankID)
	sell := buyer.Currencies[r.IntN(len(buyer.Currencies))].Currency
	if r.IntN(8) == 0 || sell == m.Currency {
		sell = w.pool[r.IntN(len(w.pool))]
	}
	if sell == m.Currency {
		return
	}
	// Buy per 1 sell, from 10^-6 to about 10^4, as quoted rates have at most 12 places.
	bid := decimal.New(1+r.Int64N(99_999_999), -int32(4+r.IntN(9)))
	conv := fx.Conversion{Pair: fx.Pair{Base: sell, Quote: m.Currency}, Bid: bid, Ask: bid.Add(decimal.New(r.Int64N(100), -6)),
		Path: []string{"random"}, AsOf: w.now, ValidUntil: w.now.Add(time.Hour)}
	total := fx.MustCurrency(sell).FromMinor(1 + r.Int64N(1_000_000))
	q, err := NewFXQuote(conv, total, r.IntN(120), r.IntN(120), w.fx.ID, buyer.ID, w.now, time.Duration(1+r.IntN(10))*time.Minute)
	if err != nil {
		if !errors.Is(err, fx.ErrNotPositive) {
			w.t.Fatalf("quote %s %s: %v", conv.Pair, total, err)
		}
		w.unquotable++
		return
	}
	if q.FeeMinor+q.SpreadMinor+q.ConvertedMinor != q.TotalMinor || q.BuyMinor <= 0 || q.ConvertedMinor <= 0 {
		w.t.Fatalf("quote does not add up: %+v", q)
	}
	var want []string
	at, amount := w.now, total
	switch r.IntN(16) {
	case 0:
		at = q.ExpiresAt.Add(time.Duration(r.IntN(2)) * time.Second)
		want = append(want, "quote_expired")
	case 1:
		q.Bank = "p_other"
		want = append(want, "unknown_quote")
	case 2:
		amount.Minor++
		want = append(want, "quote_mismatch")
	}
	if buyer.Status != Active || mbank.Status != Active {
		want = append(want, "participant_suspended")
	}
	if _, ok := buyer.Settles(sell); !ok {
		want = append(want, "currency_not_settled")
	}
	if m.Status != Active {
		want = append(want, "merchant_suspended")
	}
	// Who bears the FX result of refunds: the operator, or (half the time)
	// the merchant's bank, which must then settle the sell currency.
	charge, bearer := ChargeOperator, FXResultAccount
	if r.IntN(2) == 0 {
		charge, bearer = ChargeMerchant, mbank.ID
		if _, ok := mbank.Settles(sell); !ok {
			want = append(want, "fx_result_currency_not_settled")
		}
	}
	req := HoldRequest{UETR: w.uetr(), BuyerBankID: buyer.ID, MerchantID: m.ID, Amount: amount, QuoteID: q.ID}
	tr, err := HoldFX(req, q, w.fx, buyer, m, mbank, charge, Actor{Role: RoleBank, Subject: buyer.ID}, at, time.Duration(1+r.IntN(72))*time.Hour)
	if !w.expect("FX hold", err, want...) {
		return
	}
	p := tr.Payment
	var sold, delivered int64
	for _, x := range tr.Postings {
		switch {
		case x.Currency == sell && x.Debit == buyer.ID:
			sold += x.AmountMinor
		case x.Currency == m.Currency && x.Debit == w.fx.ID && x.Credit == EscrowAccount:
			delivered += x.AmountMinor
		default:
			w.t.Fatalf("FX hold leg %+v", x)
		}
	}
	if !p.IsFX() || p.HeldMinor() != q.BuyMinor || sold != q.TotalMinor || delivered != q.BuyMinor || p.Currency != m.Currency || p.SellMinor != q.TotalMinor ||
		p.FXResultBearer() != bearer {
		w.t.Fatalf("FX hold %+v", tr)
	}
	w.payments = append(w.payments, p)
	w.fxHolds++
	w.record(tr)
}

// act runs a random command on a random payment, final ones included.
func (w *world) act() {
	r := w.r
	i := r.IntN(len(w.payments))
	if r.IntN(4) > 0 {
		// Mostly payments that can still move.
		var open []int
		for j, p := range w.payments {
			if !p.State.Final() {
				open = append(open, j)
			}
		}
		if len(open) > 0 {
			i = open[r.IntN(len(open))]
		}
	}
	p := w.payments[i]
	held := p.HeldMinor()
	var (
		tr   Transition
		err  error
		want []string
		what string
	)
	if r.IntN(6) == 0 {
		// The auto-release worker, sometimes early.
		at := w.now
		if !p.ReleaseAt.IsZero() && r.IntN(2) == 0 {
			at = p.ReleaseAt.Add(time.Duration(r.IntN(3)-1) * time.Nanosecond)
		}
		switch {
		case p.State != Held:
			want = []string{"illegal_transition"}
		case at.Before(p.ReleaseAt):
			want = []string{"deadline_not_reached"}
		}
		what = "auto-release"
		tr, err = p.AutoRelease(at)
		if w.expect(what, err, want...) {
			checkTransition(w.t, p, tr, AutoReleaseWorker, at, "release deadline passed without a dispute")
			if tr.Payment.State != Released || tr.Events[0].Type != EventAutoReleased || tr.Events[0].AmountMinor != held {
				w.t.Fatalf("auto-release %+v", tr)
			}
		}
	} else {
		var a Action
		switch k := r.IntN(10); {
		case k < 4:
			a = Action{Kind: ActionRelease}
			switch r.IntN(4) {
			case 0: // everything
			case 1:
				a.AmountMinor = held + int64(r.IntN(3)) - 1 // around what is held
			default:
				if held > 1 {
					a.AmountMinor = 1 + r.Int64N(held-1) // partial
				} else {
					a.AmountMinor = int64(r.IntN(3)) - 1
				}
			}
			amount := a.AmountMinor
			if amount == 0 {
				amount = held
			}
			switch {
			case p.State != Held:
				want = []string{"illegal_transition"}
			case amount < 0:
				want = []string{"amount_not_positive"}
			case amount > held:
				want = []string{"release_exceeds_held"}
			}
		case k < 6:
			a = Action{Kind: ActionDispute, Reason: "not received"}
			if p.State != Held {
				want = []string{"illegal_transition"}
			}
		case k < 8:
			a = Action{Kind: ActionRefund}
			if p.State != Held {
				want = []string{"illegal_transition"}
			}
		default:
			a = Action{Kind: ActionResolve, Decision: []Decision{DecideRelease, DecideRefund, ""}[r.IntN(3)]}
			switch {
			case p.State != Disputed:
				want = []string{"illegal_transition"}
			case a.Decision == "":
				want = []string{"invalid_decision"}
			}
		}
		if p.IsFX() && r.IntN(10) > 0 {
			// A fresh rate, sell per 1 buy: anything from a fraction to many
			// times the locked inverse.
			a.FreshRate = decimal.New(1+r.Int64N(99_999_999), -int32(4+r.IntN(9)))
		}
		if p.NeedsFreshRate(a) && a.FreshRate.IsZero() {
			want = []string{"fx_rate_required"}
		}
		what = fmt.Sprintf("%s %+v on %s payment holding %d", a.Kind, a, p.State, held)
		tr, err = p.Apply(a, operator, w.now)
		if w.expect(what, err, want...) {
			checkTransition(w.t, p, tr, operator, w.now, a.Reason)
			next := tr.Payment
			switch a.Kind {
			case ActionRelease:
				moved := a.AmountMinor
				if moved == 0 {
					moved = held
				}
				if next.ReleasedMinor-p.ReleasedMinor != moved || (next.State == Released) != (moved == held) {
					w.t.Fatalf("%s: %+v", what, next)
				}
			case ActionDispute:
				if next.State != Disputed || !next.ReleaseAt.IsZero() {
					w.t.Fatalf("%s: %+v", what, next)
				}
			case ActionRefund:
				if next.State != Refunded || next.RefundedMinor-p.RefundedMinor != held {
					w.t.Fatalf("%s: %+v", what, next)
				}
			case ActionResolve:
				if (a.Decision == DecideRelease && next.State != Released) || (a.Decision == DecideRefund && next.State != Refunded) {
					w.t.Fatalf("%s: %+v", what, next)
				}
			}
		}
	}
	if err != nil {
		if tr.Payment != (Payment{}) || w.payments[i] != p {
			w.t.Fatalf("%s: refused but changed something", what)
		}
		return
	}
	for _, x := range tr.Postings {
		if x.Kind == PostFXConvertBack {
			w.back[p.ID] += x.AmountMinor
		}
	}
	if p.IsFX() && tr.Payment.State == Refunded {
		w.fxRefunds++
	}
	w.payments[i] = tr.Payment
	w.record(tr)
}

// check nets every posting and checks the books against the payments.
func (w *world) check() {
	t := w.t
	res, err := Net(w.postings)
	if err != nil {
		t.Fatalf("Net: %v", err)
	}
	type acct struct{ owner, ccy string }
	nets := map[acct]int64{}
	sums := map[string]int64{}
	for _, p := range res.Positions {
		if p.NetMinor != p.ReceivedMinor-p.PaidMinor {
			t.Fatalf("position %+v", p)
		}
		nets[acct{p.Participant, p.Currency}] = p.NetMinor
		sums[p.Currency] += p.NetMinor
	}
	for ccy, s := range sums {
		if s != 0 {
			t.Fatalf("%s nets sum to %d", ccy, s)
		}
	}
	// Totals from the postings themselves.
	gross := map[string]int64{}
	count := map[string]map[PostingKind]int{}
	for _, p := range w.postings {
		if p.AmountMinor <= 0 || p.Debit == p.Credit {
			t.Fatalf("bad posting %+v", p)
		}
		gross[p.Currency] += p.AmountMinor
		if count[p.Currency] == nil {
			count[p.Currency] = map[PostingKind]int{}
		}
		count[p.Currency][p.Kind]++
	}
	if len(res.Currencies) != len(gross) {
		t.Fatalf("%d currencies netted, %d posted", len(res.Currencies), len(gross))
	}
	for i, c := range res.Currencies {
		if i > 0 && res.Currencies[i-1].Currency >= c.Currency {
			t.Fatalf("currencies out of order")
		}
		var settlement int64
		for a, n := range nets {
			if a.ccy == c.Currency && n > 0 {
				settlement += n
			}
		}
		k := count[c.Currency]
		fxLegs := k[PostFee] + k[PostFXSpread] + k[PostFXConversion] + k[PostFXConvertBack] + k[PostFXResult] + k[PostFXResultGain] + k[PostFeeBack] + k[PostFXSpreadBack]
		if c.GrossMinor != gross[c.Currency] || c.SettlementMinor != settlement || c.Holds != k[PostHold]+k[PostFXDelivery] || c.Releases != k[PostRelease] ||
			c.Refunds != k[PostRefund]+k[PostFXGiveBack] || c.FXLegs != fxLegs ||
			!c.NettingEfficiency.Equal(Efficiency(settlement, c.GrossMinor)) || c.SettlementMinor > c.GrossMinor {
			t.Fatalf("totals %+v, want gross %d settlement %d counts %v", c, gross[c.Currency], settlement, k)
		}
	}
	// The books against the payments: escrow holds exactly what payments
	// still hold, and every bank's net is what it paid in holds and got
	// back in releases (as the merchant's bank) and refunds (as the buyer's).
	want := map[acct]int64{}
	fxResults := map[acct]int64{} // by (bearer, sell currency): what the FX result legs say
	for _, p := range w.payments {
		if p.ReleasedMinor+p.RefundedMinor+p.HeldMinor() != p.AmountMinor || p.ReleasedMinor < 0 || p.RefundedMinor < 0 {
			t.Fatalf("payment %s: released %d + refunded %d + held %d != %d", p.ID, p.ReleasedMinor, p.RefundedMinor, p.HeldMinor(), p.AmountMinor)
		}
		if p.State.Final() != (p.HeldMinor() == 0) {
			t.Fatalf("payment %s is %s and holds %d", p.ID, p.State, p.HeldMinor())
		}
		want[acct{EscrowAccount, p.Currency}] += p.HeldMinor()
		want[acct{p.MerchantBankID, p.Currency}] += p.ReleasedMinor
		if p.IsFX() {
			// The buyer's bank paid T and got back its shares of C, F and
			// S; the provider delivered M and got back what was refunded,
			// kept S and C less what it gave back; the fees account keeps
			// F less its share; the FX result account made up C_r − C′.
			if p.FeeMinor+p.SpreadMinor+p.ConvertedMinor != p.SellMinor {
				t.Fatalf("payment %s: T %d != F %d + S %d + C %d", p.ID, p.SellMinor, p.FeeMinor, p.SpreadMinor, p.ConvertedMinor)
			}
			cr, fr, sr := p.RefundedSell()
			if p.State == Refunded && p.ReleasedMinor == 0 && (cr != p.ConvertedMinor || fr != p.FeeMinor || sr != p.SpreadMinor) {
				t.Fatalf("payment %s refunded whole gave back %d %d %d of %d %d %d", p.ID, cr, fr, sr, p.ConvertedMinor, p.FeeMinor, p.SpreadMinor)
			}
			want[acct{p.BuyerBankID, p.SellCurrency}] += cr + fr + sr - p.SellMinor
			want[acct{FeesAccount, p.SellCurrency}] += p.FeeMinor - fr
			want[acct{p.FXProviderID, p.Currency}] += p.RefundedMinor - p.AmountMinor
			want[acct{p.FXProviderID, p.SellCurrency}] += p.SpreadMinor + p.ConvertedMinor - sr - w.back[p.ID]
			// The bearer (the operator's fx_result, or the merchant's bank)
			// made up C_r − C′; a merchant's bank that is also the buyer's
			// books nothing, and the sum still holds.
			want[acct{p.FXResultBearer(), p.SellCurrency}] += w.back[p.ID] - cr
			if p.FXResultBearer() != p.BuyerBankID {
				fxResults[acct{p.FXResultBearer(), p.SellCurrency}] += w.back[p.ID] - cr
			}
		} else {
			want[acct{p.BuyerBankID, p.Currency}] += p.RefundedMinor - p.AmountMinor
		}
		// Its events: a gapless sequence whose amounts add up.
		evs := w.events[p.ID]
		if len(evs) != int(p.Version)+1 {
			t.Fatalf("payment %s: %d events at version %d", p.ID, len(evs), p.Version)
		}
		var rel, ref int64
		for j, e := range evs {
			if e.Seq != j+1 || e.PaymentID != p.ID || (j > 0 && e.From != evs[j-1].To) {
				t.Fatalf("payment %s: event %d is %+v", p.ID, j, e)
			}
			switch e.Type {
			case EventPartiallyReleased, EventReleased, EventAutoReleased, EventResolvedRelease:
				rel += e.AmountMinor
			case EventRefunded, EventResolvedRefund:
				ref += e.AmountMinor
			}
		}
		if evs[len(evs)-1].To != p.State || rel != p.ReleasedMinor || ref != p.RefundedMinor {
			t.Fatalf("payment %s: events end in %s, release %d refund %d; payment %+v", p.ID, evs[len(evs)-1].To, rel, ref, p)
		}
	}
	for a, n := range want {
		if n == 0 {
			delete(want, a) // an account whose movements cancel out, or that never moved
			continue
		}
		if nets[a] != n {
			t.Fatalf("account %s/%s nets %d, payments say %d", a.owner, a.ccy, nets[a], n)
		}
	}
	for a, n := range nets {
		if want[a] != n && n != 0 {
			t.Fatalf("account %s/%s nets %d, payments say %d", a.owner, a.ccy, n, want[a])
		}
	}
	// The cycle's FX results, per bearer, are what the refunds made up or kept.
	got := map[acct]int64{}
	for i, x := range res.FXResults {
		if i > 0 && (res.FXResults[i-1].Currency > x.Currency || (res.FXResults[i-1].Currency == x.Currency && res.FXResults[i-1].Bearer >= x.Bearer)) {
			t.Fatalf("FX results out of order: %+v", res.FXResults)
		}
		if x.NetMinor != x.ReceivedMinor-x.PaidMinor || x.Legs == 0 {
			t.Fatalf("FX result %+v", x)
		}
		if x.NetMinor != 0 {
			got[acct{x.Bearer, x.Currency}] = x.NetMinor
		}
	}
	for a, n := range fxResults {
		if n == 0 {
			delete(fxResults, a)
		}
	}
	if !reflect.DeepEqual(got, fxResults) {
		t.Fatalf("FX results %v, the payments say %v", got, fxResults)
	}
	// Netting incrementally, with a Result in the middle, gives the same.
	n := NewNetting()
	mid := w.r.IntN(len(w.postings) + 1)
	for j, p := range w.postings {
		if j == mid {
			if _, err := n.Result(); err != nil {
				t.Fatal(err)
			}
		}
		if err := n.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	again, err := n.Result()
	if err != nil {
		t.Fatal(err)
	}
	equalResults(t, again, res)
}

func TestPropertyEscrowBooksBalance(t *testing.T) {
	var steps, refusals, payments, fxHolds, fxRefunds, unquotable int
	states := map[State]int{}
	types := map[EventType]int{}
	for _, seed := range []uint64{1, 2, 3, 20260302} {
		r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		for range 200 {
			w := newWorld(t, r)
			for range 5 + r.IntN(80) {
				w.now = w.now.Add(time.Duration(r.IntN(48*60)) * time.Minute)
				if len(w.payments) == 0 || r.IntN(4) == 0 {
					w.hold()
				} else {
					w.act()
				}
			}
			w.check()
			steps += w.steps
			refusals += w.refusals
			fxHolds += w.fxHolds
			fxRefunds += w.fxRefunds
			unquotable += w.unquotable
			payments += len(w.payments)
			for _, p := range w.payments {
				states[p.State]++
			}
			for _, evs := range w.events {
				for _, e := range evs {
					types[e.Type]++
				}
			}
		}
	}
	t.Logf("%d payments, %d transitions, %d refusals, final states %v, events %v", payments, steps, refusals, states, types)
	t.Logf("%d cross-currency holds, %d of them refunded, %d quotes with nothing to convert", fxHolds, fxRefunds, unquotable)
	if fxHolds < payments/5 || fxRefunds < fxHolds/10 {
		t.Errorf("only %d cross-currency holds (%d refunded) of %d payments", fxHolds, fxRefunds, payments)
	}
	for _, e := range []EventType{EventReceived, EventHeld, EventPartiallyReleased, EventReleased, EventAutoReleased, EventDisputed, EventRefunded, EventResolvedRelease, EventResolvedRefund} {
		if types[e] == 0 {
			t.Errorf("no %s event", e)
		}
	}
	// The generator must reach every state and refuse often enough to
	// exercise both sides of every rule.
	for _, s := range []State{Held, Disputed, Released, Refunded} {
		if states[s] == 0 {
			t.Errorf("no payment ended %s", s)
		}
	}
	if refusals < steps/10 {
		t.Errorf("only %d refusals for %d transitions", refusals, steps)
	}
}

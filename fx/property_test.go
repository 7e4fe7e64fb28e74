package fx

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// propertyCurrencies: the ECB sample's 30 (EUR and 29 quoted, JPY KRW ISK
// with no minor units) plus five with three.
func propertyCurrencies(t *testing.T) []Currency {
	t.Helper()
	b := ecbBook(t)
	out := []Currency{MustCurrency("EUR")}
	for _, r := range b.Rates() {
		out = append(out, MustCurrency(r.Quote))
	}
	for _, code := range []string{"BHD", "KWD", "JOD", "TND", "OMR"} {
		out = append(out, MustCurrency(code))
	}
	units := map[int32]int{}
	for _, c := range out {
		units[c.MinorUnits]++
	}
	if len(out) < 35 || units[0] < 3 || units[2] < 25 || units[3] < 5 {
		t.Fatalf("%d currencies, by minor units %v", len(out), units)
	}
	return out
}

// randRate is a positive rate with at most MaxRatePlaces decimals, anywhere
// from 10^-12 to 10^9.
func randRate(r *rand.Rand) decimal.Decimal {
	digits := r.Int64N(1_000_000_000) + 1
	return decimal.New(digits>>r.UintN(30), -int32(r.IntN(MaxRatePlaces+1))).Add(decimal.New(1, -MaxRatePlaces))
}

// randMinor is a positive amount in minor units, spread over magnitudes.
func randMinor(r *rand.Rand) int64 {
	return r.Int64N(MaxMinor)>>r.UintN(50) + 1
}

func randSpread(r *rand.Rand) int {
	switch r.IntN(10) {
	case 0:
		return 0
	case 1:
		return r.IntN(MaxSpreadBps)
	default:
		return r.IntN(300)
	}
}

// unit is one minor unit of c as a decimal.
func unit(c Currency) decimal.Decimal { return decimal.New(1, -c.MinorUnits) }

// minorOf is trunc(x in minor units of c), unbounded.
func minorOf(c Currency, x decimal.Decimal) decimal.Decimal { return x.Shift(c.MinorUnits).Truncate(0) }

var maxMinorDec = decimal.NewFromInt(MaxMinor)

// TestQuoteProperty: for every ordered pair of 35 currencies with 0, 2 and 3
// minor units, random rates, spreads and amounts, the rounding rule holds
// exactly: the provider never pays out more, nor charges less, than the exact
// value, and never misses it by a whole minor unit.
func TestQuoteProperty(t *testing.T) {
	cur := propertyCurrencies(t)
	r := rand.New(rand.NewPCG(20261120, 4217))
	now := t0
	var sells, buys, converts int
	for _, from := range cur {
		for _, to := range cur {
			if from == to {
				continue
			}
			bid := randRate(r)
			ask := bid
			if r.IntN(2) == 0 {
				ask = bid.Add(randRate(r).Mul(decimal.New(1, -3)).Truncate(MaxRatePlaces))
			}
			rate := Rate{Pair: Pair{from.Code, to.Code}, Bid: bid, Ask: ask, Source: "prop", AsOf: now, ValidUntil: now.Add(time.Hour)}
			if err := rate.Validate(); err != nil {
				t.Fatalf("generated %v: %v", rate, err)
			}
			conv := Conversion{Pair: rate.Pair, Bid: bid, Ask: ask, Path: []string{"prop"}, AsOf: now, ValidUntil: rate.ValidUntil}
			for range 12 {
				bps := randSpread(r)
				clientRate := bid.Mul(decimal.NewFromInt(int64(MaxSpreadBps - bps))).Shift(-4)
				sells += checkQuoteSell(t, conv, from.FromMinor(randMinor(r)), bps, clientRate)
				buys += checkQuoteBuy(t, conv, to.FromMinor(randMinor(r)), bps, clientRate)
				converts += checkConvertAt(t, from.FromMinor(randMinor(r)), to, randRate(r))
				checkQuotient(t, to, from.FromMinor(randMinor(r)).Decimal(), randRate(r))
			}
		}
	}
	t.Logf("%d QuoteSell, %d QuoteBuy, %d ConvertAt pairs checked", sells, buys, converts)
	if sells < 5000 || buys < 5000 || converts < 5000 {
		t.Errorf("too few cases exercised: %d, %d, %d", sells, buys, converts)
	}
}

func checkQuoteSell(t *testing.T, conv Conversion, sell Amount, bps int, rate decimal.Decimal) int {
	t.Helper()
	to := MustCurrency(conv.Quote)
	exact := sell.Decimal().Mul(rate)
	exactAtBid := sell.Decimal().Mul(conv.Bid)
	q, err := QuoteSell(conv, sell, bps, "p", "b", t0, time.Minute)
	switch {
	case minorOf(to, exact).GreaterThan(maxMinorDec) || minorOf(to, exactAtBid).GreaterThan(maxMinorDec):
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("QuoteSell %s %s at %s: %v, %v; want ErrTooLarge", conv.Pair, sell, rate, q, err)
		}
		return 0
	case exact.LessThan(unit(to)):
		if !errors.Is(err, ErrNotPositive) {
			t.Fatalf("QuoteSell %s %s at %s: %v, %v; want ErrNotPositive", conv.Pair, sell, rate, q, err)
		}
		return 0
	case err != nil:
		t.Fatalf("QuoteSell %s %s at %s (%d bps): %v", conv.Pair, sell, conv.Bid, bps, err)
	}
	buy := q.BuyAmount().Decimal()
	if !q.Rate.Equal(rate) || q.SellMinor != sell.Minor || q.Sell.Code != conv.Base || q.Buy != to {
		t.Fatalf("QuoteSell %s %s: quote %+v, want rate %s", conv.Pair, sell, q, rate)
	}
	// BuyMinor/10^u <= sell × rate < (BuyMinor+1)/10^u.
	if buy.GreaterThan(exact) || !exact.LessThan(buy.Add(unit(to))) {
		t.Fatalf("QuoteSell %s %s at %s: buys %s, exact %s", conv.Pair, sell, rate, q.BuyAmount(), exact)
	}
	atBid, _ := to.RoundDown(exactAtBid)
	if q.SpreadMinor < 0 || q.BuyMinor+q.SpreadMinor != atBid.Minor {
		t.Fatalf("QuoteSell %s %s: buy %d + spread %d != RoundDown(sell × bid) %d", conv.Pair, sell, q.BuyMinor, q.SpreadMinor, atBid.Minor)
	}
	return 1
}

func checkQuoteBuy(t *testing.T, conv Conversion, buy Amount, bps int, rate decimal.Decimal) int {
	t.Helper()
	from := MustCurrency(conv.Base)
	q, err := QuoteBuy(conv, buy, bps, "p", "b", t0, time.Minute)
	// The exact sell amount is buy ÷ rate; compare products to avoid dividing.
	// It is too large when MaxMinor units of sell do not buy it.
	maxSell := decimal.NewFromInt(MaxMinor).Shift(-from.MinorUnits)
	if maxSell.Mul(rate).LessThan(buy.Decimal()) {
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("QuoteBuy %s %s at %s: %v, %v; want ErrTooLarge", conv.Pair, buy, rate, q, err)
		}
		return 0
	}
	if err != nil {
		// The quote fits, but the spread's value at bid may not.
		s, _ := from.RoundUpQuotient(buy.Decimal(), rate)
		if errors.Is(err, ErrTooLarge) && minorOf(buy.Currency, s.Decimal().Mul(conv.Bid)).GreaterThan(maxMinorDec) {
			return 0
		}
		t.Fatalf("QuoteBuy %s %s at %s (%d bps): %v", conv.Pair, buy, conv.Bid, bps, err)
	}
	if !q.Rate.Equal(rate) || q.BuyMinor != buy.Minor || q.Sell != from {
		t.Fatalf("QuoteBuy %s %s: quote %+v, want rate %s", conv.Pair, buy, q, rate)
	}
	// SellMinor × rate >= buy and (SellMinor − 1) × rate < buy.
	sell := q.SellAmount().Decimal()
	if sell.Mul(rate).LessThan(buy.Decimal()) {
		t.Fatalf("QuoteBuy %s %s at %s: under-charged %s", conv.Pair, buy, rate, q.SellAmount())
	}
	if !sell.Sub(unit(from)).Mul(rate).LessThan(buy.Decimal()) {
		t.Fatalf("QuoteBuy %s %s at %s: over-charged %s by a unit or more", conv.Pair, buy, rate, q.SellAmount())
	}
	atBid, _ := buy.Currency.RoundDown(sell.Mul(conv.Bid))
	if q.SpreadMinor < 0 || q.BuyMinor+q.SpreadMinor != atBid.Minor {
		t.Fatalf("QuoteBuy %s %s: buy %d + spread %d != RoundDown(sell × bid) %d", conv.Pair, buy, q.BuyMinor, q.SpreadMinor, atBid.Minor)
	}
	return 1
}

// checkConvertAt: RoundDown <= exact <= RoundUp, within one minor unit, and
// equal when the exact value has no more decimals than the currency.
func checkConvertAt(t *testing.T, a Amount, to Currency, rate decimal.Decimal) int {
	t.Helper()
	exact := a.Decimal().Mul(rate)
	down, errD := ConvertAt(a, to, rate, true)
	up, errU := ConvertAt(a, to, rate, false)
	if minorOf(to, exact).Add(decimal.NewFromInt(1)).GreaterThan(maxMinorDec) {
		return 0 // near or beyond the bound: TestRoundingTooLarge covers it
	}
	if errD != nil || errU != nil {
		t.Fatalf("ConvertAt %s to %s at %s: %v, %v", a, to.Code, rate, errD, errU)
	}
	if down.Decimal().GreaterThan(exact) || exact.GreaterThan(up.Decimal()) || up.Minor-down.Minor > 1 ||
		(up.Minor == down.Minor) != exact.Equal(down.Decimal()) {
		t.Fatalf("ConvertAt %s to %s at %s: down %s, exact %s, up %s", a, to.Code, rate, down, exact, up)
	}
	return 1
}

// checkQuotient: RoundDownQuotient and RoundUpQuotient bracket num ÷ den.
func checkQuotient(t *testing.T, c Currency, num, den decimal.Decimal) {
	t.Helper()
	down, errD := c.RoundDownQuotient(num, den)
	up, errU := c.RoundUpQuotient(num, den)
	if errD != nil || errU != nil {
		if errors.Is(errD, ErrTooLarge) || errors.Is(errU, ErrTooLarge) {
			return
		}
		t.Fatalf("%s %s ÷ %s: %v, %v", c.Code, num, den, errD, errU)
	}
	if down.Decimal().Mul(den).GreaterThan(num) || up.Decimal().Mul(den).LessThan(num) || up.Minor-down.Minor > 1 ||
		(up.Minor == down.Minor) != down.Decimal().Mul(den).Equal(num) ||
		!down.Decimal().Add(unit(c)).Mul(den).GreaterThan(num) {
		t.Fatalf("%s %s ÷ %s: down %s, up %s", c.Code, num, den, down, up)
	}
}

// TestBookProperty: with random rates of every currency against EUR (some
// stored the other way round), every ordered pair converts; inverted legs
// are rounded in the provider's favour by less than 10^-16, and crosses are
// the exact products of their legs.
func TestBookProperty(t *testing.T) {
	cur := propertyCurrencies(t)
	r := rand.New(rand.NewPCG(7, 20261120))
	var b Book
	type stored struct {
		bid, ask decimal.Decimal
		inverted bool // stored as X/EUR
	}
	vsEUR := map[string]stored{}
	for _, c := range cur[1:] {
		bid := randRate(r)
		ask := bid.Add(bid.Mul(decimal.New(r.Int64N(50), -4)).Truncate(MaxRatePlaces))
		p := Pair{"EUR", c.Code}
		s := stored{bid: bid, ask: ask, inverted: r.IntN(3) == 0}
		if s.inverted {
			p = p.Inverse()
		}
		vsEUR[c.Code] = s
		if err := b.Put(Rate{Pair: p, Bid: bid, Ask: ask, Source: "prop", AsOf: t0, ValidUntil: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// leg returns the expected leg from EUR to code, or from code to EUR.
	leg := func(code string, fromEUR bool) (bid, ask decimal.Decimal) {
		s := vsEUR[code]
		if s.inverted == fromEUR {
			return inverseDown(s.ask), inverseUp(s.bid)
		}
		return s.bid, s.ask
	}
	for _, x := range cur {
		for _, y := range cur {
			if x == y {
				continue
			}
			c, err := b.Lookup(Pair{x.Code, y.Code}, "prop", t0, 0)
			if err != nil {
				t.Fatal(err)
			}
			var bid, ask decimal.Decimal
			switch {
			case x.Code == "EUR":
				bid, ask = leg(y.Code, true)
			case y.Code == "EUR":
				bid, ask = leg(x.Code, false)
			default:
				b1, a1 := leg(x.Code, false)
				b2, a2 := leg(y.Code, true)
				bid, ask = b1.Mul(b2), a1.Mul(a2)
				if len(c.Path) != 2 {
					t.Fatalf("%s: path %q", c.Pair, c.Path)
				}
			}
			if !c.Bid.Equal(bid) || !c.Ask.Equal(ask) || c.Bid.GreaterThan(c.Ask) || c.Mid().LessThan(c.Bid) || c.Mid().GreaterThan(c.Ask) {
				t.Fatalf("%s: bid %s ask %s, want %s %s", c.Pair, c.Bid, c.Ask, bid, ask)
			}
		}
	}
	// The inversions themselves: floor and ceiling of 1/x at InversePlaces.
	for range 5000 {
		x := randRate(r)
		lo, hi := inverseDown(x), inverseUp(x)
		if lo.Mul(x).GreaterThan(one) || !lo.Add(inverseULP).Mul(x).GreaterThan(one) ||
			hi.Mul(x).LessThan(one) || !hi.Sub(inverseULP).Mul(x).LessThan(one) || lo.Sign() <= 0 {
			t.Fatalf("1/%s: down %s, up %s", x, lo, hi)
		}
	}
}

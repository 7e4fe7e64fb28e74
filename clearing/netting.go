package clearing

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crossclear/crossclear/fx"
	"github.com/shopspring/decimal"
)

// NetPosition is one account's result in a cycle: what it received minus
// what it paid. Positive: the scheme owes it; negative: it owes the scheme.
type NetPosition struct {
	Participant   string // participant id or EscrowAccount
	Currency      string
	PaidMinor     int64
	ReceivedMinor int64
	NetMinor      int64
	SettledAt     time.Time // zero until the position is marked settled
	SettledBy     string
}

// CurrencyTotals summarises one currency of a cycle.
type CurrencyTotals struct {
	Currency          string
	GrossMinor        int64 // Σ of every posting: what would move without netting
	SettlementMinor   int64 // Σ|net|/2: what moves after netting
	Holds             int   // postings into escrow: holds and FX deliveries
	Releases          int
	Refunds           int             // postings out of escrow back: refunds and FX give-backs
	FXLegs            int             // the other legs of cross-currency payments: fees, spreads, conversions, FX results
	NettingEfficiency decimal.Decimal // 1 − settlement/gross, 6 decimals; 0 when gross is 0
}

// NettingResult is the multilateral net of one cycle.
type NettingResult struct {
	Currencies []CurrencyTotals // by currency code
	Positions  []NetPosition    // by currency, then participant
	FXResults  []FXResult       // by currency, then bearer; empty when no cross-currency refund was booked
}

// FXResult is what one bearer (the operator's fx_result account, or a
// merchant's bank when the FX result is charged to the merchant) made up or
// kept on the cross-currency refunds of a cycle, in one sell currency: the
// locked share of the conversion minus the fresh conversion back. It is
// already inside the bearer's net position; it is shown on its own so that
// it is visible whoever bears it.
type FXResult struct {
	Bearer        string
	Currency      string
	PaidMinor     int64 // shortfalls made up to buyers' banks (fx_result legs)
	ReceivedMinor int64 // excesses kept (fx_result_gain legs)
	NetMinor      int64 // received − paid: negative is a cost to the bearer
	Legs          int
}

// FXResultBearer says which side of an FX result posting bears the result,
// and whether it paid (a shortfall) or received (an excess). fx_result legs
// are paid by the bearer; fx_result_gain legs received by it. An fx_result
// leg credited to the fx_result account was booked before fx_result_gain
// existed and is an excess kept by that account.
func FXResultBearer(p Posting) (bearer string, paid bool) {
	if p.Kind == PostFXResultGain || p.Credit == FXResultAccount {
		return p.Credit, false
	}
	return p.Debit, true
}

// Netting accumulates postings and nets them per currency and account in
// O(postings + accounts). Feed it with Add, then call Result; Result does
// not change the netting, so it may be called again, also after more Adds.
//
// Add does not allocate once an account has been seen: currencies and owners
// are interned to small integers, the escrow account and the last currency
// skip the map. An account's two counters sit in one dense array per
// currency indexed by owner, so booking a posting side touches the owner
// map and one cell: in a world of 100,000 participants, whose accounts are
// out of the cache, that is two pointers fewer to chase per side.
// The price is memory: a currency's array reaches the highest owner seen in
// it, 16 bytes per owner (1.6 MB per currency at 100,000 participants).
type Netting struct {
	ccyIndex   map[string]int32
	ccys       []CurrencyTotals // SettlementMinor and NettingEfficiency are filled by Result, on a copy
	lastCcy    int32            // index into ccys of the last currency added, -1 before the first
	ownerIndex map[string]int32
	owners     []string                // participant ids; owners[0] is EscrowAccount, interned up front
	cells      [][]netCell             // by currency, then owner
	accounts   int                     // cells with a posting: the positions Result returns
	fxResults  map[[2]string]*FXResult // (bearer, currency): few, only refunds book them
}

// netCell is one (owner, currency) account's totals. Postings move strictly
// positive amounts, so an account has been opened iff a counter is not 0.
type netCell struct {
	paid, received int64
}

func (a netCell) opened() bool { return a.paid != 0 || a.received != 0 }

const escrowOwner = 0

// NewNetting starts an empty netting.
func NewNetting() *Netting {
	return &Netting{
		ccyIndex:   make(map[string]int32),
		lastCcy:    -1,
		ownerIndex: make(map[string]int32),
		owners:     []string{EscrowAccount},
	}
}

// Add books one posting: Debit pays, Credit receives.
func (n *Netting) Add(p Posting) error { return n.add(&p) }

func (n *Netting) add(p *Posting) error {
	if p.AmountMinor <= 0 {
		return fmt.Errorf("%w: posting for payment %s moves %d", ErrInvariant, p.PaymentID, p.AmountMinor)
	}
	c := n.currency(p.Currency)
	t := &n.ccys[c]
	gross, ok := fx.AddMinor(t.GrossMinor, p.AmountMinor)
	if !ok {
		return fmt.Errorf("gross %s overflows int64 minor units", p.Currency)
	}
	t.GrossMinor = gross
	switch p.Kind {
	case PostHold, PostFXDelivery:
		t.Holds++
	case PostRelease:
		t.Releases++
	case PostRefund, PostFXGiveBack:
		t.Refunds++
	case PostFXResult, PostFXResultGain:
		t.FXLegs++
		n.fxResult(p)
	default:
		t.FXLegs++
	}
	// Neither sum can overflow where gross did not.
	n.cell(p.Debit, c).paid += p.AmountMinor
	n.cell(p.Credit, c).received += p.AmountMinor
	return nil
}

// fxResult adds an FX result leg to its bearer's total.
func (n *Netting) fxResult(p *Posting) {
	bearer, paid := FXResultBearer(*p)
	k := [2]string{bearer, p.Currency}
	r := n.fxResults[k]
	if r == nil {
		if n.fxResults == nil {
			n.fxResults = map[[2]string]*FXResult{}
		}
		r = &FXResult{Bearer: bearer, Currency: p.Currency}
		n.fxResults[k] = r
	}
	if paid {
		r.PaidMinor += p.AmountMinor
	} else {
		r.ReceivedMinor += p.AmountMinor
	}
	r.Legs++
}

// currency interns a currency code.
func (n *Netting) currency(code string) int32 {
	if c := n.lastCcy; c >= 0 && n.ccys[c].Currency == code {
		return c
	}
	c, ok := n.ccyIndex[code]
	if !ok {
		c = int32(len(n.ccys))
		n.ccyIndex[code] = c
		n.ccys = append(n.ccys, CurrencyTotals{Currency: code})
		n.cells = append(n.cells, nil)
	}
	n.lastCcy = c
	return c
}

// cell returns owner's account in currency c, opening it on first use.
func (n *Netting) cell(owner string, c int32) *netCell {
	o := int32(escrowOwner)
	if owner != EscrowAccount {
		var ok bool
		if o, ok = n.ownerIndex[owner]; !ok {
			o = int32(len(n.owners))
			n.ownerIndex[owner] = o
			n.owners = append(n.owners, owner)
		}
	}
	cs := n.cells[c]
	if int(o) >= len(cs) {
		old := len(cs)
		cs = slices.Grow(cs, int(o)+1-old)[:o+1]
		clear(cs[old:])
		n.cells[c] = cs
	}
	a := &cs[o]
	if !a.opened() {
		n.accounts++
	}
	return a
}

// Result computes the nets and checks that every currency sums to zero;
// a non-zero sum is an ErrInvariant and means a bug, not bad input. It
// leaves the netting as it was.
func (n *Netting) Result() (NettingResult, error) {
	ccyOrder := sortedBy(len(n.ccys), func(i int) string { return n.ccys[i].Currency })
	var res NettingResult
	for _, c := range ccyOrder {
		var sum, settlement int64
		for _, a := range n.cells[c] {
			net := a.received - a.paid
			sum += net
			if net > 0 {
				settlement += net
			}
		}
		if sum != 0 {
			return NettingResult{}, fmt.Errorf("%w: %s nets sum to %d, not 0", ErrInvariant, n.ccys[c].Currency, sum)
		}
		t := n.ccys[c]
		t.SettlementMinor = settlement
		t.NettingEfficiency = Efficiency(t.SettlementMinor, t.GrossMinor)
		res.Currencies = append(res.Currencies, t)
	}
	// Positions by currency code, then owner: each currency's cells read
	// in owner name order.
	ownerOrder := sortedBy(len(n.owners), func(i int) string { return n.owners[i] })
	res.Positions = make([]NetPosition, 0, n.accounts)
	for _, c := range ccyOrder {
		cs := n.cells[c]
		for _, o := range ownerOrder {
			if int(o) >= len(cs) || !cs[o].opened() {
				continue
			}
			a := cs[o]
			res.Positions = append(res.Positions, NetPosition{
				Participant:   n.owners[o],
				Currency:      n.ccys[c].Currency,
				PaidMinor:     a.paid,
				ReceivedMinor: a.received,
				NetMinor:      a.received - a.paid,
			})
		}
	}
	for _, r := range n.fxResults {
		x := *r
		x.NetMinor = x.ReceivedMinor - x.PaidMinor
		res.FXResults = append(res.FXResults, x)
	}
	slices.SortFunc(res.FXResults, func(a, b FXResult) int {
		if c := strings.Compare(a.Currency, b.Currency); c != 0 {
			return c
		}
		return strings.Compare(a.Bearer, b.Bearer)
	})
	return res, nil
}

// sortedBy returns the indices 0..n-1 ordered by name(i).
func sortedBy(n int, name func(int) string) []int32 {
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(name(int(a)), name(int(b))) })
	return order
}

// Net nets a slice of postings; see Netting.
func Net(postings []Posting) (NettingResult, error) {
	n := NewNetting()
	for i := range postings {
		if err := n.add(&postings[i]); err != nil {
			return NettingResult{}, err
		}
	}
	return n.Result()
}

// Efficiency is 1 − settlement/gross to six decimals: the share of gross
// value that netting spared from moving. Σ|net|/2 equals Σ of positive nets
// because nets sum to zero. It is computed as (gross − settlement)/gross and
// rounded once, half away from zero.
func Efficiency(settlementMinor, grossMinor int64) decimal.Decimal {
	if grossMinor == 0 {
		return decimal.Zero
	}
	gross := decimal.NewFromInt(grossMinor)
	return gross.Sub(decimal.NewFromInt(settlementMinor)).DivRound(gross, 6)
}

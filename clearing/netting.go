package clearing

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math/bits"
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
// Add does not book a posting side on its account at once: in a world of
// 100,000 participants the accounts are out of the cache, and looking the
// owner up and reaching its account cost a few misses per posting. It packs
// the owner's id into two words (ids up to 15 bytes inline; longer ones are
// numbered once), hashes them, and appends the side to one of 256 buffers
// by the hash. Booking then runs buffer by buffer: a buffer's owners are a
// 256th of the world, whose lookup table and accounts stay in the cache
// while its sides are booked. The buffers are booked when together they
// hold twice as many sides as there are accounts, within 16Ki–256Ki sides
// of 32 bytes (so at most 8 MB, whatever the number of postings), and by
// Result. The escrow account, on one side of most postings, has its own
// counters per currency.
type Netting struct {
	ccyIDs    ids              // currency codes, numbered as in ccys
	ccys      []CurrencyTotals // SettlementMinor and NettingEfficiency are filled by Result, on a copy
	lastCcy   int32            // index into ccys of the last currency added, -1 before the first
	escrow    []netCell        // EscrowAccount's account, by currency
	parts     [1 << partBits]part
	pending   int               // sides in the parts' buffers
	need      []int32           // flush's scratch, by currency
	flushAt   int               // book the buffers when pending reaches it
	minFlush  int               // the package's minFlush; tests lower it to book every few sides
	accounts  int               // opened accounts outside escrow: the positions Result returns, but escrow's
	longIndex map[string]uint64 // ids longer than 15 bytes, numbered
	longIDs   []string
	fxResults map[[2]string]*FXResult // (bearer, currency): few, only refunds book them
}

const (
	partBits = 8
	minFlush = 1 << 14
	maxFlush = 1 << 18
)

// part is the accounts of the owners whose hash falls in one of the 256
// parts, and the sides waiting to be booked on them.
type part struct {
	sides []side
	ids                  // the part's owners
	cells [][]*cellBlock // by currency, then owner number / blockOwners
	spare []cellBlock    // blocks allocated together, not yet given out
}

// cellBlock holds the accounts of blockOwners consecutive owner numbers in
// one currency. A part's accounts grow by blocks, so they are never copied
// as its owners grow from one booking to the next.
type cellBlock [blockOwners]netCell

const blockOwners = 16

// ids numbers keys in the order they are first seen.
type ids struct {
	keys  []ownerKey // number → key
	slots []int32    // open addressing over keys: number + 1, 0 when free; at most half full
}

// side is one side of a posting waiting to be booked.
type side struct {
	owner  ownerKey
	amount int64 // negative when the owner pays
	ccy    int32
	hash   uint32 // low bits of owner.hash(), where its slot search starts; flush puts the owner's number there
}

// netCell is one (owner, currency) account's totals. Postings move strictly
// positive amounts, so an account has been opened iff a counter is not 0.
type netCell struct {
	paid, received int64
}

func (a netCell) opened() bool { return a.paid != 0 || a.received != 0 }

// ownerKey is an account owner's id in two words: up to 15 bytes big-endian,
// zero-padded, with the length in the last byte, so that comparing keys as
// integers orders them as the ids; a longer id has its number in
// Netting.longIDs first and longKey as length.
type ownerKey struct{ hi, lo uint64 }

const longKey = 0xff

func (k ownerKey) long() bool { return k.lo&0xff == longKey }

// hash mixes both words (wyhash's multiply-fold, then splitmix64's
// finalizer): the top bits choose the part, the low bits the slot.
func (k ownerKey) hash() uint64 {
	hi, lo := bits.Mul64(k.hi^0xa0761d6478bd642f, k.lo^0xe7037ed1a0b428db)
	h := hi ^ lo
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	return h ^ h>>32
}

// NewNetting starts an empty netting.
func NewNetting() *Netting {
	return &Netting{
		lastCcy:  -1,
		flushAt:  minFlush,
		minFlush: minFlush,
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
	n.book(p.Debit, c, -p.AmountMinor)
	n.book(p.Credit, c, p.AmountMinor)
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

// book credits amount to owner's account in currency c (debits when
// negative): escrow's at once, anyone else's into its part's buffer.
func (n *Netting) book(owner string, c int32, amount int64) {
	if owner == EscrowAccount {
		n.escrow[c].add(amount)
		return
	}
	k := n.key(owner)
	h := k.hash()
	pt := &n.parts[h>>(64-partBits)]
	pt.sides = append(pt.sides, side{owner: k, amount: amount, ccy: c, hash: uint32(h)})
	if n.pending++; n.pending >= n.flushAt {
		n.flush()
	}
}

func (a *netCell) add(amount int64) {
	if amount < 0 {
		a.paid -= amount
	} else {
		a.received += amount
	}
}

// key packs an owner's id.
func (n *Netting) key(id string) ownerKey {
	switch l := len(id); {
	case l < 8:
		var hi uint64
		for i := range l {
			hi |= uint64(id[i]) << (56 - 8*i)
		}
		return ownerKey{hi, uint64(l)}
	case l < 16:
		// The last 8 bytes shifted left by the 16-l bytes they share with
		// the first 8 (a shift by 64 gives 0).
		return ownerKey{bigEndian(id), bigEndian(id[l-8:])<<(8*(16-l)) | uint64(l)}
	}
	i, ok := n.longIndex[id]
	if !ok {
		if n.longIndex == nil {
			n.longIndex = map[string]uint64{}
		}
		i = uint64(len(n.longIDs))
		n.longIndex[id] = i
		n.longIDs = append(n.longIDs, id)
	}
	return ownerKey{i, longKey}
}

// bigEndian reads s's first 8 bytes as a big-endian number; the compiler
// makes it one load.
func bigEndian(s string) uint64 {
	_ = s[7]
	return uint64(s[7]) | uint64(s[6])<<8 | uint64(s[5])<<16 | uint64(s[4])<<24 |
		uint64(s[3])<<32 | uint64(s[2])<<40 | uint64(s[1])<<48 | uint64(s[0])<<56
}

// appendID appends the id k packs.
func (n *Netting) appendID(b []byte, k ownerKey) []byte {
	if k.long() {
		return append(b, n.longIDs[k.hi]...)
	}
	var w [16]byte
	binary.BigEndian.PutUint64(w[:8], k.hi)
	binary.BigEndian.PutUint64(w[8:], k.lo)
	return append(b, w[:w[15]]...)
}

// compareIDs orders keys as strings.Compare orders their ids.
func (n *Netting) compareIDs(a, b ownerKey) int {
	if !a.long() && !b.long() {
		return cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo))
	}
	return bytes.Compare(n.appendID(nil, a), n.appendID(nil, b))
}

// flush books every buffered side, part by part.
func (n *Netting) flush() {
	for i := range n.parts {
		n.accounts += n.parts[i].flush(n.need[:len(n.ccys)])
	}
	n.pending = 0
	n.flushAt = min(max(2*n.accounts, n.minFlush), maxFlush)
}

// flush books the part's buffered sides and says how many accounts they
// opened. It numbers the sides' owners first, so that each currency's
// accounts grow once, to the highest owner number booked in it (need is
// scratch, one per currency).
func (pt *part) flush(need []int32) (opened int) {
	if len(pt.sides) == 0 {
		return 0
	}
	if l := len(pt.cells); l < len(need) {
		pt.cells = append(pt.cells, make([][]*cellBlock, len(need)-l)...)
	}
	clear(need)
	for i := range pt.sides {
		s := &pt.sides[i]
		o := pt.number(s.owner, s.hash)
		s.hash = uint32(o) // the side's owner number from here on
		need[s.ccy] = max(need[s.ccy], o+1)
	}
	for c, l := range need {
		for len(pt.cells[c])*blockOwners < int(l) {
			if len(pt.spare) == 0 {
				pt.spare = make([]cellBlock, 16)
			}
			pt.cells[c] = append(pt.cells[c], &pt.spare[0])
			pt.spare = pt.spare[1:]
		}
	}
	for _, s := range pt.sides {
		a := &pt.cells[s.ccy][s.hash/blockOwners][s.hash%blockOwners]
		if !a.opened() {
			opened++
		}
		a.add(s.amount)
	}
	pt.sides = pt.sides[:0]
	return opened
}

// number returns k's number, numbering it on first sight; h is the low
// bits of k.hash().
func (t *ids) number(k ownerKey, h uint32) int32 {
	if 2*(len(t.keys)+1) > len(t.slots) {
		t.rehash()
	}
	mask := uint32(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			t.keys = append(t.keys, k)
			t.slots[i] = int32(len(t.keys))
			return int32(len(t.keys)) - 1
		}
		if t.keys[s-1] == k {
			return s - 1
		}
	}
}

// rehash doubles the slots.
func (t *ids) rehash() {
	slots := make([]int32, max(16, 2*len(t.slots)))
	mask := uint32(len(slots) - 1)
	for o, k := range t.keys {
		i := uint32(k.hash()) & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = int32(o + 1)
	}
	t.slots = slots
}

// currency interns a currency code.
func (n *Netting) currency(code string) int32 {
	if c := n.lastCcy; c >= 0 && n.ccys[c].Currency == code {
		return c
	}
	k := n.key(code)
	c := n.ccyIDs.number(k, uint32(k.hash()))
	if int(c) == len(n.ccys) {
		n.ccys = append(n.ccys, CurrencyTotals{Currency: code})
		n.escrow = append(n.escrow, netCell{})
		n.need = append(n.need, 0)
	}
	n.lastCcy = c
	return c
}

// Result computes the nets and checks that every currency sums to zero;
// a non-zero sum is an ErrInvariant and means a bug, not bad input. It
// books the buffered sides but leaves the netting as it was.
func (n *Netting) Result() (NettingResult, error) {
	n.flush()
	ccyOrder := sortedBy(len(n.ccys), func(i int) string { return n.ccys[i].Currency })
	positions, nets := n.positions(ccyOrder)
	res := NettingResult{Positions: positions}
	for i, c := range ccyOrder {
		if nets[i].sum != 0 {
			return NettingResult{}, fmt.Errorf("%w: %s nets sum to %d, not 0", ErrInvariant, n.ccys[c].Currency, nets[i].sum)
		}
		t := n.ccys[c]
		t.SettlementMinor = nets[i].settlement
		t.NettingEfficiency = Efficiency(t.SettlementMinor, t.GrossMinor)
		res.Currencies = append(res.Currencies, t)
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

// currencyNets is what a currency's nets add up to: sum, which balanced
// books keep at 0, and settlement, the sum of the positive ones.
type currencyNets struct{ sum, settlement int64 }

// positions lists the opened accounts by currency, then owner id, and adds
// up each currency's nets (in ccyOrder). Each owner gets its rank in id
// order (escrow last in the numbering), and each currency's accounts are
// written into an array by rank, then read in order: the accounts are
// visited part by part, never looked up by rank.
func (n *Netting) positions(ccyOrder []int32) ([]NetPosition, []currencyNets) {
	base := make([]int32, len(n.parts)+1) // the parts' owners are numbered from base[i]
	for i := range n.parts {
		base[i+1] = base[i] + int32(len(n.parts[i].keys))
	}
	escrow := base[len(n.parts)]
	type ref struct {
		key ownerKey
		at  int32
	}
	refs := make([]ref, 0, escrow+1)
	for i := range n.parts {
		for o, k := range n.parts[i].keys {
			refs = append(refs, ref{k, base[i] + int32(o)})
		}
	}
	refs = append(refs, ref{n.key(EscrowAccount), escrow})
	slices.SortFunc(refs, func(a, b ref) int { return n.compareIDs(a.key, b.key) })
	rank := make([]int32, len(refs))
	ends := make([]int, len(refs)) // the owner of rank r is ids[ends[r-1]:ends[r]]
	var buf []byte
	for r, x := range refs {
		rank[x.at] = int32(r)
		buf = n.appendID(buf, x.key)
		ends[r] = len(buf)
	}
	ids := string(buf)
	count := n.accounts
	for _, e := range n.escrow {
		if e.opened() {
			count++
		}
	}
	out := make([]NetPosition, count)
	next := 0
	nets := make([]currencyNets, len(ccyOrder))
	byRank := make([]netCell, len(refs))
	for ci, c := range ccyOrder {
		clear(byRank)
		for i := range n.parts {
			if cells := n.parts[i].cells; int(c) < len(cells) {
				for bi, b := range cells[c] {
					for j, a := range b {
						if a.opened() {
							byRank[rank[base[i]+int32(bi*blockOwners+j)]] = a
						}
					}
				}
			}
		}
		byRank[rank[escrow]] = n.escrow[c]
		start := 0
		for r, a := range byRank {
			net := a.received - a.paid
			nets[ci].sum += net
			nets[ci].settlement += max(net, 0)
			if a.opened() {
				p := &out[next]
				p.Participant, p.Currency = ids[start:ends[r]], n.ccys[c].Currency
				p.PaidMinor, p.ReceivedMinor, p.NetMinor = a.paid, a.received, net
				next++
			}
			start = ends[r]
		}
	}
	return out, nets
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

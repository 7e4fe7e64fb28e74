package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"

	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// The world the traffic runs in: three banks settling EUR, USD and GBP,
// each with two merchants. Payments are single-currency: a buyer's bank
// pays a merchant at another bank in the merchant's currency.

type bank struct{ BIC, Country, Jurisdiction string }

var banks = []bank{
	{"HANSDEFF", "DE", "DE"},
	{"HUDSUS33", "US", "US-NY"},
	{"THAMGB2L", "GB", "GB"},
}

var currencies = []string{"EUR", "USD", "GBP"}

// merchantCurrencies are each bank's merchants' currencies.
var merchantCurrencies = map[string][]string{
	"HANSDEFF": {"EUR", "USD"},
	"HUDSUS33": {"USD", "GBP"},
	"THAMGB2L": {"GBP", "EUR"},
}

type merchant struct{ ID, Bank, Currency, Account string }

// payment is a payment the client saw acknowledged, with the client's
// latest knowledge of it: the 2xx answer with the highest version.
type payment struct {
	ID, Buyer, MerchantBank, Merchant, Currency string
	Minor                                       int64
	Source                                      string // the key of the hold or the file that made it

	Version int64
	State   string
	Held    int64
}

// pool is every payment the client knows was held.
type pool struct {
	mu   sync.Mutex
	list []*payment
	byID map[string]*payment
}

func newPool() *pool { return &pool{byID: map[string]*payment{}} }

func (p *pool) add(pm *payment) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.byID[pm.ID]; old != nil {
		if pm.Version > old.Version {
			old.Version, old.State, old.Held = pm.Version, pm.State, pm.Held
		}
		return
	}
	p.byID[pm.ID] = pm
	p.list = append(p.list, pm)
}

// learn takes in a payment from a 2xx answer, if it is newer than what the
// client knew.
func (p *pool) learn(h *Harness, pj paymentJSON) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pm := p.byID[pj.ID]
	if pm == nil {
		h.problems.add("answer about an unknown payment", "payment %s (reference %q) was never acknowledged to the client", pj.ID, pj.Reference)
		return
	}
	if pj.Version > pm.Version {
		pm.Version, pm.State, pm.Held = pj.Version, pj.State, minor(h.t, pj.Held)
	}
}

// pick is a random payment the client believes is in one of states, with
// at least minHeld held; nil if a few tries find none.
func (p *pool) pick(r *rand.Rand, minHeld int64, states ...string) *payment {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.list) == 0 {
		return nil
	}
	for range 32 {
		// Recent payments twice as often: more of them are still held, and
		// actions racing on one payment are part of the test.
		i := r.IntN(len(p.list))
		if r.IntN(2) == 0 {
			i = len(p.list) - 1 - r.IntN(min(len(p.list), 64))
		}
		pm := p.list[i]
		for _, s := range states {
			if pm.State == s && pm.Held >= minHeld {
				cp := *pm
				return &cp
			}
		}
	}
	return nil
}

func (p *pool) all() []payment {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]payment, len(p.list))
	for i, pm := range p.list {
		out[i] = *pm
	}
	return out
}

// worker is one client goroutine of a round.
type worker struct {
	h *Harness
	r *rand.Rand
}

// step makes one request.
func (w *worker) step() {
	x := w.r.IntN(1000)
	switch {
	case x < 12 && !w.h.cfg.SystemEffects: // else the cycle scheduler closes cycles
		w.closeCycle()
	case x < 12:
		w.hold()
	case x < 60:
		w.upload()
	case x < 380:
		w.hold()
	case x < 500:
		w.action(kindPartial)
	case x < 580:
		w.action(kindRelease)
	case x < 700:
		w.action(kindDispute)
	case x < 820:
		w.action(kindResolve)
	default:
		w.action(kindRefund)
	}
}

func (w *worker) uetr() string {
	a, b := w.r.Uint64(), w.r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%x%03x-%012x", a>>32, (a>>16)&0xffff, a&0xfff, 8+(b>>62), (b>>48)&0xfff, b&0xffffffffffff)
}

// counterparty is a merchant at another bank than buyer.
func (w *worker) counterparty(buyer string) merchant {
	for {
		m := w.h.merchants[w.r.IntN(len(w.h.merchants))]
		if m.Bank != buyer {
			return m
		}
	}
}

func (w *worker) hold() {
	key := w.h.nextKey("hold")
	buyer := banks[w.r.IntN(len(banks))].BIC
	m := w.counterparty(buyer)
	amount := 1000 + w.r.Int64N(49000)
	req := map[string]string{"end_to_end_id": key, "reference": key, "merchant_id": m.ID, "amount": money(amount), "currency": m.Currency}
	// Half the holds carry their UETR, as banks do; the other half leave
	// it to the server, so that a hold run twice would show as two
	// payments with one reference rather than as a duplicate_uetr refusal.
	c := &Call{Key: key, As: buyer, Kind: kindHold, Method: http.MethodPost, Path: "/v1/payments", Minor: amount, Currency: m.Currency}
	if w.r.IntN(2) == 0 {
		c.UETR = w.uetr()
		req["uetr"] = c.UETR
	}
	c.Body = mustJSON(req)
	c.ContentType = "application/json"
	w.h.issue(c)
}

func (w *worker) upload() {
	key := w.h.nextKey("file")
	buyer := banks[w.r.IntN(len(banks))].BIC
	c := &Call{Key: key, As: buyer, Kind: kindFile, Method: http.MethodPost, Path: "/v1/files", ContentType: "application/xml"}
	f := isotest.Pacs008{MsgID: key, From: buyer}
	for i := range 1 + w.r.IntN(4) {
		m := w.counterparty(buyer)
		tx := fileTx{UETR: w.uetr(), Merchant: m.ID, Currency: m.Currency, Minor: 1000 + w.r.Int64N(49000)}
		c.FileTxs = append(c.FileTxs, tx)
		f.Txs = append(f.Txs, isotest.Tx{UETR: tx.UETR, EndToEndID: fmt.Sprintf("%s-%d", key, i+1), Amount: money(tx.Minor), Ccy: tx.Currency,
			InstgAgt: buyer, CdtrAgt: m.Bank, CdtrOthr: m.Account, Ustrd: key})
	}
	c.Body = f.Bytes()
	w.h.issue(c)
}

// action releases (all or part), disputes, refunds or resolves a payment
// the client knows; with none to act on it holds one instead.
func (w *worker) action(kind string) {
	var p *payment
	switch kind {
	case kindPartial:
		p = w.h.pool.pick(w.r, 3, "held")
	case kindResolve:
		p = w.h.pool.pick(w.r, 0, "disputed")
	default:
		p = w.h.pool.pick(w.r, 0, "held")
	}
	if p == nil {
		w.hold()
		return
	}
	prefix := map[string]string{kindPartial: "part", kindRelease: "rel", kindDispute: "disp", kindRefund: "ref", kindResolve: "res"}[kind]
	key := w.h.nextKey(prefix)
	c := &Call{Key: key, Kind: kind, Method: http.MethodPost, Payment: p.ID, Reason: "crash " + key, Currency: p.Currency, ContentType: "application/json"}
	body := map[string]string{"reason": c.Reason}
	switch kind {
	case kindPartial:
		c.Minor = 1 + w.r.Int64N(p.Held/3)
		body["amount"] = money(c.Minor)
		c.As, c.Path = p.Buyer, "/v1/payments/"+p.ID+"/release"
	case kindRelease:
		c.As, c.Path = p.Buyer, "/v1/payments/"+p.ID+"/release"
	case kindDispute:
		c.As, c.Path = p.Buyer, "/v1/payments/"+p.ID+"/dispute"
	case kindRefund:
		c.As, c.Path = p.MerchantBank, "/v1/payments/"+p.ID+"/refund"
	case kindResolve:
		body["decision"] = []string{"release", "refund"}[w.r.IntN(2)]
		c.As, c.Path = "operator", "/v1/payments/"+p.ID+"/resolve"
	}
	c.Body = mustJSON(body)
	w.h.issue(c)
}

// closeCycle closes the open cycle by its id. Closes are made one at a
// time: two at once would share the key close-<id>, and the second would
// rightly be told the first is in progress.
func (w *worker) closeCycle() {
	h := w.h
	h.closeMu.Lock()
	defer h.closeMu.Unlock()
	if h.stopping.Load() {
		return
	}
	if h.closeByID && w.r.IntN(4) == 0 {
		h.closedMu.Lock()
		var id int64
		if len(h.closedKnown) > 0 {
			id = h.closedKnown[w.r.IntN(len(h.closedKnown))]
		}
		h.closedMu.Unlock()
		if id > 0 {
			h.issue(&Call{Key: h.nextKey("reclose"), As: "operator", Kind: kindReclose, Method: http.MethodPost,
				Path: fmt.Sprintf("/v1/cycles/%d/close", id), Cycle: id})
			return
		}
	}
	a, err := h.Target.Do(context.Background(), http.MethodGet, "/v1/cycles/current", h.secrets["operator"], "", "", nil)
	if err != nil || a.Status != http.StatusOK {
		return
	}
	var cur struct {
		Cycle cycleJSON `json:"cycle"`
	}
	if err := json.Unmarshal(a.Body, &cur); err != nil || cur.Cycle.ID == 0 {
		h.problems.add("bad /v1/cycles/current", "%s", a)
		return
	}
	key := fmt.Sprintf("close-%d", cur.Cycle.ID)
	if h.j.has(key) {
		return // a close of this cycle is waiting for its retry
	}
	c := &Call{Key: key, As: "operator", Kind: kindClose, Method: http.MethodPost, Cycle: cur.Cycle.ID}
	if h.closeByID {
		c.Path = fmt.Sprintf("/v1/cycles/%d/close", cur.Cycle.ID)
	} else {
		c.Path = "/v1/cycles/close"
	}
	h.issue(c)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

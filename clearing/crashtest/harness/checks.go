package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/crossclear/crossclear/clearing/store"
)

// FinalChecks holds the servers and the database to the client's
// journal. stop stops every server cleanly (so that no worker moves
// anything while the database is read) and returns the servers whose logs
// are read for errors.
func (h *Harness) FinalChecks(stop func() []*Server) {
	t := h.t
	calls := h.j.snapshot()
	for _, c := range calls {
		if !c.answered && c.stuck == "" {
			h.problems.add("request never answered", "%s", c)
		}
	}

	// Every answered request, sent once more, gets its first answer.
	answered := h.j.answered()
	final := answered
	if len(final) > finalReplayCap {
		final = make([]*Call, finalReplayCap)
		for i := range final {
			final[i] = answered[h.rng.IntN(len(answered))]
		}
	}
	before := h.replays
	h.replay(final)
	finalReplays := h.replays - before

	// The books, through the API.
	ledger := h.ledgerCheck()
	closedByAPI := h.checkCycles(calls)

	for _, srv := range stop() {
		h.errorLogLines = append(h.errorLogLines, ErrorLines(srv.LogPath)...)
	}

	db := h.readDatabase()
	h.checkEffects(calls, db, closedByAPI)
	h.checkPayments(calls, db)
	h.checkEscrow(calls, ledger, db)

	// What happened, in numbers.
	status := map[int]int{}
	kinds := map[string]int{}
	attempts, retriedOK, replayedOn, stuck := 0, 0, 0, 0
	for _, c := range calls {
		kinds[c.Kind]++
		attempts += c.attempts
		if c.answered {
			status[c.ans.Status]++
		}
		if c.retried {
			retriedOK++
		}
		if c.replayedOn {
			replayedOn++
		}
		if c.stuck != "" {
			stuck++
		}
	}
	events := map[string]int{}
	for _, e := range db.events {
		events[e.Type]++
	}
	t.Logf("%s: %d requests (%s), %d sends; answers %s; %d SIGKILLs, %d requests unanswered at a kill, %d of them retried to an answer (%d replays: they had taken effect before the kill), %d stuck; %d 5xx answers in traffic; %d replays checked (%d in the final pass)",
		h.cfg.Name, len(calls), countsString(kinds), attempts, statusString(status), h.Kills, h.unansweredAtKill, retriedOK, replayedOn, stuck, h.serverErrors.Load(), h.replays, finalReplays)
	t.Logf("%s: effects: %d payments, events %s, %d closed cycles; ledger check ok=%v", h.cfg.Name, len(db.payments), countsString(events), len(closedByAPI), ledger.OK)
	if n := len(h.errorLogLines); n > 0 {
		t.Logf("%s: %d level=ERROR lines in the servers' logs, the first: %s", h.cfg.Name, n, strings.Join(h.errorLogLines[:min(n, 5)], "\n"))
	}
	if n := h.problems.total(); n > 0 {
		t.Errorf("%s: %d problems:%s", h.cfg.Name, n, h.problems.summary())
	} else {
		t.Logf("%s: exactly once: 0 lost, 0 doubled, every retry got the first answer", h.cfg.Name)
	}
}

func countsString(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func statusString(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d×%d", m[k], k))
	}
	return strings.Join(parts, " ")
}

// get is a GET as the operator.
func (h *Harness) get(path string, into any) bool {
	h.t.Helper()
	a, err := h.Target.Do(context.Background(), http.MethodGet, path, h.secrets["operator"], "", "", nil)
	if err != nil || a.Status != http.StatusOK {
		h.problems.add("GET failed", "%s: %v %s", path, err, a)
		return false
	}
	if err := json.Unmarshal(a.Body, into); err != nil {
		h.problems.add("GET failed", "%s: %v", path, err)
		return false
	}
	return true
}

type ledgerCheck struct {
	OK         bool `json:"ok"`
	Currencies []struct {
		Currency      string `json:"currency"`
		Sum           string `json:"sum"`
		EscrowBalance string `json:"escrow_balance"`
		Held          string `json:"held"`
		Postings      string `json:"postings"`
	} `json:"currencies"`
	Problems []string `json:"problems"`
}

func (h *Harness) ledgerCheck() ledgerCheck {
	var l ledgerCheck
	if !h.get("/v1/ledger/check", &l) {
		return l
	}
	if !l.OK || len(l.Problems) > 0 {
		h.problems.add("ledger check fails", "ok=%v: %s", l.OK, strings.Join(l.Problems, "; "))
	}
	return l
}

// checkCycles: every closed cycle nets to zero per currency and is the one
// its close was answered with; it returns the closed cycles' ids.
func (h *Harness) checkCycles(calls []*Call) map[int64]bool {
	var cur struct {
		Cycle cycleJSON `json:"cycle"`
	}
	if !h.get("/v1/cycles/current", &cur) {
		return nil
	}
	closes := map[int64][]*Call{} // closes and re-closes answered 2xx, by cycle
	for _, c := range calls {
		if (c.Kind == kindClose || c.Kind == kindReclose) && c.answered && ok(c.ans) {
			closes[c.Cycle] = append(closes[c.Cycle], c)
		}
	}
	closed := map[int64]bool{}
	for id := int64(1); id < cur.Cycle.ID; id++ {
		var cy cycleJSON
		if !h.get(fmt.Sprintf("/v1/cycles/%d", id), &cy) {
			continue
		}
		if cy.State != "closed" && cy.State != "settled" {
			h.problems.add("cycle before the open one is not closed", "cycle %d is %s", id, cy.State)
			continue
		}
		closed[id] = true
		sums := map[string]int64{}
		for _, p := range cy.Positions {
			sums[p.Currency] += minor(h.t, p.Net)
		}
		for ccy, s := range sums {
			if s != 0 {
				h.problems.add("Σ net ≠ 0", "cycle %d: %s nets sum to %s", id, ccy, money(s))
			}
		}
		for _, c := range closes[id] {
			var got cycleJSON
			json.Unmarshal(c.ans.Body, &got)
			if got.ID == id && positions(got) != positions(cy) {
				h.problems.add("close answer differs from the cycle", "%s answered positions %s; GET /v1/cycles/%d says %s", c, positions(got), id, positions(cy))
			}
		}
	}
	return closed
}

func positions(c cycleJSON) string {
	var ps []string
	for _, p := range c.Positions {
		ps = append(ps, p.Participant+" "+p.Currency+" "+p.Net)
	}
	sort.Strings(ps)
	return strings.Join(ps, "; ")
}

// dbState is what the database holds, read after the server stopped.
type dbState struct {
	payments map[string]dbPayment // by id (the UETR)
	byRef    map[string][]dbPayment
	events   []dbEvent
	byReason map[string][]dbEvent
	cycles   map[int64]string // state by id
	// audit entries by cycle id: closes and cycle files written
	closes, files map[int64]int
	autoReleased  map[string]int // auto-release events by payment
}

type dbPayment struct {
	ID, Reference, Currency, State string
	Amount, Released, Refunded     int64
	Version                        int64
}

type dbEvent struct {
	PaymentID, Type, Reason string
	Seq                     int
	Amount                  int64
}

func (h *Harness) readDatabase() dbState {
	t := h.t
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, h.cfg.DSN, store.Options{})
	if err != nil {
		t.Fatalf("open the database: %v", err)
	}
	defer s.Close()
	db := dbState{payments: map[string]dbPayment{}, byRef: map[string][]dbPayment{}, byReason: map[string][]dbEvent{}, cycles: map[int64]string{},
		closes: map[int64]int{}, files: map[int64]int{}, autoReleased: map[string]int{}}
	rows, err := s.DB().QueryContext(ctx, "SELECT id, reference, currency, state, amount_minor, released_minor, refunded_minor, version FROM payments")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p dbPayment
		if err := rows.Scan(&p.ID, &p.Reference, &p.Currency, &p.State, &p.Amount, &p.Released, &p.Refunded, &p.Version); err != nil {
			t.Fatal(err)
		}
		db.payments[p.ID] = p
		db.byRef[p.Reference] = append(db.byRef[p.Reference], p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	rows, err = s.DB().QueryContext(ctx, "SELECT payment_id, seq, type, amount_minor, reason FROM payment_events ORDER BY payment_id, seq")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var e dbEvent
		if err := rows.Scan(&e.PaymentID, &e.Seq, &e.Type, &e.Amount, &e.Reason); err != nil {
			t.Fatal(err)
		}
		db.events = append(db.events, e)
		if e.Type == eventAutoReleased {
			db.autoReleased[e.PaymentID]++
		}
		if e.Reason != "" {
			db.byReason[e.Reason] = append(db.byReason[e.Reason], e)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	rows, err = s.DB().QueryContext(ctx, "SELECT id, state FROM cycles")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var st string
		if err := rows.Scan(&id, &st); err != nil {
			t.Fatal(err)
		}
		db.cycles[id] = st
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	rows, err = s.DB().QueryContext(ctx, "SELECT action, object FROM audit_log WHERE action IN ('cycle.close', 'cycle.files')")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var action, target string
		if err := rows.Scan(&action, &target); err != nil {
			t.Fatal(err)
		}
		var id int64
		fmt.Sscan(target, &id)
		if action == "cycle.close" {
			db.closes[id]++
		} else {
			db.files[id]++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	return db
}

// eventAutoReleased is the event of a payment released by the worker.
const eventAutoReleased = "auto_released"

// eventTypes are the events each action may leave.
var eventTypes = map[string][]string{
	kindPartial: {"partially_released", "released"}, // a part equal to what is still held releases it all
	kindRelease: {"released"},
	kindDispute: {"disputed"},
	kindRefund:  {"refunded"},
	kindResolve: {"dispute_resolved_release", "dispute_resolved_refund"},
}

// checkEffects: every request answered 2xx had exactly one effect, every
// request answered 4xx none, and nothing else happened.
func (h *Harness) checkEffects(calls []*Call, db dbState, closed map[int64]bool) {
	explained := map[string]bool{}       // payment ids
	explainedEvents := map[string]bool{} // reasons
	closeAnswered := map[int64]bool{}
	stuckPayment := map[string]bool{}
	stuckRef := map[string]bool{}
	stuckCycle := map[int64]bool{}
	stuckEffects := 0
	for _, c := range calls {
		if c.stuck != "" {
			n := 0
			switch c.Kind {
			case kindHold:
				stuckRef[c.Key] = true
				n = len(db.byRef[c.Key])
				if c.UETR != "" {
					stuckPayment[c.UETR] = true
				}
			case kindFile:
				for _, tx := range c.FileTxs {
					stuckPayment[tx.UETR] = true
					if _, ok := db.payments[tx.UETR]; ok {
						n++
					}
				}
			case kindReclose:
			case kindClose:
				stuckCycle[c.Cycle] = true
				if closed[c.Cycle] {
					n = 1
				}
			default:
				stuckPayment[c.Payment] = true
				explainedEvents[c.Reason] = true
				n = len(db.byReason[c.Reason])
			}
			if n > 0 {
				stuckEffects++
				if stuckEffects <= shownPerCategory {
					h.t.Logf("stuck %s: the dead process made its effect (%d in the database) but the retry could not learn it", c, n)
				}
			}
			continue
		}
		if !c.answered {
			continue
		}
		yes := ok(c.ans)
		if c.ans.Status == http.StatusAccepted {
			h.problems.add("unexpected 202", "%s: %s", c, c.ans)
		}
		switch c.Kind {
		case kindHold:
			ps := db.byRef[c.Key]
			switch {
			case yes && len(ps) == 0:
				h.problems.add("lost", "%s was answered %s but no payment has its reference", c, c.ans)
			case yes && len(ps) > 1:
				h.problems.add("doubled", "%s made %d payments: %v", c, len(ps), ps)
			case yes:
				var p paymentJSON
				json.Unmarshal(c.ans.Body, &p)
				if ps[0].ID != p.ID || ps[0].Amount != c.Minor || ps[0].Currency != c.Currency || (c.UETR != "" && p.ID != c.UETR) {
					h.problems.add("wrong effect", "%s: answered payment %s, the database has %+v", c, p.ID, ps[0])
				}
				explained[ps[0].ID] = true
			case len(ps) > 0:
				h.problems.add("effect of a refused request", "%s was answered %s but payment %s carries its reference", c, c.ans, ps[0].ID)
				for _, p := range ps {
					explained[p.ID] = true
				}
			}
		case kindFile:
			var f fileAnswer
			if yes {
				json.Unmarshal(c.ans.Body, &f)
			}
			for _, tx := range c.FileTxs {
				p, held := db.payments[tx.UETR]
				status := ""
				for _, a := range f.Transactions {
					if a.UETR == tx.UETR {
						status = a.Status
					}
				}
				switch {
				case yes && status == "":
					h.problems.add("file answer lacks a transaction", "%s: no status for UETR %s", c, tx.UETR)
				case yes && status == "ACSP" && !held:
					h.problems.add("lost", "%s: transaction %s answered ACSP but there is no such payment", c, tx.UETR)
				case yes && status == "ACSP" && (p.Amount != tx.Minor || p.Currency != tx.Currency):
					h.problems.add("wrong effect", "%s: transaction %s of %s %s is a payment of %s %s", c, tx.UETR, money(tx.Minor), tx.Currency, money(p.Amount), p.Currency)
				case held && status != "ACSP":
					h.problems.add("effect of a refused request", "%s was answered %s, transaction %s %q, but payment %s exists", c, c.ans, tx.UETR, status, tx.UETR)
				}
				if held {
					explained[tx.UETR] = true
				}
			}
		case kindClose:
			if !yes {
				// The operator closing the open cycle is never refused.
				h.problems.add("close refused", "%s, closing the open cycle %d, was answered %s", c, c.Cycle, c.ans)
				if closed[c.Cycle] {
					h.problems.add("effect of a refused request", "%s was answered %s but cycle %d is closed", c, c.ans, c.Cycle)
				}
				continue
			}
			var cy cycleJSON
			json.Unmarshal(c.ans.Body, &cy)
			if cy.ID != c.Cycle {
				h.problems.add("doubled", "%s, closing cycle %d, was answered with cycle %d: a retry closed another cycle", c, c.Cycle, cy.ID)
			}
			closeAnswered[cy.ID] = true
			if !closed[cy.ID] {
				h.problems.add("lost", "%s was answered %s but cycle %d is not closed", c, c.ans, cy.ID)
			}
		case kindReclose:
			var cy cycleJSON
			json.Unmarshal(c.ans.Body, &cy)
			if !yes || cy.ID != c.Cycle || (cy.State != "closed" && cy.State != "settled") {
				h.problems.add("re-close not answered with the cycle", "%s, closing cycle %d again, was answered %s", c, c.Cycle, c.ans)
			}
		default:
			es := db.byReason[c.Reason]
			explainedEvents[c.Reason] = true
			switch {
			case yes && len(es) == 0:
				h.problems.add("lost", "%s was answered %s but no event has its reason", c, c.ans)
			case yes && len(es) > 1:
				h.problems.add("doubled", "%s left %d events: %+v", c, len(es), es)
			case yes:
				e := es[0]
				if e.PaymentID != c.Payment || !slices.Contains(eventTypes[c.Kind], e.Type) || (c.Kind == kindPartial && e.Amount != c.Minor) {
					h.problems.add("wrong effect", "%s: event %+v", c, e)
				}
			case len(es) > 0:
				h.problems.add("effect of a refused request", "%s was answered %s but left event %+v", c, c.ans, es[0])
			}
		}
	}
	if stuckEffects > 0 {
		h.t.Logf("%d stuck requests had taken effect before the kill", stuckEffects)
	}

	// Nothing happened that no answered request explains.
	for id, p := range db.payments {
		if !explained[id] && !stuckPayment[id] && !stuckRef[p.Reference] {
			h.problems.add("effect no request explains", "payment %s (reference %q) was made by no request answered 2xx", id, p.Reference)
		}
	}
	for _, e := range db.events {
		switch {
		case e.Reason == "" && (e.Type == "received" || e.Type == "held"):
		case e.Reason != "" && explainedEvents[e.Reason]:
		case e.Type == eventAutoReleased && h.cfg.SystemEffects:
		case stuckPayment[e.PaymentID]:
		default:
			h.problems.add("effect no request explains", "event %+v was made by no request of the client", e)
		}
	}
	for id, n := range db.autoReleased {
		if n > 1 {
			h.problems.add("auto-released twice", "payment %s has %d auto-release events", id, n)
		}
	}
	for id := range closed {
		if n := db.closes[id]; n != 1 {
			h.problems.add("cycle closed twice", "cycle %d has %d cycle.close audit entries", id, n)
		}
		if n := db.files[id]; n > 1 {
			h.problems.add("cycle files written twice", "cycle %d has %d cycle.files audit entries", id, n)
		}
		if !closeAnswered[id] && !stuckCycle[id] && !h.cfg.SystemEffects {
			h.problems.add("effect no request explains", "cycle %d is closed but no close was answered 2xx for it", id)
		}
	}
	for id, st := range db.cycles {
		if (st == "closed" || st == "settled") != closed[id] && st != "open" {
			h.problems.add("cycles disagree", "cycle %d is %s in the database", id, st)
		}
	}
	open := 0
	for _, st := range db.cycles {
		if st == "open" {
			open++
		}
	}
	if open != 1 {
		h.problems.add("cycles disagree", "%d open cycles", open)
	}
	if len(closed) != len(closeAnswered) && !h.cfg.SystemEffects {
		h.problems.add("closed cycles ≠ closes answered", "%d cycles closed, %d distinct closes answered 2xx", len(closed), len(closeAnswered))
	}
}

// checkPayments: each payment the client knows is, in the database, what
// the last answer about it said (every transition is answered to someone).
func (h *Harness) checkPayments(calls []*Call, db dbState) {
	touchedByStuck := map[string]bool{}
	for _, c := range calls {
		if c.stuck != "" && c.Payment != "" {
			touchedByStuck[c.Payment] = true
		}
	}
	for _, pm := range h.pool.all() {
		p, found := db.payments[pm.ID]
		switch {
		case !found:
			h.problems.add("lost", "payment %s (from %s) is not in the database", pm.ID, pm.Source)
		case touchedByStuck[pm.ID]:
		case db.autoReleased[pm.ID] > 0:
			// Released by the worker, whatever the client last heard.
			if p.State != "released" {
				h.problems.add("auto-released payment not released", "payment %s (from %s) was auto-released but is %s", pm.ID, pm.Source, p.State)
			}
		case p.Amount != pm.Minor || p.Version != pm.Version || p.State != pm.State || p.Amount-p.Released-p.Refunded != pm.Held:
			h.problems.add("payment differs from the last answer", "payment %s (from %s): the database has %s version %d holding %s, the last answer said %s version %d holding %s",
				pm.ID, pm.Source, p.State, p.Version, money(p.Amount-p.Released-p.Refunded), pm.State, pm.Version, money(pm.Held))
		}
	}
}

// checkEscrow: escrow holds, per currency, what the client's answers say
// is still held, which is also what the payments in the database hold.
func (h *Harness) checkEscrow(calls []*Call, l ledgerCheck, db dbState) {
	// A stuck request's effect is unknown to the client: its currency's
	// escrow is held to the database only.
	unknown := map[string]bool{}
	for _, c := range calls {
		if c.stuck != "" {
			unknown[c.Currency] = true
			for _, tx := range c.FileTxs {
				unknown[tx.Currency] = true
			}
		}
	}
	client := map[string]int64{}
	for _, pm := range h.pool.all() {
		if (pm.State == "held" || pm.State == "disputed") && db.autoReleased[pm.ID] == 0 {
			client[pm.Currency] += pm.Held
		}
	}
	inDB := map[string]int64{}
	for _, p := range db.payments {
		if p.State == "held" || p.State == "disputed" {
			inDB[p.Currency] += p.Amount - p.Released - p.Refunded
		}
	}
	seen := map[string]bool{}
	for _, c := range l.Currencies {
		seen[c.Currency] = true
		escrow := minor(h.t, c.EscrowBalance)
		// The ledger check is read while the servers run; the database after
		// they stopped. With the servers' own workers acting in between
		// (auto-release), each is held to its own moment's view.
		apiAgrees := escrow == minor(h.t, c.Held) && (h.cfg.SystemEffects || escrow == inDB[c.Currency])
		clientAgrees := unknown[c.Currency] || inDB[c.Currency] == client[c.Currency]
		if !apiAgrees || !clientAgrees {
			h.problems.add("escrow ≠ held", "%s: escrow balance %s, the ledger check's held %s, held payments in the database %s, the client's answers %s",
				c.Currency, c.EscrowBalance, c.Held, money(inDB[c.Currency]), money(client[c.Currency]))
		}
		if minor(h.t, c.Sum) != 0 || minor(h.t, c.Postings) != 0 {
			h.problems.add("ledger does not balance", "%s: balances sum to %s, postings to %s", c.Currency, c.Sum, c.Postings)
		}
	}
	for ccy, m := range client {
		if !seen[ccy] && m != 0 {
			h.problems.add("escrow ≠ held", "%s: the client holds %s, the ledger check has no such currency", ccy, money(m))
		}
	}
}

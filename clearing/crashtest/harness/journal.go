package harness

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The client's own record: every request it sent, with its key, and the
// answer it got, if any. The final checks hold the server to it.

// Request kinds.
const (
	kindHold    = "hold"
	kindPartial = "partial_release"
	kindRelease = "release"
	kindDispute = "dispute"
	kindRefund  = "refund"
	kindResolve = "resolve"
	kindFile    = "file"
	kindClose   = "close"
	kindReclose = "reclose" // closing a cycle already closed: its result again, no effect
)

// call is one request of the journal.
type Call struct {
	Seq         int
	Key         string // Idempotency-Key; unique in the run
	As          string // which API key sends it: "operator" or a bank's BIC
	Kind        string
	Method      string
	Path        string
	ContentType string
	Body        []byte

	Payment  string // the payment an action targets
	Reason   string // an action's reason: "crash <key>", the event it must leave
	Minor    int64  // a hold's or a partial release's amount
	Currency string
	UETR     string   // a hold's UETR, "" when the server makes one
	FileTxs  []fileTx // a file's transactions
	Cycle    int64    // the cycle a close closes
	Round    int      // the round it was first sent in

	// Guarded by the journal's mutex.
	answered   bool
	ans        Answer
	attempts   int
	unanswered int    // kills it was in flight for (or answered 5xx before)
	retried    bool   // answered by a retry after a restart
	replayedOn bool   // that answer was a replay: the request had taken effect before the kill
	stuck      string // why it never got an answer; "" if it did
	n503       int    // answers 503 (database unavailable)
	nOther5xx  int    // other 5xx answers: 500 internal, 502…, a 503 without Retry-After
	sentAt     time.Time
	answeredAt time.Time
}

// fileTx is one transaction of an uploaded pacs.008.
type fileTx struct {
	UETR, Merchant, Currency string
	Minor                    int64
}

// journal is every call, in the order they were made.
type journal struct {
	mu    sync.Mutex
	calls []*Call
	byKey map[string]*Call
}

func newJournal() *journal { return &journal{byKey: map[string]*Call{}} }

func (j *journal) add(c *Call) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.byKey[c.Key] != nil {
		panic("key used twice: " + c.Key)
	}
	c.Seq = len(j.calls)
	j.calls = append(j.calls, c)
	j.byKey[c.Key] = c
}

func (j *journal) has(key string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.byKey[key] != nil
}

// record notes an answer. 5xx answers and 409 request_in_progress are not
// answers: the request may or may not have run and must be retried.
func (j *journal) record(c *Call, a Answer) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	c.attempts++
	switch {
	case a.Status == 503 && a.RetryAfter != "":
		c.n503++
	case a.Status >= 500:
		c.nOther5xx++
	}
	if !final(a) {
		return false
	}
	c.answered, c.ans, c.answeredAt = true, a, time.Now()
	return true
}

func (j *journal) attempt(c *Call) {
	j.mu.Lock()
	c.attempts++
	j.mu.Unlock()
}

// pending are the calls without an answer and not given up on.
func (j *journal) pending() []*Call {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*Call
	for _, c := range j.calls {
		if !c.answered && c.stuck == "" {
			out = append(out, c)
		}
	}
	return out
}

func (j *journal) answered() []*Call {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*Call
	for _, c := range j.calls {
		if c.answered {
			out = append(out, c)
		}
	}
	return out
}

func (j *journal) snapshot() []*Call {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]*Call(nil), j.calls...)
}

// final reports whether a is the request's answer, to be replayed for ever.
func final(a Answer) bool {
	return a.Status < 500 && !inProgress(a)
}

func inProgress(a Answer) bool {
	return a.Status == 409 && errorCode(a.Body) == "request_in_progress"
}

func ok(a Answer) bool { return a.Status >= 200 && a.Status < 300 }

func errorCode(body []byte) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	json.Unmarshal(body, &e)
	return e.Error.Code
}

func (c *Call) String() string {
	s := fmt.Sprintf("%s %s %s (as %s", c.Key, c.Method, c.Path, c.As)
	if c.Payment != "" && !strings.Contains(c.Path, c.Payment) {
		s += ", payment " + c.Payment
	}
	return s + ")"
}

// paymentJSON is a payment as the API answers it.
type paymentJSON struct {
	ID          string `json:"id"`
	Reference   string `json:"reference"`
	BuyerBankID string `json:"buyer_bank_id"`
	MerchantID  string `json:"merchant_id"`
	Currency    string `json:"currency"`
	Amount      string `json:"amount"`
	Released    string `json:"released"`
	Refunded    string `json:"refunded"`
	Held        string `json:"held"`
	State       string `json:"state"`
	Version     int64  `json:"version"`
}

// fileAnswer is an upload's answer, as far as the checks read it.
type fileAnswer struct {
	File struct {
		MsgID    string `json:"msg_id"`
		Status   string `json:"status"`
		Accepted int    `json:"accepted"`
		Rejected int    `json:"rejected"`
	} `json:"file"`
	Transactions []struct {
		UETR      string `json:"uetr"`
		Status    string `json:"status"`
		PaymentID string `json:"payment_id"`
	} `json:"transactions"`
}

// cycleJSON is a cycle as the API answers it.
type cycleJSON struct {
	ID        int64  `json:"id"`
	State     string `json:"state"`
	Positions []struct {
		Participant string `json:"participant"`
		Currency    string `json:"currency"`
		Net         string `json:"net"`
	} `json:"positions"`
}

// minor parses an amount of a two-decimal currency (EUR, USD, GBP: all
// the test uses) into minor units. It may run on any goroutine, so a bad
// amount fails the test without stopping it.
func minor(t testing.TB, s string) int64 {
	t.Helper()
	neg := strings.HasPrefix(s, "-")
	digits := strings.TrimPrefix(s, "-")
	whole, frac, found := strings.Cut(digits, ".")
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if !found || len(frac) != 2 || err != nil {
		t.Errorf("amount %q: want a number with two decimals", s)
		return 0
	}
	if neg {
		n = -n
	}
	return n
}

func money(m int64) string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	return fmt.Sprintf("%s%d.%02d", sign, m/100, m%100)
}

// problems collects failures by category, so that a broken server shows
// the first few of each kind and how many there were, not thousands of
// lines.
type problems struct {
	t      testing.TB
	mu     sync.Mutex
	counts map[string]int
	order  []string
}

const shownPerCategory = 8

func newProblems(t testing.TB) *problems { return &problems{t: t, counts: map[string]int{}} }

func (p *problems) add(category, format string, args ...any) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counts[category] == 0 {
		p.order = append(p.order, category)
	}
	p.counts[category]++
	if p.counts[category] <= shownPerCategory {
		p.t.Errorf("%s: %s", category, fmt.Sprintf(format, args...))
	}
}

func (p *problems) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.counts {
		n += c
	}
	return n
}

func (p *problems) summary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, c := range p.order {
		fmt.Fprintf(&b, "\n  %-34s %d", c, p.counts[c])
	}
	return b.String()
}

package console

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
)

// The operator's pages: the overview, cycles and their netting picture,
// participants against their caps, payments, mailboxes.

// ageing are the escrow age buckets of the overview.
var ageing = []time.Duration{24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour}

var ageingLabels = []string{"under 1 day", "1–7 days", "7–14 days", "over 14 days"}

type currencyFigure struct {
	Currency string
	Gross    string
	Accounts int
	Escrow   string
	Payments int64
	Buckets  []bucketFigure // escrow by age bucket
}

type bucketFigure struct {
	Amount string
	Count  int64
}

type readiness struct {
	Database      string
	DatabaseOK    bool
	Signer        string
	SignerOK      bool
	Unsigned      int
	ReviewQueue   int
	ReviewWaiting string
}

type overviewData struct {
	Cycle      clearing.Cycle
	Currencies []currencyFigure
	Ageing     []string
	Ready      readiness
}

func (cs *console) overview(c *fiber.Ctx) error {
	ctx := c.UserContext()
	sc := cs.readScope(c)
	cy, err := cs.reads.CurrentCycle(ctx)
	if err != nil {
		return err
	}
	ps, err := sc.Positions(ctx)
	if err != nil {
		return err
	}
	escrow, err := cs.reads.EscrowAgeing(ctx, cs.cfg.Now(), ageing)
	if err != nil {
		return err
	}
	by := map[string]*currencyFigure{}
	fig := func(ccy string) *currencyFigure {
		if by[ccy] == nil {
			by[ccy] = &currencyFigure{Currency: ccy, Buckets: make([]bucketFigure, len(ageingLabels))}
		}
		return by[ccy]
	}
	gross, escrowSum := map[string]int64{}, map[string]int64{}
	for _, p := range ps {
		gross[p.Currency] += p.PaidMinor // every posting is paid by one account
		fig(p.Currency).Accounts++
	}
	for _, e := range escrow {
		f := fig(e.Currency)
		f.Payments += e.Count
		f.Buckets[e.Bucket] = bucketFigure{Amount: money(e.AmountMinor, e.Currency), Count: e.Count}
		escrowSum[e.Currency] += e.AmountMinor
	}
	d := overviewData{Cycle: cy, Ageing: ageingLabels, Ready: cs.readiness(ctx)}
	for ccy, f := range by {
		f.Gross, f.Escrow = money(gross[ccy], ccy), money(escrowSum[ccy], ccy)
		d.Currencies = append(d.Currencies, *f)
	}
	sort.Slice(d.Currencies, func(i, j int) bool { return d.Currencies[i].Currency < d.Currencies[j].Currency })
	return cs.render(c, "overview", page{Title: "Overview", Data: d})
}

// readiness is /readyz's figures, read the same way, plus the review queue.
func (cs *console) readiness(ctx context.Context) readiness {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	r := readiness{Database: cs.st.Engine() + ": answering", DatabaseOK: true}
	if err := cs.st.Ping(ctx); err != nil {
		r.Database, r.DatabaseOK = cs.st.Engine()+": not answering", false
	}
	switch h, err := cs.sealerHealth(ctx); {
	case err != nil:
		r.Signer = "unknown: " + err.Error()
	case h == nil:
		r.Signer = "no signer configured: files wait unsigned"
	case h.Degraded:
		r.Signer, r.Unsigned = "failing since "+formatTime(h.FailingSince)+": "+h.Error, h.Unsigned
	default:
		r.Signer, r.SignerOK, r.Unsigned = "signing", true, h.Unsigned
	}
	if n, oldest, err := cs.reads.ReviewQueue(ctx); err == nil {
		r.ReviewQueue = n
		if n > 0 {
			r.ReviewWaiting = formatTime(oldest)
		}
	}
	return r
}

type cycleRow struct {
	clearing.Cycle
	Currencies []clearing.CurrencyTotals
}

func (cs *console) cycles(c *fiber.Ctx) error {
	list, err := cs.reads.Cycles(c.UserContext(), 50)
	if err != nil {
		return err
	}
	return cs.render(c, "cycles", page{Title: "Cycles", Data: list})
}

type cycleData struct {
	Cycle    clearing.Cycle
	Pictures []nettingPicture
}

func (cs *console) cycle(c *fiber.Ctx) error {
	id, err := cycleID(c)
	if err != nil {
		return err
	}
	cy, err := cs.reads.Cycle(c.UserContext(), id)
	if err != nil {
		return err
	}
	d := cycleData{Cycle: cy}
	if cy.State != clearing.CycleOpen {
		corridors, err := cs.reads.CycleCorridors(c.UserContext(), id)
		if err != nil {
			return err
		}
		d.Pictures = nettingPictures(cy, corridors)
	}
	return cs.render(c, "cycle", page{Title: "Cycle " + strconv.FormatInt(id, 10), Active: "/cycles", Data: d})
}

// closeCycle closes a cycle by id, as POST /v1/cycles/{id}/close: closing
// a closed cycle shows it again, so a double submit closes nothing else.
func (cs *console) closeCycle(c *fiber.Ctx) error {
	id, err := cycleID(c)
	if err != nil {
		return err
	}
	cy, err := cs.st.CloseCycleByID(c.UserContext(), id, callerOf(c))
	if err != nil {
		return err
	}
	if cs.cfg.CycleFiles != nil && cs.cfg.CycleFiles.BuildClosed(c.UserContext(), cy.ID) {
		cs.kickSealer()
	}
	return c.Redirect(Prefix+"/cycles/"+strconv.FormatInt(cy.ID, 10), fiber.StatusSeeOther)
}

func cycleID(c *fiber.Ctx) (int64, error) {
	raw := c.Params("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, clearing.Errorf(clearing.NotFound, "cycle_not_found", "id", "no cycle %q", raw)
	}
	return id, nil
}

// capBar is one position against its net debit cap.
type capBar struct {
	Participant string
	Currency    string
	Net         string
	Cap         string
	Used        float64 // percent of the cap in debit, capped at 100 for the bar
	UsedText    string
	Level       string // ok, amber (past the alarm threshold), red (at or past the cap)
}

type participantsData struct {
	Participants []clearing.Participant
	Bars         []capBar
	Exposure     store.ExposureReport
}

func (cs *console) participants(c *fiber.Ctx) error {
	ctx := c.UserContext()
	sc := cs.readScope(c)
	f, err := sc.Participants()
	if err != nil {
		return err
	}
	ps, err := cs.reads.Participants(ctx, f)
	if err != nil {
		return err
	}
	pos, err := sc.Positions(ctx)
	if err != nil {
		return err
	}
	d := participantsData{Participants: ps}
	for _, p := range pos {
		if p.NetDebitCapMinor <= 0 {
			continue // the operator's own accounts have no cap
		}
		used := 0.0
		if p.NetMinor < 0 {
			used = 100 * float64(-p.NetMinor) / float64(p.NetDebitCapMinor)
		}
		level := "ok"
		switch {
		case used >= 100:
			level = "red"
		case p.AlarmThresholdPct > 0 && used >= float64(p.AlarmThresholdPct):
			level = "amber"
		}
		d.Bars = append(d.Bars, capBar{Participant: p.Participant, Currency: p.Currency, Net: money(p.NetMinor, p.Currency),
			Cap: money(p.NetDebitCapMinor, p.Currency), Used: min(used, 100), UsedText: strconv.FormatFloat(used, 'f', 1, 64) + "%", Level: level})
	}
	if d.Exposure, err = cs.reads.Exposures(ctx, f); err != nil {
		return err
	}
	title := "Participants"
	if callerOf(c).Role == bank {
		title = "Positions and caps"
	}
	return cs.render(c, "participants", page{Title: title, Data: d})
}

type paymentsData struct {
	Payments   []clearing.Payment
	Query      paymentQuery
	NextCursor string
	States     []clearing.State
	Now        time.Time
}

type paymentQuery struct {
	UETR, Reference, Bank, Merchant, State, Cursor string
}

// pageSize keeps a list one screen long; the rest is a click away.
const pageSize = 50

func (cs *console) payments(c *fiber.Ctx) error {
	ctx := c.UserContext()
	q := paymentQuery{UETR: strings.TrimSpace(c.Query("uetr")), Reference: strings.TrimSpace(c.Query("reference")), Bank: strings.TrimSpace(c.Query("bank")),
		Merchant: strings.TrimSpace(c.Query("merchant")), State: c.Query("state"), Cursor: c.Query("cursor")}
	if q.UETR != "" {
		return c.Redirect(Prefix+"/payments/"+q.UETR, fiber.StatusSeeOther)
	}
	sc := cs.readScope(c)
	f, ok, err := sc.Payments(q.Merchant)
	if err != nil {
		return err
	}
	d := paymentsData{Query: q, States: []clearing.State{clearing.Held, clearing.Disputed, clearing.Released, clearing.Refunded}, Now: cs.cfg.Now()}
	if q.Bank != "" {
		if callerOf(c).Role != operator && q.Bank != f.BankID {
			ok = false // a bank filtering for another bank sees nothing, as a merchant for another merchant
		}
		f.BankID = q.Bank
	}
	if ok {
		f.State, f.Reference, f.Limit, f.Cursor = clearing.State(q.State), q.Reference, pageSize, q.Cursor
		pg, err := cs.reads.Payments(ctx, f)
		if err != nil {
			return err
		}
		d.Payments, d.NextCursor = pg.Payments, pg.NextCursor
	}
	title := "Payments"
	if callerOf(c).Role == merchant {
		title = "Payments in escrow and after"
	}
	return cs.render(c, "payments", page{Title: title, Data: d})
}

type paymentData struct {
	Payment clearing.Payment
	Events  []clearing.Event
	Legs    []store.Leg
}

func (cs *console) payment(c *fiber.Ctx) error {
	p, events, legs, err := cs.readScope(c).PaymentDetail(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return cs.render(c, "payment", page{Title: "Payment " + p.ID, Active: "/payments", Data: paymentData{Payment: p, Events: events, Legs: legs}})
}

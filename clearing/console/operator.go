package console

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/console/i18n"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/regulator/merklelog"
)

// The operator's pages: the overview, cycles and their netting picture,
// participants against their caps, payments, mailboxes.

// ageing are the escrow age buckets of the overview.
var ageing = []time.Duration{24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour}

// ageingLabels are the buckets' headings (catalogue keys).
var ageingLabels = []string{"ageing.day", "ageing.week", "ageing.fortnight", "ageing.older"}

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
	Push          *pushReadiness    // nil without a push outbox
	Witnesses     *witnessReadiness // nil when no witness is configured
}

// pushReadiness is the regulator push backlog, per live endpoint.
type pushReadiness struct {
	OK        bool // nothing stuck on an error
	Error     string
	Endpoints []pushFigure
}

type pushFigure struct {
	Jurisdiction string
	Pending      int64
	Oldest       string // when the oldest undelivered report was made
	Error        string
}

// witnessReadiness is each witness's lag behind the latest checkpoint.
type witnessReadiness struct {
	OK             bool
	Error          string
	CheckpointSize uint64
	Witnesses      []witnessFigure
}

type witnessFigure struct {
	Name     string
	Size     uint64 // the size it last cosigned
	Lag      uint64 // leaves of the latest checkpoint it has not cosigned
	Cosigned string // its newest cosignature's time
	Error    string
}

type overviewData struct {
	Cycle      clearing.Cycle
	Currencies []currencyFigure
	Ageing     []string
	Ready      readiness
}

func (cs *console) overview(c *fiber.Ctx) error {
	ctx, l := c.UserContext(), localeOf(c)
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
		f.Buckets[e.Bucket] = bucketFigure{Amount: l.Money(e.AmountMinor, e.Currency), Count: e.Count}
		escrowSum[e.Currency] += e.AmountMinor
	}
	d := overviewData{Cycle: cy, Ageing: ageingLabels, Ready: cs.readiness(ctx, l)}
	for ccy, f := range by {
		f.Gross, f.Escrow = l.Money(gross[ccy], ccy), l.Money(escrowSum[ccy], ccy)
		d.Currencies = append(d.Currencies, *f)
	}
	sort.Slice(d.Currencies, func(i, j int) bool { return d.Currencies[i].Currency < d.Currencies[j].Currency })
	return cs.render(c, "overview", page{Title: l.T("title.overview"), Data: d})
}

// readiness is /readyz's figures, read the same way, plus the review queue.
func (cs *console) readiness(ctx context.Context, l *i18n.Locale) readiness {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	r := readiness{Database: l.T("ready.database_up", "engine", cs.st.Engine()), DatabaseOK: true}
	if err := cs.st.Ping(ctx); err != nil {
		r.Database, r.DatabaseOK = l.T("ready.database_down", "engine", cs.st.Engine()), false
	}
	switch h, err := cs.sealerHealth(ctx); {
	case err != nil:
		r.Signer = l.T("ready.unknown", "error", err)
	case h == nil:
		r.Signer = l.T("ready.no_signer")
	case h.Degraded:
		r.Signer, r.Unsigned = l.T("ready.signer_failing", "at", l.Time(h.FailingSince), "error", h.Error), h.Unsigned
	default:
		r.Signer, r.SignerOK, r.Unsigned = l.T("ready.signing"), true, h.Unsigned
	}
	if n, oldest, err := cs.reads.ReviewQueue(ctx); err == nil {
		r.ReviewQueue = n
		if n > 0 {
			r.ReviewWaiting = l.Time(oldest)
		}
	}
	r.Push, r.Witnesses = cs.pushReadiness(ctx, l), cs.witnessReadiness(ctx, l)
	return r
}

// pushReadiness reads the push outbox as /metrics does (push.Outbox's
// Endpoints): each live endpoint's undelivered reports and the oldest's age.
func (cs *console) pushReadiness(ctx context.Context, l *i18n.Locale) *pushReadiness {
	if cs.cfg.Push == nil {
		return nil
	}
	eps, err := cs.cfg.Push.Endpoints(ctx)
	if err != nil {
		return &pushReadiness{Error: l.T("ready.unknown", "error", err)}
	}
	r := &pushReadiness{OK: true}
	for _, e := range eps {
		if !e.RemovedAt.IsZero() {
			continue
		}
		f := pushFigure{Jurisdiction: e.Jurisdiction, Pending: e.Pending, Error: e.LastError}
		if !e.OldestPending.IsZero() {
			f.Oldest = l.Time(e.OldestPending)
		}
		r.OK = r.OK && e.LastError == ""
		r.Endpoints = append(r.Endpoints, f)
	}
	return r
}

// witnessReadiness reads the witnesses as /readyz does (the registry's
// List against the latest checkpoint); nil when none is configured.
func (cs *console) witnessReadiness(ctx context.Context, l *i18n.Locale) *witnessReadiness {
	if cs.cfg.Witnesses == nil {
		return nil
	}
	latest, err := merklelog.New(cs.st.DB()).LatestCheckpoint(ctx)
	if err != nil && !errors.Is(err, merklelog.ErrNoCheckpoint) {
		return &witnessReadiness{Error: l.T("ready.unknown", "error", err)}
	}
	ws, err := cs.cfg.Witnesses.List(ctx, latest.Size)
	if err != nil {
		return &witnessReadiness{Error: l.T("ready.unknown", "error", err)}
	}
	if len(ws) == 0 {
		return nil
	}
	r := &witnessReadiness{OK: true, CheckpointSize: latest.Size}
	for _, w := range ws {
		f := witnessFigure{Name: w.Name, Size: w.Size, Lag: w.LagSize, Error: w.LastError}
		if !w.CosignedAt.IsZero() {
			f.Cosigned = l.Time(w.CosignedAt)
		}
		r.OK = r.OK && w.LastError == ""
		r.Witnesses = append(r.Witnesses, f)
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
	return cs.render(c, "cycles", page{Title: localeOf(c).T("title.cycles"), Data: list})
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
		d.Pictures = nettingPictures(localeOf(c), cy, corridors)
	}
	return cs.render(c, "cycle", page{Title: localeOf(c).T("title.cycle", "id", id), Active: "/cycles", Data: d})
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
		return 0, fail(fiber.StatusNotFound, "error.cycle_not_found")
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
	ctx, l := c.UserContext(), localeOf(c)
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
		d.Bars = append(d.Bars, capBar{Participant: p.Participant, Currency: p.Currency, Net: l.Money(p.NetMinor, p.Currency),
			Cap: l.Money(p.NetDebitCapMinor, p.Currency), Used: min(used, 100), UsedText: strconv.FormatFloat(used, 'f', 1, 64) + "%", Level: level})
	}
	if d.Exposure, err = cs.reads.Exposures(ctx, f); err != nil {
		return err
	}
	title := l.T("title.participants")
	if callerOf(c).Role == bank {
		title = l.T("title.positions")
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
	title := localeOf(c).T("title.payments")
	if callerOf(c).Role == merchant {
		title = localeOf(c).T("title.merchant_payments")
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
	return cs.render(c, "payment", page{Title: localeOf(c).T("title.payment", "id", p.ID), Active: "/payments", Data: paymentData{Payment: p, Events: events, Legs: legs}})
}

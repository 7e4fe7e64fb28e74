package console

import (
	"sort"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
)

// The merchant's payouts: what each cycle paid it, in its own currency.

type payoutCycle struct {
	CycleID int64
	Count   int
	Amount  string
}

type payoutsData struct {
	Merchant clearing.Merchant
	Cycles   []payoutCycle
}

func (cs *console) payouts(c *fiber.Ctx) error {
	a := callerOf(c)
	m, err := cs.readScope(c).Merchant(c.UserContext(), a.Subject)
	if err != nil {
		return err
	}
	ps, err := cs.reads.Payouts(c.UserContext(), m.ID, 0)
	if err != nil {
		return err
	}
	sums, counts := map[int64]int64{}, map[int64]int{}
	for _, p := range ps {
		sums[p.CycleID] += p.AmountMinor
		counts[p.CycleID]++
	}
	d := payoutsData{Merchant: m}
	for id, sum := range sums {
		d.Cycles = append(d.Cycles, payoutCycle{CycleID: id, Count: counts[id], Amount: localeOf(c).Money(sum, m.Currency)})
	}
	sort.Slice(d.Cycles, func(i, j int) bool { return d.Cycles[i].CycleID > d.Cycles[j].CycleID })
	return cs.render(c, "payouts", page{Title: localeOf(c).T("title.payouts"), Data: d})
}

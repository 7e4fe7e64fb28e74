package console

import (
	"fmt"
	"sort"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/console/i18n"
	"github.com/crossclear/crossclear/clearing/store"
)

// The netting picture of one currency of a closed cycle: on the left each
// buyer's bank, on the right each merchant's bank, one band per corridor
// as wide as what was held between them (the gross obligations); beside
// it the net positions every bank actually settles, and the netting
// efficiency. Laid out here, drawn as SVG by the template: no script.

type nettingPicture struct {
	Currency   string
	Gross      string
	Settlement string
	Efficiency string // percent
	Height     int
	Left       []flowNode
	Right      []flowNode
	Bands      []flowBand
	Positions  []netRow
}

type flowNode struct {
	Bank    string
	Amount  string
	Y, H    float64 // top and height of its bar
	LabelY  float64
	LabelX  float64
	AnchorX float64
}

type flowBand struct {
	Path  string // an SVG path: a filled ribbon between the two bars
	Title string
}

type netRow struct {
	Participant string
	Paid        string
	Received    string
	Net         string
	Debit       bool
	Width       float64 // of the bar, in percent of the largest |net|
}

const (
	pictureWidth = 640.0
	barX0        = 170.0 // left bars' x
	barX1        = 460.0 // right bars' x
	barW         = 10.0
	gap          = 8.0
	span         = 360.0 // the height the amounts share
)

func nettingPictures(l *i18n.Locale, cy clearing.Cycle, corridors []store.CorridorVolume) []nettingPicture {
	if cy.Result == nil {
		return nil
	}
	var out []nettingPicture
	for _, t := range cy.Result.Currencies {
		p := nettingPicture{Currency: t.Currency, Gross: l.Money(t.GrossMinor, t.Currency), Settlement: l.Money(t.SettlementMinor, t.Currency),
			Efficiency: t.NettingEfficiency.Shift(2).StringFixed(2)}
		var cs []store.CorridorVolume
		for _, c := range corridors {
			if c.Currency == t.Currency && c.AmountMinor > 0 {
				cs = append(cs, c)
			}
		}
		layoutFlows(l, &p, cs)
		var maxNet int64
		for _, np := range cy.Result.Positions {
			if np.Currency == t.Currency {
				maxNet = max(maxNet, abs(np.NetMinor))
			}
		}
		for _, np := range cy.Result.Positions {
			if np.Currency != t.Currency || np.Participant == clearing.EscrowAccount && np.NetMinor == 0 {
				continue
			}
			w := 0.0
			if maxNet > 0 {
				w = 100 * float64(abs(np.NetMinor)) / float64(maxNet)
			}
			p.Positions = append(p.Positions, netRow{Participant: np.Participant, Paid: l.Money(np.PaidMinor, np.Currency),
				Received: l.Money(np.ReceivedMinor, np.Currency), Net: l.Money(np.NetMinor, np.Currency), Debit: np.NetMinor < 0, Width: w})
		}
		out = append(out, p)
	}
	return out
}

func layoutFlows(l *i18n.Locale, p *nettingPicture, cs []store.CorridorVolume) {
	left, right := map[string]int64{}, map[string]int64{}
	var total int64
	for _, c := range cs {
		left[c.BuyerBank] += c.AmountMinor
		right[c.MerchantBank] += c.AmountMinor
		total += c.AmountMinor
	}
	if total == 0 {
		p.Height = 40
		return
	}
	scale := span / float64(total)
	place := func(sums map[string]int64, x float64, labelLeft bool) (map[string]*flowNode, []flowNode) {
		banks := make([]string, 0, len(sums))
		for b := range sums {
			banks = append(banks, b)
		}
		sort.Slice(banks, func(i, j int) bool {
			return sums[banks[i]] > sums[banks[j]] || sums[banks[i]] == sums[banks[j]] && banks[i] < banks[j]
		})
		at := map[string]*flowNode{}
		nodes := make([]flowNode, len(banks))
		y := 10.0
		for i, b := range banks {
			h := max(float64(sums[b])*scale, 2)
			n := flowNode{Bank: b, Amount: l.Money(sums[b], p.Currency), Y: y, H: h, LabelY: y + h/2 + 4, AnchorX: x}
			if labelLeft {
				n.LabelX = x - 6
			} else {
				n.LabelX = x + barW + 6
			}
			nodes[i] = n
			y += h + gap
		}
		for i := range nodes {
			at[nodes[i].Bank] = &nodes[i]
		}
		p.Height = max(p.Height, int(y)+10)
		return at, nodes
	}
	lAt, lNodes := place(left, barX0, true)
	rAt, rNodes := place(right, barX1, false)
	// Bands leave each left bar top-down in the order of the right bars,
	// so that they cross as little as the order allows.
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.BuyerBank != b.BuyerBank {
			return lAt[a.BuyerBank].Y < lAt[b.BuyerBank].Y
		}
		return rAt[a.MerchantBank].Y < rAt[b.MerchantBank].Y
	})
	lUsed, rUsed := map[string]float64{}, map[string]float64{}
	var byRight []int
	for i := range cs {
		byRight = append(byRight, i)
	}
	sort.SliceStable(byRight, func(i, j int) bool {
		a, b := cs[byRight[i]], cs[byRight[j]]
		if a.MerchantBank != b.MerchantBank {
			return rAt[a.MerchantBank].Y < rAt[b.MerchantBank].Y
		}
		return lAt[a.BuyerBank].Y < lAt[b.BuyerBank].Y
	})
	rTop := make([]float64, len(cs))
	for _, i := range byRight {
		c := cs[i]
		rTop[i] = rAt[c.MerchantBank].Y + rUsed[c.MerchantBank]
		rUsed[c.MerchantBank] += float64(c.AmountMinor) * scale
	}
	for i, c := range cs {
		h := float64(c.AmountMinor) * scale
		y0 := lAt[c.BuyerBank].Y + lUsed[c.BuyerBank]
		lUsed[c.BuyerBank] += h
		y1 := rTop[i]
		x0, x1 := barX0+barW, barX1
		mid := (x0 + x1) / 2
		path := fmt.Sprintf("M%.1f %.1f C%.1f %.1f %.1f %.1f %.1f %.1f L%.1f %.1f C%.1f %.1f %.1f %.1f %.1f %.1f Z",
			x0, y0, mid, y0, mid, y1, x1, y1, x1, y1+h, mid, y1+h, mid, y0+h, x0, y0+h)
		p.Bands = append(p.Bands, flowBand{Path: path, Title: l.T("cycle.band", "from", c.BuyerBank, "to", c.MerchantBank, "amount", l.Money(c.AmountMinor, c.Currency), "n", c.Count)})
	}
	p.Left, p.Right = lNodes, rNodes
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

package compliance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/fx"
)

// Rates finds the rate book's mid rate from one currency into another.
type Rates func(from, to string) (decimal.Decimal, error)

// convert turns a into currency to at the mid rate, rounding up or down.
func convert(a fx.Amount, to string, rates Rates, up bool) (fx.Amount, error) {
	if a.Currency.Code == to {
		return a, nil
	}
	cur, err := fx.LookupCurrency(to)
	if err != nil {
		return fx.Amount{}, err
	}
	if rates == nil {
		return fx.Amount{}, fmt.Errorf("no %s/%s rate: no rate book", a.Currency.Code, to)
	}
	rate, err := rates(a.Currency.Code, to)
	if err != nil {
		return fx.Amount{}, err
	}
	v := a.Decimal().Mul(rate)
	if up {
		return cur.RoundUp(v)
	}
	return cur.RoundDown(v)
}

// amlRun checks one batch of payments against the AML rules. History
// comes from the store in one call for the whole batch; the batch's own
// earlier payments (those not rejected) are added to it as it goes, so
// that ten payments just under the threshold sent in one batch are seen
// as ten.
type amlRun struct {
	rules   *Rules
	rates   Rates
	ps      []Payment
	base    []fx.Amount // each payment in the base currency; zero Currency when unknown
	baseErr []error
	asked   map[HistoryQuery]int // → index in acts
	acts    []Activity
	earlier []int // payments of the batch decided so far and not rejected
}

func (r *Rules) start(ctx context.Context, ps []Payment, h History, rates Rates) (*amlRun, error) {
	a := &amlRun{rules: r, rates: rates, ps: ps, base: make([]fx.Amount, len(ps)), baseErr: make([]error, len(ps)), asked: map[HistoryQuery]int{}}
	var qs []HistoryQuery
	ask := func(q HistoryQuery) {
		if _, ok := a.asked[q]; !ok {
			a.asked[q] = len(qs)
			qs = append(qs, q)
		}
	}
	for i, p := range ps {
		a.baseErr[i] = errNoAmountRule
		if r.needsAmount(p) {
			a.base[i], a.baseErr[i] = convert(p.Amount, r.BaseCurrency, rates, true)
		}
		for _, j := range jurisdictions(p) {
			set := r.For(j)
			if s := set.Structuring; s != nil && a.baseErr[i] == nil {
				if lo, hi, ok := a.band(s); ok && a.base[i].Minor >= lo && a.base[i].Minor < hi {
					for _, k := range []KeyKind{PayerKey, PayeeKey} {
						if key := p.Keys[k]; key != "" {
							ask(HistoryQuery{Kind: k, Key: key, Since: p.At.Add(-s.Window.Duration), BandLow: lo, BandHigh: hi})
						}
					}
				}
			}
			for _, v := range set.Velocity {
				if key := p.Keys[v.Party]; key != "" {
					ask(HistoryQuery{Kind: v.Party, Key: key, Since: p.At.Add(-v.Window.Duration)})
				}
			}
		}
	}
	if len(qs) > 0 {
		if h == nil {
			return nil, fmt.Errorf("AML rules need the payment history, and none was given")
		}
		acts, err := h.Activity(ctx, qs)
		if err != nil {
			return nil, fmt.Errorf("payment history for the AML rules: %w", err)
		}
		if len(acts) != len(qs) {
			return nil, fmt.Errorf("payment history answered %d of %d queries", len(acts), len(qs))
		}
		a.acts = acts
	}
	return a, nil
}

// errNoAmountRule marks a payment no rule needs in the base currency:
// it is not converted (and needs no rate).
var errNoAmountRule = errors.New("no rule compares amounts")

// needsAmount reports whether a rule that applies to p compares amounts.
func (r *Rules) needsAmount(p Payment) bool {
	for _, j := range jurisdictions(p) {
		set := r.For(j)
		if set.LargeValue != nil || set.Structuring != nil || set.TravelRule != nil {
			return true
		}
		for _, v := range set.Velocity {
			if v.MaxAmount != nil {
				return true
			}
		}
	}
	return false
}

// jurisdictions whose rules apply to p, each once.
func jurisdictions(p Payment) []string {
	var out []string
	for _, j := range p.Jurisdictions {
		if j != "" && !slices.Contains(out, j) {
			out = append(out, j)
		}
	}
	if len(out) == 0 {
		out = []string{""} // the default rules
	}
	return out
}

// threshold is m in the base currency, rounded down.
func (a *amlRun) threshold(m Money) (fx.Amount, error) {
	return convert(m.Amount, a.rules.BaseCurrency, a.rates, false)
}

// band is a structuring rule's [lo, hi) in base minor units.
func (a *amlRun) band(s *StructuringRule) (lo, hi int64, ok bool) {
	t, err := a.threshold(s.Threshold)
	if err != nil {
		return 0, 0, false
	}
	lo = decimal.NewFromInt(t.Minor).Mul(s.Band).Floor().IntPart()
	return lo, t.Minor, true
}

// activity is the history's answer to q plus the batch's earlier payments.
func (a *amlRun) activity(q HistoryQuery) Activity {
	var act Activity
	if k, ok := a.asked[q]; ok {
		act = a.acts[k]
	}
	for _, j := range a.earlier {
		e := a.ps[j]
		if e.Keys[q.Kind] != q.Key || e.At.Before(q.Since) {
			continue
		}
		act.Count++
		if a.baseErr[j] == nil {
			b := a.base[j].Minor
			act.BaseMinor += b
			if q.BandHigh > 0 && b >= q.BandLow && b < q.BandHigh {
				act.InBand++
			}
		}
	}
	return act
}

// decide adds payment i's AML reasons to d, then remembers the payment
// for the rest of the batch unless it is rejected.
func (a *amlRun) decide(i int, d *Decision) {
	p := a.ps[i]
	if err := a.baseErr[i]; err != nil && err != errNoAmountRule {
		d.add(Reason{Code: CodeRateUnavailable, Outcome: Review, ISOReason: ISORegulatory,
			Message: fmt.Sprintf("%s cannot be converted into %s to check the AML thresholds: %v", p.Amount, a.rules.BaseCurrency, err)})
	} else if err == nil {
		d.Base = a.base[i]
	}
	for _, j := range jurisdictions(p) {
		a.check(i, j, a.rules.For(j), d)
	}
	if d.Outcome != Reject {
		a.earlier = append(a.earlier, i)
	}
}

func (a *amlRun) check(i int, j string, set RuleSet, d *Decision) {
	p, known := a.ps[i], a.baseErr[i] == nil
	base := a.base[i]
	who := j
	if who == "" {
		who = "the default"
	}
	flag := func(code string, act Action, iso string, role Role, format string, args ...any) {
		d.add(Reason{Code: code, Outcome: act.outcome(), Role: role, Jurisdiction: j, ISOReason: iso, Message: fmt.Sprintf(format, args...)})
	}
	if r := set.LargeValue; r != nil && known {
		if t, err := a.threshold(r.Threshold); err == nil && base.Minor >= t.Minor {
			flag(CodeLargeValue, r.Action, ISORegulatory, "", "%s is at or above %s's large-value threshold of %s", base, who, t)
		}
	}
	if r := set.Structuring; r != nil && known {
		if lo, hi, ok := a.band(r); ok && base.Minor >= lo && base.Minor < hi {
			for _, k := range []KeyKind{PayerKey, PayeeKey} {
				key := p.Keys[k]
				if key == "" {
					continue
				}
				n := a.activity(HistoryQuery{Kind: k, Key: key, Since: p.At.Add(-r.Window.Duration), BandLow: lo, BandHigh: hi}).InBand + 1
				if n >= r.MinCount {
					cur := base.Currency
					flag(CodeStructuring, r.Action, ISORegulatory, "", "%d payments in [%s, %s) %s by one %s within %s, this one included (%s's structuring rule: %d)",
						n, cur.FromMinor(lo).Value(), cur.FromMinor(hi).Value(), cur.Code, k, r.Window.Duration, who, r.MinCount)
				}
			}
		}
	}
	for _, r := range set.Velocity {
		key := p.Keys[r.Party]
		if key == "" {
			continue
		}
		act := a.activity(HistoryQuery{Kind: r.Party, Key: key, Since: p.At.Add(-r.Window.Duration)})
		if r.MaxCount > 0 && act.Count+1 > r.MaxCount {
			flag(CodeVelocity, r.Action, ISORegulatory, "", "%d payments by one %s within %s, this one included: more than %s's limit of %d", act.Count+1, r.Party, r.Window.Duration, who, r.MaxCount)
		}
		if r.MaxAmount != nil && known {
			if limit, err := a.threshold(*r.MaxAmount); err == nil && act.BaseMinor+base.Minor > limit.Minor {
				flag(CodeVelocity, r.Action, ISORegulatory, "", "%s by one %s within %s, this one included: more than %s's limit of %s",
					base.Currency.FromMinor(act.BaseMinor+base.Minor), r.Party, r.Window.Duration, who, limit)
			}
		}
	}
	if r := set.HighRisk; r != nil {
		seen := map[string]bool{}
		for _, party := range p.Parties {
			if party.Country == "" || seen[string(party.Role)+party.Country] {
				continue
			}
			seen[string(party.Role)+party.Country] = true
			list, name, ok := a.rules.fatf.Lookup(party.Country)
			if !ok {
				continue
			}
			act := r.IncreasedMonitoring
			if list == FATFCallForAction {
				act = r.CallForAction
			}
			flag(CodeHighRisk, act, ISORegulatory, party.Role, "the %s is in %s (%s), on FATF's %s list (%s)",
				strings.ReplaceAll(string(party.Role), "_", " "), name, party.Country, strings.ReplaceAll(list, "_", " "), a.rules.fatf.Name)
		}
	}
	if r := set.TravelRule; r != nil && known && p.CrossBorder() {
		if t, err := a.threshold(r.Threshold); err == nil && base.Minor >= t.Minor {
			if missing, iso := travelRuleGaps(p); len(missing) > 0 {
				flag(CodeTravelRule, r.Action, iso, "", "cross-border payment of %s (at or above %s's travel-rule threshold of %s) lacks %s",
					base, who, t, strings.Join(missing, ", "))
			}
		}
	}
}

// travelRuleGaps lists what FATF Recommendation 16 asks of a payment and
// it lacks, with the ISO reason for the first gap.
func travelRuleGaps(p Payment) (missing []string, iso string) {
	note := func(what, code string) {
		if iso == "" {
			iso = code
		}
		missing = append(missing, what)
	}
	d, _ := p.Party(Debtor)
	if strings.TrimSpace(d.Name) == "" {
		note("the originator's name", ISOMissingDebtorName)
	}
	if strings.TrimSpace(d.Account) == "" {
		note("the originator's account", ISOMissingDebtorID)
	}
	if d.Address == "" && d.ID == "" && (d.BirthDate == "" || d.BirthPlace == "") {
		note("the originator's address, national identifier or date and place of birth", ISOMissingDebtorID)
	}
	c, _ := p.Party(Creditor)
	if strings.TrimSpace(c.Name) == "" {
		note("the beneficiary's name", ISOMissingCreditorAny)
	}
	if strings.TrimSpace(c.Account) == "" {
		note("the beneficiary's account", ISOMissingCreditorAny)
	}
	return missing, iso
}

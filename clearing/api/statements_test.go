package api_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// What merchants see of their money: payouts per closed cycle with the
// payments each covers, and statements of every release in a period.

type settlementList struct {
	MerchantID, Currency, NextCursor string
	Settlements                      []struct {
		CycleID                           int64
		State, ClosedAt, BankID, Currency string
		Amount                            string
		CycleSettledAt, BankSettledAt     *string
		Payments                          []struct {
			PaymentID, EndToEndID, Reference, Amount, ReleasedAt string
			Releases                                             int
		}
	}
}

func eur(t *testing.T, s string) int64 {
	t.Helper()
	a, err := fx.ParseAmount(s, "EUR")
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	return a.Minor
}

// merchantMoneyWorld books, for the German merchant (EUR at DEUTDEFF):
// cycle 1 releases p1 (100.00) whole, 15.00 of p2 (40.00) and 300.00 of a
// cross-currency payment (1,000.00 SGD → 679.02 EUR); cycle 2 the rest of
// p2 (25.00) and of the FX payment (379.02); the open cycle 3 10.00 of p3
// (60.00), the rest of which stays held. DEUTDEFF's EUR position of cycle
// 1 is settled.
func merchantMoneyWorld(t *testing.T, e *env) (p1, p2, p3, pfx payment) {
	t.Helper()
	e.postProviderRates()
	p1, p2, p3 = e.holdSGtoDE("100.00"), e.holdSGtoDE("40.00"), e.holdSGtoDE("60.00")
	pfx = e.hold(e.bankSG, map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "1000.00", "currency": "SGD", "reference": `order "7", a, b`})
	if pfx.Amount != "679.02" || pfx.Currency != "EUR" {
		t.Fatalf("FX payment %+v", pfx)
	}
	e.act(e.bankSG, p1.ID, "release", nil)
	e.act(e.bankSG, p2.ID, "release", map[string]any{"amount": "15.00"})
	e.act(e.bankSG, pfx.ID, "release", map[string]any{"amount": "300.00"})
	e.must(http.StatusOK, e.op, "POST", "/v1/cycles/1/close", nil)
	e.act(e.bankSG, p2.ID, "release", nil)
	e.act(e.bankSG, pfx.ID, "release", nil)
	e.must(http.StatusOK, e.op, "POST", "/v1/cycles/2/close", nil)
	e.act(e.bankSG, p3.ID, "release", map[string]any{"amount": "10.00"})
	e.must(http.StatusOK, e.op, "POST", "/v1/cycles/1/settlements", map[string]any{"participant": deBank, "currency": "EUR"})
	return p1, p2, p3, pfx
}

func TestMerchantSettlements(t *testing.T) {
	eachEngineFX(t, func(t *testing.T, e *env) {
		mer := e.w.Merchants[0].ID
		p1, p2, _, pfx := merchantMoneyWorld(t, e)

		r := e.must(http.StatusOK, e.merDE, "GET", "/v1/merchants/"+mer+"/settlements", nil)
		conformsTo(t, r, "SettlementList")
		var got settlementList
		r.into(t, &got)
		if got.MerchantID != mer || got.Currency != "EUR" || got.NextCursor != "" || len(got.Settlements) != 2 {
			t.Fatalf("settlements %s", r.Body)
		}
		c2, c1 := got.Settlements[0], got.Settlements[1]
		if c2.CycleID != 2 || c1.CycleID != 1 {
			t.Fatalf("want cycles 2, 1 (the open cycle 3 is no payout yet): %s", r.Body)
		}
		type line struct {
			id, amount string
			releases   int
		}
		wantPayments := func(name string, s struct {
			CycleID                           int64
			State, ClosedAt, BankID, Currency string
			Amount                            string
			CycleSettledAt, BankSettledAt     *string
			Payments                          []struct {
				PaymentID, EndToEndID, Reference, Amount, ReleasedAt string
				Releases                                             int
			}
		}, want ...line) {
			t.Helper()
			var sum int64
			var have []line
			for _, p := range s.Payments {
				sum += eur(t, p.Amount)
				have = append(have, line{p.PaymentID, p.Amount, p.Releases})
				if _, err := time.Parse(time.RFC3339Nano, p.ReleasedAt); err != nil {
					t.Fatalf("%s: payment %+v", name, p)
				}
			}
			if sum != eur(t, s.Amount) || s.Currency != "EUR" || s.BankID != deBank {
				t.Fatalf("%s: payout %s %s at %s, its payments add up to %d", name, s.Amount, s.Currency, s.BankID, sum)
			}
			if len(have) != len(want) {
				t.Fatalf("%s: payments %+v, want %+v", name, have, want)
			}
			for _, w := range want {
				found := false
				for _, h := range have {
					found = found || h == w
				}
				if !found {
					t.Fatalf("%s: payments %+v, want %+v", name, have, want)
				}
			}
		}
		wantPayments("cycle 1", c1, line{p1.ID, "100.00", 1}, line{p2.ID, "15.00", 1}, line{pfx.ID, "300.00", 1})
		wantPayments("cycle 2", c2, line{p2.ID, "25.00", 1}, line{pfx.ID, "379.02", 1})
		if c1.Amount != "415.00" || c2.Amount != "404.02" {
			t.Fatalf("payouts %s and %s", c1.Amount, c2.Amount)
		}
		// Cycle 1: DEUTDEFF's position settled (the SG bank's not yet, so
		// the cycle is closed); cycle 2: nothing settled.
		if c1.State != "closed" || c1.BankSettledAt == nil || c1.CycleSettledAt != nil || c2.State != "closed" || c2.BankSettledAt != nil {
			t.Fatalf("states %s", r.Body)
		}

		// The payouts per cycle are the releases the payout listing shows.
		var payouts struct {
			Payouts []struct {
				Amount  string
				CycleID int64
			}
		}
		e.must(http.StatusOK, e.op, "GET", "/v1/merchants/"+mer+"/payouts", nil).into(t, &payouts)
		perCycle := map[int64]int64{}
		for _, p := range payouts.Payouts {
			perCycle[p.CycleID] += eur(t, p.Amount)
		}
		if perCycle[1] != eur(t, c1.Amount) || perCycle[2] != eur(t, c2.Amount) || perCycle[3] != 1000 {
			t.Fatalf("payouts per cycle %v, settlements %s / %s", perCycle, c1.Amount, c2.Amount)
		}

		// Once every position of cycle 1 is settled the cycle is.
		var cyc struct {
			Positions []struct {
				Participant, Currency, Net string
				SettledAt                  *string
			}
		}
		e.must(http.StatusOK, e.op, "GET", "/v1/cycles/1", nil).into(t, &cyc)
		for _, p := range cyc.Positions {
			if p.SettledAt == nil && p.Net != "0.00" && p.Net != "0" {
				e.must(http.StatusOK, e.op, "POST", "/v1/cycles/1/settlements", map[string]any{"participant": p.Participant, "currency": p.Currency})
			}
		}
		e.must(http.StatusOK, e.bankDE, "GET", "/v1/merchants/"+mer+"/settlements?cursor=2", nil).into(t, &got)
		if len(got.Settlements) != 1 || got.Settlements[0].State != "settled" || got.Settlements[0].CycleSettledAt == nil || got.NextCursor != "" {
			t.Fatalf("after settling cycle 1: %+v", got)
		}

		// Keyset pages by cycle.
		e.must(http.StatusOK, e.op, "GET", "/v1/merchants/"+mer+"/settlements?limit=1", nil).into(t, &got)
		if len(got.Settlements) != 1 || got.Settlements[0].CycleID != 2 || got.NextCursor != "2" {
			t.Fatalf("page 1: %+v", got)
		}
		e.must(http.StatusOK, e.op, "GET", "/v1/merchants/"+mer+"/settlements?limit=1&cursor="+got.NextCursor, nil).into(t, &got)
		if len(got.Settlements) != 1 || got.Settlements[0].CycleID != 1 || got.NextCursor != "" {
			t.Fatalf("page 2: %+v", got)
		}
		wantError(t, e.call(e.op, "GET", "/v1/merchants/"+mer+"/settlements?cursor=abc", nil), http.StatusUnprocessableEntity, "invalid_cursor", "cursor")
		wantError(t, e.call(e.op, "GET", "/v1/merchants/"+mer+"/settlements?limit=101", nil), http.StatusUnprocessableEntity, "invalid_limit", "limit")

		// Who sees them: the merchant, its bank, the operator, its bank's regulator.
		for _, key := range []string{e.op, e.bankDE, e.regDE} {
			e.must(http.StatusOK, key, "GET", "/v1/merchants/"+mer+"/settlements", nil)
		}
		for _, key := range []string{e.merSG, e.merUS, e.bankUS, e.bankSG, e.regSG} {
			wantError(t, e.call(key, "GET", "/v1/merchants/"+mer+"/settlements", nil), http.StatusNotFound, "merchant_not_found", "id")
		}
		wantError(t, e.call(e.fxp, "GET", "/v1/merchants/"+mer+"/settlements", nil), http.StatusForbidden, "forbidden", "")
		// Another merchant has its own, here none.
		e.must(http.StatusOK, e.merSG, "GET", "/v1/merchants/"+e.w.Merchants[1].ID+"/settlements", nil).into(t, &got)
		if len(got.Settlements) != 0 || got.Currency != "SGD" {
			t.Fatalf("SG merchant: %+v", got)
		}
	})
}

func TestMerchantStatement(t *testing.T) {
	eachEngineFX(t, func(t *testing.T, e *env) {
		mer := e.w.Merchants[0].ID
		p1, p2, p3, pfx := merchantMoneyWorld(t, e)
		today := time.Now().UTC()
		period := "from=" + today.AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + today.AddDate(0, 0, 1).Format(time.DateOnly)
		base := "/v1/merchants/" + mer + "/statement?" + period

		r := e.must(http.StatusOK, e.merDE, "GET", base+"&format=csv", nil)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("Content-Type %q", ct)
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=") || !strings.Contains(cd, ".csv") {
			t.Fatalf("Content-Disposition %q", cd)
		}
		rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatalf("CSV: %v\n%s", err, r.Body)
		}
		if strings.Join(rows[0], ",") != "booked_at,cycle_id,payment_id,end_to_end_id,reference,currency,amount,running_total" {
			t.Fatalf("header %v", rows[0])
		}
		rows = rows[1:]
		want := []struct {
			id, amount string
			cycle      int64
		}{{p1.ID, "100.00", 1}, {p2.ID, "15.00", 1}, {pfx.ID, "300.00", 1}, {p2.ID, "25.00", 2}, {pfx.ID, "379.02", 2}, {p3.ID, "10.00", 3}}
		if len(rows) != len(want) {
			t.Fatalf("%d rows, want %d:\n%s", len(rows), len(want), r.Body)
		}
		var total int64
		for i, row := range rows {
			total += eur(t, row[6])
			if row[2] != want[i].id || row[6] != want[i].amount || row[1] != strconv.FormatInt(want[i].cycle, 10) || row[5] != "EUR" ||
				eur(t, row[7]) != total {
				t.Fatalf("row %d: %v, want %+v with running total %d", i, row, want[i], total)
			}
			if row[2] == pfx.ID && row[4] != `order "7", a, b` {
				t.Fatalf("reference not round-tripped: %q", row[4])
			}
		}
		if total != eur(t, "829.02") {
			t.Fatalf("total %d", total)
		}
		if !bytes.Contains(r.Body, []byte(`"order ""7"", a, b"`)) || !bytes.HasSuffix(r.Body, []byte("\r\n")) {
			t.Fatalf("not RFC 4180:\n%s", r.Body)
		}
		// The default format is CSV; a period without releases is the header alone.
		if d := e.must(http.StatusOK, e.op, "GET", base, nil); !bytes.Equal(d.Body, r.Body) {
			t.Fatalf("default format:\n%s", d.Body)
		}
		empty := e.must(http.StatusOK, e.op, "GET", "/v1/merchants/"+mer+"/statement?from=2020-01-01&to=2020-01-31", nil)
		if rows, err := csv.NewReader(bytes.NewReader(empty.Body)).ReadAll(); err != nil || len(rows) != 1 {
			t.Fatalf("empty period: %v %q", err, empty.Body)
		}

		x := e.must(http.StatusOK, e.bankDE, "GET", base+"&format=camt053", nil)
		if cd := x.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=") || !strings.HasSuffix(cd, `.xml"`) {
			t.Fatalf("Content-Disposition %q", cd)
		}
		isotest.SchemaValid(t, iso.Camt053v08, x.Body)
		if n := bytes.Count(x.Body, []byte("<Ntry>")); n != len(want) {
			t.Fatalf("%d entries\n%s", n, x.Body)
		}
		for _, s := range []string{`<Ccy>EUR</Ccy>`, `<Cd>CLBD</Cd>`, `>829.02</Amt>`, `<Cd>OPBD</Cd>`, `>0.00</Amt>`, `<UETR>` + pfx.ID + `</UETR>`, `DE89370400440532013000`} {
			if !bytes.Contains(x.Body, []byte(s)) {
				t.Fatalf("camt.053 lacks %s\n%s", s, x.Body)
			}
		}
		isotest.SchemaValid(t, iso.Camt053v08, e.must(http.StatusOK, e.op, "GET", "/v1/merchants/"+mer+"/statement?from=2020-01-01&to=2020-01-31&format=camt053", nil).Body)

		// Who sees it.
		for _, key := range []string{e.op, e.bankDE, e.regDE} {
			e.must(http.StatusOK, key, "GET", base, nil)
		}
		for _, key := range []string{e.merSG, e.merUS, e.bankUS, e.regSG} {
			wantError(t, e.call(key, "GET", base, nil), http.StatusNotFound, "merchant_not_found", "id")
			wantError(t, e.call(key, "GET", base+"&format=camt053", nil), http.StatusNotFound, "merchant_not_found", "id")
		}
		// Bad periods and formats name the parameter.
		path := "/v1/merchants/" + mer + "/statement?"
		for _, c := range []struct{ query, code, field string }{
			{"to=2025-01-31", "required", "from"},
			{"from=2025-01-01", "required", "to"},
			{"from=2025-13-01&to=2025-12-31", "invalid_date", "from"},
			{"from=2025-01-01&to=31.01.2025", "invalid_date", "to"},
			{"from=2025-02-01&to=2025-01-31", "invalid_period", "to"},
			{"from=2024-01-01&to=2025-06-30", "invalid_period", "to"},
			{"from=2025-01-01&to=2025-01-31&format=pdf", "invalid_format", "format"},
			{"from=2025-01-01&to=2025-01-31&format=CSV", "invalid_format", "format"},
		} {
			wantError(t, e.call(e.merDE, "GET", path+c.query, nil), http.StatusUnprocessableEntity, c.code, c.field)
		}
	})
}

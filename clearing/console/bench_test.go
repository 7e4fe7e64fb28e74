package console_test

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// BenchmarkPages renders each page through the real server, signed in, on
// a store the size of the demo's (3,000 payments, a closed cycle), and
// reports the p95 of a page's answer time:
//
//	go test -run XXX -bench BenchmarkPages -benchtime 200x ./clearing/console/
func BenchmarkPages(b *testing.B) {
	e := newEnv(b, "sqlite")
	var reqs []clearing.HoldRequest
	for i := range 3000 {
		m := e.merchants[i%len(e.merchants)]
		buyers := []string{"DEUTDEFF", "DBSSSGSG", "CHASUS33"}
		reqs = append(reqs, clearing.HoldRequest{UETR: uuid.NewString(), BuyerBankID: buyers[(i/3)%3], MerchantID: m.ID,
			Amount: mustAmount(b, strconv.Itoa(10+i%90)+".25", m.Currency), Reference: "ORDER-" + strconv.Itoa(i)})
	}
	for batch := range slices.Chunk(reqs, 500) {
		if _, err := e.st.HoldBatch(ctx, batch, storetest.Operator); err != nil {
			b.Fatal(err)
		}
	}
	cy, err := e.st.CloseCycle(ctx, storetest.Operator)
	if err != nil {
		b.Fatal(err)
	}
	op, bank, mer := e.browser(), e.browser(), e.browser()
	op.signIn("operator")
	bank.signIn("bankDE")
	mer.signIn("merDE")
	for _, p := range []struct {
		name string
		b    *browser
		path string
	}{
		{"overview", op, "/console/overview"},
		{"cycle", op, "/console/cycles/" + strconv.FormatInt(cy.ID, 10)},
		{"participants", op, "/console/participants"},
		{"payments", op, "/console/payments"},
		{"payment", op, "/console/payments/" + e.paySGtoDE},
		{"files", op, "/console/files"},
		{"bank-payments", bank, "/console/payments"},
		{"merchant-payouts", mer, "/console/payouts"},
		{"audit", op, "/console/audit"},
		{"audit-by-action", op, "/console/audit?action=apikey."},
	} {
		b.Run(p.name, func(b *testing.B) {
			times := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				if r := p.b.get(p.path); r.Status != http.StatusOK {
					b.Fatalf("%s: %d", p.path, r.Status)
				}
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

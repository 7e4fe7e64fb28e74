package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
)

// BenchmarkReadPayment is a bank reading one of its payments by id — the
// payment, its events and its ledger legs in one query — over a real
// connection from parallel clients. It reports reads/s, the p99 of a
// read as the client sees it, and this process's CPU per read (client and
// server: the database's own CPU is PostgreSQL's processes' on that
// engine). With -cpuprofile it shows where a read's CPU goes (crossclear
// bench's read workload measures it from outside).
//
//	go test -run '^$' -bench ReadPayment -cpu 16 -benchtime 20000x ./clearing/api/
func BenchmarkReadPayment(b *testing.B) {
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			ctx := context.Background()
			st := storetest.Open(b, engine, store.Options{})
			w := storetest.Seed(b, st)
			_, key, err := st.CreateAPIKey(ctx, clearing.RoleBank, w.Banks[0].ID, "bench", storetest.Operator)
			if err != nil {
				b.Fatal(err)
			}
			m := w.Merchants[0]
			ids := make([]string, 64)
			for i := range ids {
				a, _ := fx.ParseAmount(fmt.Sprintf("%d.00", i+1), m.Currency)
				p, err := st.Hold(ctx, clearing.HoldRequest{BuyerBankID: w.Banks[0].ID, MerchantID: m.ID, Amount: a}, storetest.Operator)
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = p.ID
			}
			// As serve: keys cached, revocations heard on PostgreSQL.
			cacheCtx, stopCache := context.WithCancel(ctx)
			defer stopCache()
			st.CacheAPIKeys(cacheCtx, 0, slog.New(slog.DiscardHandler))
			base, client := serveForBench(b, st, api.Config{})
			var mu sync.Mutex
			var took []time.Duration
			b.ResetTimer()
			cpu := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				defer func() { mu.Lock(); took = append(took, mine...); mu.Unlock() }()
				for i := 0; pb.Next(); i++ {
					start := time.Now()
					req, _ := http.NewRequest(http.MethodGet, base+"/v1/payments/"+ids[i%len(ids)], nil)
					req.Header.Set("Authorization", "Bearer "+key)
					res, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						b.Fatalf("GET a payment: %d", res.StatusCode)
					}
					mine = append(mine, time.Since(start))
				}
			})
			cpu = processCPU() - cpu
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/read")
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// processCPU is the CPU time this process has used (user and system, all
// threads): on a shared machine, where the wall clock counts other
// processes' turns, it is the steadier measure of the work.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

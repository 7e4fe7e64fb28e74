package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/compliance/compliancetest"
)

// BenchmarkHoldBatch is a bank holding 500 payments in one request to
// POST /v1/payments/batch, with an Idempotency-Key, over a real
// connection from parallel clients, screened as serve screens by default
// (no lists, no rules: every payment passes and its decision is kept) —
// crossclear bench's batch workload, in process. It reports holds/s and
// this process's CPU per hold (client and server: the database's own CPU
// is PostgreSQL's processes' on that engine). With -cpuprofile it shows
// where a batch's CPU goes.
//
//	go test -run '^$' -bench HoldBatch -cpu 4 -benchtime 40x ./clearing/api/
func BenchmarkHoldBatch(b *testing.B) {
	const perBatch = 500
	sc := compliancetest.Screener(b, compliance.Config{})
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			ctx := context.Background()
			st := storetest.Open(b, engine, store.Options{Screener: sc})
			w := storetest.Seed(b, st)
			_, key, err := st.CreateAPIKey(ctx, clearing.RoleBank, w.Banks[1].ID, "bench", storetest.Operator)
			if err != nil {
				b.Fatal(err)
			}
			cacheCtx, stopCache := context.WithCancel(ctx)
			defer stopCache()
			st.CacheAPIKeys(cacheCtx, 0, slog.New(slog.DiscardHandler))
			base, client := serveForBench(b, st, api.Config{})
			items := make([]map[string]any, perBatch)
			for k := range items {
				items[k] = map[string]any{"merchant_id": w.Merchants[0].ID, "amount": "1.00", "currency": "EUR"}
			}
			body, _ := json.Marshal(map[string]any{"payments": items})
			var seq atomic.Int64
			b.ResetTimer()
			cpu := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, base+"/v1/payments/batch", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+key)
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", fmt.Sprintf("batch-%d", seq.Add(1)))
					res, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					var out bytes.Buffer
					io.Copy(&out, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						b.Fatalf("POST a batch: %d %s", res.StatusCode, out.Bytes())
					}
					var got struct{ Held int }
					if err := json.Unmarshal(out.Bytes(), &got); err != nil || got.Held != perBatch {
						b.Fatalf("POST a batch: held %d of %d (%v)", got.Held, perBatch, err)
					}
				}
			})
			cpu = processCPU() - cpu
			b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "holds/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*perBatch), "cpu-µs/hold")
		})
	}
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// BenchmarkKeyedHoldRelease is the per-request path a partner bank
// integrates: hold one payment, then release it, each a request with an
// Idempotency-Key (claim, effect and answer in one transaction), over a
// real connection, from parallel clients, with group commit off (every
// request its own transaction) and on. With -cpuprofile it shows where a
// request's CPU goes (crossclear bench measures the same from outside).
//
//	go test -run '^$' -bench KeyedHoldRelease -cpu 16 -benchtime 2000x ./clearing/api/
func BenchmarkKeyedHoldRelease(b *testing.B) {
	for _, engine := range storetest.Engines {
		for _, group := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/group_commit_max=%d", engine, group), func(b *testing.B) { benchKeyedHoldRelease(b, engine, group) })
		}
	}
}

func benchKeyedHoldRelease(b *testing.B, engine string, group int) {
	{
		{
			st := storetest.Open(b, engine, store.Options{})
			w := storetest.Seed(b, st)
			_, key, err := st.CreateAPIKey(context.Background(), clearing.RoleBank, w.Banks[1].ID, "bench", storetest.Operator)
			if err != nil {
				b.Fatal(err)
			}
			base, client := serveForBench(b, st, api.Config{GroupCommit: store.GroupConfig{Max: group}})
			var seq atomic.Int64
			post := func(path string, body any, want int) []byte {
				raw, _ := json.Marshal(body)
				req, _ := http.NewRequest("POST", base+path, bytes.NewReader(raw))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Idempotency-Key", fmt.Sprintf("k-%d", seq.Add(1)))
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				defer res.Body.Close()
				var out bytes.Buffer
				out.ReadFrom(res.Body)
				if res.StatusCode != want {
					b.Fatalf("%s: %d %s", path, res.StatusCode, out.Bytes())
				}
				return out.Bytes()
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					var p struct{ ID string }
					json.Unmarshal(post("/v1/payments", map[string]any{"merchant_id": w.Merchants[0].ID, "amount": "10.00", "currency": "EUR"}, http.StatusCreated), &p)
					post("/v1/payments/"+p.ID+"/release", map[string]any{}, http.StatusOK)
				}
			})
			b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "transitions/s")
		}
	}
}

// serveForBench serves st's API with cfg on a loopback listener until the
// benchmark ends, and returns its base URL and a client that keeps enough
// connections for parallel clients.
func serveForBench(b *testing.B, st *store.Store, cfg api.Config) (string, *http.Client) {
	app := api.New(st, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go app.Listener(ln)
	b.Cleanup(func() { app.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String(), &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: time.Minute}
}

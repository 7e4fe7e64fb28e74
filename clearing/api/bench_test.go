package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// BenchmarkUploadPacs008 measures what a bank sees: a pacs.008 of 10,000
// transactions streamed (chunked) to POST /v1/files over a real
// connection, read under the file limit, split, decoded, validated, held
// in escrow and answered with a pacs.002, until the JSON answer is read.
// It reports transactions/s, MB/s of XML and the process's peak heap
// (runtime/metrics sampled while the upload runs).
//
//	go test -run '^$' -bench UploadPacs008 -benchtime 3x ./clearing/api/
func BenchmarkUploadPacs008(b *testing.B) {
	const txs = 10_000
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			st := storetest.Open(b, engine, store.Options{})
			storetest.Seed(b, st)
			_, key, err := st.CreateAPIKey(context.Background(), clearing.RoleBank, isotest.Sender, "bench", storetest.Operator)
			if err != nil {
				b.Fatal(err)
			}
			app := api.New(st, api.Config{})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go app.Listener(ln)
			defer app.ShutdownWithTimeout(5 * time.Second)
			client := &http.Client{Timeout: 5 * time.Minute}
			var peak uint64
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				file := isotest.Pacs008{MsgID: fmt.Sprintf("UPLOAD-%d", i), Txs: make([]isotest.Tx, txs)}
				for k := range file.Txs {
					file.Txs[k] = isotest.Tx{Amount: "1.00", UETR: isotest.UETR(i*txs + k + 1)}
				}
				raw := file.Bytes()
				b.SetBytes(int64(len(raw)))
				req, err := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/files", chunked{bytes.NewReader(raw)})
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/xml")
				runtime.GC()
				stop := sampleHeapPeak(&peak)
				b.StartTimer()
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				var answer struct {
					File struct{ Accepted int } `json:"file"`
				}
				err = json.NewDecoder(res.Body).Decode(&answer)
				res.Body.Close()
				b.StopTimer()
				stop()
				if err != nil || res.StatusCode != http.StatusCreated || answer.File.Accepted != txs {
					b.Fatalf("%d, accepted %d: %v", res.StatusCode, answer.File.Accepted, err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(txs*b.N)/b.Elapsed().Seconds(), "tx/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

// sampleHeapPeak keeps the largest heap seen every 2 ms into peak until
// stop is called.
func sampleHeapPeak(peak *uint64) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		var m runtime.MemStats
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&m)
			*peak = max(*peak, m.HeapAlloc)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

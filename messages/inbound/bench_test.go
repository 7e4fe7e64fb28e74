package inbound_test

import (
	"context"
	"fmt"
	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/messages/inbound"
	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkReceivePacs008 measures the whole inbound path for a pacs.008
// of 10,000 transactions: split, decode, validate, hold every transaction
// in escrow and write the pacs.002, in one database transaction. It
// reports transactions/s, MB/s of XML and the peak Go heap.
//
//	go test -run '^$' -bench ReceivePacs008 -benchtime 5x ./messages/inbound/
func BenchmarkReceivePacs008(b *testing.B) {
	const txs = 10_000
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			st := storetest.Open(b, engine, store.Options{})
			storetest.Seed(b, st)
			bank := clearing.Actor{Role: clearing.RoleBank, Subject: isotest.Sender}
			lim := iso.DefaultLimits
			var peak atomic.Uint64
			var cpu time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				file := isotest.Pacs008{MsgID: fmt.Sprintf("BENCH-%d", i), Txs: make([]isotest.Tx, txs)}
				for k := range file.Txs {
					file.Txs[k] = isotest.Tx{Amount: "1.00", UETR: isotest.UETR(i*txs + k + 1)}
				}
				raw := file.Bytes()
				b.SetBytes(int64(len(raw)))
				runtime.GC()
				stop := sampleHeap(&peak)
				b.StartTimer()
				before := processCPU()
				res, err := inbound.Receive(context.Background(), st, isotest.Sender, raw, inbound.Config{Limits: lim}, bank)
				cpu += processCPU() - before
				b.StopTimer()
				stop()
				if err != nil || res.File.Accepted != txs {
					b.Fatalf("accepted %v: %v", res, err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(txs*b.N)/b.Elapsed().Seconds(), "tx/s")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(cpu.Microseconds())/float64(txs*b.N), "cpu-µs/tx") // crossclear's; PostgreSQL's is its own process
		})
	}
}

// BenchmarkReceiveCancellation measures a camt.056 cancelling 1,000 held
// payments: decode, validate, refund each (its postings, a pacs.004) and
// answer each with a camt.029, all in one database transaction. The
// payments are held by an untimed pacs.008 first. It reports payments
// cancelled per second.
//
//	go test -run '^$' -bench ReceiveCancellation -benchtime 5x ./messages/inbound/
func BenchmarkReceiveCancellation(b *testing.B) {
	const n = 1_000
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			st := storetest.Open(b, engine, store.Options{Refunds: inbound.RefundFile("")})
			storetest.Seed(b, st)
			bank := clearing.Actor{Role: clearing.RoleBank, Subject: isotest.Sender}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				file := isotest.Pacs008{MsgID: fmt.Sprintf("BENCH-%d", i), Txs: make([]isotest.Tx, n)}
				req := isotest.Camt056{AssignmentID: fmt.Sprintf("CXL-%d", i), Txs: make([]isotest.CxlTx, n)}
				for k := range n {
					uetr := isotest.UETR(i*n + k + 1)
					file.Txs[k] = isotest.Tx{Amount: "1.00", UETR: uetr}
					req.Txs[k] = isotest.CxlTx{UETR: uetr, MsgID: file.MsgID}
				}
				if res, err := inbound.Receive(context.Background(), st, isotest.Sender, file.Bytes(), inbound.Config{}, bank); err != nil || res.File.Accepted != n {
					b.Fatalf("hold: %v %v", res, err)
				}
				raw := req.Bytes()
				b.SetBytes(int64(len(raw)))
				b.StartTimer()
				res, err := inbound.Receive(context.Background(), st, isotest.Sender, raw, inbound.Config{}, bank)
				if err != nil || res.File.Accepted != n {
					b.Fatalf("cancel: %v %v", res, err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "payments/s")
		})
	}
}

// sampleHeap records the largest live heap seen until stop is called.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			for {
				old := peak.Load()
				if m.HeapAlloc <= old || peak.CompareAndSwap(old, m.HeapAlloc) {
					break
				}
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
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

package clearing

import (
	"fmt"
	"github.com/crossclear/crossclear/fx"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// benchPostings builds n postings across banks participants and the escrow
// account in ccys currencies, shaped like a real cycle: holds (bank →
// escrow), releases (escrow → bank) and refunds (escrow → bank).
func benchPostings(n, banks, ccys int) []Posting {
	r := rand.New(rand.NewPCG(1, 2))
	all := fx.Currencies()
	codes := make([]string, ccys)
	for i := range codes {
		codes[i] = all[i*len(all)/ccys].Code
	}
	ids := make([]string, banks)
	for i := range ids {
		ids[i] = fmt.Sprintf("p_%06d", i)
	}
	out := make([]Posting, n)
	for i := range out {
		p := Posting{
			PaymentID:   "",
			Currency:    codes[r.IntN(ccys)],
			AmountMinor: 1 + r.Int64N(1_000_000),
		}
		bank := ids[r.IntN(banks)]
		switch k := r.IntN(10); {
		case k < 5:
			p.Kind, p.Debit, p.Credit = PostHold, bank, EscrowAccount
		case k < 9:
			p.Kind, p.Debit, p.Credit = PostRelease, EscrowAccount, bank
		default:
			p.Kind, p.Debit, p.Credit = PostRefund, EscrowAccount, bank
		}
		out[i] = p
	}
	return out
}

// BenchmarkNet1M nets one million postings across 1,000 participants and 20
// currencies. Target: at least 5 million obligations/s on one core.
//
//	go test ./clearing -run XXX -bench Net -benchtime 5x -cpu 1
func BenchmarkNet1M(b *testing.B) {
	const n = 1_000_000
	postings := benchPostings(n, 1_000, 20)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for b.Loop() {
		res, err := Net(postings)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Currencies) != 20 {
			b.Fatalf("%d currencies, want 20", len(res.Currencies))
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "obligations/s")
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*n), "cpu-ns/obligation")
}

// BenchmarkNetWorld nets one million postings in 20 currencies across
// worlds of 1,000 to 100,000 participants: the cost per obligation should
// not grow with the world (a big world's accounts do not fit in the cache).
//
//	go test ./clearing -run XXX -bench NetWorld -benchtime 5x -cpu 1
func BenchmarkNetWorld(b *testing.B) {
	const n = 1_000_000
	for _, banks := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("participants=%d", banks), func(b *testing.B) {
			postings := benchPostings(n, banks, 20)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			for b.Loop() {
				if _, err := Net(postings); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "obligations/s")
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*n), "cpu-ns/obligation")
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

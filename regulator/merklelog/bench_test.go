package merklelog_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/regulator/internal/dbx"
	"github.com/crossclear/crossclear/regulator/merklelog"
)

// benchLeavesEnv sets how many leaves BenchmarkLog appends; default
// DefaultBenchLeaves.
const (
	benchLeavesEnv     = "CROSSCLEAR_BENCH_LEAVES"
	DefaultBenchLeaves = 1_000_000
	benchBatch         = 10_000 // leaves per append (one transaction)
)

func benchLeaves(b *testing.B) int {
	v := os.Getenv(benchLeavesEnv)
	if v == "" {
		return DefaultBenchLeaves
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number of leaves", benchLeavesEnv, v)
	}
	return n
}

// BenchmarkLog appends CROSSCLEAR_BENCH_LEAVES leaves (default 1,000,000)
// of report-entry size in transactions of 10,000 and reports leaves/s, then
// serves inclusion proofs for random leaves at that size (ns/op is the
// proof latency: the head read and the one query for the proof's nodes;
// each proof is verified outside the timer):
//
//	go test ./regulator/merklelog -run XXX -bench Log -timeout 2h
//	CROSSCLEAR_BENCH_LEAVES=100000 go test ./regulator/merklelog -run XXX -bench Log/sqlite
func BenchmarkLog(b *testing.B) {
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			n := benchLeaves(b)
			l, db := openLog(b, engine)
			b.Run("append", func(b *testing.B) {
				for b.Loop() {
					appendN(b, l, db, n)
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "leaves/s")
			})
			benchInclusion(b, l)
			benchConsistency(b, l)
		})
	}
}

// appendN appends n leaves of about 400 bytes, what a report's entry
// weighs.
func appendN(b *testing.B, l *merklelog.Log, db *bun.DB, n int) {
	ctx := context.Background()
	entry := make([]byte, 400)
	for i := range entry {
		entry[i] = 'a' + byte(i%26)
	}
	for done := 0; done < n; {
		batch := make([][]byte, min(benchBatch, n-done))
		for i := range batch {
			batch[i] = fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, done+i, entry)
		}
		err := dbx.InTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
			_, _, err := l.Append(ctx, tx, batch)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		done += len(batch)
	}
}

func benchInclusion(b *testing.B, l *merklelog.Log) {
	ctx := context.Background()
	head, err := l.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("inclusion-proof-at-%d", head.Size), func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		var worst time.Duration
		for b.Loop() {
			i := rng.Uint64N(head.Size)
			start := time.Now()
			p, err := l.InclusionProof(ctx, i, head.Size)
			worst = max(worst, time.Since(start))
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			leaf, err := l.Leaf(ctx, i)
			if err != nil {
				b.Fatal(err)
			}
			if err := proof.VerifyInclusion(merklelog.Hasher, i, head.Size, merklelog.Hasher.HashLeaf(leaf), p, head.Root); err != nil {
				b.Fatalf("proof of %d: %v", i, err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(worst.Microseconds()), "max-µs")
	})
}

func benchConsistency(b *testing.B, l *merklelog.Log) {
	ctx := context.Background()
	head, err := l.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("consistency-proof-at-%d", head.Size), func(b *testing.B) {
		rng := rand.New(rand.NewPCG(3, 4))
		for b.Loop() {
			if _, err := l.ConsistencyProof(ctx, 1+rng.Uint64N(head.Size), head.Size); err != nil {
				b.Fatal(err)
			}
		}
	})
}

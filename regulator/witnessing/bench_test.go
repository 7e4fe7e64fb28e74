package witnessing_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/regulator/internal/dbx"
	"github.com/crossclear/crossclear/regulator/internal/regtest"
)

// BenchmarkCosign3Witnesses: the latency of getting a new checkpoint
// cosigned by three crossclear witnesses on loopback (ns/op: one pass —
// three add-checkpoint round trips in parallel, each with its consistency
// proof, the cosignatures verified and stored). Appending a leaf and
// signing its checkpoint are outside the timer:
//
//	go test ./regulator/witnessing -run XXX -bench Cosign3Witnesses
func BenchmarkCosign3Witnesses(b *testing.B) {
	ctx := context.Background()
	e := newEnvTB(b, "sqlite")
	for _, name := range []string{"sg", "de", "us"} {
		wt := regtest.StartWitness(b, "witness.test/"+name, e.origin, e.logKey, nil)
		if _, err := e.registry.Add(ctx, wt.VKey, wt.URL, operator); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		err := dbx.InTx(ctx, e.w.Store.DB(), func(ctx context.Context, tx bun.Tx) error {
			_, _, err := e.w.Producer.Log.Append(ctx, tx, [][]byte{[]byte("leaf " + strconv.Itoa(i))})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		cp, signed, err := e.w.Producer.Publisher.Publish(ctx)
		if err != nil || !signed {
			b.Fatalf("publish: %v", err)
		}
		b.StartTimer()
		if err := e.worker.Pass(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if got, _ := e.w.Producer.Log.LatestCheckpoint(ctx); len(got.Cosignatures) == 0 || got.Size != cp.Size {
			b.Fatalf("checkpoint %d not cosigned", cp.Size)
		}
		b.StartTimer()
	}
}

package gateway_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"filippo.io/torchwood"
	"github.com/uptrace/bun"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/regulator/gateway"
	"github.com/crossclear/crossclear/regulator/internal/dbx"
	"github.com/crossclear/crossclear/regulator/internal/regtest"
	"github.com/crossclear/crossclear/regulator/reports"
)

// BenchmarkTiles serves random full tiles of a published log of
// CROSSCLEAR_BENCH_LEAVES leaves (default 1,000,000 SG report entries, on
// SQLite) to an SG regulator key over loopback HTTP, two clients per core:
// each request authenticates, is rate-checked, reads one tile and writes
// the access log. tiles/s is the figure:
//
//	go test ./regulator/gateway -run XXX -bench Tiles -benchtime 20000x -timeout 1h
//	CROSSCLEAR_BENCH_LEAVES=100000 go test ./regulator/gateway -run XXX -bench Tiles
func BenchmarkTiles(b *testing.B) {
	ctx := context.Background()
	n := 1_000_000
	if v := os.Getenv("CROSSCLEAR_BENCH_LEAVES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 65_536 {
			b.Fatalf("CROSSCLEAR_BENCH_LEAVES=%q: want at least 65536 leaves (one full level-1 tile)", v)
		}
	}
	w := regtest.New(b, "sqlite")
	_, key, err := w.Store.CreateAPIKey(ctx, clearing.RoleRegulator, "SG", "bench", storetest.Operator)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for done := 0; done < n; {
		batch := make([][]byte, min(10_000, n-done))
		for i := range batch {
			batch[i], _ = reports.Entry{Schema: reports.EntrySchema, ID: "rep_" + strconv.Itoa(done+i), Jurisdiction: "SG",
				Kind: reports.KindCycle, Period: strconv.Itoa(done + i), Seq: int64(done + i + 1), Nil: true}.Marshal()
		}
		err := dbx.InTx(ctx, w.Store.DB(), func(ctx context.Context, tx bun.Tx) error {
			_, _, err := w.Producer.Log.Append(ctx, tx, batch)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		done += len(batch)
	}
	if _, _, err := w.Producer.Publisher.Publish(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("log of %d leaves built in %s", n, time.Since(start).Round(time.Second))
	app := gateway.New(w.Store, gateway.Config{RatePerMinute: 1 << 30, Burst: 1 << 30})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go app.Listener(ln)
	b.Cleanup(func() { app.Shutdown() })
	base := "http://" + ln.Addr().String() + "/"
	for _, kind := range []struct {
		name  string
		level int
		count int64
	}{{"level0", 0, int64(n / 256)}, {"level1", 1, int64(n / 65_536)}, {"entries", -1, int64(n / 256)}} {
		b.Run(kind.name, func(b *testing.B) {
			b.SetParallelism(2)
			b.RunParallel(func(pb *testing.PB) {
				hc := &http.Client{Timeout: 30 * time.Second}
				for pb.Next() {
					t := tlog.Tile{H: 8, L: kind.level, N: rand.Int64N(kind.count), W: 256}
					req, _ := http.NewRequest(http.MethodGet, base+torchwood.TilePath(t), nil)
					req.Header.Set("Authorization", "Bearer "+key)
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || (kind.level >= 0 && len(body) != 256*32) {
						b.Error(fmt.Sprintf("%s: %d, %d bytes", torchwood.TilePath(t), resp.StatusCode, len(body)))
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tiles/s")
		})
	}
}

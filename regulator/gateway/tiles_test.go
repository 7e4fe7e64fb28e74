package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"filippo.io/torchwood"
	"github.com/uptrace/bun"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/regulator/gateway"
	"github.com/crossclear/crossclear/regulator/internal/dbx"
	"github.com/crossclear/crossclear/regulator/internal/regtest"
	"github.com/crossclear/crossclear/regulator/reports"
)

// tileEnv is a gateway over a log of SG entries only, with checkpoints
// published at sizes[0] < sizes[1] and a few leaves appended after the
// last, unpublished.
type tileEnv struct {
	*env
	leaves [][]byte
	notes  [][]byte // the published checkpoints, in order
}

func newTileEnv(t *testing.T, engine string, sizes ...int) *tileEnv {
	t.Helper()
	ctx := context.Background()
	w := regtest.New(t, engine)
	e := &tileEnv{env: &env{t: t, w: w, client: &http.Client{Timeout: 30 * time.Second, Transport: contract.Transport(t, nil)}}}
	key := func(role clearing.Role, subject string) string {
		_, secret, err := w.Store.CreateAPIKey(ctx, role, subject, "test", storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	e.regSG, e.regDE, e.bank = key(clearing.RoleRegulator, "SG"), key(clearing.RoleRegulator, "DE"), key(clearing.RoleBank, "DBSSSGSG")
	grow := func(n int) {
		batch := make([][]byte, 0, n-len(e.leaves))
		for i := len(e.leaves); i < n; i++ {
			leaf, err := reports.Entry{Schema: reports.EntrySchema, ID: "rep_" + strconv.Itoa(i), Jurisdiction: "SG",
				Kind: reports.KindCycle, Period: strconv.Itoa(i), Seq: int64(i + 1), Nil: true}.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, leaf)
		}
		err := dbx.InTx(ctx, w.Store.DB(), func(ctx context.Context, tx bun.Tx) error {
			_, _, err := w.Producer.Log.Append(ctx, tx, batch)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		e.leaves = append(e.leaves, batch...)
	}
	for _, size := range sizes {
		grow(size)
		cp, _, err := w.Producer.Publisher.Publish(ctx)
		if err != nil || cp.Size != uint64(size) {
			t.Fatalf("publish at %d: %+v %v", size, cp, err)
		}
		e.notes = append(e.notes, cp.Note)
	}
	grow(sizes[len(sizes)-1] + 300) // unpublished: no tile may show them
	app := gateway.New(w.Store, gateway.Config{RatePerMinute: 60000, Burst: 10000})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	e.base = "http://" + ln.Addr().String()
	return e
}

// bearer is an http.RoundTripper that authenticates as a regulator key:
// how a standard client is configured for the gateway.
type bearer struct{ key string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

// tileReader is golang.org/x/mod/sumdb/tlog's TileReader over HTTP: tiles
// named by torchwood.TilePath, nothing else of ours.
type tileReader struct {
	base string
	hc   *http.Client
}

func (r tileReader) Height() int { return torchwood.TileHeight }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		resp, err := r.hc.Get(r.base + "/" + torchwood.TilePath(t))
		if err != nil {
			return nil, err
		}
		out[i], _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: %s: %s", torchwood.TilePath(t), resp.Status, out[i])
		}
	}
	return out, nil
}

func (tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// openTree opens a signed checkpoint with the log's published key, as a
// standard client does (sumdb/note, torchwood's checkpoint parser).
func (e *tileEnv) openTree(t *testing.T, signed []byte) tlog.Tree {
	t.Helper()
	v, err := note.NewVerifier(e.w.Keys(t).CheckpointKeys[0])
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint does not open with the log's key: %v\n%s", err, signed)
	}
	c, err := torchwood.ParseCheckpoint(n.Text)
	if err != nil || c.Origin != regtest.Origin {
		t.Fatalf("checkpoint %+v, %v", c, err)
	}
	return tlog.Tree{N: c.N, Hash: c.Hash}
}

// TestTilesStandardClients: the gateway's tiles, read by clients nobody
// here wrote over HTTP, give the signed root, consistency between the two
// checkpoints, inclusion of every entry and the entries themselves.
func TestTilesStandardClients(t *testing.T) {
	for _, tc := range []struct {
		engine string
		sizes  []int
		from   int64 // the first entry torchwood's client reads
	}{
		{"sqlite", []int{300, 600}, 0}, // full and partial level-0 tiles, a partial level-1 tile
		{"postgres", []int{300, 600}, 0},
		{"sqlite", []int{65_000, 70_000}, 65_000}, // the spec's example: a full level-1 tile, a partial level-2
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.engine, tc.sizes[1]), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newTileEnv(t, tc.engine, tc.sizes...)
			hc := &http.Client{Timeout: 30 * time.Second, Transport: bearer{e.regSG}}
			status, h, latest := e.get(e.regSG, "/checkpoint")
			wantStatus(t, status, 200, latest, "checkpoint")
			if !bytes.Equal(latest, e.notes[1]) || h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("Cache-Control") != "private, max-age=5" {
				t.Fatalf("checkpoint %q (%s, %s), want the latest published", latest, h.Get("Content-Type"), h.Get("Cache-Control"))
			}
			tree, old := e.openTree(t, latest), e.openTree(t, e.notes[0])

			// golang.org/x/mod/sumdb/tlog: the root from the tiles is the
			// signed one, the old tree is a prefix, every sampled entry is in.
			hr := tlog.TileHashReader(tree, tileReader{e.base, hc})
			if root, err := tlog.TreeHash(tree.N, hr); err != nil || root != tree.Hash {
				t.Fatalf("tree hash from tiles %v, %v; signed %v", root, err, tree.Hash)
			}
			cons, err := tlog.ProveTree(tree.N, old.N, hr)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckTree(cons, tree.N, tree.Hash, old.N, old.Hash); err != nil {
				t.Fatalf("CheckTree: %v", err)
			}
			for _, i := range []int64{0, 255, 256, old.N - 1, old.N, tree.N - 1} {
				p, err := tlog.ProveRecord(tree.N, i, hr)
				if err != nil {
					t.Fatal(err)
				}
				if err := tlog.CheckRecord(p, tree.N, tree.Hash, i, tlog.RecordHash(e.leaves[i])); err != nil {
					t.Fatalf("CheckRecord %d: %v", i, err)
				}
				if tlog.CheckRecord(p, tree.N, tree.Hash, i, tlog.RecordHash(e.leaves[i+1])) == nil {
					t.Fatalf("CheckRecord %d accepts another entry", i)
				}
			}

			// torchwood's tile client: every entry from tc.from, each checked
			// against the tree by the client itself (the trailing partial
			// bundle comes on a second call, as the client fetches it).
			fetcher, err := torchwood.NewTileFetcher(e.base, torchwood.WithHTTPClient(hc))
			if err != nil {
				t.Fatal(err)
			}
			client, err := torchwood.NewClient(fetcher)
			if err != nil {
				t.Fatal(err)
			}
			next := tc.from
			for next < tree.N {
				start := next
				for i, entry := range client.Entries(ctx, tree, start) {
					if i != next || !bytes.Equal(entry, e.leaves[i]) {
						t.Fatalf("torchwood entry %d (want %d): %q", i, next, entry)
					}
					next++
				}
				if err := client.Err(); err != nil {
					t.Fatalf("torchwood client: %v", err)
				}
				if next == start {
					t.Fatalf("torchwood client stuck at %d of %d", next, tree.N)
				}
			}
			entry, _, err := client.Entry(ctx, tree, old.N)
			if err != nil || !bytes.Equal(entry, e.leaves[old.N]) {
				t.Fatalf("torchwood Entry(%d) = %q, %v", old.N, entry, err)
			}
		})
	}
}

// TestTilesServing: paths, bounds, caching and who reads what.
func TestTilesServing(t *testing.T) {
	e := newTileEnv(t, "sqlite", 300, 600)
	full := func(path string, size int) {
		t.Helper()
		status, h, body := e.get(e.regSG, path)
		wantStatus(t, status, 200, body, path)
		if len(body) != size || h.Get("Cache-Control") != "private, max-age=31536000, immutable" || h.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("%s: %d bytes (want %d), %q, %q", path, len(body), size, h.Get("Cache-Control"), h.Get("Content-Type"))
		}
	}
	full("/tile/0/000", 256*32)
	full("/tile/0/001", 256*32)
	full("/tile/0/002.p/88", 88*32)
	full("/tile/0/001.p/44", 44*32) // the partial tile of the first checkpoint (300 = 256 + 44)
	full("/tile/1/000.p/2", 2*32)
	for _, path := range []string{
		"/tile/0/002",        // full only after the published size
		"/tile/0/002.p/89",   // leaf 600 is appended but unpublished
		"/tile/entries/003",  // beyond
		"/tile/1/000",        // needs 65,536 leaves
		"/tile/0/x000/001",   // not canonical
		"/tile/0/1",          // not three digits
		"/tile/00/000",       // leading zero level
		"/tile/64/000",       // level out of range
		"/tile/0/000.p/0",    // empty tiles are never served
		"/tile/0/000.p/256",  // a partial tile is narrower than a full one
		"/tile/0/000.p/010",  // leading zero width
		"/tile/entries/x999", // no last group
	} {
		if status, _, body := e.get(e.regSG, path); status != 404 {
			t.Errorf("%s: status %d, want 404: %s", path, status, body)
		}
	}
	// The entries: length-prefixed, the caller's own jurisdiction only.
	status, _, bundle := e.get(e.regSG, "/tile/entries/002.p/88")
	wantStatus(t, status, 200, bundle, "SG entries")
	if n := int(bundle[0])<<8 | int(bundle[1]); !bytes.Equal(bundle[2:2+n], e.leaves[512]) {
		t.Fatalf("first entry of bundle 2: %q", bundle[2:2+n])
	}
	status, _, body := e.get(e.regDE, "/tile/entries/000")
	wantStatus(t, status, 403, body, "DE reads SG entries")
	status, _, body = e.get(e.regDE, "/tile/0/000")
	wantStatus(t, status, 200, body, "DE reads the hash tiles")
	for _, key := range []string{"", e.bank} {
		if status, _, body := e.get(key, "/tile/0/000"); status != 401 && status != 403 {
			t.Errorf("key %q: status %d: %s", key, status, body)
		}
		if status, _, body := e.get(key, "/checkpoint"); status != 401 && status != 403 {
			t.Errorf("key %q: checkpoint status %d: %s", key, status, body)
		}
	}
	if status, _, body := e.do(http.MethodPost, e.regSG, "/tile/0/000"); status != 405 && status != 404 {
		t.Errorf("POST a tile: %d %s", status, body)
	}
}

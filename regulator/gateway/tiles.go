package gateway

// The log as c2sp.org/tlog-tiles, with the gateway's root as the log's
// prefix: /checkpoint, hash tiles /tile/<L>/<N>[.p/<W>] and entry bundles
// /tile/entries/<N>[.p/<W>], so a standard tlog client (sumdb/tlog,
// torchwood) audits the log without crossclear's code. Who reads what:
//
//   - The checkpoint and the hash tiles, to every regulator key: they are
//     hashes only, and every regulator needs the whole tree to check that
//     the log is append-only and that its own reports are in it.
//   - An entry bundle, only when every entry in it is of the caller's
//     jurisdiction (403 otherwise): entries name other jurisdictions'
//     reports, and a regulator sees its own jurisdiction only. A regulator
//     reads its own entries from its reports (/v1/reports/{id}/bundle) and
//     proves them in the tree from the hash tiles (tlog.ProveRecord).
//
// Only what the latest signed checkpoint covers is served, so the tiles
// never show a leaf before it is published. Tiles and bundles never change
// once written (a partial one is a prefix of the full one that replaces
// it), so they are cacheable for a year; the checkpoint for a few seconds.

import (
	"context"
	"errors"
	"math/bits"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/reports"
)

const (
	tileHeight = 8   // levels of the tree per tile
	tileWidth  = 256 // hashes (entries) in a full tile
	// maxEntryBytes is the largest entry a bundle can hold: its length is
	// a big-endian uint16.
	maxEntryBytes = 1<<16 - 1
	// Cache-Control of immutable tiles and of the mutable checkpoint.
	immutableCache  = "private, max-age=31536000, immutable"
	checkpointCache = "private, max-age=5"
)

// tile names one tile: level -1 for an entry bundle, width < 256 for a
// partial tile.
type tile struct {
	level int
	index uint64
	width int
}

func (t tile) entries() bool { return t.level < 0 }

// parseTilePath reads what follows /tile/: "<L>/<N>[.p/<W>]" or
// "entries/<N>[.p/<W>]", N in x-prefixed groups of three digits.
func parseTilePath(p string) (tile, bool) {
	levelText, rest, ok := strings.Cut(p, "/")
	if !ok {
		return tile{}, false
	}
	t := tile{width: tileWidth}
	if levelText == "entries" {
		t.level = -1
	} else {
		l, err := strconv.Atoi(levelText)
		if err != nil || l < 0 || l > 63 || strconv.Itoa(l) != levelText {
			return tile{}, false
		}
		t.level = l
	}
	if n, w, partial := strings.Cut(rest, ".p/"); partial {
		width, err := strconv.Atoi(w)
		if err != nil || width < 1 || width > tileWidth-1 || strconv.Itoa(width) != w {
			return tile{}, false
		}
		rest, t.width = n, width
	}
	groups := strings.Split(rest, "/")
	for i, g := range groups {
		if i < len(groups)-1 {
			if !strings.HasPrefix(g, "x") {
				return tile{}, false
			}
			g = g[1:]
		}
		if len(g) != 3 || strings.Trim(g, "0123456789") != "" {
			return tile{}, false
		}
		d, _ := strconv.ParseUint(g, 10, 64)
		hi, lo := bits.Mul64(t.index, 1000)
		if hi != 0 || lo+d < lo {
			return tile{}, false
		}
		t.index = lo + d
	}
	if len(groups) > 1 && groups[0] == "x000" {
		return tile{}, false // one index, one path: no leading zero groups
	}
	return t, true
}

// span is the range of stored hashes (or leaves) a tile holds: level, first
// index and count, and the tree size it needs. ok is false when the tile
// cannot exist in a tree of 2^64 leaves.
func (t tile) span() (level int, start uint64, need uint64, ok bool) {
	level = max(t.level, 0) * tileHeight
	if t.index > (1<<64-1)/tileWidth {
		return 0, 0, 0, false
	}
	start = t.index * tileWidth
	end := start + uint64(t.width)
	if level >= 64 {
		return 0, 0, 0, false
	}
	hi, need := bits.Mul64(end, 1<<level)
	return level, start, need, hi == 0
}

// tlogCheckpoint serves the latest checkpoint, as /v1/checkpoint does,
// under the tlog-tiles name and caching.
func (g *gateway) tlogCheckpoint(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, checkpointCache)
	return g.latestCheckpoint(c)
}

// tile serves a hash tile or an entry bundle of the published tree.
func (g *gateway) tile(c *fiber.Ctx) error {
	ctx := c.UserContext()
	t, ok := parseTilePath(c.Params("*"))
	if !ok {
		return newError(http.StatusNotFound, "not_found", "", "no such tile: want /tile/<L>/<N>[.p/<W>] or /tile/entries/<N>[.p/<W>] (c2sp.org/tlog-tiles)")
	}
	published, err := g.published(ctx)
	if err != nil {
		return err
	}
	level, start, need, ok := t.span()
	if !ok || need > published.Size {
		return newError(http.StatusNotFound, "tile_not_found", "", "the published tree (%d leaves) has no such tile", published.Size)
	}
	var body []byte
	if t.entries() {
		body, err = g.entryBundle(ctx, start, t.width, jurisdiction(c))
	} else {
		body, err = g.hashTile(ctx, level, start, t.width)
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEOctetStream)
	c.Set(fiber.HeaderCacheControl, immutableCache)
	return c.Send(body)
}

func (g *gateway) hashTile(ctx context.Context, level int, start uint64, width int) ([]byte, error) {
	hashes, err := g.log.Hashes(ctx, level, start, width)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, width*merklelog.Hasher.Size())
	for _, h := range hashes {
		out = append(out, h...)
	}
	return out, nil
}

// entryBundle is leaves [start, start+width) as uint16-length-prefixed
// entries, if they are all the caller's jurisdiction's.
func (g *gateway) entryBundle(ctx context.Context, start uint64, width int, caller string) ([]byte, error) {
	leaves, err := g.log.Leaves(ctx, start, width)
	if errors.Is(err, merklelog.ErrBeyondHead) {
		return nil, newError(http.StatusNotFound, "tile_not_found", "", "no such entry bundle")
	}
	if err != nil {
		return nil, err
	}
	var out []byte
	for i, leaf := range leaves {
		if e, err := reports.ParseEntry(leaf); err != nil || e.Jurisdiction != caller {
			return nil, newError(http.StatusForbidden, "other_jurisdictions", "", "this entry bundle holds entries of other jurisdictions (the first at index %d): read your reports' entries from /v1/reports and prove them with the hash tiles", start+uint64(i))
		}
		if len(leaf) > maxEntryBytes {
			return nil, errors.New("entry " + strconv.FormatUint(start+uint64(i), 10) + " is too long for an entry bundle")
		}
		out = append(out, byte(len(leaf)>>8), byte(len(leaf)))
		out = append(out, leaf...)
	}
	return out, nil
}

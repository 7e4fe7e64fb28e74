package api_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing/api"
)

// TestChunkedFloodIsCutOff: a chunked body without a Content-Length, far
// over its route's limit, is refused as soon as it passes the limit —
// authenticated or not — and the server never holds more than about the
// limit in memory: the 256 MiB sent here would show in the allocations.
func TestChunkedFloodIsCutOff(t *testing.T) {
	const body = 384 << 20
	eachEngine(t, func(t *testing.T, e *env) {
		for _, tc := range []struct {
			name, path, key string
			limit           int
			status          int
		}{
			{"JSON route", "/v1/payments", e.bankSG, api.DefaultBodyLimit, http.StatusRequestEntityTooLarge},
			{"file upload", "/v1/files", e.bankSG, api.DefaultFileLimit, http.StatusRequestEntityTooLarge},
			{"JSON route unauthenticated", "/v1/payments", "", api.DefaultBodyLimit, http.StatusUnauthorized},
			{"file upload unauthenticated", "/v1/files", "", api.DefaultFileLimit, http.StatusUnauthorized},
		} {
			t.Run(tc.name, func(t *testing.T) {
				head := "POST " + tc.path + " HTTP/1.1\r\nHost: crossclear\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n"
				if tc.key != "" {
					head += "Authorization: Bearer " + tc.key + "\r\n"
				}
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				status, sent := floodChunked(t, e.base, head+"\r\n", body)
				runtime.ReadMemStats(&after)
				if status != tc.status {
					t.Fatalf("status %d, want %d", status, tc.status)
				}
				// What the kernel buffers on both sides of a loopback
				// connection comes on top of what the server read.
				if max := int64(tc.limit) + 32<<20; sent > max {
					t.Fatalf("the answer came after %d MiB were sent; want it within %d MiB", sent>>20, max>>20)
				}
				// A file under the limit is held whole (it is verified in
				// memory), so the server may allocate a few times the limit
				// as it grows its buffer (twice as much under the race
				// detector); never anything near the body.
				if grown, max := after.TotalAlloc-before.TotalAlloc, uint64(5*tc.limit+16<<20); grown > max || grown > body/2 {
					t.Fatalf("the server allocated %d MiB for a refused body; want under %d MiB", grown>>20, max>>20)
				}
				t.Logf("answered %d after %d KiB sent, %d KiB allocated", status, sent>>10, (after.TotalAlloc-before.TotalAlloc)>>10)
			})
		}
	})
}

// floodChunked writes head, then up to total bytes of chunked body from one
// reused buffer, while reading the answer; it returns the answer's status
// and how much of the body was written before it came (or before the
// server closed the connection).
func floodChunked(t *testing.T, base, head string, total int) (int, int64) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(60 * time.Second)); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		status int
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		res.Body.Close()
		answered <- answer{status: res.StatusCode}
	}()
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	const size = 64 << 10
	chunk := []byte(fmt.Sprintf("%x\r\n%s\r\n", size, strings.Repeat("x", size)))
	var sent int64
	for sent < int64(total) {
		select {
		case a := <-answered:
			if a.err != nil {
				t.Fatalf("no answer after %d KiB: %v", sent>>10, a.err)
			}
			return a.status, sent
		default:
		}
		if _, err := conn.Write(chunk); err != nil {
			break // closed by the server: its answer is already on its way
		}
		sent += size
	}
	select {
	case a := <-answered:
		if a.err != nil {
			t.Fatalf("no answer after %d KiB: %v", sent>>10, a.err)
		}
		return a.status, sent
	case <-time.After(30 * time.Second):
		t.Fatalf("no answer after the whole %d MiB were sent", sent>>20)
	}
	return 0, 0
}

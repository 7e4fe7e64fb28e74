package api_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// chunked hides a reader's length so that the client sends it with
// Transfer-Encoding: chunked, as a bank streaming a file it is still
// writing would.
type chunked struct{ io.Reader }

// TestStreamedUploads: bodies are read from the connection under each
// route's limit — a declared length over it is refused before the body is
// sent, a chunked or gzip body is cut off at it — and a file larger than
// the JSON limit streams in and is held.
func TestStreamedUploads(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		const bodyLimit, fileLimit = 2 << 10, 64 << 10
		e.start(api.Config{BodyLimit: bodyLimit, FileLimit: fileLimit})

		t.Run("declared length over the limit is refused unread", func(t *testing.T) {
			// The server would wait forever for 10 GiB that never comes if it
			// read the body before answering.
			status := rawRequest(t, e.base, "POST /v1/files HTTP/1.1\r\nHost: crossclear\r\nAuthorization: Bearer "+e.bankSG+
				"\r\nContent-Type: application/xml\r\nContent-Length: 10737418240\r\n\r\n"+prefetch)
			if status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413", status)
			}
		})

		t.Run("chunked file over the limit", func(t *testing.T) {
			big := isotest.Pacs008{MsgID: "STREAM-BIG", Txs: make([]isotest.Tx, 200)}
			for i := range big.Txs {
				big.Txs[i].UETR = isotest.UETR(1000 + i)
			}
			raw := big.Bytes()
			if len(raw) <= fileLimit {
				t.Fatalf("test file of %d bytes is not over the %d limit", len(raw), fileLimit)
			}
			e.unchanged(func() {
				r := e.call(e.bankSG, "POST", "/v1/files", chunked{bytes.NewReader(raw)}, xmlType)
				wantError(t, r, http.StatusRequestEntityTooLarge, "body_too_large", "body")
				if !strings.Contains(r.String(), "64 KiB") {
					t.Fatalf("the error should name the limit: %s", r)
				}
			})
		})

		t.Run("chunked file over the JSON limit is held", func(t *testing.T) {
			f := isotest.Pacs008{MsgID: "STREAM-OK", Txs: make([]isotest.Tx, 12)}
			for i := range f.Txs {
				f.Txs[i].UETR = isotest.UETR(2000 + i)
			}
			raw := f.Bytes()
			if len(raw) <= bodyLimit || len(raw) > fileLimit {
				t.Fatalf("test file of %d bytes should sit between the limits", len(raw))
			}
			var r uploadResult
			e.must(http.StatusCreated, e.bankSG, "POST", "/v1/files", chunked{bytes.NewReader(raw)}, xmlType).into(t, &r)
			if r.File.Accepted != 12 || r.File.Size != int64(len(raw)) {
				t.Fatalf("%+v", r.File)
			}
			// The same with its Content-Length declared, as curl --data-binary sends it.
			f.MsgID = "STREAM-LEN"
			for i := range f.Txs {
				f.Txs[i].UETR = isotest.UETR(2100 + i)
			}
			raw = f.Bytes()
			e.must(http.StatusCreated, e.bankSG, "POST", "/v1/files", raw, xmlType).into(t, &r)
			if r.File.Accepted != 12 || r.File.Size != int64(len(raw)) {
				t.Fatalf("%+v", r.File)
			}
		})

		t.Run("gzip file", func(t *testing.T) {
			f := isotest.Pacs008{MsgID: "STREAM-GZ", Txs: []isotest.Tx{{UETR: isotest.UETR(3000)}, {UETR: isotest.UETR(3001)}}}
			raw := f.Bytes()
			var r uploadResult
			e.must(http.StatusCreated, e.bankSG, "POST", "/v1/files", gzipped(t, raw), xmlType, header{"Content-Encoding", "gzip"}).into(t, &r)
			if r.File.Accepted != 2 || r.File.Size != int64(len(raw)) {
				t.Fatalf("%+v", r.File)
			}
		})

		t.Run("gzip bomb on a JSON route", func(t *testing.T) {
			bomb := gzipped(t, bytes.Repeat([]byte(" "), 64<<20)) // 64 MiB of spaces in ~64 KiB
			e.unchanged(func() {
				wantError(t, e.call(e.bankSG, "POST", "/v1/payments", bomb, header{"Content-Encoding", "gzip"}), http.StatusRequestEntityTooLarge, "body_too_large", "body")
			})
		})

		t.Run("corrupt gzip and unknown encodings", func(t *testing.T) {
			e.unchanged(func() {
				wantError(t, e.call(e.bankSG, "POST", "/v1/files", "not gzip", xmlType, header{"Content-Encoding", "gzip"}), http.StatusBadRequest, "malformed_body", "Content-Encoding")
				wantError(t, e.call(e.bankSG, "POST", "/v1/files", "x", xmlType, header{"Content-Encoding", "br"}), http.StatusUnsupportedMediaType, "unsupported_encoding", "Content-Encoding")
			})
		})

		t.Run("unauthenticated uploads are not read", func(t *testing.T) {
			// 32 KiB declared, 8 KiB sent: the answer cannot wait for the rest.
			status := rawRequest(t, e.base, "POST /v1/files HTTP/1.1\r\nHost: crossclear\r\nContent-Type: application/xml\r\nContent-Length: 32768\r\n\r\n"+prefetch)
			if status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", status)
			}
		})

		// The JSON routes still work, and small bodies are not streamed.
		e.holdSGtoDE("1.00")
	})
}

// prefetch is what fasthttp reads of a body before it calls the handlers
// (at most 8 KiB): the first bytes of a body that never ends.
var prefetch = strings.Repeat("<", 8<<10)

// rawRequest writes head (headers and the start of a body) on a fresh connection and
// returns the status of the answer, failing if none comes within 5 s.
func rawRequest(t *testing.T, base, head string) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	defer res.Body.Close()
	return res.StatusCode
}

func gzipped(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if b.Len() > 1<<20 {
		panic(fmt.Sprintf("gzip of %d bytes", b.Len()))
	}
	return b.Bytes()
}

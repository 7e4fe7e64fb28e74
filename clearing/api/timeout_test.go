package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing/api"
)

// TestSlowClientsAreCutOff: a request head that stalls (slowloris) and a
// kept-alive connection that idles are closed within their timeouts; a
// streamed body that stops is answered 408; but a body that keeps coming,
// slowly, for much longer than the read timeout is still taken.
func TestSlowClientsAreCutOff(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		const readTimeout, idleTimeout = 400 * time.Millisecond, 800 * time.Millisecond
		e.start(api.Config{ReadTimeout: readTimeout, IdleTimeout: idleTimeout})
		addr := strings.TrimPrefix(e.base, "http://")

		t.Run("half a request line", func(t *testing.T) {
			conn := dial(t, addr)
			write(t, conn, "POST /v1/paym")
			waitClosed(t, conn, readTimeout)
		})

		t.Run("headers one by one", func(t *testing.T) {
			conn := dial(t, addr)
			write(t, conn, "GET /v1/payments HTTP/1.1\r\nHost: crossclear\r\n")
			start := time.Now()
			go func() { // a header every 100 ms: each alone is quick enough
				for i := 0; time.Since(start) < 5*time.Second; i++ {
					if _, err := fmt.Fprintf(conn, "X-Pad-%d: x\r\n", i); err != nil {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
			waitClosed(t, conn, readTimeout)
		})

		t.Run("idle keep-alive", func(t *testing.T) {
			conn := dial(t, addr)
			br := bufio.NewReader(conn)
			write(t, conn, "GET /healthz HTTP/1.1\r\nHost: crossclear\r\n\r\n")
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			waitClosedReader(t, conn, br, idleTimeout)
		})

		t.Run("a body that stops", func(t *testing.T) {
			conn := dial(t, addr)
			write(t, conn, "POST /v1/payments HTTP/1.1\r\nHost: crossclear\r\nAuthorization: Bearer "+e.bankSG+
				"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"merchant_id\": ")
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("status %d, want 408", res.StatusCode)
			}
		})

		t.Run("a slow body that keeps coming", func(t *testing.T) {
			body := fmt.Sprintf(`{"merchant_id": %q, "amount": "1.00", "currency": "EUR", "reference": "slow but steady"}`, e.w.Merchants[0].ID)
			conn := dial(t, addr)
			write(t, conn, "POST /v1/payments HTTP/1.1\r\nHost: crossclear\r\nAuthorization: Bearer "+e.bankSG+
				"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
			start := time.Now()
			const pieces = 8 // 8 × 200 ms: four read timeouts in all
			for i := range pieces {
				piece := body[i*len(body)/pieces : (i+1)*len(body)/pieces]
				write(t, conn, fmt.Sprintf("%x\r\n%s\r\n", len(piece), piece))
				time.Sleep(readTimeout / 2)
			}
			write(t, conn, "0\r\n\r\n")
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				t.Fatalf("after %s: %d %s", time.Since(start).Round(time.Millisecond), res.StatusCode, raw)
			}
		})
	})
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func write(t *testing.T, conn net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(conn, s); err != nil {
		t.Fatal(err)
	}
}

// waitClosed fails unless the server closes conn within about timeout
// (whatever it answers first).
func waitClosed(t *testing.T, conn net.Conn, timeout time.Duration) {
	t.Helper()
	waitClosedReader(t, conn, conn, timeout)
}

func waitClosedReader(t *testing.T, conn net.Conn, r io.Reader, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	limit := timeout + 2*time.Second // slack for a loaded machine
	if err := conn.SetReadDeadline(start.Add(limit)); err != nil {
		t.Fatal(err)
	}
	_, err := io.Copy(io.Discard, r)
	elapsed := time.Since(start)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("still open after %s (timeout %s)", elapsed.Round(time.Millisecond), timeout)
	}
	if elapsed < timeout/2 {
		t.Fatalf("closed after %s, before the %s timeout", elapsed.Round(time.Millisecond), timeout)
	}
}

package api_test

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// TestShutdownClosesSilentConnections: a connection that was opened but
// never sent a byte (Go's http.Transport leaves such spares when a request
// it dialed for went to a connection freed first) must not hold a graceful
// shutdown until the read timeout. fasthttp v1.51 counted it active from
// its first moment, so `crossclear serve` on SIGTERM waited its whole 10 s
// and exited 1 (a flaky crash-test failure on CI); since v1.7x such a
// connection is closed once 5 s have passed since it was accepted, as
// net/http does.
func TestShutdownClosesSilentConnections(t *testing.T) {
	st := storetest.Open(t, "sqlite", store.Options{})
	storetest.Seed(t, st)
	app := api.New(st, api.Config{ReadTimeout: time.Minute})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()

	// One kept-alive connection that has served a request, one silent.
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	time.Sleep(100 * time.Millisecond) // the server has accepted it

	began := time.Now()
	if err := app.ShutdownWithTimeout(8 * time.Second); err != nil {
		t.Fatalf("shutdown with a silent connection open: %v after %s", err, time.Since(began).Round(time.Millisecond))
	}
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

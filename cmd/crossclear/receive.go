package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/crossclear/crossclear/regulator/bundle"
)

// reportIDPattern is what a pushed report's id (and so its file name) may
// be: "SG-cycle-42", "US-NY-day-2026-11-21".
var reportIDPattern = regexp.MustCompile(`^[A-Z]{2}(-[A-Z0-9]{1,3})?-(cycle-[0-9]{1,19}|day-[0-9]{4}-[0-9]{2}-[0-9]{2})$`)

// maxPushBytes bounds one pushed bundle.
const maxPushBytes = 32 << 20

var regulatorReceiveCmd = &command{
	name:    "regulator receive",
	summary: "a regulator's endpoint: keep pushed report bundles in a directory",
	about: `
A minimal push endpoint for a regulator: it accepts the bundles crossclear
posts (any path), keeps each once as DIR/<report id>.bundle.json — the
Idempotency-Key is the report's id, so a repeat after a lost answer is
acknowledged and not kept twice — and answers 202 (200 for a repeat). It
does not verify: run 'crossclear verify' over the directory, offline.
Serve it over TLS with --tls-cert and --tls-key (crossclear pushes to
https only, except on loopback).`,
	example: `  crossclear regulator receive --listen 0.0.0.0:9443 --dir inbox --tls-cert mas.pem --tls-key mas.key
  crossclear verify --keys crossclear-regulator-keys.json --state mas.state.json inbox/*.bundle.json`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		listen := fs.String("listen", "127.0.0.1:9443", "`ADDR` to listen on")
		dir := fs.String("dir", "", "`DIR` to keep the bundles in (required; created if missing)")
		cert := fs.String("tls-cert", "", "TLS certificate `FILE` (PEM); without it, plain HTTP")
		key := fs.String("tls-key", "", "TLS private key `FILE` (PEM)")
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("regulator receive", args); err != nil {
				return err
			}
			if *dir == "" {
				return usagef("regulator receive", "--dir is required")
			}
			if (*cert == "") != (*key == "") {
				return usagef("regulator receive", "--tls-cert and --tls-key go together")
			}
			if err := os.MkdirAll(*dir, 0o755); err != nil {
				return err
			}
			ln, err := net.Listen("tcp", *listen)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", *listen, err)
			}
			inbox := &inbox{dir: *dir, out: c.stdout}
			srv := &http.Server{Handler: inbox, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
			scheme := "http"
			if *cert != "" {
				scheme = "https"
			}
			fmt.Fprintf(c.stdout, "crossclear regulator receive serving on %s (bundles kept in %s)\n",
				strings.Replace(baseURL(ln.Addr().String()), "http://", scheme+"://", 1), *dir)
			return serveUntilDone(ctx, "receive", srv, func() error {
				if *cert != "" {
					return srv.ServeTLS(ln, *cert, *key)
				}
				return srv.Serve(ln)
			})
		}
	},
}

// inbox keeps pushed bundles as files, once per report.
type inbox struct {
	dir string
	out io.Writer
	mu  sync.Mutex
}

func (in *inbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a report bundle", http.StatusMethodNotAllowed)
		return
	}
	id := r.Header.Get("Idempotency-Key")
	if !reportIDPattern.MatchString(id) {
		http.Error(w, "Idempotency-Key must be a report id like SG-cycle-42", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushBytes))
	if err != nil {
		http.Error(w, "bundle too large or cut short", http.StatusRequestEntityTooLarge)
		return
	}
	b, err := bundle.Parse(body)
	if err != nil || b.Report != id {
		http.Error(w, "not a bundle of report "+id, http.StatusBadRequest)
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	path := filepath.Join(in.dir, id+".bundle.json")
	if _, err := os.Stat(path); err == nil {
		w.WriteHeader(http.StatusOK) // a repeat: the first copy stays
		return
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, body, 0o644); err != nil {
		http.Error(w, "cannot keep it now", http.StatusServiceUnavailable)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		http.Error(w, "cannot keep it now", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintf(in.out, "received %s\n", id)
	w.WriteHeader(http.StatusAccepted)
}

// serveUntilDone runs serve (srv's Serve or ServeTLS on its listener)
// until ctx ends — a signal — then shuts srv down, letting requests in
// flight finish for up to 10 s. A serve that fails first is the error,
// named by what.
func serveUntilDone(ctx context.Context, what string, srv *http.Server, serve func() error) error {
	served := make(chan error, 1)
	go func() { served <- serve() }()
	select {
	case err := <-served:
		return fmt.Errorf("%s: %w", what, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Command crossclear runs the crossclear clearing service: the HTTP API
// with its background workers (serve), a demonstration (demo), and the
// operator's tools (migrate, cycle, ledger, payment, rates, quote, apikey). Run `crossclear help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

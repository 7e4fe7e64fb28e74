// Command vault is HashiCorp Vault built from the Go module proxy, for the
// test suite only (no Docker, no Debian package here). It lives in a module
// of its own so that Vault's dependencies and licence stay out of
// crossclear's. Never shipped.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() { os.Exit(command.Run(os.Args[1:])) }

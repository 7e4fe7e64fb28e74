package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// demoEnvPath is the shell file beside the demo's database:
// crossclear-demo.db → crossclear-demo.env.
func demoEnvPath(database string) string {
	return strings.TrimSuffix(database, filepath.Ext(database)) + ".env"
}

// sourceable is how a shell reads path: ". ./crossclear-demo.env" (a bare
// name is looked up on PATH by "."), ". /tmp/demo.env".
func sourceable(path string) string {
	if filepath.IsAbs(path) || strings.HasPrefix(path, ".") {
		return ". " + path
	}
	return ". ./" + path
}

// writeDemoEnv writes where the demo serves and its keys as shell
// variables, so that the README's walks run as printed in another terminal
// (". ./crossclear-demo.env"). It holds secrets: readable by its owner only,
// beside the database, which holds everything else of the demo.
func writeDemoEnv(path, api, gateway string, keys []demoKey, w world) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by crossclear demo for this run: where it serves and its API keys (secrets: keep this file to yourself).\n")
	fmt.Fprintf(&b, "API=%s\n", api)
	if gateway != "" {
		fmt.Fprintf(&b, "GW=%s\n", gateway)
	}
	fmt.Fprintf(&b, "MERCHANT=%s\n", w.merchants[0].ID)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s   # %s\n", k.envVar, k.secret, k.label)
	}
	// A file left by an earlier run may have looser permissions: start anew.
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

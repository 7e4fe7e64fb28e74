package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = ""

// buildVersion is version, else the module version the binary was built
// from, else "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

var versionCmd = &command{
	name:    "version",
	summary: "print the version",
	about: `
Prints crossclear's version, the Go version it was built with and, when the
build recorded it, the source revision. /healthz reports the same version.`,
	example: `  crossclear version`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("version", args); err != nil {
				return err
			}
			var rev string
			var modified bool
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					switch s.Key {
					case "vcs.revision":
						rev = s.Value
					case "vcs.modified":
						modified = s.Value == "true"
					}
				}
			}
			if *asJSON {
				doc := map[string]any{"version": buildVersion(), "go": runtime.Version(), "os": runtime.GOOS, "arch": runtime.GOARCH}
				if rev != "" {
					doc["revision"], doc["modified"] = rev, modified
				}
				return printJSON(c.stdout, doc)
			}
			fmt.Fprintf(c.stdout, "crossclear %s (%s, %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			if rev != "" {
				mod := ""
				if modified {
					mod = " (modified)"
				}
				fmt.Fprintf(c.stdout, "revision %s%s\n", rev, mod)
			}
			return nil
		}
	},
}

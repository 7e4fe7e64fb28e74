// Command vulncheck runs govulncheck (golang.org/x/vuln/scan, pinned by this
// module's go.mod) on the packages it is given, against the database named by
// -db, and fails when the code calls a vulnerable symbol of a module: those are
// fixed by upgrading the module in go.mod. Reachable vulnerabilities of the
// standard library are listed but do not fail the run: they are fixed by a
// newer Go release, not by go.mod, and this machine's Go is fixed.
//
// It reads govulncheck's JSON stream rather than its text so that the two
// kinds can be told apart: govulncheck itself has no way to leave some out.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"golang.org/x/vuln/scan"
)

// message, finding and frame are the parts of govulncheck's JSON protocol
// (golang.org/x/vuln/internal/govulncheck) this command reads.
type message struct {
	Config *struct {
		DB             string `json:"db"`
		DBLastModified string `json:"db_last_modified"`
		GoVersion      string `json:"go_version"`
	} `json:"config"`
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *finding `json:"finding"`
}

type finding struct {
	OSV          string   `json:"osv"`
	FixedVersion string   `json:"fixed_version"`
	Trace        []*frame `json:"trace"`
}

type frame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
	Position *struct {
		Filename string `json:"filename"`
		Line     int    `json:"line"`
	} `json:"position"`
}

func (f *frame) symbol() string {
	name := f.Function
	if f.Receiver != "" {
		name = strings.TrimPrefix(f.Receiver, "*") + "." + name
	}
	return f.Package + "." + name
}

// vuln is one vulnerability the code reaches, with the first trace seen.
type vuln struct {
	id, summary, module, found, fixed, example string
}

func main() {
	db := flag.String("db", "", "directory of a v1 vulnerability database (index/db.json, index/modules.json, ID/*.json)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: vulncheck -db DIR [packages]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *db == "" {
		flag.Usage()
		os.Exit(2)
	}
	inModules, inStdlib, err := check(*db, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulncheck:", err)
		os.Exit(1)
	}
	report("in the standard library (fixed by a newer Go release; not failing)", inStdlib)
	report("in modules (fix: go get MODULE@FIXED)", inModules)
	if len(inModules) > 0 {
		os.Exit(1)
	}
}

// check scans patterns and returns the reachable vulnerabilities, those of
// modules apart from those of the standard library.
func check(db string, patterns []string) (inModules, inStdlib []vuln, err error) {
	abs, err := filepath.Abs(db)
	if err != nil {
		return nil, nil, err
	}
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	out, w := io.Pipe()
	cmd := scan.Command(context.Background(), append([]string{"-db", "file://" + abs, "-format", "json"}, patterns...)...)
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	scanned := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		w.CloseWithError(err)
		scanned <- err
	}()

	summaries := map[string]string{}
	seen := map[string]*vuln{}
	dec := json.NewDecoder(out)
	for {
		var m message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, fmt.Errorf("reading govulncheck's output: %w", err)
		}
		switch {
		case m.Config != nil:
			fmt.Printf("govulncheck %s on %s, database %s\n", scannerVersion(), m.Config.GoVersion, m.Config.DB)
		case m.OSV != nil:
			summaries[m.OSV.ID] = m.OSV.Summary
		case m.Finding != nil && len(m.Finding.Trace) > 0 && m.Finding.Trace[0].Function != "":
			// Only symbol-level findings: the code calls the vulnerable function.
			if _, dup := seen[m.Finding.OSV]; dup {
				continue
			}
			seen[m.Finding.OSV] = newVuln(m.Finding)
		}
	}
	if err := <-scanned; err != nil {
		return nil, nil, fmt.Errorf("govulncheck: %w", err)
	}
	for _, v := range seen {
		v.summary = summaries[v.id]
		if v.module == "stdlib" {
			inStdlib = append(inStdlib, *v)
		} else {
			inModules = append(inModules, *v)
		}
	}
	byID := func(vs []vuln) {
		sort.Slice(vs, func(i, j int) bool { return vs[i].id < vs[j].id })
	}
	byID(inModules)
	byID(inStdlib)
	return inModules, inStdlib, nil
}

// newVuln reads a symbol-level finding: its first frame is the vulnerable
// symbol, its last the call in this repository's code.
func newVuln(f *finding) *vuln {
	sym, entry := f.Trace[0], f.Trace[len(f.Trace)-1]
	example := strings.TrimPrefix(entry.symbol(), "github.com/crossclear/crossclear/") + " reaches " + sym.symbol()
	if entry.Position != nil {
		example = fmt.Sprintf("%s:%d: %s", entry.Position.Filename, entry.Position.Line, example)
	}
	return &vuln{id: f.OSV, module: sym.Module, found: sym.Version, fixed: f.FixedVersion, example: example}
}

// scannerVersion is the version of golang.org/x/vuln built into this command
// (govulncheck reports none when it runs as a library).
func scannerVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "golang.org/x/vuln" {
				return dep.Version
			}
		}
	}
	return "(unknown version)"
}

func report(kind string, vs []vuln) {
	fmt.Printf("%d reachable vulnerabilities %s\n", len(vs), kind)
	for _, v := range vs {
		name, found, fixed := v.module+"@", v.found, v.fixed
		if v.module == "stdlib" {
			name, found, fixed = "", "go"+strings.TrimPrefix(found, "v"), "go"+strings.TrimPrefix(fixed, "v")
		}
		if v.fixed == "" {
			fixed = "no fixed version"
		}
		fmt.Printf("  %s %s%s, fixed in %s: %s\n      %s\n", v.id, name, found, fixed, v.summary, v.example)
	}
}

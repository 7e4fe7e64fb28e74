package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crossclear/crossclear/regulator/witness/witnesstest"
)

// The README's walks are run as a newcomer would run them: this test
// builds the CLI the way the README says, starts the demo, and runs every
// shell block that follows a "<!-- walk -->" line, in order, in one bash
// (set -euo pipefail), in a directory that looks like the repository's root
// (testdata, the ./crossclear binary, the demo's files). A "# → TEXT" line,
// or a "  # → TEXT" comment at the end of a command, says what the commands
// since the previous such line print: TEXT's pieces, split at "…" and at
// runs of two or more spaces, must appear in that output in order.
// (TestDemoServes runs the curl lines the demo prints.)

const (
	walkMarker  = "<!-- walk -->"
	expectation = "# → "
)

// readmeWalk is one marked block: its shell lines and where it starts.
type readmeWalk struct {
	line  int // of the opening fence, 1-based
	lines []string
}

// readmeWalks returns the blocks marked as walks, in order.
func readmeWalks(readme string) ([]readmeWalk, error) {
	var walks []readmeWalk
	lines := strings.Split(readme, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != walkMarker {
			continue
		}
		if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != "```sh" {
			return nil, fmt.Errorf("README.md:%d: %s must be followed by a ```sh block", i+1, walkMarker)
		}
		w := readmeWalk{line: i + 2}
		j := i + 2
		for ; j < len(lines) && strings.TrimSpace(lines[j]) != "```"; j++ {
			w.lines = append(w.lines, lines[j])
		}
		if j == len(lines) {
			return nil, fmt.Errorf("README.md:%d: the walk's block is not closed", w.line)
		}
		walks = append(walks, w)
		i = j
	}
	return walks, nil
}

// walkCheck is one "# → …" line: the pieces the output must show, in order.
type walkCheck struct {
	line   int // in README.md
	text   string
	pieces []string
}

var pieceSeparator = regexp.MustCompile(`…|\s{2,}`)

func newWalkCheck(line int, text string) walkCheck {
	c := walkCheck{line: line, text: text}
	for _, p := range pieceSeparator.Split(text, -1) {
		if p = strings.TrimSpace(p); p != "" {
			c.pieces = append(c.pieces, p)
		}
	}
	return c
}

// matches reports whether out shows every piece, in order.
func (c walkCheck) matches(out string) bool {
	for _, p := range c.pieces {
		i := strings.Index(out, p)
		if i < 0 {
			return false
		}
		out = out[i+len(p):]
	}
	return true
}

// walkScript turns the walks into one bash script that prints a marker
// where each check stands. readmeLine maps the script's lines (1-based) to
// README.md's, to say where a command failed.
func walkScript(walks []readmeWalk) (script string, checks []walkCheck, readmeLine []int) {
	var b strings.Builder
	readmeLine = []int{0}
	add := func(line string, n int) {
		b.WriteString(line + "\n")
		readmeLine = append(readmeLine, n)
	}
	add("set -euo pipefail", 0)
	add(`trap 'echo "@@failed at line $LINENO: $BASH_COMMAND (exit $?)"' ERR`, 0)
	mark := func(c walkCheck) {
		add(fmt.Sprintf("printf '\\n@@check %d\\n'", len(checks)), c.line)
		checks = append(checks, c)
	}
	for _, w := range walks {
		for i, l := range w.lines {
			n := w.line + 1 + i
			trimmed := strings.TrimSpace(l)
			if text, ok := strings.CutPrefix(trimmed, expectation); ok {
				mark(newWalkCheck(n, text))
				continue
			}
			add(l, n)
			if i := strings.Index(l, "  "+expectation); i >= 0 && !strings.HasPrefix(trimmed, "#") {
				mark(newWalkCheck(n, strings.TrimSpace(l[i+len("  "+expectation):])))
			}
		}
	}
	return b.String(), checks, readmeLine
}

// failedAt rewrites bash's "@@failed at line N" into the README's line.
func failedAt(out string, readmeLine []int) string {
	return regexp.MustCompile(`@@failed at line (\d+)`).ReplaceAllStringFunc(out, func(m string) string {
		var n int
		fmt.Sscanf(m, "@@failed at line %d", &n)
		if n > 0 && n < len(readmeLine) {
			return fmt.Sprintf("FAILED at README.md:%d", readmeLine[n])
		}
		return m
	})
}

func TestREADMEWalks(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The two commands at the top: the demo (run below) and the tests
	// (.ci/test, which runs this test).
	top := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(string(readme))
	if top == nil || !strings.Contains(top[1], "go run ./cmd/crossclear demo") || !strings.Contains(top[1], "bash .ci/test") {
		t.Fatalf("the README's first shell block is not the two commands (the demo, the tests):\n%v", top)
	}
	const build = "go build -o crossclear ./cmd/crossclear"
	if !strings.Contains(string(readme), build) {
		t.Fatalf("the README no longer says how the walks' ./crossclear is built (%q)", build)
	}
	walks, err := readmeWalks(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	if len(walks) < 5 {
		t.Fatalf("%d walks marked %s in README.md; the API, merchant, file, regulator and witness walks are expected", len(walks), walkMarker)
	}
	// The regulator's witness walk runs a real litewitness: from
	// CROSSCLEAR_LITEWITNESS_BIN (.ci/litewitness.sh), its key in ssh-agent.
	witnesstest.Bin(t)
	for _, tool := range []string{"bash", "curl", "jq", "sed", "column", "timeout", "ssh-agent", "ssh-keygen", "ssh-add"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's walks need %s (.ci/test installs what a new machine lacks): %v", tool, err)
		}
	}

	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(root, "testdata"), filepath.Join(dir, "testdata")); err != nil {
		t.Fatal(err)
	}
	// Fail with what the walks printed before go test's own deadline kills
	// the test without its cleanups.
	deadline := time.Now().Add(15 * time.Minute)
	if d, ok := t.Deadline(); ok && d.Add(-time.Minute).Before(deadline) {
		deadline = d.Add(-time.Minute)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	gobuild := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "crossclear"), "./cmd/crossclear")
	gobuild.Dir = root
	if out, err := gobuild.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, out)
	}
	t.Logf("built the CLI in %s", time.Since(start).Round(time.Second))
	start = time.Now()

	// The demo, on free ports; it writes crossclear-demo.env with where it
	// serves, which the walks source.
	// The regulator walk's receiver listens on $MAS, 127.0.0.1:9443 unless
	// set, the witnesses on $SGW, $DEW and $LW: here free ports, so that two
	// runs of this test do not collide.
	env := walkEnv()
	for _, name := range walkListeners {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, name+"="+ln.Addr().String())
		ln.Close()
	}
	demoOut, err := os.Create(filepath.Join(dir, "demo.out"))
	if err != nil {
		t.Fatal(err)
	}
	demo := exec.Command("./crossclear", "demo", "--listen", "127.0.0.1:0")
	demo.Dir, demo.Env, demo.Stdout, demo.Stderr = dir, env, demoOut, demoOut
	demo.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- demo.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-demo.Process.Pid, syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			syscall.Kill(-demo.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	demoLog := func() string { b, _ := os.ReadFile(demoOut.Name()); return string(b) }
	for ready := false; !ready; {
		select {
		case err := <-exited:
			t.Fatalf("the demo exited: %v\n%s", err, demoLog())
		case <-ctx.Done():
			t.Fatalf("the demo did not start serving\n%s", demoLog())
		case <-time.After(200 * time.Millisecond):
			_, envErr := os.Stat(filepath.Join(dir, "crossclear-demo.env"))
			ready = envErr == nil && strings.Contains(demoLog(), "Press Ctrl-C to stop.")
		}
	}

	t.Logf("the demo served in %s", time.Since(start).Round(time.Second))
	start = time.Now()
	script, checks, readmeLine := walkScript(walks)
	if err := os.WriteFile(filepath.Join(dir, "walks.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runBash(ctx, dir, env, "walks.sh")
	if err != nil {
		t.Fatalf("the README's walks failed: %v\n%s\n\nthe demo said:\n%s", err, tail(failedAt(out, readmeLine), 60), tail(demoLog(), 20))
	}
	t.Logf("%d walks, %d checks, ran in %s", len(walks), len(checks), time.Since(start).Round(time.Second))
	segments := regexp.MustCompile(`\n@@check (\d+)\n`).Split(out, -1)
	if len(segments) != len(checks)+1 {
		t.Fatalf("%d checks in the README, %d reached:\n%s", len(checks), len(segments)-1, tail(out, 60))
	}
	for i, c := range checks {
		if !c.matches(segments[i]) {
			t.Errorf("README.md:%d: expected %q in the output of the commands above it, which printed:\n%s", c.line, c.text, segments[i])
		}
	}
}

// walkListeners are the addresses the walks listen on unless set.
var walkListeners = []string{"MAS", "SGW", "DEW", "LW"}

// walkEnv is this process's environment without variables the walks set.
func walkEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "API", "GW", "OP", "BANK", "MERCHANT", "MERCHANT_KEY", "REG", "FXP", "OFFICER", "CROSSCLEAR_CONFIG":
			continue
		case "CROSSCLEAR_TEST_POSTGRES", "CROSSCLEAR_LITEWITNESS_BIN":
			env = append(env, kv)
			continue
		}
		if slices.Contains(walkListeners, name) || strings.HasPrefix(name, "CROSSCLEAR_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// runBash runs script in dir in a process group of its own, so that
// whatever a walk starts in the background ends with it.
func runBash(ctx context.Context, dir string, env []string, script string) (string, error) {
	// A file, not a pipe: a background command that outlives bash must not
	// hold the test up.
	out, err := os.Create(filepath.Join(dir, script+".out"))
	if err != nil {
		return "", err
	}
	defer out.Close()
	cmd := exec.Command("bash", script)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		err = fmt.Errorf("timed out")
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // a receiver a failed walk left running
	b, readErr := os.ReadFile(out.Name())
	if readErr != nil {
		return "", readErr
	}
	return string(b), err
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// The harness itself: it runs only marked blocks, matches "# →" lines
// piece by piece, and reports a failing command by its README line.
func TestWalkHarness(t *testing.T) {
	readme := strings.Join([]string{
		"```sh",
		"exit 1   # the top block is never run",
		"```",
		"<!-- walk -->",
		"```sh",
		`P=held; echo "state: $P, released 20.00"`,
		"# → state: held…20.00",
		`echo '["a","b"]'   # → ["a",  "b"]`,
		"```",
		"<!-- walk -->",
		"```sh",
		`echo "$P again"`,
		"# → held again",
		"false",
		"echo never",
		"```",
	}, "\n")
	walks, err := readmeWalks(readme)
	if err != nil || len(walks) != 2 {
		t.Fatalf("walks %v: %v", walks, err)
	}
	script, checks, readmeLine := walkScript(walks)
	if len(checks) != 3 || checks[0].line != 7 || checks[1].line != 8 {
		t.Fatalf("checks: %+v", checks)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "walks.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runBash(context.Background(), dir, os.Environ(), "walks.sh")
	if err == nil || !strings.Contains(failedAt(out, readmeLine), "FAILED at README.md:14: false") || strings.Contains(out, "never") {
		t.Fatalf("a failing command: %v\n%s", err, failedAt(out, readmeLine))
	}
	segments := regexp.MustCompile(`\n@@check (\d+)\n`).Split(out, -1)
	for i, c := range checks {
		if !c.matches(segments[i]) {
			t.Errorf("check %q does not match %q", c.text, segments[i])
		}
	}
	if checks[2].matches(segments[0]) || newWalkCheck(0, "released  state").matches(segments[0]) {
		t.Error("a check matches output that does not show its pieces in order")
	}
	if _, err := readmeWalks("<!-- walk -->\n```console\nx\n```"); err == nil {
		t.Error("a marker before a block that is not sh was accepted")
	}
}

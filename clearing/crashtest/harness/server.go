package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds cmd/crossclear into dir with the go command that runs
// the test, from the module root.
func BuildBinary(t *testing.T, dir string) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(dir, "crossclear")
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", bin, "github.com/crossclear/crossclear/cmd/crossclear")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build crossclear: %v\n%s", err, out)
	}
	t.Logf("built %s in %s", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// syncBuffer is a bytes.Buffer the child writes to while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is one `crossclear serve` child process.
type Server struct {
	n       int // which start, from 1
	cmd     *exec.Cmd
	Base    string
	client  *http.Client
	stdout  *syncBuffer
	LogPath string
	done    chan error
	exited  bool
	exitErr error
}

var serving = regexp.MustCompile(`serving on (http://\S+)`)

// startServer runs `crossclear serve` with env and waits until it serves.
// Its stderr goes to serve-N.log in dir.
func StartServer(t *testing.T, bin, dir string, env []string, n int) *Server {
	t.Helper()
	LogPath := filepath.Join(dir, fmt.Sprintf("serve-%d.log", n))
	logFile, err := os.Create(LogPath)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{n: n, stdout: &syncBuffer{}, LogPath: LogPath, done: make(chan error, 1)}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = env
	s.cmd.Dir = dir
	s.cmd.Stdout = s.stdout
	s.cmd.Stderr = logFile
	s.cmd.SysProcAttr = childAttr() // on Linux, the child dies with the test
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start crossclear serve: %v", err)
	}
	go func() {
		err := s.cmd.Wait()
		logFile.Close()
		s.done <- err
	}()
	t.Cleanup(func() { s.Kill() })
	deadline := time.After(60 * time.Second)
	for {
		if m := serving.FindStringSubmatch(s.stdout.String()); m != nil {
			s.Base = m[1]
			break
		}
		select {
		case err := <-s.done:
			s.exited, s.exitErr = true, err
			t.Fatalf("crossclear serve (start %d) exited before serving: %v\nstdout:\n%s\nstderr:\n%s", n, err, s.stdout.String(), Tail(LogPath, 40))
		case <-deadline:
			s.Kill()
			t.Fatalf("crossclear serve (start %d) did not serve within 60s\nstdout:\n%s\nstderr:\n%s", n, s.stdout.String(), Tail(LogPath, 40))
		case <-time.After(5 * time.Millisecond):
		}
	}
	s.client = &http.Client{
		Transport: &http.Transport{MaxIdleConns: 128, MaxIdleConnsPerHost: 128, IdleConnTimeout: 30 * time.Second},
		Timeout:   60 * time.Second,
	}
	return s
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *Server) Kill() {
	if s.exited {
		return
	}
	s.cmd.Process.Kill()
	s.exitErr = <-s.done
	s.exited = true
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
}

// stop asks the server to shut down (SIGTERM) and waits; after 30s it is
// killed. It returns the exit error, nil for a clean exit.
func (s *Server) Stop() error {
	if s.exited {
		return s.exitErr
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case s.exitErr = <-s.done:
		s.exited = true
	case <-time.After(30 * time.Second):
		s.Kill()
		return errors.New("did not stop within 30s of SIGTERM; killed")
	}
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
	return s.exitErr
}

// dead reports whether the process has exited without being asked to.
func (s *Server) Dead() (bool, error) {
	if s.exited {
		return true, s.exitErr
	}
	select {
	case err := <-s.done:
		s.exited, s.exitErr = true, err
		return true, err
	default:
		return false, nil
	}
}

// answer is what the server said to one request.
type Answer struct {
	Status     int
	Body       []byte
	Replayed   bool   // Idempotent-Replayed: true
	RetryAfter string // the Retry-After header
}

func (a Answer) String() string {
	b := string(a.Body)
	if len(b) > 300 {
		b = b[:300] + "…"
	}
	return fmt.Sprintf("%d %s", a.Status, strings.TrimSpace(b))
}

// do sends one request. An error means no (complete) answer arrived.
func (s *Server) Do(ctx context.Context, method, path, secret, idemKey, contentType string, body []byte) (Answer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.Base+path, rd)
	if err != nil {
		return Answer{}, err
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Answer{}, fmt.Errorf("reading the answer: %w", err)
	}
	return Answer{Status: resp.StatusCode, Body: b, Replayed: resp.Header.Get("Idempotent-Replayed") == "true",
		RetryAfter: resp.Header.Get("Retry-After")}, nil
}

// tail is the last n lines of a file, for failure messages.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// errorLines are the level=ERROR lines of a server's log.
func ErrorLines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "level=ERROR") {
			out = append(out, l)
		}
	}
	return out
}

// execCommand is the built binary run once with env, for the CLI.
func ExecCommand(bin, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Dir = env, dir
	return cmd
}

// GroupedCommits is the commit group size (group_commit_max) that the n-th
// start of a server runs with: odd starts coalesce requests into groups of
// up to 64 (the default), even starts commit each request alone, so that
// one run proves exactly-once on both write paths, and across a restart
// from one to the other.
func GroupedCommits(n int) int {
	if n%2 == 1 {
		return 64
	}
	return 1
}

// GroupCommitEnv is the environment line for GroupedCommits(n).
func GroupCommitEnv(n int) string {
	return fmt.Sprintf("CROSSCLEAR_GROUP_COMMIT_MAX=%d", GroupedCommits(n))
}

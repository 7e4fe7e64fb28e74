package isotest

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// XSD returns the path of ISO's schema for a message ("camt.053.001.08"),
// looked up in CROSSCLEAR_ISO_XSD (shared/iso20022/xsd, which .ci/test
// exports; by default the shared folder beside the repository) and in the
// specifications moov-io/iso20022 ships. The schemas are read where they
// are, never copied into the repository. A missing schema fails the test:
// what crossclear sends is always checked.
func XSD(t testing.TB, message string) string {
	t.Helper()
	dirs := xsdDirs()
	found.Lock()
	defer found.Unlock()
	if p, ok := found.paths[message]; ok {
		return p
	}
	for _, dir := range dirs {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == message+".xsd" {
				found.paths[message] = p
				return fs.SkipAll
			}
			return nil
		})
		if p, ok := found.paths[message]; ok {
			return p
		}
	}
	t.Fatalf("ISO's %s.xsd is in none of %v: set CROSSCLEAR_ISO_XSD to shared/iso20022/xsd (bash .ci/test does)", message, dirs)
	return ""
}

var (
	dirsOnce sync.Once
	dirs     []string
	found    = struct {
		sync.Mutex
		paths map[string]string // message → its XSD
	}{paths: map[string]string{}}
)

func xsdDirs() []string {
	dirsOnce.Do(func() {
		if d := os.Getenv("CROSSCLEAR_ISO_XSD"); d != "" {
			dirs = append(dirs, d)
		} else if root, err := moduleRoot(); err == nil {
			dirs = append(dirs, filepath.Join(root, "..", "shared", "iso20022", "xsd"))
		}
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/moov-io/iso20022").Output()
		if err == nil {
			dirs = append(dirs, filepath.Join(strings.TrimSpace(string(out)), "docs", "specifications"))
		}
	})
	return dirs
}

// moduleRoot is the folder of the go.mod above the working directory (a
// test runs in its package's folder).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", fs.ErrNotExist
		}
		dir = up
	}
}

// SchemaValid runs xmllint --schema over the Document of file (an encoded
// message with its AppHdr; the Document is cut out byte for byte) and
// fails the test with xmllint's words when it is not valid.
func SchemaValid(t testing.TB, message string, file []byte) {
	t.Helper()
	xsd := XSD(t, message)
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is needed to check what crossclear sends against ISO's schemas: apt-get install libxml2-utils (bash .ci/test does)")
	}
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, DocumentOf(t, file), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", xsd, f).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "validates") {
		t.Fatalf("not valid against %s: %v\n%s\n%s", filepath.Base(xsd), err, out, file)
	}
}

// DocumentOf cuts the Document element, byte for byte, out of an encoded
// file, behind an XML declaration.
func DocumentOf(t testing.TB, file []byte) []byte {
	t.Helper()
	i, j := bytes.Index(file, []byte("<Document ")), bytes.LastIndex(file, []byte("</Document>"))
	if i < 0 || j < i {
		t.Fatalf("no Document in\n%s", file)
	}
	return append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"), file[i:j+len("</Document>")]...)
}

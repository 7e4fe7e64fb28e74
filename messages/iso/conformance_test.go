package iso_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/messages/iso"
)

// samplesDir is the third-party corpus (../shared/iso20022/samples beside
// the repository; .ci/test exports CROSSCLEAR_ISO_SAMPLES). It is never
// copied into the repository, and the test never skips: without the
// corpus it fails and says where it looked.
func samplesDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CROSSCLEAR_ISO_SAMPLES")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "iso20022", "samples")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		abs, _ := filepath.Abs(dir)
		t.Fatalf("the ISO 20022 sample corpus is missing at %s: set CROSSCLEAR_ISO_SAMPLES to the samples folder of shared/iso20022 (bash .ci/test does), or place shared/ beside the repository", abs)
	}
	return dir
}

// TestConformance runs every file of the corpus through the splitter, the
// decoder and the context-free rules (no bank or merchant directory: the
// corpus's banks are not ours) and prints per file: accepted, rejected
// with the reason, or unsupported. No file may panic, every refusal is an
// *iso.Error, and the payment messages crossclear takes in must decode.
func TestConformance(t *testing.T) {
	dir := samplesDir(t)
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("only %d files under %s", len(files), dir)
	}
	sort.Strings(files)
	counts := map[string]int{}
	var out strings.Builder
	for _, path := range files {
		rel, _ := filepath.Rel(dir, path)
		verdict := conform(t, path)
		kind, _, _ := strings.Cut(verdict, ":")
		counts[kind]++
		fmt.Fprintf(&out, "  %-110s %s\n", rel, verdict)
	}
	t.Logf("ISO 20022 conformance over %d files in %s:\n%s  accepted %d, rejected %d, unsupported %d", len(files), dir, out.String(), counts["accepted"], counts["rejected"], counts["unsupported"])
	fmt.Printf("conformance: %d files: accepted %d, rejected %d, unsupported %d\n", len(files), counts["accepted"], counts["rejected"], counts["unsupported"])
	if counts["accepted"]+counts["rejected"] < 3 {
		t.Fatalf("the pacs.008 samples should at least decode: %v", counts)
	}
}

func conform(t *testing.T, path string) (verdict string) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: panic: %v", path, r)
			verdict = "PANIC"
		}
	}()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := iso.DecodeBytes(raw, iso.DefaultLimits)
	if err != nil {
		e, ok := iso.AsError(err)
		if !ok {
			t.Errorf("%s: not an *iso.Error: %v", path, err)
		}
		if errors.Is(err, iso.ErrUnsupported) {
			return "unsupported: " + e.Msg
		}
		return fmt.Sprintf("rejected: %v", err)
	}
	r := iso.Validate(m, iso.Context{})
	if r.Group != nil {
		return fmt.Sprintf("rejected: %s %s", m.Name, r.Group)
	}
	var bad []string
	for _, tx := range r.Txs {
		if tx.Err != nil {
			bad = append(bad, tx.Err.Error())
		}
	}
	if len(bad) == len(r.Txs) {
		return fmt.Sprintf("rejected: %s, %d transaction(s): %s", m.Name, len(r.Txs), strings.Join(bad, "; "))
	}
	if len(bad) > 0 {
		return fmt.Sprintf("accepted: %s, %d of %d transaction(s); rejected: %s", m.Name, len(r.Txs)-len(bad), len(r.Txs), strings.Join(bad, "; "))
	}
	return fmt.Sprintf("accepted: %s, %d transaction(s)", m.Name, len(r.Txs))
}

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
// decoder of its kind (payments, cancellation requests, settlement
// confirmations) and the context-free rules (no bank or merchant
// directory: the corpus's banks are not ours) and prints per file:
// accepted, rejected with the reason, or unsupported. No file may panic,
// every refusal is an *iso.Error, and the payment messages crossclear
// takes in must decode.
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
	f, err := iso.DecodeFileBytes(raw, iso.DefaultLimits)
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
	var group error
	var bad []string
	n := 0
	switch f.Kind {
	case iso.KindPayment:
		r := iso.Validate(f.Payment, iso.Context{})
		if r.Group != nil {
			group = r.Group
		}
		for _, tx := range r.Txs {
			if tx.Err != nil {
				bad = append(bad, tx.Err.Error())
			}
		}
		n = len(r.Txs)
	case iso.KindCancellation:
		r := iso.ValidateCancellation(f.Cancellation, iso.Context{})
		if r.Group != nil {
			group = r.Group
		}
		for _, e := range r.Txs {
			if e != nil {
				bad = append(bad, e.Error())
			}
		}
		n = len(r.Txs)
	case iso.KindFunding:
		for _, tr := range f.Funding.Transfers {
			if tr.Problem != nil {
				bad = append(bad, tr.Problem.Error())
			}
		}
		n = len(f.Funding.Transfers)
	case iso.KindSettlement:
		for _, it := range f.Settlement.Items {
			if it.Problem != nil {
				bad = append(bad, it.Problem.Error())
			}
		}
		n = len(f.Settlement.Items)
	}
	what := fmt.Sprintf("%s %s", f.Name, f.Kind)
	switch {
	case group != nil:
		return fmt.Sprintf("rejected: %s %s", what, group)
	case len(bad) == n:
		return fmt.Sprintf("rejected: %s, %d item(s): %s", what, n, strings.Join(bad, "; "))
	case len(bad) > 0:
		return fmt.Sprintf("accepted: %s, %d of %d item(s); rejected: %s", what, n-len(bad), n, strings.Join(bad, "; "))
	}
	return fmt.Sprintf("accepted: %s, %d item(s)", what, n)
}

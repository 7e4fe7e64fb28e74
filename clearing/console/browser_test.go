package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// The browser tests drive headless Chromium (Debian's chromium, which
// .ci/test installs) against the real server: signing in, one page per
// role, and the drag-and-drop upload. Any console error (a script error,
// a CSP violation, a failed load) fails them. Screenshots go to
// $CROSSCLEAR_CONSOLE_SCREENSHOTS when set.

// chromium finds the browser; a machine without one fails the test (CI
// installs it) rather than skipping it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CROSSCLEAR_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: install Debian's chromium (apt-get install -y chromium; .ci/test does) or set CROSSCLEAR_CHROMIUM")
	return ""
}

// tab is one browser tab that records every console error.
type tab struct {
	t      *testing.T
	ctx    context.Context
	mu     sync.Mutex
	errors []string
	shots  string
}

func newTab(t *testing.T) *tab {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	tb := &tab{t: t, ctx: ctx, shots: os.Getenv("CROSSCLEAR_CONSOLE_SCREENSHOTS")}
	if err := chromedp.Do(ctx); err != nil { // start the browser and open the tab
		t.Fatalf("start Chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				tb.mu.Lock()
				tb.errors = append(tb.errors, fmt.Sprintf("%s %s (%s)", m.Type, m.Text, m.URL))
				tb.mu.Unlock()
			}
		}
	}()
	return tb
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatal(err)
	}
}

func run[T any](tb *tab, a chromedp.Action[T]) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, a)
	if err != nil {
		tb.t.Fatal(err)
	}
	return v
}

// noErrors fails the test on any console error seen so far: a script
// error, a CSP violation, a resource that failed to load.
func (tb *tab) noErrors() {
	tb.t.Helper()
	time.Sleep(100 * time.Millisecond) // let the last page's messages arrive
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, e := range tb.errors {
		tb.t.Errorf("browser console: %s", e)
	}
	tb.errors = nil
}

func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	if tb.shots == "" {
		return
	}
	png := run(tb, chromedp.FullScreenshot(100)) // 100: PNG
	if err := os.WriteFile(filepath.Join(tb.shots, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return run(tb, chromedp.Text(chromedp.CSS(sel)))
}

// signIn types the key into the sign-in form, as a person would.
func (tb *tab) signIn(base, key string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), key), chromedp.Submit(chromedp.ID("key")), chromedp.WaitVisible(chromedp.CSS("nav")))
}

func (tb *tab) signOut() {
	tb.t.Helper()
	tb.do(chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.ID("key")))
}

func TestBrowser(t *testing.T) {
	e := newEnv(t, "sqlite")
	tb := newTab(t)

	t.Run("operator signs in and sees the netting picture", func(t *testing.T) {
		tb.t = t
		tb.signIn(e.base, e.keys["operator"])
		url := run(tb, chromedp.Location())
		if !strings.HasSuffix(url, "/console/overview") || !strings.Contains(tb.text("h1"), "Overview") {
			t.Fatalf("landed on %s", url)
		}
		tb.screenshot("operator-overview")
		tb.do(chromedp.Navigate(fmt.Sprintf("%s/console/cycles/%d", e.base, e.closedCycle)), chromedp.WaitVisible(chromedp.ID("netting-EUR")))
		bands := run(tb, chromedp.Evaluate[int](`document.querySelectorAll("#netting-EUR path.band").length`))
		if bands != 1 || !strings.Contains(tb.text("#netting-EUR h2"), "netting efficiency") || !strings.Contains(tb.text("#netting-EUR .positions"), "DBSSSGSG") {
			t.Fatalf("netting picture: %d bands, %q", bands, tb.text("#netting-EUR"))
		}
		tb.screenshot("operator-cycle")
		tb.noErrors()
		tb.signOut()
	})

	t.Run("operator reads the audit log and filters it", func(t *testing.T) {
		tb.t = t
		tb.signIn(e.base, e.keys["operator"])
		tb.do(chromedp.Click(chromedp.CSS(`nav a[href="/console/audit"]`)), chromedp.WaitVisible(chromedp.ID("audit")))
		if h, rows := tb.text("h1"), tb.text("#audit tbody"); h != "Audit log" || !strings.Contains(rows, "apikey.create") || !strings.Contains(rows, "merchant.create") {
			t.Fatalf("audit page %q: %q", h, rows)
		}
		tb.do(chromedp.SendKeys(`input[name="action"]`, "merchant."), chromedp.Submit(`input[name="action"]`),
			chromedp.WaitVisible(chromedp.CSS(`input[name="action"][value="merchant."]`)))
		actions := run(tb, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#audit tbody tr")].map(r => r.cells[2].textContent)`))
		if len(actions) == 0 || slices.ContainsFunc(actions, func(a string) bool { return !strings.HasPrefix(a, "merchant.") }) {
			t.Fatalf("filtered by merchant.: %q", actions)
		}
		tb.screenshot("operator-audit")
		tb.noErrors()
		tb.signOut()
	})

	t.Run("operator switches to Chinese and back", func(t *testing.T) {
		tb.t = t
		tb.signIn(e.base, e.keys["operator"])
		tb.do(chromedp.Click(chromedp.ID("lang-zh-Hans")), chromedp.WaitVisible(chromedp.CSS("#lang-en:not([disabled])")))
		if h := tb.text("h1"); h != "概览" || run(tb, chromedp.Evaluate[string](`document.documentElement.lang`)) != "zh-Hans" {
			t.Fatalf("after switching to Chinese the overview says %q", h)
		}
		if nav := tb.text("nav"); !strings.Contains(nav, "清算周期") || !strings.Contains(nav, "参与机构") {
			t.Fatalf("menu %q", nav)
		}
		tb.do(chromedp.Navigate(fmt.Sprintf("%s/console/cycles/%d", e.base, e.closedCycle)), chromedp.WaitVisible(chromedp.ID("netting-EUR")))
		if h := tb.text("#netting-EUR h2"); !strings.Contains(h, "轧差效率") || !strings.Contains(h, "125.50 EUR") {
			t.Fatalf("netting picture heading %q", h)
		}
		if p := tb.text("main > p"); !regexp.MustCompile(`开启于 \d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d UTC`).MatchString(p) {
			t.Fatalf("the cycle's dates are not written the Chinese way: %q", p)
		}
		tb.screenshot("operator-cycle-zh")
		tb.do(chromedp.Navigate(e.base+"/console/payments/"+e.paySGtoDE), chromedp.WaitVisible(chromedp.CSS(".facts")))
		if f := tb.text(".facts"); !strings.Contains(f, "125.50 EUR") || !strings.Contains(f, "已放款") || !strings.Contains(f, "放款截止时间") {
			t.Fatalf("payment facts %q", f)
		}
		// The choice is the session's: a fresh page load keeps it.
		tb.do(chromedp.Navigate(e.base+"/console/payments"), chromedp.WaitVisible(chromedp.ID("payments")))
		if h := tb.text("#payments thead"); !strings.Contains(h, "买方银行") {
			t.Fatalf("payments table head %q", h)
		}
		tb.do(chromedp.Click(chromedp.ID("lang-en")), chromedp.WaitVisible(chromedp.CSS("#lang-zh-Hans:not([disabled])")))
		if h := tb.text("h1"); h != "Payments" {
			t.Fatalf("after switching back the page says %q", h)
		}
		tb.noErrors()
		tb.signOut()
	})

	t.Run("bank drops a pacs.008 and reads the pacs.002 answer", func(t *testing.T) {
		tb.t = t
		tb.signIn(e.base, e.keys["bankSG"])
		if !strings.Contains(tb.text("#payments"), e.paySGtoDE[:8]) {
			t.Fatal("the bank's payments page does not list its payment")
		}
		file := isotest.Pacs008{MsgID: "DROP-" + uuid.NewString()[:8], Txs: []isotest.Tx{
			{UETR: uuid.NewString(), Amount: "10.00", Ccy: "EUR"},
			{UETR: uuid.NewString(), Amount: "10.001", Ccy: "EUR"}, // too precise for EUR: rejected
		}}.Bytes()
		js, _ := json.Marshal(string(file))
		drop := `(() => {
			const dt = new DataTransfer();
			dt.items.add(new File([` + string(js) + `], "payments.xml", {type: "application/xml"}));
			document.getElementById("dropzone").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
			return true;
		})()`
		tb.do(chromedp.Navigate(e.base+"/console/upload"), chromedp.WaitVisible(chromedp.ID("dropzone")),
			chromedp.Evaluate[chromedp.Void](drop), chromedp.WaitVisible(chromedp.CSS("#answer table")))
		rows := run(tb, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#answer tbody tr")].map(r => r.className + " " + r.cells[4].textContent)`))
		if len(rows) != 2 || rows[0] != "tx-ACSP " || !strings.HasPrefix(rows[1], "tx-RJCT ") || len(rows[1]) <= len("tx-RJCT ") {
			t.Fatalf("answer rows %q", rows)
		}
		if h := tb.text("#answer h2"); !strings.Contains(h, "PART") || !strings.Contains(h, "1 accepted, 1 rejected") {
			t.Fatalf("answer heading %q", h)
		}
		tb.screenshot("bank-upload")
		// The bank sees the answer once the outbox has signed it: the upload
		// kicked the sealer, so it comes within a moment.
		for n := 0; n != 2; n = strings.Count(tb.text("#files tbody"), "pacs.002") {
			if tb.ctx.Err() != nil {
				t.Fatalf("mailbox shows %d pacs.002, want 2: %s", n, tb.text("#files tbody"))
			}
			tb.do(chromedp.Navigate(e.base+"/console/files"), chromedp.WaitVisible(chromedp.ID("files")))
		}
		tb.noErrors()
		tb.signOut()
	})

	t.Run("merchant sees its payments and payouts", func(t *testing.T) {
		tb.t = t
		tb.signIn(e.base, e.keys["merDE"])
		if !strings.Contains(tb.text("#payments"), e.paySGtoDE[:8]) {
			t.Fatal("the merchant's payments page does not list its payment")
		}
		tb.do(chromedp.Navigate(e.base+"/console/payouts"), chromedp.WaitVisible(chromedp.ID("payouts")))
		if s := tb.text("#payouts tbody"); !strings.Contains(s, "125.50 EUR") {
			t.Fatalf("payouts %q", s)
		}
		tb.screenshot("merchant-payouts")
		tb.noErrors()
		tb.signOut()
	})

	t.Run("compliance officer approves a review", func(t *testing.T) {
		tb.t = t
		tb.signIn(e.base, e.keys["officer"])
		if !strings.Contains(tb.text("h1"), "Review queue") {
			t.Fatalf("officer landed on %q", tb.text("h1"))
		}
		tb.do(chromedp.Click(chromedp.CSS("#reviews a")), chromedp.WaitVisible(chromedp.ID("matches")))
		if m := tb.text("#matches"); !strings.Contains(m, "TNK Trading International Ltd") || !strings.Contains(m, "28603") {
			t.Fatalf("the parties beside their matches: %q", m)
		}
		tb.screenshot("compliance-review")
		tb.do(chromedp.SendKeys(chromedp.ID("comment"), "end-user checked: not the listed entity"),
			chromedp.Click(chromedp.ID("approve")), chromedp.WaitNotPresent(chromedp.ID("decide")))
		if facts := tb.text(".facts"); !strings.Contains(facts, "approved") || !strings.Contains(facts, "end-user checked") {
			t.Fatalf("after approval: %q", facts)
		}
		tb.do(chromedp.Navigate(e.base+"/console/reviews?status=all"), chromedp.WaitVisible(chromedp.ID("reviews")))
		if h := tb.text("#reviews tbody"); !strings.Contains(h, "approved") || !strings.Contains(h, "A. Officer") && !strings.Contains(h, "compliance:") {
			t.Fatalf("decision history: %q", h)
		}
		tb.noErrors()
		tb.signOut()
	})
}

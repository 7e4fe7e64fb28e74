package console_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// TestRegulatorBrowser: a regulator signs in to the gateway's console in
// Chromium and sees its reports verified by the page's script — the
// checkpoint's Ed25519 signature, inclusion proofs, file hashes and
// signatures — then sees the log extend consistently, a tampered file
// named as such, a forked or rolled-back log caught against the
// checkpoint this browser remembered, and a withheld report missed.
func TestRegulatorBrowser(t *testing.T) {
	r := newRegEnv(t, "sqlite")
	tb := newTab(t)
	storeKey := `"crossclear.checkpoint ` + testOrigin + `"`
	verdict := func(want string) string {
		tb.t.Helper()
		tb.do(chromedp.WaitVisible(chromedp.CSS("#verify.ok, #verify.bad")))
		got := run(tb, chromedp.Evaluate[string](`document.getElementById("verify").className`))
		status := tb.text("#verify")
		if !strings.Contains(got, want) {
			tb.t.Fatalf("verification %q, want %q: %s", got, want, status)
		}
		return status
	}
	reload := func() { tb.do(chromedp.Navigate(r.gw.base + "/console/reports")) }

	t.Run("reports verify green", func(t *testing.T) {
		tb.t = t
		tb.signIn(r.gw.base, r.keys["regSG"])
		if url := run(tb, chromedp.Location()); !strings.HasSuffix(url, "/console/reports") {
			t.Fatalf("landed on %s", url)
		}
		status := verdict("ok")
		if !strings.Contains(status, "trusted on first use") || !strings.Contains(status, "signed by "+testOrigin) {
			t.Fatalf("status %q", status)
		}
		rows := run(tb, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#reports tr[data-report]")].map(r => r.dataset.report + " " + r.querySelector(".verdict").className + " " + r.querySelector(".verdict").textContent)`))
		if len(rows) == 0 || !strings.Contains(strings.Join(rows, "\n"), r.reportSG+" verdict ok verified") {
			t.Fatalf("rows %q", rows)
		}
		for _, row := range rows {
			if !strings.Contains(row, "verdict ok verified") {
				t.Errorf("row %q", row)
			}
		}
		if strings.Contains(tb.text("#reports"), r.reportDE) {
			t.Error("SG's regulator sees DE's report")
		}
		if seen := run(tb, chromedp.Evaluate[string](`localStorage.getItem(`+storeKey+`) || ""`)); !strings.Contains(seen, `"size"`) {
			t.Fatalf("the checkpoint was not remembered: %q", seen)
		}
		tb.screenshot("regulator-reports")
		tb.noErrors()
	})

	t.Run("in Chinese", func(t *testing.T) {
		tb.t = t
		tb.do(chromedp.Click(chromedp.ID("lang-zh-Hans")), chromedp.WaitVisible(chromedp.CSS("#lang-zh-Hans.current")))
		if status := verdict("ok"); !strings.Contains(status, "已验证：检查点及本页全部报告") || !regexp.MustCompile(`与本浏览器上次所见的树相同（\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d UTC）`).MatchString(status) {
			t.Fatalf("status %q", status)
		}
		if cell := tb.text("#reports tbody .verdict"); !strings.HasPrefix(cell, "已验证") {
			t.Fatalf("row %q", cell)
		}
		tb.screenshot("regulator-reports-zh")
		tb.do(chromedp.Click(chromedp.ID("lang-en")), chromedp.WaitVisible(chromedp.CSS("#lang-en.current")))
		verdict("ok")
		tb.noErrors()
	})

	t.Run("a newer checkpoint extends the one remembered", func(t *testing.T) {
		tb.t = t
		before := run(tb, chromedp.Evaluate[string](`localStorage.getItem(`+storeKey+`)`))
		if _, err := r.st.CloseCycle(ctx, storetest.Operator); err != nil {
			t.Fatal(err)
		}
		if _, err := r.producer.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		reload()
		if status := verdict("ok"); !strings.Contains(status, "extends the tree of size") {
			t.Fatalf("status %q", status)
		}
		if after := run(tb, chromedp.Evaluate[string](`localStorage.getItem(`+storeKey+`)`)); after == before {
			t.Fatal("the newer checkpoint was not remembered")
		}
		tb.noErrors()
	})

	t.Run("a tampered file fails its hash check", func(t *testing.T) {
		tb.t = t
		r.tamper(t, r.reportSG)
		reload()
		verdict("bad")
		cell := run(tb, chromedp.Evaluate[string](`document.querySelector('#reports tr[data-report="`+r.reportSG+`"] .verdict').textContent`))
		if !strings.Contains(cell, "file hashes") || !strings.Contains(cell, ".csv was altered") {
			t.Fatalf("tampered report: %q", cell)
		}
		if !strings.Contains(tb.text("#verify-status"), "1 of") {
			t.Fatalf("status %q", tb.text("#verify-status"))
		}
		tb.screenshot("regulator-tampered")
		tb.noErrors()
	})

	t.Run("a forked or rolled-back log is caught", func(t *testing.T) {
		tb.t = t
		// Another tree at the size this browser saw: a fork.
		tb.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = JSON.parse(localStorage.getItem(` + storeKey + `)); s.root = btoa("x".repeat(32)); localStorage.setItem(` + storeKey + `, JSON.stringify(s)); })()`))
		reload()
		if status := verdict("bad"); !strings.Contains(status, "log consistency: the log forked") {
			t.Fatalf("status %q", status)
		}
		// A bigger tree seen before than the gateway shows now: rolled back.
		tb.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = JSON.parse(localStorage.getItem(` + storeKey + `)); s.size = String(Number(s.size) + 5); localStorage.setItem(` + storeKey + `, JSON.stringify(s)); })()`))
		reload()
		if status := verdict("bad"); !strings.Contains(status, "log consistency: the log went backwards") {
			t.Fatalf("status %q", status)
		}
		// A smaller one the current tree does not extend: a fork too.
		tb.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = JSON.parse(localStorage.getItem(` + storeKey + `)); s.size = "1"; localStorage.setItem(` + storeKey + `, JSON.stringify(s)); })()`))
		reload()
		if status := verdict("bad"); !strings.Contains(status, "does not extend size 1") {
			t.Fatalf("status %q", status)
		}
		tb.screenshot("regulator-forked")
		tb.noErrors()
	})

	t.Run("a withheld report is caught", func(t *testing.T) {
		tb.t = t
		tb.do(chromedp.Evaluate[chromedp.Void](`localStorage.removeItem(` + storeKey + `)`)) // trust the log again
		r.withhold(t, r.reportSG)
		reload()
		verdict("bad")
		if rows := tb.text("#reports tbody"); strings.Contains(rows, r.reportSG) || !strings.Contains(rows, "report sequence: cycle report 1 is missing: the page goes on with 2") {
			t.Fatalf("rows %q", rows)
		}
		tb.noErrors()
		tb.signOut()
	})
}

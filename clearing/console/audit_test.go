package console_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// TestAuditLog: an operator's change shows on the audit page for the
// operator and the compliance officer; the form's filters (action exact or
// by prefix, actor, object, a range of days) narrow it; the next link pages
// through a long log keeping the filters; dates follow the reader's
// language; only the roles that may open it have it in their menu.
func TestAuditLog(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { auditLog(t, newEnv(t, engine)) })
	}
}

var (
	auditBody = regexp.MustCompile(`(?s)<table id="audit">.*?<tbody>(.*?)</tbody>`)
	auditRow  = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	auditNext = regexp.MustCompile(`<a class="next" href="([^"]+)"`)
)

// auditRows are the rows of the audit page's table ("No audited changes."
// is none), and the next page's link if there is one.
func auditRows(t *testing.T, b *browser, path string) (rows []string, next string) {
	t.Helper()
	p := b.get(path)
	m := auditBody.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		t.Fatalf("%s: %d %s", path, p.Status, p.Body)
	}
	for _, r := range auditRow.FindAllStringSubmatch(m[1], -1) {
		if !strings.Contains(r[1], "colspan") {
			rows = append(rows, html.UnescapeString(r[1]))
		}
	}
	if n := auditNext.FindStringSubmatch(p.Body); n != nil {
		next = html.UnescapeString(n[1])
	}
	return rows, next
}

func auditLog(t *testing.T, e *env) {
	const reason = "audit page test: credit review"
	if _, err := e.st.UpdateParticipantLimits(ctx, "DEUTDEFF", store.LimitsChange{
		Set: []clearing.SettlementCurrency{{Currency: "EUR", NetDebitCapMinor: 750_000_00}}, Reason: reason}, storetest.Operator); err != nil {
		t.Fatal(err)
	}
	day := func(days int) string {
		log, err := e.st.AuditLog(ctx, store.AuditFilter{Action: "participant.limits", Object: "DEUTDEFF", Limit: 1})
		if err != nil || len(log.Entries) != 1 {
			t.Fatalf("the change's audit entry: %+v %v", log, err)
		}
		return log.Entries[0].At.AddDate(0, 0, days).Format("2006-01-02")
	}
	limits := func(rows []string) int {
		n := 0
		for _, r := range rows {
			if strings.Contains(r, "participant.limits") && strings.Contains(r, reason) && strings.Contains(r, "DEUTDEFF") {
				n++
			}
		}
		return n
	}

	for _, who := range []string{"operator", "officer"} {
		b := e.browser()
		b.signIn(who)
		rows, _ := auditRows(t, b, "/console/audit")
		if limits(rows) != 1 {
			t.Fatalf("%s: the limits change is not on the audit page: %q", who, rows)
		}
	}

	b := e.browser()
	b.signIn("operator")
	filters := []struct {
		query  string
		change bool // the limits change is listed
		each   string
	}{
		{"action=participant.limits", true, "participant.limits"},
		{"action=participant.", true, "participant."},
		{"action=participant", false, ""}, // neither the action nor a prefix ending in "."
		{"action=apikey.", false, "apikey."},
		{"actor=" + url.QueryEscape(storetest.Operator.String()) + "&object=DEUTDEFF", true, "DEUTDEFF"},
		{"actor=" + url.QueryEscape("bank:DBSSSGSG"), false, "bank:DBSSSGSG"},
		{"object=DBSSSGSG", false, "DBSSSGSG"},
		{"since=" + day(0) + "&until=" + day(0), true, ""},
		{"since=" + day(1), false, ""},
		{"until=" + day(-1), false, ""},
	}
	for _, f := range filters {
		rows, _ := auditRows(t, b, "/console/audit?"+f.query)
		if got := limits(rows) == 1; got != f.change {
			t.Errorf("?%s lists the limits change: %v, want %v: %q", f.query, got, f.change, rows)
		}
		for _, r := range rows {
			if !strings.Contains(r, f.each) {
				t.Errorf("?%s lists a row without %q: %q", f.query, f.each, r)
			}
		}
	}
	if p := b.get("/console/audit?since=10%2F03%2F2026"); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "10/03/2026 is not a date") {
		t.Errorf("a date the form cannot read: %d %s", p.Status, p.Body)
	}
	if p := b.get("/console/audit?cursor=nonsense"); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "no longer valid") {
		t.Errorf("a broken cursor: %d %s", p.Status, p.Body)
	}

	// A log longer than a page: the next link goes on with the filter, and
	// the pages together are the whole log, each entry once.
	for range 60 {
		if _, _, err := e.st.CreateAPIKey(ctx, clearing.RoleBank, "DEUTDEFF", "paging", storetest.Operator); err != nil {
			t.Fatal(err)
		}
	}
	all, err := e.st.AuditLog(ctx, store.AuditFilter{Action: "apikey.create", Limit: store.MaxPage})
	if err != nil || all.NextCursor != "" {
		t.Fatalf("the whole log of key creations: %v %q", err, all.NextCursor)
	}
	seen, pages := map[string]bool{}, 0
	for path := "/console/audit?action=apikey.create"; path != ""; pages++ {
		var rows []string
		rows, path = auditRows(t, b, path)
		for _, r := range rows {
			if !strings.Contains(r, "apikey.create") {
				t.Errorf("page %d lists %q", pages+1, r)
			}
			if seen[r] {
				t.Errorf("page %d lists %q again", pages+1, r)
			}
			seen[r] = true
		}
	}
	if pages != 2 || len(seen) != len(all.Entries) {
		t.Errorf("%d pages of %d entries, want 2 pages of %d", pages, len(seen), len(all.Entries))
	}

	// The dates in the reader's language.
	if p := b.post("/console/language", url.Values{"lang": {"zh-Hans"}, "csrf": {b.csrf("/console/audit")}, "back": {"/console/audit"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("switch to Chinese: %d", p.Status)
	}
	zh := b.get("/console/audit?action=participant.limits")
	if !strings.Contains(zh.Body, "<h1>审计日志</h1>") || !regexp.MustCompile(`<td>\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d UTC</td>`).MatchString(zh.Body) {
		t.Errorf("the audit page in Chinese: %s", zh.Body)
	}

	// The menu links to it for the roles that may open it only.
	for who, home := range map[string]string{"operator": "/console/overview", "officer": "/console/reviews", "bankDE": "/console/payments", "merDE": "/console/payments"} {
		b := e.browser()
		b.signIn(who)
		p := b.get(home)
		if has, want := strings.Contains(p.Body, `href="/console/audit"`), who == "operator" || who == "officer"; has != want {
			t.Errorf("%s's menu links the audit log: %v, want %v", who, has, want)
		}
	}
}

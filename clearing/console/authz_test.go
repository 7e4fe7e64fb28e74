package console_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// callers are the signed-in users of the role-isolation test: every role
// the console serves, and two of each kind that owns data.
var callers = []string{"operator", "officer", "bankDE", "bankSG", "bankUS", "merDE", "merSG"}

// access is one route's expected answer per caller: a status, and for
// lists what the page must and must not show.
type access struct {
	route  string // as registered: "GET /console/payments/:id"
	path   string // what is requested
	want   map[string]int
	shows  map[string][]string // caller → strings the page must contain
	hides  map[string][]string // caller → strings it must not
	others int                 // the status of every caller not in want
}

// TestRoleIsolation opens every console route as every role: each sees
// only its own pages and, on the pages it may open, only its own objects;
// another's object is "not found", exactly like an id that does not exist.
// The table must name every route the console registers.
func TestRoleIsolation(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { roleIsolation(t, newEnv(t, engine)) })
	}
}

func roleIsolation(t *testing.T, e *env) {
	const ok, see, no, none, bad = http.StatusOK, http.StatusSeeOther, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity
	cycle := strconv.FormatInt(e.closedCycle, 10)
	pay, payUS, file := e.paySGtoDE, e.payUS, e.fileSG
	all := func(status int) map[string]int {
		m := map[string]int{}
		for _, c := range callers {
			m[c] = status
		}
		return m
	}
	table := []access{
		{route: "GET /console/assets/:name", path: "/console/assets/console.css", want: all(ok)},
		{route: "GET /console/signin", path: "/console/signin", want: all(ok)},
		{route: "POST /console/signin", path: "/console/signin", want: all(no)}, // without the sign-in form's token
		{route: "GET /console/", path: "/console/", want: all(see)},
		{route: "GET /console/overview", path: "/console/overview", want: map[string]int{"operator": ok}, others: no},
		{route: "GET /console/cycles", path: "/console/cycles", want: map[string]int{"operator": ok}, others: no},
		{route: "GET /console/cycles/:id", path: "/console/cycles/" + cycle, want: map[string]int{"operator": ok}, others: no},
		// Closing a closed cycle shows it again: safe to repeat.
		{route: "POST /console/cycles/:id/close", path: "/console/cycles/" + cycle + "/close", want: map[string]int{"operator": see}, others: no},
		{route: "GET /console/participants", path: "/console/participants", want: map[string]int{"operator": ok, "bankDE": ok, "bankSG": ok, "bankUS": ok}, others: no,
			shows: map[string][]string{"operator": {"DEUTDEFF", "DBSSSGSG", "CHASUS33"}, "bankDE": {"DEUTDEFF"}},
			hides: map[string][]string{"bankDE": {"DBSSSGSG", "CHASUS33"}, "bankUS": {"DEUTDEFF", "DBSSSGSG"}}},
		{route: "GET /console/payments", path: "/console/payments", want: map[string]int{"operator": ok, "bankDE": ok, "bankSG": ok, "bankUS": ok, "merDE": ok, "merSG": ok}, others: no,
			shows: map[string][]string{"operator": {pay, payUS}, "bankDE": {pay}, "bankSG": {pay}, "bankUS": {payUS}, "merDE": {pay}},
			hides: map[string][]string{"bankDE": {payUS}, "bankSG": {payUS}, "bankUS": {pay}, "merDE": {payUS}, "merSG": {pay, payUS}}},
		{route: "GET /console/payments", path: "/console/payments?bank=CHASUS33", want: map[string]int{"officer": no}, others: ok,
			shows: map[string][]string{"operator": {payUS}}, hides: map[string][]string{"bankDE": {payUS, pay}, "merSG": {payUS}, "bankSG": {payUS}, "merDE": {payUS}}},
		// The US payment by its reference: only those who may see it find it.
		{route: "GET /console/payments", path: "/console/payments?reference=ORDER-US-1", want: map[string]int{"officer": no}, others: ok,
			shows: map[string][]string{"operator": {payUS}, "bankUS": {payUS}}, hides: map[string][]string{"operator": {pay}, "bankDE": {payUS}, "merDE": {payUS}, "merSG": {payUS}}},
		{route: "GET /console/payments/:id", path: "/console/payments/" + pay,
			want: map[string]int{"operator": ok, "bankDE": ok, "bankSG": ok, "bankUS": none, "merDE": ok, "merSG": none}, others: no},
		{route: "GET /console/payments/:id", path: "/console/payments/" + payUS,
			want: map[string]int{"operator": ok, "bankDE": none, "bankSG": none, "bankUS": ok, "merDE": none, "merSG": none}, others: no},
		{route: "GET /console/files", path: "/console/files", want: map[string]int{"operator": ok, "bankDE": ok, "bankSG": ok, "bankUS": ok}, others: no,
			shows: map[string][]string{"operator": {file}, "bankSG": {file}}, hides: map[string][]string{"bankDE": {file}, "bankUS": {file}}},
		{route: "GET /console/files", path: "/console/files?bank=DBSSSGSG", want: map[string]int{"operator": ok, "bankDE": ok, "bankSG": ok, "bankUS": ok}, others: no,
			hides: map[string][]string{"bankDE": {file}}},
		{route: "GET /console/files/:id", path: "/console/files/" + file, want: map[string]int{"operator": ok, "bankSG": ok, "bankDE": none, "bankUS": none}, others: no},
		{route: "GET /console/files/:id/signature", path: "/console/files/" + file + "/signature", want: map[string]int{"operator": ok, "bankSG": ok, "bankDE": none, "bankUS": none}, others: no},
		{route: "POST /console/files/:id/ack", path: "/console/files/" + file + "/ack", want: map[string]int{"bankSG": see, "bankDE": none, "bankUS": none}, others: no},
		{route: "GET /console/upload", path: "/console/upload", want: map[string]int{"bankDE": ok, "bankSG": ok, "bankUS": ok}, others: no},
		{route: "POST /console/upload", path: "/console/upload", want: map[string]int{"bankDE": bad, "bankSG": bad, "bankUS": bad}, others: no}, // an empty upload
		{route: "GET /console/reviews", path: "/console/reviews", want: map[string]int{"officer": ok}, others: no, shows: map[string][]string{"officer": {e.review}}},
		{route: "GET /console/reviews/:id", path: "/console/reviews/" + e.review, want: map[string]int{"officer": ok}, others: no,
			shows: map[string][]string{"officer": {"TNK Trading International Ltd", "28603"}}},
		{route: "POST /console/reviews/:id/:decision", path: "/console/reviews/" + e.review + "/reject", want: map[string]int{"officer": bad}, others: no}, // no comment
		{route: "GET /console/reviews/:id", path: "/console/reviews/scr_none", want: map[string]int{"officer": none}, others: no},
		{route: "POST /console/reviews/:id/:decision", path: "/console/reviews/scr_none/approve", want: map[string]int{"officer": none}, others: no},
		{route: "GET /console/payouts", path: "/console/payouts", want: map[string]int{"merDE": ok, "merSG": ok}, others: no,
			shows: map[string][]string{"merDE": {"Berlin Books"}}, hides: map[string][]string{"merSG": {"Berlin Books"}}},
		// The audit log, as GET /v1/audit: operators and compliance officers only.
		{route: "GET /console/audit", path: "/console/audit", want: map[string]int{"operator": ok, "officer": ok}, others: no,
			shows: map[string][]string{"operator": {"apikey.create", "merchant.create"}, "officer": {"apikey.create", "merchant.create"}},
			hides: map[string][]string{"bankDE": {"apikey.create"}, "merDE": {"apikey.create"}}},
		{route: "GET /console/audit", path: "/console/audit?action=merchant.", want: map[string]int{"operator": ok, "officer": ok}, others: no,
			shows: map[string][]string{"operator": {"merchant.create"}}, hides: map[string][]string{"operator": {"apikey.create"}}},
		{route: "POST /console/language", path: "/console/language", want: all(bad)}, // no language named
		{route: "POST /console/signout", path: "/console/signout", want: all(see)},   // last: it ends the session
	}

	covered := map[string]bool{}
	for _, a := range table {
		covered[a.route] = true
	}
	for _, r := range e.routes {
		if !covered[r] {
			t.Errorf("route %s is not in the role-isolation table", r)
		}
	}

	for _, who := range callers {
		b := e.browser()
		b.signIn(who)
		token := b.csrf("/console/overview") // every signed-in page, an error page too, carries it
		for _, a := range table {
			want, listed := a.want[who]
			if !listed {
				want = a.others
			}
			a.check(t, b, who, token, want)
		}
		if p := b.get("/console/payments"); p.Status != http.StatusSeeOther {
			t.Errorf("%s still signed in after signing out: %d", who, p.Status)
		}
	}
}

// check opens a's path in b as who (posting the CSRF token to a POST
// route) and wants status want and a's shows and hides for who.
func (a access) check(t *testing.T, b *browser, who, token string, want int) {
	t.Helper()
	var p page
	method, _, _ := strings.Cut(a.route, " ")
	if method == http.MethodPost {
		form := url.Values{}
		if a.path != "/console/signin" {
			form.Set("csrf", token)
		}
		p = b.post(a.path, form)
	} else {
		p = b.get(a.path)
	}
	if p.Status != want {
		t.Errorf("%s %s as %s: %d, want %d", method, a.path, who, p.Status, want)
		return
	}
	for _, s := range a.shows[who] {
		if !strings.Contains(p.Body, s) {
			t.Errorf("%s as %s does not show %s", a.path, who, s)
		}
	}
	for _, s := range a.hides[who] {
		if strings.Contains(p.Body, s) {
			t.Errorf("%s as %s shows %s", a.path, who, s)
		}
	}
}

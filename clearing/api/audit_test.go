package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// auditEntry is GET /v1/audit's entry as the tests read it.
type auditEntry struct {
	ID                                int64
	At, Actor, Action, Object, Detail string
}

type auditPage struct {
	Entries    []auditEntry
	NextCursor string
}

// audit reads one page of the audit log as key.
func (e *env) audit(key, query string) auditPage {
	e.t.Helper()
	var p auditPage
	e.must(http.StatusOK, key, "GET", "/v1/audit?"+query, nil).into(e.t, &p)
	return p
}

// actorOf is who a key's changes are audited as.
func (e *env) actorOf(secret string) string {
	e.t.Helper()
	k, err := e.st.Authenticate(context.Background(), secret)
	if err != nil {
		e.t.Fatal(err)
	}
	return k.Actor().String()
}

// TestAuditLogShowsOperatorChanges: a cap set and a key issued over the API
// are read back, newest first, naming the operator key and the object; each
// filter narrows to exactly the entries it names.
func TestAuditLogShowsOperatorChanges(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		op := e.actorOf(e.op)
		e.must(http.StatusOK, e.op, "POST", "/v1/participants/"+sgBank+"/limits", map[string]any{
			"currencies": []any{map[string]any{"currency": "EUR", "net_debit_cap": "500.00"}}, "reason": "credit review"})
		var k struct{ ID string }
		e.must(http.StatusCreated, e.op, "POST", "/v1/api-keys", map[string]any{"role": "regulator", "subject": "SG", "name": "mas"}).into(t, &k)

		r := e.must(http.StatusOK, e.op, "GET", "/v1/audit", nil)
		conformsTo(t, r, "AuditLog")
		var all auditPage
		r.into(t, &all)
		if len(all.Entries) < 3 || all.NextCursor != "" {
			t.Fatalf("the log: %s", r.Body)
		}
		created, limits := all.Entries[0], all.Entries[1]
		if created.Action != "apikey.create" || created.Object != k.ID || created.Actor != op || created.Detail != "regulator SG" {
			t.Fatalf("newest entry: %+v", created)
		}
		if limits.Action != "participant.limits" || limits.Object != sgBank || limits.Actor != op || !strings.Contains(limits.Detail, `"reason":"credit review"`) {
			t.Fatalf("second entry: %+v", limits)
		}
		for i := 1; i < len(all.Entries); i++ {
			if prev, cur := all.Entries[i-1], all.Entries[i]; prev.At < cur.At || prev.At == cur.At && prev.ID < cur.ID {
				t.Fatalf("not newest first at %d: %+v then %+v", i, prev, cur)
			}
		}

		// want is the entries of the whole log that keep says to keep.
		want := func(keep func(auditEntry) bool) []int64 {
			out := []int64{}
			for _, a := range all.Entries {
				if keep(a) {
					out = append(out, a.ID)
				}
			}
			return out
		}
		mid := all.Entries[len(all.Entries)/2].At
		cases := []struct {
			query string
			want  []int64
		}{
			{"action=apikey.create&actor=" + urlQuery(op), []int64{created.ID}},
			{"action=participant.", want(func(a auditEntry) bool { return strings.HasPrefix(a.Action, "participant.") })},
			{"action=participant", []int64{}},  // no dot: exactly, and no action is that
			{"action=PARTICIPANT.", []int64{}}, // case counts on both engines
			{"action=apikey.create", want(func(a auditEntry) bool { return a.Action == "apikey.create" })},
			{"object=" + sgBank, want(func(a auditEntry) bool { return a.Object == sgBank })},
			{"actor=" + urlQuery(storeOperator.String()), want(func(a auditEntry) bool { return a.Actor == storeOperator.String() })},
			{"since=" + urlQuery(mid), want(func(a auditEntry) bool { return a.At >= mid })},
			{"until=" + urlQuery(mid), want(func(a auditEntry) bool { return a.At < mid })},
			{"since=" + urlQuery(limits.At) + "&until=" + urlQuery(created.At) + "&object=" + sgBank,
				want(func(a auditEntry) bool { return a.At >= limits.At && a.At < created.At && a.Object == sgBank })},
		}
		for _, c := range cases {
			got := []int64{}
			for _, a := range e.audit(e.op, c.query).Entries {
				got = append(got, a.ID)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.query, got, c.want)
			}
		}
		if len(cases[1].want) < 2 || len(cases[6].want) < 2 {
			t.Fatalf("the filters were checked on too little: %v", cases)
		}
		// An offset other than Z is the same instant.
		at, _ := time.Parse(time.RFC3339Nano, created.At)
		if got := e.audit(e.op, "since="+urlQuery(at.In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano))).Entries; len(got) != 1 || got[0].ID != created.ID {
			t.Errorf("since with +02:00: %+v", got)
		}
	})
}

// TestAuditLogPagesEveryEntryOnce: small pages, filtered or not, return
// every entry exactly once and in the order of the whole log, entries
// written at the same instant included.
func TestAuditLogPagesEveryEntryOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		same := time.Now().UTC().Truncate(time.Microsecond)
		err := e.st.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, obj := range []string{"a", "b", "c", "d", "e"} {
				if err := store.Audit(ctx, tx, storeOperator, "test.tie", obj, "", same); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, filter := range []string{"", "action=test.", "action=apikey.create"} {
			whole := e.audit(e.op, filter+"&limit=1000").Entries
			if len(whole) < 5 {
				t.Fatalf("%s: only %d entries", filter, len(whole))
			}
			var paged []auditEntry
			cursor, pages := "", 0
			for {
				p := e.audit(e.op, filter+"&limit=2&cursor="+urlQuery(cursor))
				if len(p.Entries) > 2 {
					t.Fatalf("%s: a page of %d", filter, len(p.Entries))
				}
				paged = append(paged, p.Entries...)
				if pages++; p.NextCursor == "" || pages > len(whole) {
					break
				}
				cursor = p.NextCursor
			}
			if len(paged) != len(whole) {
				t.Fatalf("%s: %d entries over %d pages, the whole log has %d", filter, len(paged), pages, len(whole))
			}
			for i := range whole {
				if paged[i] != whole[i] {
					t.Fatalf("%s: entry %d paged %+v, whole %+v", filter, i, paged[i], whole[i])
				}
			}
		}
		wantError(t, e.call(e.op, "GET", "/v1/audit?cursor=nope", nil), http.StatusUnprocessableEntity, "invalid_cursor", "cursor")
		wantError(t, e.call(e.op, "GET", "/v1/audit?cursor="+urlQuery(same.Format(time.RFC3339Nano)+"|x"), nil), http.StatusUnprocessableEntity, "invalid_cursor", "cursor")
		wantError(t, e.call(e.op, "GET", "/v1/audit?limit=1001", nil), http.StatusUnprocessableEntity, "invalid_limit", "limit")
	})
}

// TestAuditLogIsForOperatorsAndOfficers: nobody the log is about reads it.
func TestAuditLogIsForOperatorsAndOfficers(t *testing.T) {
	eachEngineFX(t, func(t *testing.T, e *env) {
		_, officer, err := e.st.CreateAPIKey(context.Background(), clearing.RoleCompliance, "", "A. Officer", storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{e.op, officer} {
			if got := e.audit(key, "action=apikey.create").Entries; len(got) < 9 {
				t.Fatalf("%s reads %d key creations", e.name(key), len(got))
			}
		}
		for _, key := range []string{e.bankDE, e.bankSG, e.merDE, e.regSG, e.regDE, e.fxp} {
			wantError(t, e.call(key, "GET", "/v1/audit", nil), http.StatusForbidden, "forbidden", "")
		}
		wantError(t, e.call("", "GET", "/v1/audit", nil), http.StatusUnauthorized, "unauthenticated", "Authorization")
	})
}

// TestAuditLogBadTimes: a time that is not RFC 3339 is refused naming its
// parameter, like every other bad query parameter (422).
func TestAuditLogBadTimes(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		for _, c := range []struct{ query, field string }{
			{"since=yesterday", "since"},
			{"since=2026-03-10", "since"},
			{"until=2026-03-10T09:00:00", "until"},
			{"since=2026-03-10T09:00:00Z&until=10%3A00", "until"},
		} {
			wantError(t, e.call(e.op, "GET", "/v1/audit?"+c.query, nil), http.StatusUnprocessableEntity, "invalid_time", c.field)
		}
	})
}

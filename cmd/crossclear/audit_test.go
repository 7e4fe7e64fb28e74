package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// TestAudit: 'audit' prints the changes the command line made, newest
// first, as operator:cli; its pages, followed by --cursor, print every
// entry once; a bad --since is a usage error naming it.
func TestAudit(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "audit.db")
	env := map[string]string{"CROSSCLEAR_DATABASE": dsn}
	mustRun(t, env, "migrate")
	storetest.Seed(t, openTestStore(t, dsn))
	mustRun(t, env, "participant", "limits", "DBSSSGSG", "--alarm-pct", "90", "--reason", "audit test")
	mustRun(t, env, "apikey", "create", "--role", "regulator", "--subject", "SG", "--quiet")

	out := mustRun(t, env, "audit", "--actor", "operator:cli")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "operator:cli  apikey.create") || !strings.Contains(lines[0], "regulator SG") ||
		!strings.Contains(lines[1], "participant.limits  DBSSSGSG") || !strings.Contains(lines[1], "audit test") {
		t.Fatalf("audit --actor operator:cli:\n%s", out)
	}

	whole := mustJSON(t, env, "audit", "--limit", "1000", "--json")["entries"].([]any)
	var paged []any
	for cursor, pages := "", 0; pages <= len(whole); pages++ {
		args := []string{"audit", "--limit", "3", "--json"}
		if cursor != "" {
			args = append(args, "--cursor", cursor)
		}
		doc := mustJSON(t, env, args...)
		paged = append(paged, doc["entries"].([]any)...)
		if cursor = doc["next_cursor"].(string); cursor == "" {
			break
		}
	}
	if len(whole) < 7 || len(paged) != len(whole) {
		t.Fatalf("%d entries paged, %d in the whole log", len(paged), len(whole))
	}
	for i := range whole {
		if whole[i].(map[string]any)["id"] != paged[i].(map[string]any)["id"] {
			t.Fatalf("entry %d: paged %v, whole %v", i, paged[i], whole[i])
		}
	}
	if out := mustRun(t, env, "audit", "--limit", "1"); !strings.Contains(out, "more: --cursor '") {
		t.Errorf("a first page of one does not say how to go on:\n%s", out)
	}

	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"--since", "yesterday"}, "--since"},
		{[]string{"--until", "2026-03-10"}, "--until"},
		{[]string{"--cursor", "nope"}, "--cursor"},
		{[]string{"--limit", "1001"}, "--limit"},
	} {
		code, _, errs := crossclear(t, env, append([]string{"audit"}, c.args...)...)
		if code != 2 || !strings.Contains(errs, c.flag+": ") {
			t.Errorf("audit %v: exit %d\n%s", c.args, code, errs)
		}
	}
}

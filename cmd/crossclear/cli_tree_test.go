package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/compliance/compliancetest"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/inbound"
	"github.com/crossclear/crossclear/messages/signing"
)

// noData are the commands that print no data, so take no --json: they
// serve, or seed and serve.
var noData = []string{"serve", "demo", "regulator receive", "witness serve"}

// groups are the first words of the multi-word commands: "cycle", "rates"…
func groups() []string {
	var gs []string
	for _, cmd := range commands {
		if g, _, ok := strings.Cut(cmd.name, " "); ok && !slices.Contains(gs, g) {
			gs = append(gs, g)
		}
	}
	return gs
}

// checkColumns checks that in the lines listing commands (each starting
// with two spaces and one of names) every summary starts in one column.
func checkColumns(t *testing.T, what, out string, names []string) {
	t.Helper()
	col := -1
	for _, name := range names {
		found := false
		for _, line := range strings.Split(out, "\n") {
			rest, ok := strings.CutPrefix(line, "  "+name+" ")
			if !ok {
				continue
			}
			found = true
			at := len(line) - len(strings.TrimLeft(rest, " "))
			if col == -1 {
				col = at
			} else if at != col {
				t.Errorf("%s: the summary of %q starts at column %d, the others at %d:\n%s", what, name, at, col, out)
			}
		}
		if !found {
			t.Errorf("%s does not list %q:\n%s", what, name, out)
		}
	}
}

// The whole command tree answers for help: the top level in every form,
// every group (with its commands and their summaries, in aligned
// columns), every command; every command that prints data takes --json.
func TestCommandTree(t *testing.T) {
	var names []string
	for _, cmd := range commands {
		names = append(names, cmd.name)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"help", "--help"}, {"help", "-h"}, {"help", "help"}} {
		code, out, errs := crossclear(t, nil, args...)
		if code != 0 || !strings.Contains(out, "Commands:") || errs != "" {
			t.Errorf("crossclear %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errs)
		}
		checkColumns(t, strings.Join(args, " "), out, append(names, "help [command]"))
	}

	for _, g := range groups() {
		var subs []string
		for _, cmd := range groupCommands(g) {
			subs = append(subs, cmd.name)
		}
		for _, args := range [][]string{{g, "--help"}, {g, "-h"}, {g, "help"}, {"help", g}} {
			code, out, errs := crossclear(t, nil, args...)
			if code != 0 || errs != "" || !strings.HasPrefix(out, "Usage: crossclear "+g+" <command>") {
				t.Errorf("crossclear %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errs)
				continue
			}
			for _, cmd := range groupCommands(g) {
				if !strings.Contains(out, cmd.summary) {
					t.Errorf("crossclear %v lacks the summary of %s", args, cmd.name)
				}
			}
			checkColumns(t, strings.Join(args, " "), out, subs)
		}
		// Without a subcommand it is still a mistake, and says where to look.
		if code, _, errs := crossclear(t, nil, g); code != 2 || !strings.Contains(errs, "needs a subcommand") || !strings.Contains(errs, "crossclear "+g+" --help") {
			t.Errorf("crossclear %s: exit %d\n%s", g, code, errs)
		}
	}

	for _, cmd := range commands {
		args := append(strings.Fields(cmd.name), "--help")
		code, out, _ := crossclear(t, nil, args...)
		if code != 0 || !strings.HasPrefix(out, "Usage: crossclear "+cmd.name) {
			t.Errorf("crossclear %v: exit %d\n%s", args, code, out)
		}
		fs := newFlagSet(cmd)
		setupCommand(cmd, fs)
		takesJSON := fs.Lookup("json") != nil
		switch {
		case slices.Contains(noData, cmd.name) && takesJSON:
			t.Errorf("%s prints no data but takes --json", cmd.name)
		case !slices.Contains(noData, cmd.name) && !takesJSON:
			t.Errorf("%s prints data but takes no --json", cmd.name)
		case takesJSON && !strings.Contains(out, "--json"):
			t.Errorf("%s --help does not mention --json", cmd.name)
		}
	}
}

// mustJSON runs a command that should print one JSON document and decodes it.
func mustJSON(t *testing.T, env map[string]string, args ...string) map[string]any {
	t.Helper()
	out := mustRun(t, env, args...)
	return decodeJSON(t, args, out)
}

func decodeJSON(t *testing.T, args []string, out string) map[string]any {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("crossclear %s: not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	if dec.More() {
		t.Fatalf("crossclear %s: more than one JSON document:\n%s", strings.Join(args, " "), out)
	}
	return doc
}

// Every command that prints data and can run against a seeded SQLite
// database prints one JSON document with --json; the ones that need a
// server or Vault are checked for the flag by TestCommandTree.
func TestJSONOutput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dsn := filepath.Join(dir, "json.db")
	keyFile := filepath.Join(dir, "dev.key")
	env := map[string]string{"CROSSCLEAR_DATABASE": dsn, "CROSSCLEAR_FX_PROVIDER": storetest.FXProviderBIC,
		"CROSSCLEAR_DEV_KEY_FILE": keyFile, "CROSSCLEAR_SANCTIONS_OFAC": compliancetest.OFACDir(t), "CROSSCLEAR_SANCTIONS_UN": compliancetest.UNFile()}
	ran := map[string]bool{}
	run := func(args ...string) map[string]any {
		t.Helper()
		for _, cmd := range commands {
			if words := strings.Fields(cmd.name); len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
				ran[cmd.name] = true
			}
		}
		return mustJSON(t, env, append(args, "--json")...)
	}

	if doc := run("migrate"); doc["schema_version"] == nil || doc["applied"] == nil {
		t.Errorf("migrate --json: %v", doc)
	}
	s, err := store.Open(ctx, dsn, store.Options{Refunds: inbound.RefundFile(""), FX: store.FXOptions{Book: &fx.Book{}, Provider: storetest.FXProviderBIC}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := storetest.Seed(t, s)
	storetest.SeedFX(t, s)
	p, _ := fx.ParsePair("SGD/EUR")
	if err := s.PostRates(ctx, []fx.Rate{{Pair: p, Bid: decimal.RequireFromString("0.68"), Ask: decimal.RequireFromString("0.69"),
		Source: storetest.FXProviderBIC, AsOf: time.Now(), ValidUntil: time.Now().Add(time.Hour)}}, storetest.Operator); err != nil {
		t.Fatal(err)
	}
	amt, _ := fx.ParseAmount("1234.56", "EUR")
	pay, err := s.Hold(ctx, clearing.HoldRequest{BuyerBankID: w.Banks[1].ID, MerchantID: w.Merchants[0].ID, Amount: amt}, storetest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Act(ctx, pay.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 100000}, storetest.Operator); err != nil {
		t.Fatal(err)
	}

	if doc := run("version"); doc["version"] != "dev" {
		t.Errorf("version --json: %v", doc)
	}
	shown := run("cycle", "show")
	if cy, _ := shown["cycle"].(map[string]any); cy["state"] != "open" || shown["exposure"] == nil {
		t.Errorf("cycle show --json: %v", shown)
	}
	if doc := run("payment", "show", pay.ID); doc["id"] != pay.ID || len(doc["events"].([]any)) != 3 || len(doc["legs"].([]any)) == 0 {
		t.Errorf("payment show --json: %v", doc)
	}
	if doc := run("participant", "limits", "DBSSSGSG", "--alarm-pct", "90", "--reason", "tree test"); doc["id"] != "DBSSSGSG" || doc["alarm_threshold_pct"] != 90.0 || doc["limits"] == nil {
		t.Errorf("participant limits --json: %v", doc)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	if doc := run("merchant", "statement", w.Merchants[0].ID, "--from", today, "--to", today); doc["total"] != "1000.00" || len(doc["entries"].([]any)) != 1 {
		t.Errorf("merchant statement --json: %v", doc)
	}
	if doc := run("rates", "list"); len(doc["rates"].([]any)) != 1 {
		t.Errorf("rates list --json: %v", doc)
	}
	ecb := filepath.Join(dir, "ecb.xml")
	if err := os.WriteFile(ecb, []byte(ecbXML(ecbDay(0))), 0o644); err != nil {
		t.Fatal(err)
	}
	if doc := run("rates", "load-ecb", ecb); len(doc["rates"].([]any)) != 2 || doc["source"] != ecb {
		t.Errorf("rates load-ecb --json: %v", doc)
	}
	if doc := run("quote", "--bank", "DBSSSGSG", "--sell", "1000.00", "--sell-currency", "SGD", "--buy-currency", "EUR"); doc["id"] == nil {
		t.Errorf("quote --json: %v", doc)
	}
	if doc := run("ledger", "check"); doc["ok"] != true {
		t.Errorf("ledger check --json: %v", doc)
	}
	if doc := run("apikey", "create", "--role", "regulator", "--subject", "SG"); doc["secret"] == nil || doc["role"] != "regulator" {
		t.Errorf("apikey create --json: %v", doc)
	}

	ep := run("regulator", "add-endpoint", "--jurisdiction", "SG", "--url", "https://reports.example/crossclear")
	if eps := run("regulator", "endpoints", "--deliveries", "3"); len(eps["endpoints"].([]any)) != 1 {
		t.Errorf("regulator endpoints --json: %v", eps)
	}
	if doc := run("regulator", "access-log"); doc["requests"] == nil {
		t.Errorf("regulator access-log --json: %v", doc)
	}
	if doc := run("regulator", "remove-endpoint", ep["id"].(string)); doc["removed"] != true {
		t.Errorf("regulator remove-endpoint --json: %v", doc)
	}

	keys := run("keys", "publish")
	if keys["keys"] == nil {
		t.Errorf("keys publish --json: %v", keys)
	}
	regKeys := run("regulator", "keys")
	if len(regKeys) == 0 {
		t.Errorf("regulator keys --json: %v", regKeys)
	}
	witnessDB, origin := filepath.Join(dir, "witness.db"), regKeys["origin"].(string)
	if doc := run("witness", "key", "--name", "witness.test/sg", "--key-file", filepath.Join(dir, "witness.key")); doc["name"] != "witness.test/sg" || doc["vkey"] == nil {
		t.Errorf("witness key --json: %v", doc)
	}
	if doc := run("witness", "add-log", "--db", witnessDB, "--origin", origin, "--key", regKeys["checkpoint_keys"].([]any)[0].(string)); doc["new_log"] != true {
		t.Errorf("witness add-log --json: %v", doc)
	}
	if doc := run("witness", "logs", "--db", witnessDB); len(doc["logs"].([]any)) != 1 {
		t.Errorf("witness logs --json: %v", doc)
	}
	wkey := run("witness", "key", "--name", "witness.test/sg", "--key-file", filepath.Join(dir, "witness.key"))["vkey"].(string)
	if doc := run("regulator", "add-witness", "--vkey", wkey, "--url", "http://127.0.0.1:7380"); doc["name"] != "witness.test/sg" {
		t.Errorf("regulator add-witness --json: %v", doc)
	}
	if doc := run("regulator", "witnesses"); len(doc["witnesses"].([]any)) != 1 {
		t.Errorf("regulator witnesses --json: %v", doc)
	}
	if doc := run("regulator", "remove-witness", "witness.test/sg"); doc["removed"] != true {
		t.Errorf("regulator remove-witness --json: %v", doc)
	}
	var audited []string // the command line's changes are audited as its operator
	if err := s.DB().NewRaw("SELECT action || ' ' || actor FROM audit_log WHERE object = 'witness.test/sg' ORDER BY id").Scan(ctx, &audited); err != nil {
		t.Fatal(err)
	}
	if want := "witness.add operator:cli,witness.remove operator:cli"; strings.Join(audited, ",") != want {
		t.Errorf("audit entries of the witness: %q, want %s", audited, want)
	}
	doc := run("audit", "--object", "witness.test/sg") // the same entries, newest first
	if es, _ := doc["entries"].([]any); len(es) != 2 || es[0].(map[string]any)["action"] != "witness.remove" || doc["next_cursor"] != "" {
		t.Errorf("audit --json: %v", doc)
	}
	signed := filepath.Join(dir, "report.json")
	if err := os.WriteFile(signed, []byte(`{"hello":"world"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	signer, err := signing.OpenDevSigner(keyFile, "crossclear")
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := signer.Sign(ctx, []byte(`{"hello":"world"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(signed+".sig", sigs[0].Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	if doc := run("keys", "verify", signed); doc["ok"] != true || doc["key"] != "dev-crossclear" {
		t.Errorf("keys verify --json: %v", doc)
	}
	if err := os.WriteFile(signed, []byte(`{"hello":"World"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := crossclear(t, env, "keys", "verify", "--json", signed); code != 1 || decodeJSON(t, nil, out)["ok"] != false {
		t.Errorf("keys verify --json of a changed file: exit %d\n%s", code, out)
	}

	if doc := run("screen", "--name", "Daniel Moreno"); doc["outcome"] != "review" {
		t.Errorf("screen --json: %v", doc)
	}
	if doc := run("iso", "inspect", filepath.Join("..", "..", "testdata", "iso", "pacs008-merlion.xml")); len(doc) == 0 {
		t.Errorf("iso inspect --json: %v", doc)
	}

	closed := run("cycle", "close")
	if cy, _ := closed["cycle"].(map[string]any); cy["state"] != "closed" || closed["open_cycle_id"] != float64(2) || closed["files_written"] == nil {
		t.Errorf("cycle close --json: %v", closed)
	}
	if doc := run("cycle", "show", "1"); doc["exposure"] != nil || doc["cycle"].(map[string]any)["id"] != float64(1) {
		t.Errorf("cycle show 1 --json: %v", doc)
	}
	// Tables stay the default.
	if out := mustRun(t, env, "cycle", "show", "1"); !strings.HasPrefix(out, "Cycle 1: closed") {
		t.Errorf("cycle show 1 without --json:\n%s", out)
	}

	// What needs a server (files push, files pull), Vault (keys rotate) or
	// signed report bundles (verify) runs with --json in TestKeysWithVault
	// and TestRegulatorEndToEnd.
	var missing []string
	for _, cmd := range commands {
		if !ran[cmd.name] && !slices.Contains(noData, cmd.name) &&
			!slices.Contains([]string{"files push", "files pull", "keys rotate", "verify", "bench"}, cmd.name) { // bench: TestBench
			missing = append(missing, cmd.name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("commands whose --json is not run: %v", missing)
	}
}

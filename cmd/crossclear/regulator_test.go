package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/signing/vault/vaulttest"
	"github.com/crossclear/crossclear/regulator/bundle"
)

// waitFor polls until cond holds (serve's workers run every few seconds).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRegulatorEndToEnd walks the regulator's side with the checkpoint
// and file keys in a real Vault: cycles close → serve reports them → the
// reports are pushed to a regulator's server on loopback and pulled from
// the gateway → `crossclear verify` checks them offline with the published
// keys and a state file, and fails on a changed byte.
func TestRegulatorEndToEnd(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			v := vaulttest.Start(t)
			dir := t.TempDir()
			tokenFile := filepath.Join(dir, "token")
			os.WriteFile(tokenFile, []byte(vaulttest.RootToken+"\n"), 0o600)
			for _, k := range []string{"crossclear-bank-files", "crossclear-regulator-checkpoints"} {
				if _, err := v.Client(t).Logical().Write("transit/keys/"+k, map[string]any{"type": "ed25519"}); err != nil {
					t.Fatal(err)
				}
			}
			dsn := storetest.DSN(t, engine)
			env := map[string]string{"CROSSCLEAR_DATABASE": dsn, "CROSSCLEAR_LISTEN": "127.0.0.1:0", "CROSSCLEAR_SIGNER": "vault",
				"CROSSCLEAR_VAULT_ADDR": v.Addr, "CROSSCLEAR_VAULT_TOKEN_FILE": tokenFile, "CROSSCLEAR_REGULATOR_INTERVAL": "200ms"}
			mustRun(t, env, "migrate")
			st := openTestStore(t, dsn)
			world := storetest.Seed(t, st)
			hold := func(bank, merchant int, value string) {
				m := world.Merchants[merchant]
				a, _ := fx.ParseAmount(value, m.Currency)
				if _, err := st.Hold(ctx, clearing.HoldRequest{UETR: uuid.NewString(), BuyerBankID: world.Banks[bank].ID, MerchantID: m.ID, Amount: a}, storetest.Operator); err != nil {
					t.Fatal(err)
				}
			}

			// The regulator of SG runs a receiver and is registered for push.
			pushed := filepath.Join(dir, "pushed")
			inbox, _, _ := startServing(t, nil, "regulator", "receive", "--listen", "127.0.0.1:0", "--dir", pushed)
			received := func() string {
				files, _ := filepath.Glob(filepath.Join(pushed, "*.bundle.json"))
				var ids []string
				for _, f := range files {
					ids = append(ids, strings.TrimSuffix(filepath.Base(f), ".bundle.json"))
				}
				return strings.Join(ids, " ")
			}
			if out := mustRun(t, env, "regulator", "add-endpoint", "--jurisdiction", "SG", "--url", inbox+"/crossclear"); !strings.Contains(out, "0 report(s) queued") {
				t.Fatalf("add-endpoint: %s", out)
			}
			_, out, _ := startServing(t, env, "serve")
			m := regexp.MustCompile(`regulators +(http://\S+)/v1/ +\(regulator keys only, 120 requests/min\); log crossclear/XCLRGB2L/regulator-log`).FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("serve does not show the regulator gateway:\n%s", out.String())
			}
			gw := m[1]
			keys := filepath.Join(dir, "keys.json")
			published := mustRun(t, env, "regulator", "keys")
			if !strings.Contains(published, `"crossclear-regulator-checkpoints+`) || !strings.Contains(published, `"key": "crossclear-bank-files"`) {
				t.Fatalf("regulator keys:\n%s", published)
			}
			os.WriteFile(keys, []byte(published), 0o644)

			// Cycle 1: a Singapore bank pays a German merchant.
			hold(1, 0, "250.00")
			mustRun(t, env, "cycle", "close")
			waitFor(t, "SG-cycle-1 to be pushed", func() bool { return received() == "SG-cycle-1" })
			state := filepath.Join(dir, "push.state.json")
			ok := mustRun(t, nil, "verify", "--keys", keys, "--state", state, "--out", filepath.Join(dir, "reports"), filepath.Join(pushed, "SG-cycle-1.bundle.json"))
			for _, want := range []string{"checkpoint 3: signed by the log; trusted on first use", "OK SG-cycle-1: SG cycle 1, report 1; leaf",
				"SG-cycle-1.json (signed by crossclear-bank-files v1)", "state " + state + ": checkpoint 3"} {
				if !strings.Contains(ok, want) {
					t.Fatalf("verify lacks %q:\n%s", want, ok)
				}
			}
			csv, err := os.ReadFile(filepath.Join(dir, "reports", "SG-cycle-1.csv"))
			if err != nil || !strings.Contains(string(csv), "corridor,SG-DE,EUR,amount,250.00") {
				t.Fatalf("the verified CSV: %v\n%s", err, csv)
			}

			// Cycle 2: pushed with a proof from the checkpoint the regulator holds.
			hold(1, 1, "40.00")
			mustRun(t, env, "cycle", "close")
			waitFor(t, "SG-cycle-2 to be pushed", func() bool { return received() == "SG-cycle-1 SG-cycle-2" })
			ok = mustRun(t, nil, "verify", "--keys", keys, "--state", state, filepath.Join(pushed, "SG-cycle-2.bundle.json"))
			if !strings.Contains(ok, "checkpoint 6: signed by the log, consistent with checkpoint 3 verified before") || !strings.Contains(ok, "OK SG-cycle-2") {
				t.Fatalf("verify of the second push:\n%s", ok)
			}

			// Pull: the same reports from the gateway, with a regulator key.
			regKey := strings.TrimSpace(mustRun(t, env, "apikey", "create", "--role", "regulator", "--subject", "SG", "--quiet"))
			if code, body := httpGet(t, gw+"/v1/reports", regKey); code != 200 || !strings.Contains(body, `"id":"SG-cycle-1"`) || strings.Contains(body, "DE-cycle") {
				t.Fatalf("pull listing: %d %s", code, body)
			}
			if code, body := httpGet(t, gw+"/v1/keys", regKey); code != 200 || !strings.Contains(body, "crossclear-regulator-checkpoints+") {
				t.Fatalf("keys from the gateway: %d %s", code, body)
			}
			pull := filepath.Join(dir, "pulled")
			os.Mkdir(pull, 0o755)
			for _, id := range []string{"SG-cycle-1", "SG-cycle-2"} {
				code, body := httpGet(t, gw+"/v1/reports/"+id+"/bundle", regKey)
				if code != 200 {
					t.Fatalf("pull %s: %d %s", id, code, body)
				}
				os.WriteFile(filepath.Join(pull, id+".bundle.json"), []byte(body), 0o644)
			}
			ok = mustRun(t, nil, "verify", "--keys", keys, "--state", filepath.Join(dir, "pull.state.json"),
				filepath.Join(pull, "SG-cycle-1.bundle.json"), filepath.Join(pull, "SG-cycle-2.bundle.json"))
			if !strings.Contains(ok, "OK SG-cycle-1") || !strings.Contains(ok, "OK SG-cycle-2") {
				t.Fatalf("verify of the pulled bundles:\n%s", ok)
			}
			// The same with --json, on a state of its own.
			doc := mustJSON(t, nil, "verify", "--json", "--keys", keys, "--state", filepath.Join(dir, "json.state.json"),
				filepath.Join(pull, "SG-cycle-1.bundle.json"), filepath.Join(pull, "SG-cycle-2.bundle.json"))
			if rs, _ := doc["reports"].([]any); doc["ok"] != true || doc["trusted_on_first_use"] != true || len(rs) != 2 ||
				rs[1].(map[string]any)["id"] != "SG-cycle-2" || doc["state"].(map[string]any)["checkpoint_size"] != float64(6) {
				t.Fatalf("verify --json:\n%v", doc)
			}
			if code, body := httpGet(t, gw+"/v1/reports/DE-cycle-1/bundle", regKey); code != 404 {
				t.Fatalf("SG pulled DE's report: %d %s", code, body)
			}

			// A changed byte fails loudly and leaves the state alone.
			raw, _ := os.ReadFile(filepath.Join(pushed, "SG-cycle-2.bundle.json"))
			b, _ := bundle.Parse(raw)
			b.Files[1].Content = []byte(strings.Replace(string(b.Files[1].Content), "40.00", "41.00", 1))
			altered := filepath.Join(dir, "altered.bundle.json")
			os.WriteFile(altered, b.Marshal(), 0o644)
			before, _ := os.ReadFile(state)
			code, failed, _ := crossclear(t, nil, "verify", "--keys", keys, "--state", state, altered)
			after, _ := os.ReadFile(state)
			if code != exitError || !strings.Contains(failed, "FAILED: SG-cycle-2: SG-cycle-2.csv was altered") || string(before) != string(after) {
				t.Fatalf("verify of an altered report: exit %d\n%s", code, failed)
			}
			code, failed, _ = crossclear(t, nil, "verify", "--json", "--keys", keys, "--state", state, altered)
			if doc := decodeJSON(t, nil, failed); code != exitError || doc["ok"] != false || !strings.Contains(doc["error"].(string), "SG-cycle-2.csv was altered") {
				t.Fatalf("verify --json of an altered report: exit %d\n%s", code, failed)
			}

			if eps := mustRun(t, env, "regulator", "endpoints", "--deliveries", "5"); !strings.Contains(eps, "delivered 2, waiting 0, last checkpoint received: size 6") {
				t.Fatalf("regulator endpoints:\n%s", eps)
			}
			if log := mustRun(t, env, "regulator", "access-log"); !strings.Contains(log, "GET /v1/reports/DE-cycle-1/bundle\t404") && !strings.Contains(log, "GET /v1/reports/DE-cycle-1/bundle  404") {
				t.Fatalf("regulator access-log:\n%s", log)
			}
		})
	}
}

// TestRegulatorReceive: the receiver keeps a bundle once per report id,
// acknowledges a repeat, and refuses what is not a bundle of the report
// its Idempotency-Key names.
func TestRegulatorReceive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "inbox")
	base, out, _ := startServing(t, nil, "regulator", "receive", "--listen", "127.0.0.1:0", "--dir", dir)
	post := func(key, body string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/in", strings.NewReader(body))
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	good := string(bundle.Bundle{Schema: bundle.Schema, Report: "US-NY-day-2026-11-21"}.Marshal())
	for _, tc := range []struct {
		key, body string
		want      int
	}{
		{"US-NY-day-2026-11-21", good, 202},
		{"US-NY-day-2026-11-21", good, 200},
		{"../../etc/passwd", good, 400},
		{"SG-cycle-1", good, 400},
		{"SG-cycle-1", "{}", 400},
	} {
		if got := post(tc.key, tc.body); got != tc.want {
			t.Errorf("POST %s: %d, want %d", tc.key, got, tc.want)
		}
	}
	if code, _ := httpGet(t, base+"/in", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", code)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 1 || filepath.Base(files[0]) != "US-NY-day-2026-11-21.bundle.json" || strings.Count(out.String(), "received US-NY-day-2026-11-21") != 1 {
		t.Fatalf("kept %v; output:\n%s", files, out.String())
	}
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/regulator/witness/witnesstest"
)

// TestWitnessWalk is the regulator's witness walk of docs/witness.md,
// command by command: two regulators run `crossclear witness`, a third
// witness is a real litewitness; the operator registers all three; the
// demo's log is cosigned by them; a regulator pulls a report and verifies
// it under a 2-of-3 policy with freshness, compares its checkpoint with
// the gateway's, and a policy of witnesses that never cosigned fails.
func TestWitnessWalk(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "crossclear-demo.db")
	env := map[string]string{"CROSSCLEAR_LISTEN": "127.0.0.1:0", "CROSSCLEAR_REGULATOR_INTERVAL": "200ms"}
	keysFile := filepath.Join(dir, "crossclear-regulator-keys.json")
	keysDoc := mustRun(t, env, "regulator", "keys", "--database", db)
	if err := os.WriteFile(keysFile, []byte(keysDoc), 0o644); err != nil {
		t.Fatal(err)
	}
	var keys struct {
		Origin         string   `json:"origin"`
		CheckpointKeys []string `json:"checkpoint_keys"`
	}
	if err := json.Unmarshal([]byte(keysDoc), &keys); err != nil {
		t.Fatal(err)
	}

	// The regulators' witnesses.
	var vkeys, urls []string
	for _, name := range []string{"sg", "de"} {
		wdb, wkey := filepath.Join(dir, name+"-witness.db"), filepath.Join(dir, name+"-witness.key")
		wname := "witness.test/" + name
		mustRun(t, nil, "witness", "add-log", "--db", wdb, "--origin", keys.Origin, "--key", keys.CheckpointKeys[0])
		vkeys = append(vkeys, strings.TrimSpace(mustRun(t, nil, "witness", "key", "--name", wname, "--key-file", wkey)))
		base, out, stop := startServing(t, nil, "witness", "serve", "--db", wdb, "--name", wname, "--key-file", wkey, "--listen", "127.0.0.1:0")
		t.Cleanup(func() { stop() })
		if !strings.Contains(out.String(), "verifier key "+vkeys[len(vkeys)-1]) {
			t.Fatalf("witness serve does not print its key:\n%s", out)
		}
		urls = append(urls, base)
	}
	lw := witnesstest.StartLitewitness(t, keys.Origin, keys.CheckpointKeys[0])
	vkeys, urls = append(vkeys, lw.VKey), append(urls, lw.URL)

	// The operator: the demo serves its log; the witnesses are registered.
	base, _, stop := startServing(t, env, "demo", "--database", db, "--payments", "20")
	t.Cleanup(func() { stop() })
	for i := range vkeys {
		mustRun(t, nil, "regulator", "add-witness", "--database", db, "--vkey", vkeys[i], "--url", urls[i])
	}
	demoEnv, err := os.ReadFile(demoEnvPath(db))
	if err != nil {
		t.Fatal(err)
	}
	gw := regexp.MustCompile(`(?m)^GW=(\S+)`).FindStringSubmatch(string(demoEnv))[1]
	reg := regexp.MustCompile(`(?m)^REG=(\S+)`).FindStringSubmatch(string(demoEnv))[1]

	// Within a few passes the gateway's checkpoint carries three cosignatures.
	var cp string
	witnesstest.WaitFor(t, func() bool {
		_, cp = httpGet(t, gw+"/checkpoint", reg)
		return strings.Count(cp, "— witness.test/") == 3
	})
	if code, body := httpGet(t, base+"/readyz", ""); code != 200 || strings.Count(body, `"lag_size":0`) != 3 {
		t.Errorf("/readyz: %d %s", code, body)
	}
	if _, body := httpGet(t, base+"/metrics", ""); !strings.Contains(body, `crossclear_regulator_witness_lag_leaves{witness="witness.test/sg"} 0`) {
		t.Errorf("/metrics lacks the witnesses' lag")
	}
	if out := mustRun(t, nil, "regulator", "witnesses", "--database", db); strings.Count(out, "(lag 0)") != 3 {
		t.Errorf("regulator witnesses:\n%s", out)
	}

	// The regulator of SG pulls its first report and verifies it, 2 of 3.
	_, list := httpGet(t, gw+"/v1/reports", reg)
	var reports struct {
		Reports []struct{ ID string } `json:"reports"`
	}
	if err := json.Unmarshal([]byte(list), &reports); err != nil || len(reports.Reports) == 0 {
		t.Fatalf("reports: %s", list)
	}
	id := reports.Reports[0].ID
	_, b := httpGet(t, gw+"/v1/reports/"+id+"/bundle", reg)
	bundleFile, cpFile, state := filepath.Join(dir, id+".bundle.json"), filepath.Join(dir, "gateway-checkpoint.txt"), filepath.Join(dir, "mas.state.json")
	os.WriteFile(bundleFile, []byte(b), 0o644)
	os.WriteFile(cpFile, []byte(cp), 0o644)
	policy := []string{"verify", "--keys", keysFile, "--state", state, "--quorum", "2", "--max-age", "1h"}
	for _, k := range vkeys {
		policy = append(policy, "--witness", k)
	}
	out := mustRun(t, nil, append(policy, bundleFile)...)
	if !strings.Contains(out, "OK "+id) || !strings.Contains(out, "2 of 3 witnesses required") {
		t.Fatalf("verify under the policy:\n%s", out)
	}
	raw, _ := os.ReadFile(state)
	if strings.Count(string(raw), `"name": "witness.test/`) < 2 {
		t.Errorf("the state does not record the witnesses relied on:\n%s", raw)
	}
	if out := mustRun(t, nil, "verify", "--keys", keysFile, "--state", state, "--compare", cpFile); !strings.Contains(out, "consistent with checkpoint") {
		t.Errorf("compare:\n%s", out)
	}

	// A policy of witnesses that never saw the log fails, and says why.
	strangers := []string{"verify", "--keys", keysFile, "--state", filepath.Join(dir, "other.state.json"), "--quorum", "1"}
	strangers = append(strangers, "--witness", strings.TrimSpace(mustRun(t, nil, "witness", "key", "--name", "witness.test/stranger", "--key-file", filepath.Join(dir, "stranger.key"))))
	code, out, _ := crossclear(t, nil, append(strangers, bundleFile)...)
	if code != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, "the policy needs 1") {
		t.Fatalf("verify with witnesses that never cosigned: exit %d\n%s", code, out)
	}
}

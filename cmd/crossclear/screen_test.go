package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/compliance/compliancetest"
)

// TestScreenCommand: a compliance officer checks names by hand against
// the configured lists; mistakes name the flag or the key.
func TestScreenCommand(t *testing.T) {
	env := map[string]string{"CROSSCLEAR_SANCTIONS_OFAC": compliancetest.OFACDir(t), "CROSSCLEAR_SANCTIONS_UN": compliancetest.UNFile()}
	var d compliance.Decision
	if err := json.Unmarshal([]byte(mustRun(t, env, "screen", "--name", "Daniel Moreno")), &d); err != nil {
		t.Fatal(err)
	}
	if d.Outcome != compliance.Review || d.Matches[0].EntryID != "15102" || !d.Matches[0].ExactName || len(d.Lists) != 2 || d.Lists[0].Hash == "" {
		t.Fatalf("%+v", d)
	}
	if err := json.Unmarshal([]byte(mustRun(t, env, "screen", "--name", "Ri Won Ho", "--id", "381310014")), &d); err != nil || d.Outcome != compliance.Reject {
		t.Fatalf("%+v %v", d, err)
	}
	if err := json.Unmarshal([]byte(mustRun(t, env, "screen", "--name", "Berlin Books", "--country", "DE")), &d); err != nil || d.Outcome != compliance.Pass || len(d.Matches) != 0 {
		t.Fatalf("%+v %v", d, err)
	}
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{env, []string{"screen"}, "--name: a name is required"},
		{env, []string{"screen", "--name", "X", "--dob", "1972"}, "--dob: must be a date YYYY-MM-DD"},
		{nil, []string{"screen", "--name", "X"}, "no sanctions list is configured"},
		{map[string]string{"CROSSCLEAR_SANCTIONS_UN": compliancetest.UNFile(), "CROSSCLEAR_COMPLIANCE_RULES": writeFile(t, "r.json", `{"default":{"velocity":[{"party":"x"}]}}`)},
			[]string{"screen", "--name", "X"}, "compliance_rules"},
	} {
		code, _, errs := crossclear(t, tc.env, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, want 2 with %q:\n%s", tc.args, code, tc.want, errs)
		}
	}
	code, _, errs := crossclear(t, map[string]string{"CROSSCLEAR_SANCTIONS_UN": "/nowhere/consolidated.xml"}, "screen", "--name", "X")
	if code != 1 || !strings.Contains(errs, "/nowhere/consolidated.xml") {
		t.Fatalf("a list that does not load: exit %d\n%s", code, errs)
	}
}

// TestServeScreensPayments: serve loads the configured lists and rules,
// says so, and holds a payment to a listed name for a compliance officer,
// whose key the CLI makes.
func TestServeScreensPayments(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			dsn := storetest.DSN(t, engine)
			s := openTestStore(t, dsn)
			if _, err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			storetest.Seed(t, s)
			listed, err := s.CreateMerchant(context.Background(), clearing.Merchant{Name: "TNK Trading International Ltd", Country: "CH", Currency: "EUR",
				Account: "DE02100100109307118603", BankID: "DEUTDEFF"}, storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"CROSSCLEAR_DATABASE": dsn, "CROSSCLEAR_LISTEN": "127.0.0.1:0", "CROSSCLEAR_REGULATOR_LISTEN": "off",
				"CROSSCLEAR_SANCTIONS_OFAC": compliancetest.OFACDir(t), "CROSSCLEAR_SANCTIONS_UN": compliancetest.UNFile(),
				"CROSSCLEAR_COMPLIANCE_RULES": "../../compliance/rules.example.json"}
			base, out, stop := startServing(t, env, "serve")
			for _, want := range []string{"screening     us_ofac 17 entries", "un 11 entries", "reloaded every 6h0m0s", "AML rules from ../../compliance/rules.example.json (base USD, fatf-2025-10)"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("serve output lacks %q:\n%s", want, out.String())
				}
			}
			bank := strings.TrimSpace(mustRun(t, env, "apikey", "create", "--role", "bank", "--subject", "DBSSSGSG", "--quiet"))
			officer := strings.TrimSpace(mustRun(t, env, "apikey", "create", "--role", "compliance", "--name", "A. Officer", "--quiet"))
			code, body := httpPost(t, base+"/v1/payments", bank, `{"merchant_id":"`+listed.ID+`","amount":"99.00","currency":"EUR"}`)
			if code != http.StatusAccepted || !strings.Contains(body, `"status":"pending_review"`) {
				t.Fatalf("a payment to a listed name: %d %s", code, body)
			}
			if code, body := httpGet(t, base+"/v1/reviews", officer); code != 200 || !strings.Contains(body, `"entry_id":"28603"`) {
				t.Fatalf("the review queue: %d %s", code, body)
			}
			if code, _ := httpGet(t, base+"/v1/reviews", bank); code != http.StatusForbidden {
				t.Fatalf("a bank reads the queue: %d", code)
			}
			if code := stop(); code != 0 {
				t.Fatalf("serve exited %d", code)
			}
		})
	}
	code, _, errs := crossclear(t, nil, "apikey", "create", "--role", "compliance", "--subject", "x", "--database", "x.db")
	if code != 2 || !strings.Contains(errs, "a compliance key has no --subject") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

func httpPost(t *testing.T, url, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res.StatusCode, b.String()
}

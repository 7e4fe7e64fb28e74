package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/api/openapitest"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// contract is openapi.json read by libopenapi-validator. Every request the
// harness sends goes through its Transport (harness_test.go): each answer
// must be one the document describes for its status, each accepted request
// one it allows.
var contract *openapitest.Checker

// TestMain loads the contract and, after a run of the whole package,
// fails if some operation of the document was never exercised.
func TestMain(m *testing.M) {
	os.Exit(openapitest.Main(m, "openapi.json", &contract, func(c *openapitest.Checker) {
		c.AnswersPerItem("POST /v1/payments/batch", "POST /v1/payments/actions")
	}))
}

// conformsTo checks an answer against a component schema of openapi.json.
func conformsTo(t *testing.T, r resp, schema string) {
	t.Helper()
	if err := contract.MatchesSchema(schema, r.Body); err != nil {
		t.Errorf("the answer does not match: %v\n%s", err, r.Body)
	}
}

type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components map[string]map[string]any             `json:"components"`
}

func loadDoc(t *testing.T) (openAPIDoc, map[string]any) {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	var tree map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	json.Unmarshal(raw, &tree)
	return doc, tree
}

var pathParam = regexp.MustCompile(`:([a-z_]+)`)

// TestOpenAPIMatchesRoutes fails when a route is missing from the document
// or the document describes a route the app does not have.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, _ := loadDoc(t)
	// 3.0.3: what client generators (oapi-codegen) read.
	if doc.OpenAPI != "3.0.3" || contract.Version() != "3.0.3" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	app := api.New(storetest.Open(t, "sqlite", store.Options{}), api.Config{})
	inApp := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		if r.Method == http.MethodHead || r.Method == "USE" {
			continue // fiber adds HEAD to every GET
		}
		key := strings.ToLower(r.Method) + " " + pathParam.ReplaceAllString(r.Path, "{$1}")
		inApp[key] = true
	}
	inDoc := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			inDoc[method+" "+path] = true
		}
	}
	var missing, extra []string
	for k := range inApp {
		if !inDoc[k] {
			missing = append(missing, k)
		}
	}
	for k := range inDoc {
		if !inApp[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("openapi.json and the routes disagree:\n  routes not documented: %v\n  documented, not routed: %v", missing, extra)
	}
	if !inApp["post /v1/payments"] || len(inApp) < 30 {
		t.Fatalf("route walk found too little: %v", inApp)
	}
}

// TestOpenAPIIsConsistent checks the project's rules the validator does not
// know ($refs and the document's shape are checked by openapitest.New): every /v1
// operation declares bearer auth's 401, 429 and 500, and every mutating one
// takes an Idempotency-Key.
func TestOpenAPIIsConsistent(t *testing.T) {
	doc, _ := loadDoc(t)
	if _, ok := doc.Components["securitySchemes"]["bearerAuth"]; !ok {
		t.Fatal("no bearerAuth security scheme")
	}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var o struct {
				Parameters []map[string]any           `json:"parameters"`
				Responses  map[string]json.RawMessage `json:"responses"`
			}
			json.Unmarshal(raw, &o)
			if !strings.HasPrefix(path, "/v1/") {
				continue
			}
			for _, code := range []string{"401", "429", "500"} {
				if _, ok := o.Responses[code]; !ok {
					t.Errorf("%s %s: no %s response", method, path, code)
				}
			}
			if method != "get" && !slices.ContainsFunc(o.Parameters, func(p map[string]any) bool {
				return p["$ref"] == "#/components/parameters/IdempotencyKey"
			}) {
				t.Errorf("%s %s: no Idempotency-Key parameter", method, path)
			}
		}
	}
}

// TestResponsesMatchSchemas checks live answers against the named schemas
// of the document (which forbid unknown properties), so that the JSON the
// handlers write and the JSON the document promises cannot drift apart.
func TestResponsesMatchSchemas(t *testing.T) {
	e := newEnv(t, "sqlite", api.Config{})
	check := func(r resp, schema string) {
		t.Helper()
		conformsTo(t, r, schema)
	}
	mer := e.w.Merchants[0].ID
	p := e.holdSGtoDE("100.00")
	e.act(e.bankSG, p.ID, "release", map[string]any{"amount": "10.00"})
	check(e.must(http.StatusOK, e.op, "GET", "/v1/payments/"+p.ID, nil), "Payment")
	check(e.must(http.StatusOK, e.op, "GET", "/v1/payments", nil), "PaymentList")
	check(e.must(http.StatusOK, e.bankSG, "POST", "/v1/payments/batch", map[string]any{"payments": []any{
		map[string]any{"merchant_id": mer, "amount": "1.00", "currency": "EUR"}, map[string]any{"merchant_id": mer, "amount": "1.001", "currency": "EUR"}}}), "HoldBatchResult")
	check(e.must(http.StatusOK, e.op, "GET", "/v1/participants", nil), "ParticipantList")
	check(e.must(http.StatusOK, e.op, "GET", "/v1/participants/"+sgBank, nil), "Participant")
	check(e.must(http.StatusOK, e.op, "GET", "/v1/merchants", nil), "MerchantList")
	check(e.must(http.StatusOK, e.op, "GET", "/v1/merchants/"+mer+"/payouts", nil), "PayoutList")
	check(e.must(http.StatusOK, e.op, "GET", "/v1/positions", nil), "PositionList")
	check(e.must(http.StatusOK, e.op, "GET", "/v1/cycles/current", nil), "CurrentCycle")
	check(e.must(http.StatusOK, e.op, "POST", "/v1/cycles/1/close", nil), "Cycle")
	check(e.must(http.StatusOK, e.op, "POST", "/v1/cycles/1/settlements", map[string]any{"participant": sgBank, "currency": "EUR"}), "Cycle")
	check(e.must(http.StatusOK, e.regSG, "GET", "/v1/cycles", nil), "CycleList")
	check(e.must(http.StatusOK, e.op, "GET", "/v1/ledger/check", nil), "LedgerCheck")
	check(e.must(http.StatusCreated, e.op, "POST", "/v1/api-keys", map[string]any{"role": "regulator", "subject": "SG", "name": "mas"}), "APIKey")
	check(e.must(http.StatusOK, e.op, "GET", "/v1/api-keys", nil), "APIKeyList")
	check(e.must(http.StatusOK, "", "GET", "/healthz", nil), "Health")
	check(e.must(http.StatusOK, "", "GET", "/readyz", nil), "Ready")
	check(e.must(http.StatusUnprocessableEntity, e.bankSG, "POST", "/v1/payments", map[string]any{"merchant_id": mer, "amount": "1", "currency": "XXX1"}), "Error")
	upload := isotest.Pacs008{MsgID: "SCHEMA-1", Txs: []isotest.Tx{{UETR: isotest.UETR(900)}, {UETR: isotest.UETR(901), CdtrAgt: "BNPAFRPP"}}}.Bytes()
	check(e.must(http.StatusCreated, e.bankSG, "POST", "/v1/files", upload, xmlType), "FileUpload")
	check(e.must(http.StatusOK, e.bankSG, "POST", "/v1/files", upload, xmlType), "FileUpload")
	check(e.must(http.StatusCreated, e.bankSG, "POST", "/v1/files", isotest.Pacs008{MsgID: "SCHEMA-2", CtrlSum: "1", Txs: []isotest.Tx{{}}}.Bytes(), xmlType), "FileUpload")
	check(e.must(http.StatusBadRequest, e.bankSG, "POST", "/v1/files", "<Document>", xmlType), "Error")
	files := e.must(http.StatusOK, e.bankSG, "GET", "/v1/files", nil)
	check(files, "MailboxFileList")
	var fl struct{ Files []struct{ ID string } }
	files.into(t, &fl)
	check(e.must(http.StatusOK, e.bankSG, "POST", "/v1/files/"+fl.Files[0].ID+"/ack", nil), "MailboxFile")
	check(e.must(http.StatusOK, e.bankSG, "GET", "/v1/files", nil), "MailboxFileList")

	served := e.must(http.StatusOK, "", "GET", "/openapi.json", nil)
	onDisk, _ := os.ReadFile("openapi.json")
	if string(served.Body) != string(onDisk) {
		t.Fatal("/openapi.json does not serve openapi.json")
	}
}

// resolve follows a local "#/a/b" reference.
func resolve(tree map[string]any, ref string) map[string]any {
	var cur any = tree
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	m, _ := cur.(map[string]any)
	return m
}

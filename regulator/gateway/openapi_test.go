package gateway_test

import (
	"bytes"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing/api/openapitest"
	"github.com/crossclear/crossclear/clearing/console"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/regulator/gateway"
)

// contract is openapi.json, the gateway's OpenAPI document, read by
// libopenapi-validator: every exchange of env's client goes through its
// Transport, so each answer must be one the document describes for its
// status.
var contract *openapitest.Checker

// TestMain loads the contract and, after a run of the whole package,
// fails if some operation of the document was never exercised.
func TestMain(m *testing.M) {
	os.Exit(openapitest.Main(m, "openapi.json", &contract, nil))
}

// TestOpenAPIVersion: a version client generators (oapi-codegen) read.
func TestOpenAPIVersion(t *testing.T) {
	if v := contract.Version(); v != "3.0.3" {
		t.Fatalf("openapi %q, want 3.0.3", v)
	}
}

// TestUnauthenticatedRoutes: /healthz, and /openapi.json serving this
// package's openapi.json byte for byte, need no key.
func TestUnauthenticatedRoutes(t *testing.T) {
	e := newEnv(t, "sqlite", gateway.Config{})
	status, _, body := e.get("", "/healthz")
	wantStatus(t, status, 200, body, "GET /healthz")
	status, _, body = e.get("", "/openapi.json")
	wantStatus(t, status, 200, body, "GET /openapi.json")
	if onDisk, _ := os.ReadFile("openapi.json"); !bytes.Equal(body, onDisk) {
		t.Fatal("/openapi.json does not serve openapi.json")
	}
}

// TestOpenAPIMatchesRoutes: every route of the app is in the document (the
// tile wildcard as the tile paths of c2sp.org/tlog-tiles) and every
// operation of the document is routed. The console's routes are not the
// API's: its /console/v1 reads run the documented handlers for a session.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	app := gateway.New(storetest.Open(t, "sqlite", store.Options{}), gateway.Config{})
	routed := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		if r.Method == http.MethodHead || r.Method == "USE" {
			continue // fiber adds HEAD to every GET
		}
		if strings.HasPrefix(r.Path, console.Prefix) {
			continue // the regulator's console: pages for a signed-in browser (docs/console.md), not the API
		}
		routed[r.Method+" "+pathParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	for _, op := range contract.Operations() {
		if strings.HasPrefix(op, "GET /tile/") {
			op = "GET /tile/*"
		}
		documented[op] = true
	}
	for op := range routed {
		if !documented[op] {
			t.Errorf("%s is routed but not in openapi.json", op)
		}
	}
	for op := range documented {
		if !routed[op] {
			t.Errorf("%s is in openapi.json but not routed", op)
		}
	}
}

var pathParam = regexp.MustCompile(`:([a-z_]+)`)

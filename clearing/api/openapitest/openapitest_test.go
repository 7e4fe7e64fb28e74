package openapitest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing/api/openapitest"
)

const spec = `{
  "openapi": "3.0.3",
  "info": {"title": "t", "version": "1"},
  "paths": {
    "/things/{id}": {
      "get": {
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "a thing", "content": {"application/json": {"schema": {
          "type": "object", "additionalProperties": false, "required": ["id"],
          "properties": {"id": {"type": "string"}}}}}}}
      }
    },
    "/things": {
      "post": {
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}},
        "responses": {"201": {"description": "made"}, "422": {"description": "refused"}}
      }
    }
  }
}`

// recorder is a testing.TB that keeps what it is told instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) { r.errs = append(r.errs, format) }

// TestTransportFailsOnDrift: a server that answers what the document does
// not describe, or accepts what it does not allow, fails the test; one that
// keeps to it does not; and the operations reached are recorded.
func TestTransportFailsOnDrift(t *testing.T) {
	c, err := openapitest.New([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/things/good":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"good"}`)
		case r.URL.Path == "/things/extra":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"extra","colour":"red"}`)
		case r.URL.Path == "/things/teapot":
			w.WriteHeader(http.StatusTeapot)
		case r.Method == http.MethodPost:
			body, _ := io.ReadAll(r.Body)
			if strings.Contains(string(body), "refuse") {
				w.WriteHeader(http.StatusUnprocessableEntity)
				return
			}
			w.WriteHeader(http.StatusCreated)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		method, path, body string
		fails              bool
	}{
		{"GET", "/things/good", "", false},
		{"GET", "/things/extra", "", true},             // a property the schema forbids
		{"GET", "/things/teapot", "", true},            // a status the document does not list
		{"GET", "/elsewhere", "", true},                // a path the document does not have
		{"POST", "/things", `{"name":"n"}`, false},     //
		{"POST", "/things", `{"nom":"n"}`, true},       // accepted although the document requires name
		{"POST", "/things", `{"nom":"refuse"}`, false}, // refused: the request is not checked
	} {
		rec := &recorder{TB: t}
		client := &http.Client{Transport: c.Transport(rec, nil)}
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := len(rec.errs) > 0; got != tc.fails {
			t.Errorf("%s %s %s: failed %v, want %v", tc.method, tc.path, tc.body, got, tc.fails)
		}
	}
	if got := c.Unreached(); len(got) != 0 {
		t.Errorf("unreached %v, want none", got)
	}
	if got := c.Operations(); !slices.Equal(got, []string{"GET /things/{id}", "POST /things"}) {
		t.Errorf("operations %v", got)
	}
	if err := c.MatchesSchema("Nope", []byte(`{}`)); err == nil {
		t.Error("an unknown schema matched")
	}
}

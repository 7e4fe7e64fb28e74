// Package openapitest checks real HTTP exchanges against an OpenAPI document
// with a maintained validator (github.com/pb33f/libopenapi-validator), so
// that the document and the server cannot drift apart: every answer must be
// one the document describes for its status, and every request the server
// accepts must be one the document allows. It also records which operations
// the exchanges reached, so that a test suite can prove it covered them all.
package openapitest

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// Checker validates exchanges against one document. It is safe for
// concurrent use.
type Checker struct {
	model *v3.Document
	opts  *config.ValidationOptions

	mu      sync.Mutex // the validator's caches are filled lazily
	v       validator.Validator
	schemas schema_validation.SchemaValidator
	version float32         // 3.0 or 3.1, how schemas are read
	reached map[string]bool // "GET /v1/payments/{id}"
	perItem map[string]bool // operations that answer 200 with a refusal per item
}

// AnswersPerItem names operations ("POST /v1/payments/batch") that answer
// 200 with an answer per item, some of which may be refusals: their
// requests are not checked, since a 200 does not mean each item was valid.
func (c *Checker) AnswersPerItem(ops ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, op := range ops {
		c.perItem[op] = true
	}
}

// New parses spec (JSON or YAML) and fails if the document itself is not a
// valid OpenAPI document.
func New(spec []byte) (*Checker, error) {
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("openapi model: %w", err)
	}
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapi validator: %w", errors.Join(errs...))
	}
	if ok, errs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("openapi document is not valid: %s", describe(errs))
	}
	version := float32(3.1)
	if strings.HasPrefix(model.Model.Version, "3.0") {
		version = 3.0
	}
	return &Checker{model: &model.Model, opts: config.NewValidationOptions(), v: v, reached: map[string]bool{}, perItem: map[string]bool{},
		schemas: schema_validation.NewSchemaValidator(config.WithFormatAssertions()), version: version}, nil
}

// Version is the document's openapi field.
func (c *Checker) Version() string { return c.model.Version }

// Check validates one exchange whose bodies have been read: the answer
// always, the request when the server accepted it (a status below 400) —
// the server may well refuse a request the document does not allow, and
// tests send such requests on purpose. A path or method the document does
// not have must be answered 404 or 405.
func (c *Checker) Check(req *http.Request, reqBody []byte, res *http.Response, resBody []byte) error {
	req = req.Clone(req.Context())
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	req.ContentLength = int64(len(reqBody))
	res2 := *res
	res2.Body = io.NopCloser(bytes.NewReader(resBody))
	res2.Request = req

	c.mu.Lock()
	defer c.mu.Unlock()
	item, errs, template := paths.FindPath(req, c.model, c.opts)
	if item == nil || len(errs) > 0 {
		if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed {
			return nil // the server refuses what the document does not have
		}
		return fmt.Errorf("%s %s: not in the document: %s", req.Method, req.URL.Path, describe(errs))
	}
	op := req.Method + " " + template
	c.reached[op] = true
	var problems []*verrors.ValidationError
	if _, errs := c.v.ValidateHttpResponse(req, &res2); len(errs) > 0 {
		problems = append(problems, errs...)
	}
	if res.StatusCode < 400 && !encoded(req) && !c.perItem[op] {
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		if len(reqBody) > 0 && req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/json") // what the server assumes
		}
		if _, errs := c.v.ValidateHttpRequestSync(req); len(errs) > 0 {
			problems = append(problems, errs...)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s (answered %d) disagrees with the document: %s\nrequest: %.300s\nanswer: %.600s",
			op, res.StatusCode, describe(problems), reqBody, resBody)
	}
	return nil
}

// MatchesSchema validates body (JSON) against the document's component
// schema name, for answers a test holds rather than sends through Transport.
func (c *Checker) MatchesSchema(name string, body []byte) error {
	if c.model.Components == nil || c.model.Components.Schemas == nil {
		return fmt.Errorf("no component schema %q: the document has none", name)
	}
	proxy, ok := c.model.Components.Schemas.Get(name)
	if !ok {
		return fmt.Errorf("no component schema %q", name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok, errs := c.schemas.ValidateSchemaBytesWithVersion(proxy.Schema(), body, c.version); !ok {
		return fmt.Errorf("%s: %s", name, describe(errs))
	}
	return nil
}

// encoded says the request body is compressed: the validator reads bodies
// as they are, so those are checked by the answer only.
func encoded(req *http.Request) bool {
	e := req.Header.Get("Content-Encoding")
	return e != "" && e != "identity"
}

// Operations is every operation of the document, as "METHOD /path/{param}".
func (c *Checker) Operations() []string {
	var ops []string
	for path, item := range c.model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			ops = append(ops, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(ops)
	return ops
}

// Unreached is every operation of the document no checked exchange reached.
func (c *Checker) Unreached() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, op := range c.Operations() {
		if !c.reached[op] {
			out = append(out, op)
		}
	}
	return out
}

// Transport is next (http.DefaultTransport when nil) checking every
// exchange it carries; a disagreement fails t.
func (c *Checker) Transport(t testing.TB, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{c: c, t: t, next: next}
}

type transport struct {
	c    *Checker
	t    testing.TB
	next http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := tr.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resBody, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	if err := tr.c.Check(req, reqBody, res, resBody); err != nil {
		tr.t.Errorf("openapi: %v", err)
	}
	return res, nil
}

func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  - %s", e.Message)
		if e.Reason != "" && e.Reason != e.Message {
			fmt.Fprintf(&b, ": %s", e.Reason)
		}
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n      %s: %s", f.FieldPath, f.Reason)
		}
	}
	return b.String()
}

// Main is a test package's TestMain around its OpenAPI document at path:
// it loads the document into *contract (configured by setup, if any), runs
// the tests and, after a run of the whole package (no -run, -skip or
// -short), fails if some operation of the document was never reached, so
// nothing checked it against the server. It returns the exit code.
func Main(m *testing.M, path string, contract **Checker, setup func(*Checker)) int {
	flag.Parse()
	raw, err := os.ReadFile(path)
	if err == nil {
		*contract, err = New(raw)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, path+":", err)
		return 1
	}
	if setup != nil {
		setup(*contract)
	}
	code := m.Run()
	if code == 0 && wholeRun() {
		if missed := (*contract).Unreached(); len(missed) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: no test reached these operations of %s, so nothing checked them against the server:\n  %s\n", path, strings.Join(missed, "\n  "))
			code = 1
		}
	}
	return code
}

// wholeRun says every test of the package ran (no -run, -skip or -short).
func wholeRun() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return !testing.Short()
}

// Package client is a Go client of the crossclear API, generated from
// clearing/api/openapi.json by oapi-codegen (pinned in .ci/oapi): proof that
// the document is one client generators read, and a typed way to call the
// API. Regenerate with `go generate ./clearing/api/client`; .ci/test fails
// when the committed code differs from what the document generates.
package client

//go:generate go tool -modfile=../../../.ci/oapi/go.mod oapi-codegen -config oapi-codegen.yaml ../openapi.json

package merklelog_test

import (
	"encoding/hex"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The RFC 6962 vectors of github.com/transparency-dev/merkle are read from
// the module cache at test time, never copied: the leaves, node hashes and
// roots from its testonly package (imported), the inclusion and consistency
// proofs from proof/verify_test.go (parsed, since a _test file cannot be
// imported).

type proofVector struct {
	a, b  uint64 // inclusion: leaf (1-based, as in the source) and size; consistency: size1 and size2
	proof [][]byte
}

// merkleModuleDir finds the module in the module cache.
func merkleModuleDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/transparency-dev/merkle").Output()
	if err != nil {
		t.Fatalf("locate github.com/transparency-dev/merkle in the module cache: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatal("github.com/transparency-dev/merkle is not in the module cache (go mod download it)")
	}
	return dir
}

// proofVectors parses the named []…TestVector variable of verify_test.go.
func proofVectors(t *testing.T, name string) []proofVector {
	t.Helper()
	path := filepath.Join(merkleModuleDir(t), "proof", "verify_test.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var out []proofVector
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != name || len(vs.Values) != 1 {
			return true
		}
		found = true
		for _, el := range vs.Values[0].(*ast.CompositeLit).Elts {
			fields := el.(*ast.CompositeLit).Elts
			if len(fields) != 3 {
				t.Fatalf("%s: a vector with %d fields", name, len(fields))
			}
			v := proofVector{a: uintLit(t, fields[0]), b: uintLit(t, fields[1])}
			if lit, ok := fields[2].(*ast.CompositeLit); ok {
				for _, h := range lit.Elts {
					call := h.(*ast.CallExpr) // dh("…", 32)
					s, err := strconv.Unquote(call.Args[0].(*ast.BasicLit).Value)
					if err != nil {
						t.Fatal(err)
					}
					b, err := hex.DecodeString(s)
					if err != nil {
						t.Fatal(err)
					}
					v.proof = append(v.proof, b)
				}
			}
			out = append(out, v)
		}
		return false
	})
	if !found || len(out) == 0 {
		t.Fatalf("%s: no vectors named %s (has the module changed?)", path, name)
	}
	return out
}

func uintLit(t *testing.T, e ast.Expr) uint64 {
	t.Helper()
	lit, ok := e.(*ast.BasicLit)
	if !ok {
		t.Fatalf("vector field %T is not a number", e)
	}
	n, err := strconv.ParseUint(lit.Value, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

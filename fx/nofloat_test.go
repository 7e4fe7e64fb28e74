package fx

import (
	"bytes"
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExactArithmeticOnly: money and rates never pass through binary floating
// point. No file of the package (tests included, comments included) names
// the floating-point types, and no code calls a decimal or strconv
// conversion from or to them.
func TestExactArithmeticOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) < 10 {
		t.Fatalf("%d files, %v", len(files), err)
	}
	types := []string{"float" + "32", "float" + "64", "complex" + "64", "complex" + "128"}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, ty := range types {
			if i := bytes.Index(src, []byte(ty)); i >= 0 {
				t.Errorf("%s: mentions %s at byte %d", name, ty, i)
			}
		}
		var s scanner.Scanner
		fset := token.NewFileSet()
		s.Init(fset.AddFile(name, -1, len(src)), src, nil, 0)
		for {
			pos, tok, lit := s.Scan()
			if tok == token.EOF {
				break
			}
			if tok == token.IDENT && strings.Contains(lit, "Float") {
				t.Errorf("%s: uses %s", fset.Position(pos), lit)
			}
		}
	}
}

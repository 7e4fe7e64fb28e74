package console

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	texttemplate "text/template"
	"text/template/parse"
	"unicode"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/console/i18n"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/compliance"
)

// TestCatalogue: the console says nothing that is not in the catalogue: every key a
// template or the Go code names exists, every domain value a page names
// has a word, and no template has a visible word of its own (text between
// tags, or an attribute a person reads). i18n's own test then makes every
// language complete.

// used collects the catalogue keys named literally, for the unused check.
var used = map[string]bool{}

// dynamic are the sections looked up by a value rather than a literal:
// domain values (term), HTTP statuses and domain error codes, formats.
var dynamic = []string{"meta", "format", "status", "error", "role", "state", "cycle_state", "event", "posting",
	"participant_kind", "participant_status", "outcome", "review_status", "party_role", "channel", "compared", "nav", "ageing"}

func need(t *testing.T, where, key string) {
	t.Helper()
	used[key] = true
	if !i18n.Default.Has(key) {
		t.Errorf("%s: key %q is not in the catalogue", where, key)
	}
}

var (
	tagRE        = regexp.MustCompile(`<[^>]*>`)
	visibleAttr  = regexp.MustCompile(`\s(placeholder|title|aria-label|alt|label|data-[a-z-]+)="([^"]*)"`)
	entityRE     = regexp.MustCompile(`&[a-zA-Z]+;|&#[0-9]+;`)
	actionMarker = "\x00"
)

func templatesUseTheCatalogue(t *testing.T) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil || len(names) == 0 {
		t.Fatal(names, err)
	}
	funcs := texttemplate.FuncMap(funcsFor(i18n.Default))
	for _, n := range names {
		tpl, err := texttemplate.New(n).Funcs(funcs).ParseFS(templateFiles, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tpl.Templates() {
			if tt.Tree == nil {
				continue
			}
			var b strings.Builder
			walk(t, n, tt.Tree.Root, &b)
			literalText(t, n, b.String())
		}
	}
}

// walk writes the template's HTML with every action as a marker, and
// checks the keys of t calls with a literal key.
func walk(t *testing.T, file string, n parse.Node, b *strings.Builder) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walk(t, file, c, b)
		}
	case *parse.TextNode:
		b.Write(n.Text)
	case *parse.ActionNode:
		b.WriteString(actionMarker)
		pipe(t, file, n.Pipe)
	case *parse.IfNode:
		b.WriteString(actionMarker)
		pipe(t, file, n.Pipe)
		walk(t, file, n.List, b)
		walk(t, file, n.ElseList, b)
	case *parse.RangeNode:
		b.WriteString(actionMarker)
		pipe(t, file, n.Pipe)
		walk(t, file, n.List, b)
		walk(t, file, n.ElseList, b)
	case *parse.WithNode:
		b.WriteString(actionMarker)
		pipe(t, file, n.Pipe)
		walk(t, file, n.List, b)
		walk(t, file, n.ElseList, b)
	default:
		b.WriteString(actionMarker)
	}
}

func pipe(t *testing.T, file string, p *parse.PipeNode) {
	if p == nil {
		return
	}
	for _, cmd := range p.Cmds {
		for i, arg := range cmd.Args {
			switch a := arg.(type) {
			case *parse.IdentifierNode:
				if a.Ident == "t" && i+1 < len(cmd.Args) {
					if s, ok := cmd.Args[i+1].(*parse.StringNode); ok {
						need(t, file, s.Text)
					}
				}
			case *parse.PipeNode:
				pipe(t, file, a)
			}
		}
	}
}

// literalText fails on any letter a person would read that is not from
// an action: text between tags and the attributes shown to people.
func literalText(t *testing.T, file, html string) {
	t.Helper()
	check := func(what, s string) {
		for _, chunk := range strings.Split(entityRE.ReplaceAllString(s, ""), actionMarker) {
			if strings.IndexFunc(chunk, unicode.IsLetter) >= 0 {
				t.Errorf("%s: literal %s %q: take it from the catalogue", file, what, strings.TrimSpace(chunk))
			}
		}
	}
	for _, tag := range tagRE.FindAllString(html, -1) {
		for _, m := range visibleAttr.FindAllStringSubmatch(tag, -1) {
			check(m[1]+" attribute", m[2])
		}
	}
	check("text", tagRE.ReplaceAllString(html, actionMarker))
}

// goCodeUsesTheCatalogue checks every literal key the console's Go code
// passes to T or fail, and the keys of its tables.
func goCodeUsesTheCatalogue(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			arg := -1
			switch fn := call.Fun.(type) {
			case *ast.SelectorExpr:
				if fn.Sel.Name == "T" {
					arg = 0
				}
			case *ast.Ident:
				if fn.Name == "fail" {
					arg = 1
				}
			}
			if arg >= 0 && arg < len(call.Args) {
				if lit, ok := call.Args[arg].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					key, _ := strconv.Unquote(lit.Value)
					need(t, fset.Position(lit.Pos()).String(), key)
				}
			}
			return true
		})
	}
	for role, items := range navs {
		for _, it := range items {
			need(t, "navs["+string(role)+"]", it.Label)
		}
	}
	for _, k := range ageingLabels {
		need(t, "ageingLabels", k)
	}
}

// domainValuesHaveWords: every value a page shows through term.
func domainValuesHaveWords(t *testing.T) {
	terms := map[string][]string{
		"role":               {string(operator), string(bank), string(merchant), string(officer), string(regulator), string(clearing.RoleFXProvider), string(clearing.RoleSystem)},
		"state":              {string(clearing.Received), string(clearing.Held), string(clearing.Disputed), string(clearing.Released), string(clearing.Refunded)},
		"cycle_state":        {string(clearing.CycleOpen), string(clearing.CycleClosed), string(clearing.CycleSettled)},
		"event":              {string(clearing.EventReceived), string(clearing.EventHeld), string(clearing.EventPartiallyReleased), string(clearing.EventReleased), string(clearing.EventAutoReleased), string(clearing.EventDisputed), string(clearing.EventRefunded), string(clearing.EventResolvedRelease), string(clearing.EventResolvedRefund)},
		"posting":            {string(clearing.PostHold), string(clearing.PostRelease), string(clearing.PostRefund), string(clearing.PostFee), string(clearing.PostFXSpread), string(clearing.PostFXConversion), string(clearing.PostFXDelivery), string(clearing.PostFXGiveBack), string(clearing.PostFXConvertBack), string(clearing.PostFXResult)},
		"participant_kind":   {string(clearing.Bank), string(clearing.FXProvider)},
		"participant_status": {string(clearing.Active), string(clearing.Suspended)},
		"outcome":            {string(compliance.Pass), string(compliance.Review), string(compliance.Reject)},
		"review_status":      {store.ScreeningHeld, store.ScreeningRefused, store.ScreeningPending, store.ScreeningApproved, store.ScreeningApprovalRefused, store.ScreeningRejected},
		"party_role":         {string(compliance.Debtor), string(compliance.UltimateDebtor), string(compliance.Creditor), string(compliance.UltimateCreditor), string(compliance.DebtorAgent), string(compliance.CreditorAgent), string(compliance.Asked)},
		"channel":            {"api", "file"},                 // store.Origin.Channel
		"compared":           {"birth_date", "id", "address"}, // compliance.Match.Compared
	}
	for kind, values := range terms {
		for _, v := range values {
			need(t, "term", kind+"."+v)
		}
	}
}

var (
	saysKey      = regexp.MustCompile(`\bsay\("([a-z0-9_]+)"`)
	literalWords = regexp.MustCompile(`new Error\(\s*"|new Failure\(\s*"[a-z_]+",\s*"|textContent\s*=\s*"`)
)

// scriptsUseTheCatalogue: verify.js says only words the page gives it
// (verifyWords, from the catalogue), and no script throws or shows a
// literal message of its own.
func scriptsUseTheCatalogue(t *testing.T) {
	var words map[string]string
	if err := json.Unmarshal([]byte(verifyWords(i18n.Default)), &words); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"console.js", "verify.js"} {
		src, err := assetFiles.ReadFile("assets/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literalWords.FindAllString(string(src), -1) {
			t.Errorf("%s: a literal message (%s…): take it from the catalogue", name, m)
		}
		if name != "verify.js" {
			continue
		}
		for _, m := range saysKey.FindAllStringSubmatch(string(src), -1) {
			if _, ok := words[m[1]]; !ok {
				t.Errorf("verify.js says %q, which verifyWords does not give it", m[1])
			}
			used["verify."+m[1]] = true
		}
	}
}

func TestCatalogue(t *testing.T) {
	t.Run("templates", templatesUseTheCatalogue)
	t.Run("code", goCodeUsesTheCatalogue)
	t.Run("terms", domainValuesHaveWords)
	t.Run("scripts", scriptsUseTheCatalogue)
	// No dead words: every key is named somewhere, or belongs to a section
	// looked up by value.
	t.Run("unused", func(t *testing.T) {
		for _, k := range i18n.Default.Keys() {
			section, _, _ := strings.Cut(k, ".")
			if !used[k] && !slices.Contains(dynamic, section) {
				t.Errorf("%s is in the catalogue but nothing uses it", k)
			}
		}
	})
}

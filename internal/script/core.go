package script

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// clockReads are the functions of package time that read or wait on the
// clock.
var clockReads = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"AfterFunc": true, "NewTimer": true, "NewTicker": true, "Tick": true,
}

// CheckCore fails t if a non-test file of the package in the current
// directory imports anything but allowed, starts a goroutine or reads the
// clock: the promise of a core, events in and actions out.
func CheckCore(t *testing.T, allowed ...string) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var core []string
	for _, name := range files {
		if !strings.HasSuffix(name, "_test.go") {
			core = append(core, name)
		}
	}
	CheckCoreFiles(t, core, allowed...)
}

// CheckCoreFiles is CheckCore for the named files of the package in the
// current directory: those of a core that shares its package with its
// driver.
func CheckCoreFiles(t *testing.T, files []string, allowed ...string) {
	t.Helper()
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); !ok[path] {
				t.Errorf("%s imports %s", fset.Position(imp.Pos()), path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s starts a goroutine", fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if x, isIdent := n.X.(*ast.Ident); isIdent && x.Name == "time" && clockReads[n.Sel.Name] {
					t.Errorf("%s reads the clock (time.%s)", fset.Position(n.Pos()), n.Sel.Name)
				}
			}
			return true
		})
	}
}

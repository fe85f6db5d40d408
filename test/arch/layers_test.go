// Package arch holds the architecture test: the layer rules of
// ../shared/STYLE.md checked over the import graph that `go list` reports,
// so that a forbidden import fails the build's tests, not only a hook.
package arch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/sigilauth/sigil"

// pkg is what the rules need of one package from `go list -json`.
type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// violation is one import a rule forbids.
type violation struct {
	from, to, rule string
}

func (v violation) String() string { return v.from + " imports " + v.to + ": " + v.rule }

// Packages of the outside world the application layer must not know:
// HTTP, storage, Redis and the dependency-injection container.
var infrastructure = []string{
	"net/http",
	"database/sql",
	"github.com/labstack/echo",
	"gorm.io/",
	"github.com/glebarez/",
	"github.com/jackc/pgx",
	"github.com/redis/",
	"github.com/go-redis/",
	"go.uber.org/fx",
	"go.uber.org/dig",
	module + "/adapters/echohttp",
	module + "/adapters/gormstore",
	module + "/adapters/redisstore",
}

func standard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/") || (strings.HasSuffix(prefix, "/") && strings.HasPrefix(path, prefix))
}

func anyUnder(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if under(path, p) {
			return true
		}
	}
	return false
}

// adapterOf names the adapter a package belongs to ("echohttp" for
// adapters/echohttp/...), "" outside adapters/, and "internal" for the
// code adapters share.
func adapterOf(path string) string {
	rest, ok := strings.CutPrefix(path, module+"/adapters/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// checkProduction applies the rules to the imports of a package's
// non-test files.
func checkProduction(p pkg) []violation {
	var out []violation
	add := func(to, rule string) { out = append(out, violation{p.ImportPath, to, rule}) }
	from := p.ImportPath
	for _, to := range p.Imports {
		switch {
		case under(from, module+"/domain"):
			if !standard(to) && !under(to, module+"/domain") {
				add(to, "domain imports the standard library alone")
			}
		case under(from, module+"/application"):
			if anyUnder(to, infrastructure) {
				add(to, "application knows no HTTP, storage, Redis or fx")
			} else if !standard(to) && !under(to, module+"/domain") && !under(to, module+"/application") {
				add(to, "application imports the standard library and domain alone")
			}
		case adapterOf(from) != "":
			if a := adapterOf(to); a != "" && a != "internal" && a != adapterOf(from) {
				add(to, "an adapter never imports another adapter (share code through adapters/internal)")
			}
			if adapterOf(from) == "internal" && adapterOf(to) != "" && adapterOf(to) != "internal" {
				add(to, "adapters/internal is shared by the adapters and imports none of them")
			}
			if anyUnder(to, []string{module + "/bootstrap", module + "/cmd", "go.uber.org/fx", "go.uber.org/dig"}) {
				add(to, "only bootstrap and cmd know fx and compose the adapters")
			}
		case under(from, module+"/bootstrap"):
			if under(to, module+"/cmd") {
				add(to, "bootstrap never imports a command")
			}
		}
		if !under(from, module+"/test") && under(to, module+"/test") {
			add(to, "production code never imports test packages")
		}
		if (to == "go.uber.org/fx" || under(to, "go.uber.org/dig")) &&
			!under(from, module+"/bootstrap") && !under(from, module+"/cmd") && !under(from, module+"/test") {
			add(to, "only bootstrap and cmd know fx")
		}
	}
	return out
}

// checkTests applies the rules that hold for test files too: the use-case
// tests run without HTTP, storage or Redis, the domain's with the standard
// library, and an adapter's tests build no other adapter (they use fakes).
func checkTests(p pkg) []violation {
	var out []violation
	from := p.ImportPath
	for _, to := range append(append([]string{}, p.TestImports...), p.XTestImports...) {
		switch {
		case under(from, module+"/domain"):
			if !standard(to) && !under(to, module+"/domain") {
				out = append(out, violation{from + " (tests)", to, "domain tests use the standard library alone"})
			}
		case under(from, module+"/application"):
			if anyUnder(to, infrastructure) {
				out = append(out, violation{from + " (tests)", to, "use-case tests run without HTTP, storage, Redis or fx"})
			}
		case adapterOf(from) != "":
			if a := adapterOf(to); a != "" && a != "internal" && a != adapterOf(from) {
				out = append(out, violation{from + " (tests)", to, "an adapter's tests never build another adapter"})
			}
		}
	}
	return out
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,TestImports,XTestImports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestLayerRules(t *testing.T) {
	pkgs := listPackages(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[p.ImportPath] = true
		for _, v := range append(checkProduction(p), checkTests(p)...) {
			t.Error(v)
		}
	}
	// The rules are only as good as the packages they see: if a layer
	// were renamed, they would silently check nothing.
	for _, want := range []string{"domain", "application", "adapters/echohttp", "adapters/gormstore", "adapters/redisstore", "adapters/josekit", "bootstrap", "cmd/sigil"} {
		if !seen[module+"/"+want] {
			t.Errorf("go list reported no package %s/%s: update the architecture test", module, want)
		}
	}
}

// TestLayerRulesCatchForbiddenImports feeds the checker one import of each
// forbidden kind, so that TestLayerRules passing means the graph is clean,
// not that the checker sees nothing.
func TestLayerRulesCatchForbiddenImports(t *testing.T) {
	forbidden := []struct {
		name string
		p    pkg
	}{
		{"domain imports a module", pkg{ImportPath: module + "/domain", Imports: []string{"github.com/google/uuid"}}},
		{"domain imports application", pkg{ImportPath: module + "/domain", Imports: []string{module + "/application"}}},
		{"domain tests import fakes", pkg{ImportPath: module + "/domain", XTestImports: []string{module + "/test/fakes"}}},
		{"application imports net/http", pkg{ImportPath: module + "/application", Imports: []string{"net/http"}}},
		{"application imports httptest", pkg{ImportPath: module + "/application", Imports: []string{"net/http/httptest"}}},
		{"application imports gorm", pkg{ImportPath: module + "/application", Imports: []string{"gorm.io/gorm"}}},
		{"application imports go-redis", pkg{ImportPath: module + "/application", Imports: []string{"github.com/redis/go-redis/v9"}}},
		{"application imports fx", pkg{ImportPath: module + "/application", Imports: []string{"go.uber.org/fx"}}},
		{"application imports an adapter", pkg{ImportPath: module + "/application", Imports: []string{module + "/adapters/josekit"}}},
		{"application tests use echo", pkg{ImportPath: module + "/application", TestImports: []string{"github.com/labstack/echo/v4"}}},
		{"adapter imports adapter", pkg{ImportPath: module + "/adapters/echohttp", Imports: []string{module + "/adapters/josekit"}}},
		{"adapter tests import adapter", pkg{ImportPath: module + "/adapters/introspection", XTestImports: []string{module + "/adapters/echohttp"}}},
		{"internal imports adapter", pkg{ImportPath: module + "/adapters/internal/gate", Imports: []string{module + "/adapters/redisstore"}}},
		{"adapter imports bootstrap", pkg{ImportPath: module + "/adapters/gormstore", Imports: []string{module + "/bootstrap"}}},
		{"adapter imports fx", pkg{ImportPath: module + "/adapters/redisstore", Imports: []string{"go.uber.org/fx"}}},
		{"bootstrap imports cmd", pkg{ImportPath: module + "/bootstrap", Imports: []string{module + "/cmd/sigil"}}},
		{"production imports test", pkg{ImportPath: module + "/bootstrap", Imports: []string{module + "/test/fakes"}}},
	}
	for _, f := range forbidden {
		t.Run(f.name, func(t *testing.T) {
			if v := append(checkProduction(f.p), checkTests(f.p)...); len(v) == 0 {
				t.Errorf("no rule refused %+v", f.p)
			}
		})
	}
	allowed := []pkg{
		{ImportPath: module + "/domain", Imports: []string{"crypto", "net/url"}},
		{ImportPath: module + "/application", Imports: []string{"context", module + "/domain"}},
		{ImportPath: module + "/application", XTestImports: []string{module + "/test/fakes", module + "/adapters/secrethash"}},
		{ImportPath: module + "/adapters/echohttp", Imports: []string{"github.com/labstack/echo/v4", module + "/adapters/internal/gate", module + "/application"}},
		{ImportPath: module + "/adapters/gormstore", XTestImports: []string{module + "/adapters/gormstore", module + "/test/testenv"}},
		{ImportPath: module + "/bootstrap", Imports: []string{"go.uber.org/fx", module + "/adapters/echohttp"}},
		{ImportPath: module + "/cmd/sigil", Imports: []string{"go.uber.org/fx", module + "/bootstrap"}},
	}
	for _, p := range allowed {
		if v := append(checkProduction(p), checkTests(p)...); len(v) > 0 {
			t.Errorf("allowed imports refused: %v", v)
		}
	}
}

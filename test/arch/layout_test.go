package arch

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// root is the repository root, two levels above this package.
const root = "../.."

// applicationDecls parses application/'s non-test files and returns the
// use cases (types with a Handle method) and, for every interface type,
// the file that declares it.
func applicationDecls(t *testing.T) (useCases []string, ports map[string]string) {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(root, "application", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	ports = map[string]string{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					if ts, ok := spec.(*ast.TypeSpec); ok && ts.Name.IsExported() {
						if _, ok := ts.Type.(*ast.InterfaceType); ok {
							ports[ts.Name.Name] = filepath.Base(path)
						}
					}
				}
			case *ast.FuncDecl:
				if d.Recv == nil || d.Name.Name != "Handle" {
					continue
				}
				recv := d.Recv.List[0].Type
				if star, ok := recv.(*ast.StarExpr); ok {
					recv = star.X
				}
				if id, ok := recv.(*ast.Ident); ok {
					useCases = append(useCases, id.Name)
				}
			}
		}
	}
	slices.Sort(useCases)
	return useCases, ports
}

// TestPortsLiveInPortsFile keeps every port of the application layer in
// one file, where a reader looks for them.
func TestPortsLiveInPortsFile(t *testing.T) {
	_, ports := applicationDecls(t)
	if len(ports) < 10 {
		t.Fatalf("found only %d interfaces in application/: is the parser looking in the right place?", len(ports))
	}
	for name, file := range ports {
		if file != "ports.go" {
			t.Errorf("port %s is declared in application/%s; declare ports in application/ports.go", name, file)
		}
	}
}

// architectureBlock is the code block of README.md's Architecture section.
func architectureBlock(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Architecture\n")
	if !ok {
		t.Fatal("README.md has no ## Architecture section")
	}
	_, block, ok := strings.Cut(section, "```\n")
	if !ok {
		t.Fatal("README.md's Architecture section has no code block")
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

// TestREADMEArchitectureIsTrue keeps README's map of the code true: it
// names every use case and every adapter package, and nothing that does
// not exist.
func TestREADMEArchitectureIsTrue(t *testing.T) {
	block := architectureBlock(t)
	useCases, _ := applicationDecls(t)
	if len(useCases) < 5 {
		t.Fatalf("found only %d use cases in application/", len(useCases))
	}
	list := regexp.MustCompile(`(?s)use cases \(([^)]*)\)`).FindStringSubmatch(block)
	if list == nil {
		t.Fatal("README's architecture block has no \"use cases (...)\" list")
	}
	var listed []string
	for _, name := range strings.Split(list[1], ",") {
		listed = append(listed, strings.TrimSpace(name))
	}
	slices.Sort(listed)
	if !slices.Equal(listed, useCases) {
		t.Errorf("README lists the use cases %v; application/ has %v", listed, useCases)
	}

	entries, err := os.ReadDir(filepath.Join(root, "adapters"))
	if err != nil {
		t.Fatal(err)
	}
	var adapters []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "internal" {
			adapters = append(adapters, e.Name())
		}
	}
	_, rest, ok := strings.Cut(block, "adapters/\n")
	if !ok {
		t.Fatal("README's architecture block has no adapters/ line")
	}
	var documented []string
	for _, line := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		if fields := strings.Fields(line); len(fields) > 0 && !strings.HasPrefix(line, "   ") && fields[0] != "internal/" {
			documented = append(documented, strings.TrimSuffix(fields[0], "/"))
		}
	}
	slices.Sort(documented)
	if !slices.Equal(documented, adapters) {
		t.Errorf("README documents the adapters %v; adapters/ holds %v", documented, adapters)
	}
}

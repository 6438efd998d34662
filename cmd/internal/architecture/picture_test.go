package architecture_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const (
	module = "github.com/upgrade-manager/upgrade-manager"
	doc    = "../../../docs/ARCHITECTURE.md"
	begin  = "<!-- package picture: drawn by `UPDATE_ARCHITECTURE=1 go test ./cmd/internal/architecture`; do not edit -->"
	end    = "<!-- end of package picture -->"
)

// TestPictureMatchesGoList fails when docs/ARCHITECTURE.md's package picture
// differs from the module's imports as go list reports them (each non-test
// package and its direct imports inside the module; test-only imports are
// left out).
func TestPictureMatchesGoList(t *testing.T) {
	want := draw(goList(t))
	text, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(text, []byte(begin)), bytes.Index(text, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s has no package picture between %q and %q", doc, begin, end)
	}
	got := string(text[i+len(begin) : j])
	if got == want {
		return
	}
	if os.Getenv("UPDATE_ARCHITECTURE") != "" {
		out := slices.Concat(text[:i+len(begin)], []byte(want), text[j:])
		if err := os.WriteFile(doc, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/ARCHITECTURE.md's package picture is not what go list shows; redraw it with\n"+
		"  UPDATE_ARCHITECTURE=1 go test ./cmd/internal/architecture\nand read the diff. go list gives:%s", want)
}

type pkg struct {
	ImportPath string
	Imports    []string
}

// draw renders pkgs as a Mermaid flowchart grouped by top-level folder, with
// an arrow from each package to each module package it imports.
func draw(pkgs []pkg) string {
	short := func(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, module), "/") }
	id := func(p string) string { return strings.NewReplacer("/", "_", "-", "_", ".", "_").Replace(short(p)) }
	groups := map[string][]string{}
	var tops []string
	for _, p := range pkgs {
		top, _, _ := strings.Cut(short(p.ImportPath), "/")
		if _, ok := groups[top]; !ok {
			tops = append(tops, top)
		}
		groups[top] = append(groups[top], p.ImportPath)
	}
	slices.Sort(tops)
	var b strings.Builder
	b.WriteString("\n```mermaid\nflowchart LR\n")
	for _, top := range tops {
		fmt.Fprintf(&b, "  subgraph %s_dir [\"%s/\"]\n", top, top)
		for _, p := range groups[top] {
			fmt.Fprintf(&b, "    %s[\"%s\"]\n", id(p), short(p))
		}
		b.WriteString("  end\n")
	}
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			if imp == module || strings.HasPrefix(imp, module+"/") {
				fmt.Fprintf(&b, "  %s --> %s\n", id(p.ImportPath), id(imp))
			}
		}
	}
	b.WriteString("```\n")
	return b.String()
}

// goList lists the module's packages (sorted, imports sorted) with the go
// command that runs the tests.
func goList(t *testing.T) []pkg {
	t.Helper()
	const goCmd = "go" // the go command on PATH, as make and go test find it
	cmd := exec.Command(goCmd, "list", "-json=ImportPath,Imports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.ImportPath == module+"/cmd/internal/architecture" {
			continue // this test's own package, which imports nothing
		}
		slices.Sort(p.Imports)
		pkgs = append(pkgs, p)
	}
	slices.SortFunc(pkgs, func(a, b pkg) int { return strings.Compare(a.ImportPath, b.ImportPath) })
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages, want the module's", len(pkgs))
	}
	return pkgs
}

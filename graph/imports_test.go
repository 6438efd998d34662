package graph_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/upgrade-manager/upgrade-manager"

// TestGraphDoesNotLinkTheWriter fails when a package of the GraphQL server
// (anything under graph/, and cmd/graphql) depends on indexer/store, the
// indexer's writer: the server reads the read model, checks the cluster
// (indexer/cluster) and follows the writer's NOTIFY contract
// (indexer/notify), nothing more. graph/graphtest is exempt: it is test
// support that seeds databases through the real writer, and only tests
// import it.
func TestGraphDoesNotLinkTheWriter(t *testing.T) {
	t.Parallel()
	const writer = module + "/indexer/store"
	pkgs := goList(t, module+"/graph/...", module+"/cmd/graphql")
	if len(pkgs) < 4 {
		t.Fatalf("go list found %d packages under graph/, want the server's packages", len(pkgs))
	}
	checked := 0
	for _, p := range pkgs {
		if p.ImportPath == module+"/graph/graphtest" {
			continue
		}
		checked++
		for _, d := range p.Deps {
			if d == writer {
				t.Errorf("%s depends on %s (go list -deps %s shows the path): read through graph/store and indexer/notify instead",
					p.ImportPath, writer, p.ImportPath)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no package checked")
	}
}

type listed struct {
	ImportPath string
	Deps       []string
}

// goList runs go list -json on patterns with the go command that runs the
// tests.
func goList(t *testing.T, patterns ...string) []listed {
	t.Helper()
	const goCmd = "go" // the go command on PATH, as make and go test find it
	cmd := exec.CommandContext(t.Context(), goCmd, append([]string{"list", "-json=ImportPath,Deps"}, patterns...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(patterns, " "), err, stderr.String())
	}
	var pkgs []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse go list output: %v", err)
		}
		if !strings.HasPrefix(p.ImportPath, module+"/graph") && p.ImportPath != module+"/cmd/graphql" {
			t.Fatalf("go list %s listed %s", strings.Join(patterns, " "), p.ImportPath)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedUpToDate regenerates both packages into a temporary
// directory and compares them with the committed files, so a stale
// generated package fails `go test` as well as `make verify`.
func TestGeneratedUpToDate(t *testing.T) {
	t.Parallel()
	cases := []struct{ idl, pkgDir string }{
		{"../../program/idl/upgrade_manager.json", "../../indexer/upgrademanager"},
		{"testdata/kitchen_sink.json", "internal/kitchensink"},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.pkgDir), func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			idl, err := LoadIDL(tc.idl)
			if err != nil {
				t.Fatal(err)
			}
			// The header records the IDL path relative to the package, as go:generate runs it.
			source, err := relTo(tc.pkgDir, tc.idl)
			if err != nil {
				t.Fatal(err)
			}
			if err := Generate(idl, source, out, filepath.Base(tc.pkgDir)); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				got, _ := os.ReadFile(filepath.Join(out, e.Name()))
				want, err := os.ReadFile(filepath.Join(tc.pkgDir, e.Name()))
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s/%s is stale: run make generate", tc.pkgDir, e.Name())
				}
			}
		})
	}
}

func TestUnsupported(t *testing.T) {
	t.Parallel()
	const head = `{"address": "11111111111111111111111111111111", "metadata": {"name": "x"},`
	cases := []struct{ name, body, want string }{
		{"float", `"types": [{"name": "A", "type": {"kind": "struct", "fields": [{"name": "f", "type": "f64"}]}}]`, "A.f: type f64 is not supported"},
		{"generic", `"types": [{"name": "A", "generics": [{"kind": "type", "name": "T"}], "type": {"kind": "struct", "fields": []}}]`, "generic types are not supported"},
		{"undefined", `"types": [{"name": "A", "type": {"kind": "struct", "fields": [{"name": "f", "type": {"defined": {"name": "B"}}}]}}]`, "type B is not defined"},
		{"zero-sized vec", `"types": [{"name": "A", "type": {"kind": "struct", "fields": [{"name": "f", "type": {"vec": {"defined": {"name": "E"}}}}]}}, {"name": "E", "type": {"kind": "struct", "fields": []}}]`, "zero-sized"},
		{"alias", `"types": [{"name": "A", "type": {"kind": "type", "alias": "u8"}}]`, `kind "type" is not supported`},
		{"coption", `"types": [{"name": "A", "type": {"kind": "struct", "fields": [{"name": "f", "type": {"coption": "u8"}}]}}]`, `"coption" types are not supported`},
		{"event without type", `"events": [{"name": "E", "discriminator": [1,2,3,4,5,6,7,8]}]`, "no struct type"},
		{"short discriminator", `"events": [{"name": "E", "discriminator": [1,2,3]}]`, "want 8"},
		{"name clash", `"types": [{"name": "ErrorCode", "type": {"kind": "struct", "fields": []}}]`, "already used"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "idl.json")
			if err := os.WriteFile(path, []byte(head+tc.body+"}"), 0o644); err != nil {
				t.Fatal(err)
			}
			idl, err := LoadIDL(path)
			if err == nil {
				err = Generate(idl, "idl.json", t.TempDir(), "x")
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestRemovesStaleFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stale := filepath.Join(dir, "old.go")
	mine := filepath.Join(dir, "doc.go")
	if err := os.WriteFile(stale, []byte(generatedMarker+"\npackage x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mine, []byte("package x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	idl, err := LoadIDL("testdata/kitchen_sink.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := Generate(idl, "idl.json", dir, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale generated file kept: %v", err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("hand-written file removed: %v", err)
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"metadata_uri": "MetadataURI", "create_key": "CreateKey", "ACCOUNT_LAYOUT_VERSION": "AccountLayoutVersion",
		"ProposalCreated": "ProposalCreated", "program_id": "ProgramID", "a_u128": "AU128", "HTTPServer": "HTTPServer",
		"migrate_ix_data": "MigrateIxData", "9lives": "X9lives",
	} {
		if got := exported(in); got != want {
			t.Errorf("exported(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"metadata_uri": "metadataURI", "type": "typeArg", "accounts": "accountsArg", "proposal_count": "proposalCount",
	} {
		if got := unexported(in); got != want {
			t.Errorf("unexported(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	m := &Main{Stderr: &bytes.Buffer{}}
	if err := m.ParseFlags([]string{"-idl", "x.json", "-out", "some/dir-name"}); err != nil {
		t.Fatal(err)
	}
	if m.Config.Package != "dirname" {
		t.Errorf("package = %q", m.Config.Package)
	}
	for _, args := range [][]string{{"-out", "x"}, {"-idl", "x"}, {"-idl", "x", "-out", "y", "extra"}} {
		if err := (&Main{Stderr: &bytes.Buffer{}}).ParseFlags(args); err == nil {
			t.Errorf("ParseFlags(%q) accepted", args)
		}
	}
}

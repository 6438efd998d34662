package pgcluster

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFindBinaries(t *testing.T) {
	tests := []struct {
		name     string
		onPath   bool     // an installation linked onto PATH
		versions []string // installations under <root>/NN/bin
		partial  []string // installations missing pg_ctl
		want     string   // "path", a version, or "" for ErrBinariesNotFound
	}{
		{name: "nothing installed", want: ""},
		{name: "one version", versions: []string{"15"}, want: "15"},
		{name: "highest version wins numerically", versions: []string{"9.6", "16", "15"}, want: "16"},
		{name: "incomplete installation skipped", versions: []string{"15"}, partial: []string{"17"}, want: "15"},
		{name: "PATH wins", onPath: true, versions: []string{"16"}, want: "path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			pathDir := t.TempDir()
			t.Setenv("PATH", pathDir)
			for _, v := range tt.versions {
				fakeInstall(t, filepath.Join(root, v, "bin"), serverBinaries...)
			}
			for _, v := range tt.partial {
				fakeInstall(t, filepath.Join(root, v, "bin"), "initdb", "postgres")
			}
			if tt.onPath {
				real := filepath.Join(root, "path-install", "bin")
				fakeInstall(t, real, serverBinaries...)
				if err := os.Symlink(filepath.Join(real, "initdb"), filepath.Join(pathDir, "initdb")); err != nil {
					t.Fatal(err)
				}
			}

			got, err := findBinaries(filepath.Join(root, "*", "bin"))
			switch tt.want {
			case "":
				if !errors.Is(err, ErrBinariesNotFound) {
					t.Fatalf("findBinaries = %q, %v; want ErrBinariesNotFound", got, err)
				}
			case "path":
				if want := filepath.Join(root, "path-install", "bin"); err != nil || got != want {
					t.Fatalf("findBinaries = %q, %v; want %q", got, err, want)
				}
			default:
				if want := filepath.Join(root, tt.want, "bin"); err != nil || got != want {
					t.Fatalf("findBinaries = %q, %v; want %q", got, err, want)
				}
			}
		})
	}
}

func TestErrBinariesNotFoundSaysHowToInstall(t *testing.T) {
	const want = `PostgreSQL server binaries not found (initdb, pg_ctl): install them with "apt-get install -y postgresql"`
	if got := ErrBinariesNotFound.Error(); got != want {
		t.Fatalf("ErrBinariesNotFound = %q, want %q", got, want)
	}
}

func fakeInstall(t *testing.T, dir string, names ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIsPostgres(t *testing.T) {
	if isPostgres(os.Getpid()) {
		t.Error("the test binary taken for postgres")
	}
	if isPostgres(0) || isPostgres(-1) {
		t.Error("pid <= 0 taken for postgres")
	}
}

package pgcluster

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
)

// ErrBinariesNotFound means neither PATH nor /usr/lib/postgresql/*/bin holds
// the PostgreSQL server binaries.
var ErrBinariesNotFound = errors.New(`PostgreSQL server binaries not found (initdb, pg_ctl): install them with "apt-get install -y postgresql"`)

// debianBinGlob is where Debian's postgresql-NN packages install the server
// binaries, which they keep off PATH.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// serverBinaries are the programs a cluster needs; pg_ctl runs postgres.
var serverBinaries = []string{"initdb", "pg_ctl", "postgres"}

// FindBinaries returns the directory holding initdb, pg_ctl and postgres:
// the one on PATH when initdb is there, otherwise the highest version under
// /usr/lib/postgresql. It returns ErrBinariesNotFound when neither has them.
func FindBinaries() (string, error) {
	return findBinaries(debianBinGlob)
}

func findBinaries(glob string) (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		// Resolve symlinks so that pg_ctl and postgres come from the same
		// installation as initdb even when only initdb is linked onto PATH.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if dir := filepath.Dir(p); hasBinaries(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob(glob) // The pattern is well formed.
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if hasBinaries(dir) {
			return dir, nil
		}
	}
	return "", ErrBinariesNotFound
}

func hasBinaries(dir string) bool {
	for _, name := range serverBinaries {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// version extracts the major version from /usr/lib/postgresql/NN/bin so
// that 16 sorts above 9.6; unparsable names sort last.
func version(binDir string) float64 {
	v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	if err != nil {
		return -1
	}
	return v
}

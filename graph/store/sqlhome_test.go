package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// moduleRoot is the repository's root, seen from graph/store.
const moduleRoot = "../.."

// sqlHomes are the packages allowed to hold SQL against the tables of migrations/: the read-model
// query layer (this package: the GraphQL server and the cranks read the projections through it)
// and the writer (indexer/store), plus the test harnesses that check the projections
// independently of the layer they check (an oracle must not use the code under test) or seed
// them for tests.
var sqlHomes = map[string]string{
	"graph/store":      "the read-model query layer",
	"indexer/store":    "the writer of the ingestion tables and the projections",
	"graph/graphtest":  "test support: seeds projection rows for the GraphQL tests",
	"indexer/scenario": "test support: asserts the projections a scenario must leave",
	"cmd/chaos":        "fault-injection harness: compares the projections with the chain as an independent oracle",
}

var createTable = regexp.MustCompile(`(?i)CREATE TABLE\s+(?:IF NOT EXISTS\s+)?([a-z_][a-z0-9_]*)`)

// migrationTables returns every table the migrations create.
func migrationTables(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(moduleRoot, "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found (%v)", err)
	}
	var tables []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range createTable.FindAllStringSubmatch(string(b), -1) {
			if !slices.Contains(tables, m[1]) {
				tables = append(tables, m[1])
			}
		}
	}
	for _, want := range []string{"proposal", "governance", "migration_job", "chain_event"} {
		if !slices.Contains(tables, want) {
			t.Fatalf("table %s not found in migrations/*.sql (found %v): the scan would be vacuous", want, tables)
		}
	}
	return tables
}

// statement is what makes a string SQL rather than prose that says "from approval".
var statement = regexp.MustCompile(`(?i)\b(?:SELECT|INSERT|UPDATE|DELETE|TRUNCATE|WITH)\b`)

// sqlAgainst returns a function reporting the table clause of s when s is SQL that reads or
// writes one of tables, "" otherwise.
func sqlAgainst(tables []string) func(s string) string {
	re := regexp.MustCompile(`(?i)\b(?:FROM|JOIN|INTO|UPDATE|TRUNCATE|TABLE)\s+(?:ONLY\s+)?(?:` + strings.Join(tables, "|") + `)\b`)
	return func(s string) string {
		if !statement.MatchString(s) {
			return ""
		}
		return re.FindString(s)
	}
}

// TestProjectionSQLLivesInTheStores fails when a package other than the read-model layer and
// the writer holds SQL against the tables of migrations/: one place writes SQL against the
// projections, so a schema change is one package's change.
func TestProjectionSQLLivesInTheStores(t *testing.T) {
	t.Parallel()
	match := sqlAgainst(migrationTables(t))
	var offenders []string
	scanned := 0
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(moduleRoot, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "target", "testdata", "vendor", "program":
				return filepath.SkipDir
			}
			if _, ok := sqlHomes[rel]; ok {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		scanned++
		for _, hit := range sqlLiterals(t, path, match) {
			offenders = append(offenders, rel+":"+hit)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 50 {
		t.Fatalf("scanned only %d Go files: is moduleRoot right?", scanned)
	}
	if len(offenders) > 0 {
		t.Errorf("SQL against the tables of migrations/ outside graph/store and indexer/store (move it into graph/store):\n%s", strings.Join(offenders, "\n"))
	}
}

// sqlLiterals returns the string literals of the Go file at path that match.
func sqlLiterals(t *testing.T, path string, match func(string) string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var hits []string
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		if m := match(s); m != "" {
			hits = append(hits, strconv.Itoa(fset.Position(lit.Pos()).Line)+": "+strings.Join(strings.Fields(m), " "))
		}
		return true
	})
	return hits
}

// TestSQLAgainstCatchesProjectionQueries keeps the scan honest: the pattern matches the shapes
// the crank used to hold, and not prose that merely names a table.
func TestSQLAgainstCatchesProjectionQueries(t *testing.T) {
	t.Parallel()
	match := sqlAgainst([]string{"proposal", "governance", "migration_job", "approval"})
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"SELECT address FROM migration_job WHERE status = 'active'", true},
		{"SELECT p.address FROM proposal p JOIN governance g ON g.address = p.governance", true},
		{"select address\n\t\tfrom\n\t\tproposal p", true},
		{"INSERT INTO governance (address) VALUES ($1)", true},
		{"UPDATE proposal SET status = 'executed'", true},
		{"execute the proposal from the governance", false},
		{"seconds from approval to execution", false},
		{"SELECT pg_try_advisory_lock($1)", false},
		{"SELECT 1 FROM proposals", false},
	} {
		if got := match(tt.s) != ""; got != tt.want {
			t.Errorf("sqlAgainst matches %q = %v, want %v", tt.s, got, tt.want)
		}
	}
}

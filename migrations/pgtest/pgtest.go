package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/migrations"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgcluster"
)

// Timeouts for work that outlives a single test's context: dropping its
// database after it, and building the template, which may first wait for
// another test binary that is building it.
const (
	cleanupTimeout  = 30 * time.Second
	templateTimeout = 5 * time.Minute
)

// The test binary is the unit that shares one server and one template, and
// testing gives a helper no other place than the package to keep them: this
// is the package-level state that the house style otherwise avoids, kept to
// these two variables.
var (
	mainCalled atomic.Bool
	shared     server
)

// server is the per-process database server and template.
type server struct {
	once     sync.Once
	adminURL string
	cluster  *pgcluster.Cluster // nil when DATABASE_URL is used
	err      error

	tmplOnce sync.Once
	tmpl     string
	tmplErr  error
}

// Main runs the tests of a package that uses pgtest, then stops the
// throwaway cluster if one was started, and exits. Call it from TestMain.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	if shared.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := shared.cluster.Stop(ctx)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// NewDB creates a database holding the migrated schema for the calling test
// and returns its URL. The database is dropped when the test passes and kept
// for inspection, with its URL logged, when it fails.
func NewDB(t testing.TB) string {
	t.Helper()
	admin := adminURL(t)
	shared.tmplOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), templateTimeout)
		defer cancel()
		shared.tmpl, shared.tmplErr = ensureTemplate(ctx, admin)
	})
	if shared.tmplErr != nil {
		t.Fatalf("pgtest: %v", shared.tmplErr)
	}
	return createDB(t, admin, shared.tmpl)
}

// NewEmptyDB creates a database without any migration applied, for tests of
// the migrations themselves, and returns its URL. Its lifetime is that of a
// NewDB database.
func NewEmptyDB(t testing.TB) string {
	t.Helper()
	return createDB(t, adminURL(t), "template0")
}

// NewPool returns a pool on a fresh database from NewDB. The pool closes
// when the test ends.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), NewDB(t))
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// adminURL returns the URL of the server's maintenance database, starting
// the throwaway cluster on first use.
func adminURL(t testing.TB) string {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatal("pgtest: call pgtest.Main(m) from this package's TestMain")
	}
	shared.once.Do(func() {
		if u := os.Getenv("DATABASE_URL"); u != "" {
			shared.adminURL = u
			return
		}
		c, err := pgcluster.StartTemp(context.Background(), pgcluster.Config{})
		if err != nil {
			shared.err = fmt.Errorf("start throwaway cluster (or set DATABASE_URL): %w", err)
			return
		}
		shared.cluster = c
		shared.adminURL = c.URL()
	})
	if shared.err != nil {
		t.Fatalf("pgtest: %v", shared.err)
	}
	return shared.adminURL
}

// ensureTemplate returns the name of the template database for the embedded
// migration set, building it unless it exists.
func ensureTemplate(ctx context.Context, admin string) (string, error) {
	tmpl := "tmpl_" + migrations.Hash()[:16]
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", redact(admin), err)
	}
	// Closing the session releases the advisory lock too.
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()

	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrations.LockKey(migrations.TemplateLock)); err != nil {
		return "", fmt.Errorf("lock template build: %w", err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", tmpl).Scan(&exists); err != nil {
		return "", fmt.Errorf("look up template %s: %w", tmpl, err)
	}
	if exists {
		return tmpl, nil
	}

	// Build under another name and rename, so that no one ever clones a
	// half-migrated template, and a build that died halfway is redone.
	build := tmpl + "_build"
	stmts := []string{
		"DROP DATABASE IF EXISTS " + ident(build) + " WITH (FORCE)",
		"CREATE DATABASE " + ident(build) + " TEMPLATE template0",
	}
	for _, stmt := range stmts {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return "", fmt.Errorf("prepare template %s: %w", tmpl, err)
		}
	}
	buildURL, err := databaseURL(admin, build)
	if err != nil {
		return "", err
	}
	if _, err := migrations.Up(ctx, buildURL); err != nil {
		return "", fmt.Errorf("migrate template %s: %w", tmpl, err)
	}
	stmts = []string{
		"ALTER DATABASE " + ident(build) + " RENAME TO " + ident(tmpl),
		// A stray connection to a template makes every clone of it fail.
		"ALTER DATABASE " + ident(tmpl) + " WITH ALLOW_CONNECTIONS false",
	}
	for _, stmt := range stmts {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return "", fmt.Errorf("finish template %s: %w", tmpl, err)
		}
	}
	return tmpl, nil
}

// createDB clones template into a new database for t and returns its URL.
func createDB(t testing.TB, admin, template string) string {
	t.Helper()
	ctx := t.Context()
	name := newName()
	u, err := databaseURL(admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", redact(admin), err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(template)); err != nil {
		t.Fatalf("pgtest: create database %s from %s: %v", name, template, err)
	}

	t.Cleanup(func() {
		if t.Failed() {
			if shared.cluster != nil {
				t.Logf("pgtest: kept database %s, but its throwaway cluster goes when the test binary exits; set DATABASE_URL to keep it", redact(u))
			} else {
				t.Logf("pgtest: kept database for inspection: %s", redact(u))
			}
			return
		}
		// t.Context is already canceled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := dropDB(ctx, admin, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return u
}

func dropDB(ctx context.Context, admin, name string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(admin), err)
	}
	defer func() { _ = conn.Close(ctx) }()
	// FORCE ends sessions the test left open, such as a leaked pool.
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// databaseURL returns admin with its database replaced by name.
func databaseURL(admin, name string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("DATABASE_URL must be a postgres:// URL, got %q", redact(admin))
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// redact hides the password of a URL that is about to be logged.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparsable url>"
	}
	return u.Redacted()
}

// newName returns a random database name. It is lowercase hex so that it
// needs no quoting when typed into psql.
func newName() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails.
	return "test_" + hex.EncodeToString(b)
}

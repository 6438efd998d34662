package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestNewDBGivesDistinctMigratedDatabases(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	a := connect(t, pgtest.NewDB(t))
	b := connect(t, pgtest.NewDB(t))

	for _, conn := range []*pgx.Conn{a, b} {
		if !tableExists(t, conn, "chain_event") {
			t.Fatalf("database %s has no chain_event table", conn.Config().Database)
		}
	}
	if a.Config().Database == b.Config().Database {
		t.Fatalf("both databases are %s", a.Config().Database)
	}

	if _, err := a.Exec(ctx, `INSERT INTO deployment (program_id) VALUES ('p');
		INSERT INTO ingest_checkpoint (program_id, last_signature, last_slot) VALUES ('p', 's', 1)`); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var n int
	if err := b.QueryRow(ctx, `SELECT count(*) FROM ingest_checkpoint`).Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	if n != 0 {
		t.Fatalf("row written in one database is visible in the other: count = %d", n)
	}
}

func TestNewEmptyDBHasNoSchema(t *testing.T) {
	t.Parallel()
	conn := connect(t, pgtest.NewEmptyDB(t))
	if tableExists(t, conn, "chain_event") || tableExists(t, conn, "goose_db_version") {
		t.Fatal("empty database has migrated tables")
	}
}

func TestNewPool(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM chain_event`).Scan(&n); err != nil {
		t.Fatalf("query pool: %v", err)
	}
}

func TestPassingTestDropsItsDatabase(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("inner", func(t *testing.T) {
		name = connect(t, pgtest.NewDB(t)).Config().Database
	})

	// The inner test's cleanups have run; ask another database about it.
	conn := connect(t, pgtest.NewDB(t))
	var exists bool
	err := conn.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists)
	if err != nil {
		t.Fatalf("look up database: %v", err)
	}
	if exists {
		t.Fatalf("database %s of a passing test still exists", name)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func tableExists(t *testing.T, conn *pgx.Conn, table string) bool {
	t.Helper()
	var exists bool
	if err := conn.QueryRow(t.Context(), `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil {
		t.Fatalf("look up table %s: %v", table, err)
	}
	return exists
}

package migrations_test

import (
	"errors"
	"io/fs"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"

	"github.com/upgrade-manager/upgrade-manager/migrations"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// tables are the tables the migrations create, checked after up and down.
var tables = []string{"chain_event", "ingest_checkpoint", "dead_letter"}

func TestUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.NewEmptyDB(t)
	n := len(sqlFiles(t))

	res, err := migrations.Up(ctx, url)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	if len(res) != n {
		t.Fatalf("Up applied %d migrations, want %d", len(res), n)
	}
	requireTables(t, url, true)

	db, err := migrations.OpenDB(url)
	if err != nil {
		t.Fatalf("OpenDB: %v", err)
	}
	p, err := migrations.NewProvider(db)
	if err != nil {
		t.Fatalf("NewProvider: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	down, err := p.DownTo(ctx, 0)
	if err != nil {
		t.Fatalf("DownTo(0): %v", err)
	}
	if len(down) != n {
		t.Fatalf("DownTo(0) rolled back %d migrations, want %d", len(down), n)
	}
	requireTables(t, url, false)
	if _, err := migrations.Down(ctx, url); !errors.Is(err, goose.ErrNoNextVersion) {
		t.Fatalf("Down at version 0: err = %v, want goose.ErrNoNextVersion", err)
	}

	res, err = migrations.Up(ctx, url)
	if err != nil {
		t.Fatalf("second Up: %v", err)
	}
	if len(res) != n {
		t.Fatalf("second Up applied %d migrations, want %d", len(res), n)
	}
	requireTables(t, url, true)

	res, err = migrations.Up(ctx, url)
	if err != nil || len(res) != 0 {
		t.Fatalf("Up with nothing pending = %d results, %v; want 0, nil", len(res), err)
	}
}

func TestStatusListsEveryMigration(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.NewEmptyDB(t)
	files := sqlFiles(t)

	check := func(want goose.State) {
		t.Helper()
		st, err := migrations.Status(ctx, url)
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		if len(st) != len(files) {
			t.Fatalf("Status lists %d migrations, want %d", len(st), len(files))
		}
		for i, s := range st {
			if s.Source.Path != files[i] {
				t.Errorf("Status[%d] = %s, want %s", i, s.Source.Path, files[i])
			}
			if s.State != want {
				t.Errorf("Status[%d] state = %s, want %s", i, s.State, want)
			}
		}
	}
	check(goose.StatePending)
	if _, err := migrations.Up(ctx, url); err != nil {
		t.Fatalf("Up: %v", err)
	}
	check(goose.StateApplied)
}

func TestConcurrentUpAppliesOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.NewEmptyDB(t)

	const callers = 2
	var wg sync.WaitGroup
	applied := make([]int, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			res, err := migrations.Up(ctx, url)
			applied[i], errs[i] = len(res), err
		})
	}
	wg.Wait()

	total := 0
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("Up #%d: %v", i, errs[i])
		}
		total += applied[i]
	}
	if n := len(sqlFiles(t)); total != n {
		t.Fatalf("concurrent Up calls applied %d migrations in total, want each of %d once", total, n)
	}
	requireTables(t, url, true)
}

func TestChainEventConstraints(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, pgtest.NewDB(t))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(ctx) })

	const insert = `INSERT INTO chain_event
		(signature, instruction_index, inner_index, ordinal, slot, name, data, raw, commitment)
		VALUES ($1, $2, $3, $4, 7, 'ProposalCreated', '{}', '\x00', $5)`
	tests := []struct {
		name     string
		sig      string
		ix       int
		inner    int
		ordinal  int
		commit   string
		wantCode string // SQLSTATE, empty for success
	}{
		{name: "top-level event", sig: "a", ix: 0, inner: -1, ordinal: 0, commit: "confirmed"},
		{name: "inner event", sig: "a", ix: 0, inner: 2, ordinal: 0, commit: "finalized"},
		{name: "same position twice", sig: "a", ix: 0, inner: -1, ordinal: 0, commit: "confirmed", wantCode: "23505"},
		{name: "processed commitment", sig: "b", ix: 0, inner: -1, ordinal: 0, commit: "processed", wantCode: "23514"},
		{name: "negative ordinal", sig: "c", ix: 0, inner: -1, ordinal: -1, commit: "confirmed", wantCode: "23514"},
		{name: "inner index below -1", sig: "d", ix: 0, inner: -2, ordinal: 0, commit: "confirmed", wantCode: "23514"},
	}
	// Sequential on purpose: "same position twice" depends on the first row.
	for _, tt := range tests {
		_, err := conn.Exec(ctx, insert, tt.sig, tt.ix, tt.inner, tt.ordinal, tt.commit)
		var pgErr *pgconn.PgError
		switch {
		case tt.wantCode == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantCode != "" && (!errors.As(err, &pgErr) || pgErr.Code != tt.wantCode):
			t.Errorf("%s: err = %v, want SQLSTATE %s", tt.name, err, tt.wantCode)
		}
	}

	rows, err := conn.Query(ctx, `SELECT seq FROM chain_event ORDER BY seq`)
	if err != nil {
		t.Fatalf("select seq: %v", err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatalf("collect seq: %v", err)
	}
	if len(seqs) != 2 || seqs[0] >= seqs[1] {
		t.Fatalf("seq of the two stored events = %v, want two increasing values", seqs)
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	h := migrations.Hash()
	if len(h) != 64 {
		t.Fatalf("Hash() = %q, want 64 hex digits", h)
	}
	if h2 := migrations.Hash(); h2 != h {
		t.Fatalf("Hash() changed between calls: %s then %s", h, h2)
	}
}

func sqlFiles(t *testing.T) []string {
	t.Helper()
	files, err := fs.Glob(migrations.FS(), "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations: %v, %v", files, err)
	}
	return files
}

func requireTables(t *testing.T, url string, want bool) {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	for _, table := range tables {
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil {
			t.Fatalf("look up %s: %v", table, err)
		}
		if exists != want {
			t.Errorf("table %s exists = %v, want %v", table, exists, want)
		}
	}
}

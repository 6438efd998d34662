package migrations_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/upgrade-manager/upgrade-manager/migrations"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// beforeDeployment is the last version before 00015 (one deployment per
// database).
const beforeDeployment = 14

// migrateWith migrates a new database up to beforeDeployment, runs seed,
// and returns the database's URL and the error of migrating the rest.
func migrateWith(t *testing.T, seed string) (string, error) {
	t.Helper()
	ctx := t.Context()
	url := pgtest.NewEmptyDB(t)
	db, err := migrations.OpenDB(url)
	if err != nil {
		t.Fatal(err)
	}
	p, err := migrations.NewProvider(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	if _, err := p.UpTo(ctx, beforeDeployment); err != nil {
		t.Fatalf("UpTo(%d): %v", beforeDeployment, err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, seed); err != nil {
		t.Fatalf("seed: %v", err)
	}
	_, err = p.Up(ctx)
	return url, err
}

func TestDeploymentClaimsAnExistingProgram(t *testing.T) {
	t.Parallel()
	url, err := migrateWith(t, `INSERT INTO ingest_checkpoint (program_id, last_signature, last_slot) VALUES ('progA', 's', 1);
		INSERT INTO chain_tip (program_id, confirmed_slot, finalized_slot) VALUES ('progA', 1, 0)`)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(t.Context()) }()
	var id string
	if err := conn.QueryRow(t.Context(), `SELECT program_id FROM deployment`).Scan(&id); err != nil || id != "progA" {
		t.Errorf("deployment = %q, %v; want progA", id, err)
	}
}

func TestDeploymentRefusesTwoPrograms(t *testing.T) {
	t.Parallel()
	_, err := migrateWith(t, `INSERT INTO ingest_checkpoint (program_id, last_signature, last_slot) VALUES ('progA', 's', 1);
		INSERT INTO indexed_cluster (program_id, genesis_hash) VALUES ('progB', 'g')`)
	if err == nil {
		t.Fatal("Up claimed a database holding two programs' rows")
	}
	if msg := err.Error(); !strings.Contains(msg, "progA, progB") || !strings.Contains(msg, "share one event log") {
		t.Errorf("error %q does not name the programs and the reason", msg)
	}
}

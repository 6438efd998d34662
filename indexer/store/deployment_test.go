package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
)

// otherProgram is a second deployment's program id.
const otherProgram = "BPFLoaderUpgradeab1e11111111111111111111111"

// TestSecondDeploymentIsRefused: a database holds one deployment. Before
// the claim, a second program's indexer wrote into the same log as the
// first (interleaving seqs) and its Reset truncated the first's history.
// Now every writer of a second program id is refused with an error that
// names both ids, and nothing of the first's is touched.
func TestSecondDeploymentIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	b.apply(t, b.txs[:5]...)
	if err := store.SetClusterGenesis(ctx, b.pool, b.programID(), "genesisA"); err != nil {
		t.Fatal(err)
	}
	before := dumpProjections(t, b.pool, false)

	other := b.txs[5]
	refused := map[string]error{
		"Claim":             store.Claim(ctx, b.pool, otherProgram),
		"SetClusterGenesis": store.SetClusterGenesis(ctx, b.pool, otherProgram, "genesisA"),
		"InitCheckpoint":    store.InitCheckpoint(ctx, b.pool, otherProgram, 1),
		"SetChainTip":       store.SetChainTip(ctx, b.pool, otherProgram, store.ChainTip{ConfirmedSlot: 1}),
		"SetReconciled":     store.SetReconciled(ctx, b.pool, otherProgram, other.Signature, other.Slot),
		"Reset":             store.Reset(ctx, b.pool, otherProgram),
	}
	_, refused["ApplyBatch"] = store.ApplyBatch(ctx, b.pool, otherProgram, []store.Transaction{other})
	_, refused["Rebuild"] = store.Rebuild(ctx, b.pool, otherProgram)
	_, refused["Revert"] = store.Revert(ctx, b.pool, otherProgram, []string{b.txs[0].Signature})
	for name, err := range refused {
		if !errors.Is(err, store.ErrOtherDeployment) {
			t.Errorf("%s for a second program id = %v, want ErrOtherDeployment", name, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, b.programID()) || !strings.Contains(msg, otherProgram) || !strings.Contains(msg, "database of its own") {
			t.Errorf("%s: error %q does not name both program ids and what to do", name, msg)
		}
	}
	if id, err := store.ClaimedProgram(ctx, b.pool); err != nil || id != b.programID() {
		t.Errorf("ClaimedProgram = %q, %v; want %s", id, err, b.programID())
	}
	if after := dumpProjections(t, b.pool, false); !equalDumps(before, after) {
		t.Errorf("a refused writer changed the projections:\n%s", diffDumps(before, after))
	}
	assertCount(t, b.pool, "SELECT count(*) FROM ingested_transaction", 5)
	assertCount(t, b.pool, "SELECT count(DISTINCT program_id) FROM ingested_transaction", 1)
	assertCount(t, b.pool, "SELECT count(*) FROM indexed_cluster", 1)

	// The database enforces it, not only the store: a row for another
	// program, whoever writes it, breaks a foreign key.
	for _, sql := range []string{
		`INSERT INTO ingest_checkpoint (program_id, last_signature, last_slot) VALUES ($1, '', 0)`,
		`INSERT INTO chain_tip (program_id, confirmed_slot, finalized_slot) VALUES ($1, 0, 0)`,
		`INSERT INTO indexed_cluster (program_id, genesis_hash) VALUES ($1, 'g')`,
		`INSERT INTO ingested_transaction (signature, program_id, slot, failed, event_count, commitment) VALUES ('s', $1, 0, false, 0, 'confirmed')`,
		`INSERT INTO deployment (program_id) VALUES ($1)`,
		`UPDATE deployment SET program_id = $1`,
	} {
		_, err := b.pool.Exec(ctx, sql, otherProgram)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || (pgErr.Code != "23503" && pgErr.Code != "23505") {
			t.Errorf("%s for another program: %v, want a foreign key or unique violation", sql, err)
		}
	}
}

// TestResetLeavesNoRows: Reset empties every table the indexer writes,
// the checkpoint, tip, cluster and claim included, so another deployment
// may then use the database.
func TestResetLeavesNoRows(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	if err := store.SetClusterGenesis(ctx, b.pool, b.programID(), "genesisA"); err != nil {
		t.Fatal(err)
	}
	b.apply(t, b.txs...)
	if err := store.SetChainTip(ctx, b.pool, b.programID(), store.ChainTip{ConfirmedSlot: 5}); err != nil {
		t.Fatal(err)
	}
	if err := store.SetReconciled(ctx, b.pool, b.programID(), b.txs[1].Signature, b.txs[1].Slot); err != nil {
		t.Fatal(err)
	}
	if _, err := store.RefuseTransaction(ctx, b.pool, b.programID(), store.Transaction{Signature: "refused", Slot: 99,
		BlockIndex: -1, Commitment: store.Confirmed}, errors.New("refused")); err != nil {
		t.Fatal(err)
	}
	tables := userTables(t, b)
	nonEmpty := 0
	for _, table := range tables {
		if rowCount(t, b, table) > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < 10 {
		t.Fatalf("only %d of %d tables hold rows before the reset: the test fills too little", nonEmpty, len(tables))
	}
	if err := store.Reset(ctx, b.pool, b.programID()); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		if n := rowCount(t, b, table); n != 0 {
			t.Errorf("after Reset, %s holds %d rows", table, n)
		}
	}
	if _, err := store.ClaimedProgram(ctx, b.pool); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ClaimedProgram after Reset = %v, want ErrNotFound", err)
	}
	// The database is free again.
	if err := store.Claim(ctx, b.pool, otherProgram); err != nil {
		t.Errorf("Claim after Reset: %v", err)
	}
}

// userTables returns every table of the schema but goose's.
func userTables(t *testing.T, b *bundle) []string {
	t.Helper()
	rows, err := b.pool.Query(t.Context(), `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'goose_db_version' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return tables
}

func rowCount(t *testing.T, b *bundle, table string) int {
	t.Helper()
	var n int
	if err := b.pool.QueryRow(t.Context(), `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWriterLockMakesSeqOrderCommitOrder: a batch draws its seqs under the
// database's writer lock and holds it until it commits, so a second writer
// waits for the first to commit before drawing any seq: no seq is ever
// committed below one a reader has already seen.
func TestWriterLockMakesSeqOrderCommitOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	first, err := b.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = first.Rollback(ctx) }()
	if _, err := store.ApplyBatch(ctx, first, b.programID(), b.txs[:3]); err != nil {
		t.Fatal(err)
	}
	var firstMax int64
	if err := first.QueryRow(ctx, `SELECT max(seq) FROM chain_event`).Scan(&firstMax); err != nil {
		t.Fatal(err)
	}

	second := make(chan error, 1)
	go func() {
		_, err := store.ApplyBatch(ctx, b.pool, b.programID(), b.txs[3:6])
		second <- err
	}()
	// The second writer waits on the writer lock, holding no seq yet.
	testkit.Eventually(t, 0, "the second batch to wait for the writer lock", func() bool {
		var waiting bool
		err := b.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`).Scan(&waiting)
		return err == nil && waiting
	})
	select {
	case err := <-second:
		t.Fatalf("the second batch committed while the first held the writer lock: %v", err)
	default:
	}
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	var secondMin int64
	if err := b.pool.QueryRow(ctx, `SELECT min(e.seq) FROM chain_event e
		WHERE e.signature = ANY($1)`, []string{b.txs[3].Signature, b.txs[4].Signature, b.txs[5].Signature}).Scan(&secondMin); err != nil {
		t.Fatal(err)
	}
	if secondMin <= firstMax {
		t.Errorf("the batch committed second drew seq %d, not above the first's %d", secondMin, firstMax)
	}
}

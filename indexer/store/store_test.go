package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/indexer/scenario"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type bundle struct {
	pool     *pgxpool.Pool
	url      string
	scenario *scenario.File
	txs      []store.Transaction
}

func setup(t *testing.T) *bundle {
	t.Helper()
	f, err := scenario.Load()
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.NewDB(t)
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	var txs []store.Transaction
	for _, v := range f.Transactions {
		txs = append(txs, storeTx(v))
	}
	return &bundle{pool: pool, url: url, scenario: f, txs: txs}
}

// storeTx turns a vector transaction into what the decoder would produce.
func storeTx(v scenario.Tx) store.Transaction {
	bt := v.Time()
	t := store.Transaction{
		Signature:  v.Signature,
		Slot:       v.Slot,
		BlockIndex: v.BlockIndex,
		BlockTime:  &bt,
		Failed:     v.Failed,
		Commitment: store.Confirmed,
	}
	for _, e := range v.Expected {
		t.Events = append(t.Events, store.Event{
			InstructionIndex: e.InstructionIndex,
			InnerIndex:       e.InnerIndex,
			Ordinal:          e.Ordinal,
			Event:            e.Decoded(),
			Raw:              e.Raw(),
		})
	}
	return t
}

func (b *bundle) programID() string { return b.scenario.ProgramID }

func (b *bundle) apply(t *testing.T, txs ...store.Transaction) store.Applied {
	t.Helper()
	got, err := store.ApplyBatch(t.Context(), b.pool, b.programID(), txs)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// applyInBatches applies txs in consecutive batches of size n.
func (b *bundle) applyInBatches(t *testing.T, txs []store.Transaction, n int) {
	t.Helper()
	for chunk := range slices.Chunk(txs, n) {
		b.apply(t, chunk...)
	}
}

func expectedEventCount(txs []store.Transaction) int {
	n := 0
	for _, t := range txs {
		n += len(t.Events)
	}
	return n
}

func TestApplyBatchScenarioProjections(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1, 7, 63} {
		t.Run("batch"+itoa(size), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.applyInBatches(t, b.txs, size)
			AssertScenarioProjections(t, b.pool)
			assertCount(t, b.pool, "SELECT count(*) FROM chain_event", expectedEventCount(b.txs))
			assertCount(t, b.pool, "SELECT count(*) FROM ingested_transaction", len(b.txs))
			cp, err := store.GetCheckpoint(t.Context(), b.pool, b.programID())
			if err != nil {
				t.Fatal(err)
			}
			last := b.txs[len(b.txs)-1]
			if cp.LastSignature != last.Signature || cp.LastSlot != last.Slot {
				t.Errorf("checkpoint = %s@%d, want %s@%d", cp.LastSignature, cp.LastSlot, last.Signature, last.Slot)
			}
		})
	}
}

func TestApplyBatchSeqFollowsChainOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Hand the batch over newest first: the store orders it.
	rev := slices.Clone(b.txs)
	slices.Reverse(rev)
	b.apply(t, rev...)
	rows, err := b.pool.Query(t.Context(), `SELECT signature, instruction_index, inner_index, ordinal FROM chain_event ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	type pos struct {
		Sig            string
		Ix, Inner, Ord int
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[pos])
	if err != nil {
		t.Fatal(err)
	}
	var want []pos
	for _, tx := range b.txs {
		for _, e := range tx.Events {
			want = append(want, pos{tx.Signature, e.InstructionIndex, e.InnerIndex, e.Ordinal})
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("events by seq:\n got %v\nwant %v", got, want)
	}
}

func TestApplyBatchIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.applyInBatches(t, b.txs[:40], 9)
	before := dumpProjections(t, b.pool, false)
	// Re-deliver everything applied so far, overlapping with new transactions,
	// and within one batch twice.
	got := b.apply(t, append(slices.Clone(b.txs[30:40]), b.txs[35])...)
	if got.Transactions != 0 || got.Duplicates != 10 || len(got.Events) != 0 {
		t.Errorf("re-delivery applied %+v, want nothing new and 10 duplicates", got)
	}
	if after := dumpProjections(t, b.pool, false); !equalDumps(before, after) {
		t.Errorf("re-delivery changed the projections")
	}
	b.applyInBatches(t, b.txs[20:], 11)
	b.applyInBatches(t, b.txs, 63)
	AssertScenarioProjections(t, b.pool)
	assertCount(t, b.pool, "SELECT count(*) FROM chain_event", expectedEventCount(b.txs))
	assertCount(t, b.pool, "SELECT count(*) FROM approval", 26)
}

func TestApplyBatchOutOfOrderDeliveryEndsInChainOrder(t *testing.T) {
	t.Parallel()
	inOrder := setup(t)
	inOrder.applyInBatches(t, inOrder.txs, 1)
	want := dumpProjections(t, inOrder.pool, true)

	for _, seed := range []uint64{1, 2, 3} {
		t.Run("seed"+itoa(int(seed)), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			txs := slices.Clone(b.txs)
			r := rand.New(rand.NewPCG(seed, seed))
			r.Shuffle(len(txs), func(i, j int) { txs[i], txs[j] = txs[j], txs[i] })
			rebuilt := false
			for chunk := range slices.Chunk(txs, 5) {
				rebuilt = b.apply(t, chunk...).Rebuilt || rebuilt
			}
			if !rebuilt {
				t.Error("no batch rebuilt the projections, though transactions came out of order")
			}
			AssertScenarioProjections(t, b.pool)
			if got := dumpProjections(t, b.pool, true); !equalDumps(got, want) {
				t.Errorf("projections differ from in-order delivery:\n%s", diffDumps(got, want))
			}
			cp, err := store.GetCheckpoint(t.Context(), b.pool, b.programID())
			if err != nil {
				t.Fatal(err)
			}
			if last := b.txs[len(b.txs)-1]; cp.LastSlot != last.Slot {
				t.Errorf("checkpoint slot = %d, want %d", cp.LastSlot, last.Slot)
			}
		})
	}
}

func TestRebuildEqualsIncremental(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.applyInBatches(t, b.txs, 4)
	live := dumpProjections(t, b.pool, false)
	got, err := store.Rebuild(t.Context(), b.pool, b.programID())
	if err != nil {
		t.Fatal(err)
	}
	if got.Events != expectedEventCount(b.txs) || !got.Notification.Rebuilt {
		t.Errorf("Rebuild = %+v", got)
	}
	if replayed := dumpProjections(t, b.pool, false); !equalDumps(live, replayed) {
		t.Errorf("replay differs from live:\n%s", diffDumps(replayed, live))
	}
}

func TestApplyBatchDeadLetters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	txs := slices.Clone(b.txs)
	// An event the projections cannot hold (a migration's total_accounts,
	// the proposer's to choose, beyond a bigint), and a decoder rejection,
	// in the transaction that creates the first proposal.
	bad := txs[3]
	huge := &um.MigrationStarted{Job: solana.PublicKey{9}, Spec: um.MigrationSpec{TotalAccounts: math.MaxUint64}}
	bad.Events = append(slices.Clone(bad.Events), store.Event{
		InstructionIndex: 0, InnerIndex: 5, Ordinal: 1, Event: huge, Raw: scenario.Encode(huge),
	})
	ix := 0
	bad.DeadLetters = []store.DeadLetter{{InstructionIndex: &ix, Reason: "unknown_discriminator", Raw: []byte{9, 9}}}
	txs[3] = bad
	got := b.apply(t, txs...)
	if got.DeadLetters != 2 {
		t.Errorf("dead letters = %d, want 2", got.DeadLetters)
	}
	AssertScenarioProjections(t, b.pool)
	var reasons []string
	rows, err := b.pool.Query(t.Context(), `SELECT reason FROM dead_letter WHERE signature = $1 ORDER BY reason`, bad.Signature)
	if err != nil {
		t.Fatal(err)
	}
	reasons, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(reasons) != 2 || reasons[1] != "unknown_discriminator" {
		t.Errorf("dead letter reasons = %q", reasons)
	}
}

func TestApplyBatchNotifiesOncePerBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conn, err := pgx.Connect(t.Context(), b.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "LISTEN "+store.NotifyChannel); err != nil {
		t.Fatal(err)
	}
	var sent []store.Notification
	for chunk := range slices.Chunk(b.txs, 20) {
		sent = append(sent, b.apply(t, chunk...).Notification)
	}
	// A batch of duplicates commits too, and notifies too.
	sent = append(sent, b.apply(t, b.txs[0]).Notification)
	for i, want := range sent {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		n, err := conn.WaitForNotification(ctx)
		cancel()
		if err != nil {
			t.Fatalf("notification %d: %v", i, err)
		}
		var got store.Notification
		if err := json.Unmarshal([]byte(n.Payload), &got); err != nil {
			t.Fatalf("payload %q: %v", n.Payload, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("notification %d = %+v, want %+v", i, got, want)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if n, err := conn.WaitForNotification(ctx); err == nil {
		t.Errorf("extra notification %q", n.Payload)
	}
	last := sent[len(sent)-2]
	if want := expectedEventCount(b.txs); last.LastSeq != int64(want) || last.Slot != b.txs[len(b.txs)-1].Slot {
		t.Errorf("last notification = %+v, want last_seq %d", last, want)
	}
}

func TestRevertRemovesTransactionAndRebuilds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.apply(t, b.txs...)
	last := b.txs[len(b.txs)-1] // the migration's last batch and completion
	var seqs []int64
	var proposal, governance string
	if err := b.pool.QueryRow(t.Context(), `SELECT array_agg(seq ORDER BY seq) FROM chain_event WHERE signature = $1`,
		last.Signature).Scan(&seqs); err != nil {
		t.Fatal(err)
	}
	if err := b.pool.QueryRow(t.Context(), `SELECT proposal, governance FROM migration_job WHERE address = $1`, scenario.MigrationJob).Scan(&proposal, &governance); err != nil {
		t.Fatal(err)
	}
	got, err := store.Revert(t.Context(), b.pool, b.programID(), []string{last.Signature})
	if err != nil {
		t.Fatal(err)
	}
	if got.Transactions != 1 || got.Events != 2 || !got.Notification.Rebuilt {
		t.Errorf("Revert = %+v", got)
	}
	// The notification names what changed, for subscribers (REVERTED).
	n := got.Notification
	if n.Reason != store.RebuildRevert || !slices.Equal(n.Signatures, []string{last.Signature}) ||
		!slices.Equal(n.RemovedSeqs, seqs) || !slices.Equal(n.Proposals, []string{proposal}) ||
		!slices.Equal(n.Governances, []string{governance}) || n.Truncated {
		t.Errorf("revert notification = %+v, want reason revert, %s, seqs %v, proposal %s, governance %s",
			n, last.Signature, seqs, proposal, governance)
	}
	var status string
	var migrated, batches int64
	if err := b.pool.QueryRow(t.Context(), `SELECT status, migrated_count, batch_count FROM migration_job WHERE address = $1`, scenario.MigrationJob).Scan(&status, &migrated, &batches); err != nil {
		t.Fatal(err)
	}
	if status != "active" || migrated != 200 || batches != 10 {
		t.Errorf("job after revert = %s %d/%d batches, want active 200 after 10", status, migrated, batches)
	}
	cp, err := store.GetCheckpoint(t.Context(), b.pool, b.programID())
	if err != nil {
		t.Fatal(err)
	}
	if prev := b.txs[len(b.txs)-2]; cp.LastSignature != prev.Signature {
		t.Errorf("checkpoint = %s, want the previous transaction %s", cp.LastSignature, prev.Signature)
	}
	// The transaction lands again (on the surviving fork): it applies anew.
	if a := b.apply(t, last); a.Transactions != 1 {
		t.Errorf("re-applying the reverted transaction applied %d", a.Transactions)
	}
	AssertScenarioProjections(t, b.pool)

	// Reverting everything removes the checkpoint.
	var all []string
	for _, tx := range b.txs {
		all = append(all, tx.Signature)
	}
	everything, err := store.Revert(t.Context(), b.pool, b.programID(), all)
	if err != nil {
		t.Fatal(err)
	}
	if payload, _ := json.Marshal(everything.Notification); len(payload) > 8000 {
		t.Errorf("notification payload of %d bytes, over NOTIFY's 8000", len(payload))
	}
	if _, err := store.GetCheckpoint(t.Context(), b.pool, b.programID()); err != store.ErrNotFound {
		t.Errorf("checkpoint after reverting everything: %v, want ErrNotFound", err)
	}
	assertCount(t, b.pool, "SELECT count(*) FROM proposal", 0)
}

func TestPromote(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.apply(t, b.txs...)
	confirmed, err := store.ConfirmedTransactions(t.Context(), b.pool, b.programID(), 15, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(confirmed) != 15 { // slots 10 to 15
		t.Fatalf("confirmed up to slot 15 = %d transactions, want 15", len(confirmed))
	}
	var sigs []string
	for _, c := range confirmed {
		sigs = append(sigs, c.Signature)
	}
	if err := store.Promote(t.Context(), b.pool, sigs); err != nil {
		t.Fatal(err)
	}
	if err := store.SetFinalized(t.Context(), b.pool, b.programID(), 15); err != nil {
		t.Fatal(err)
	}
	assertCount(t, b.pool, "SELECT count(*) FROM chain_event WHERE commitment = 'finalized'", expectedEventCount(b.txs[:15]))
	assertCount(t, b.pool, "SELECT count(*) FROM ingested_transaction WHERE commitment = 'confirmed'", len(b.txs)-15)
	left, err := store.ConfirmedTransactions(t.Context(), b.pool, b.programID(), 15, 1000)
	if err != nil || len(left) != 0 {
		t.Errorf("confirmed left up to slot 15 = %v, %v", left, err)
	}
	cp, err := store.GetCheckpoint(t.Context(), b.pool, b.programID())
	if err != nil || cp.FinalizedSlot != 15 {
		t.Errorf("checkpoint = %+v, %v; want finalized slot 15", cp, err)
	}
	if err := store.SetFinalized(t.Context(), b.pool, b.programID(), 12); err != nil {
		t.Fatal(err)
	}
	if cp, _ := store.GetCheckpoint(t.Context(), b.pool, b.programID()); cp.FinalizedSlot != 15 {
		t.Errorf("finalized watermark moved back to %d", cp.FinalizedSlot)
	}
}

func TestEffectiveStatusDerivedFromChainTime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Up to the third approval of proposal 5 (index 38): approved, eta set.
	b.apply(t, b.txs[:39]...)
	const p5 = "4GbiubNbyqZXfvVvtnSgTnUFQSN8PDfUnvWNPnp5suff"
	eta := time.Unix(1768957200, 0)
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{eta.Add(-time.Second), "approved"},
		{eta, "ready"},
		{eta.Add(1209600 * time.Second), "expired"},
	} {
		if got := effectiveStatus(t, b.pool, p5, c.at); got != c.want {
			t.Errorf("status at %v = %s, want %s", c.at, got, c.want)
		}
	}
	// The config change (index 43) bumps the member set: proposal 5 is stale.
	b.apply(t, b.txs[39:44]...)
	if got := effectiveStatus(t, b.pool, p5, eta); got != "stale" {
		t.Errorf("status after member change = %s, want stale", got)
	}
}

func TestSetChainTipAndReconciled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	now := time.Unix(1769130000, 0).UTC()
	if err := store.SetChainTip(ctx, b.pool, b.programID(), store.ChainTip{ConfirmedSlot: 20, FinalizedSlot: 10, ChainTime: &now}); err != nil {
		t.Fatal(err)
	}
	if err := store.SetChainTip(ctx, b.pool, b.programID(), store.ChainTip{ConfirmedSlot: 19, FinalizedSlot: 11}); err != nil {
		t.Fatal(err)
	}
	var conf, fin int64
	var at time.Time
	if err := b.pool.QueryRow(ctx, `SELECT confirmed_slot, finalized_slot, chain_time FROM chain_tip`).Scan(&conf, &fin, &at); err != nil {
		t.Fatal(err)
	}
	if conf != 20 || fin != 11 || !at.Equal(now) {
		t.Errorf("chain tip = %d %d %v", conf, fin, at)
	}
	if err := store.SetReconciled(ctx, b.pool, b.programID(), "sigA", 5); err != nil {
		t.Fatal(err)
	}
	b.apply(t, b.txs[:3]...)
	if err := store.SetReconciled(ctx, b.pool, b.programID(), "sigB", 4); err != nil {
		t.Fatal(err)
	}
	cp, err := store.GetCheckpoint(ctx, b.pool, b.programID())
	if err != nil {
		t.Fatal(err)
	}
	if cp.ReconciledSignature != "sigA" || cp.ReconciledSlot != 5 || cp.LastSignature != b.txs[2].Signature {
		t.Errorf("checkpoint = %+v", cp)
	}
	applied, err := store.AppliedSignatures(ctx, b.pool, []string{b.txs[0].Signature, b.txs[5].Signature})
	if err != nil {
		t.Fatal(err)
	}
	if !applied[b.txs[0].Signature] || applied[b.txs[5].Signature] {
		t.Errorf("AppliedSignatures = %v", applied)
	}
}

func effectiveStatus(t *testing.T, db store.DBTX, proposal string, at time.Time) string {
	t.Helper()
	var s string
	err := db.QueryRow(t.Context(), `SELECT proposal_effective_status(p, g, $2)
		FROM proposal p JOIN governance g ON g.address = p.governance WHERE p.address = $1`, proposal, at).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func assertCount(t *testing.T, db store.DBTX, sql string, want int) {
	t.Helper()
	var got int
	if err := db.QueryRow(t.Context(), sql).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("%s = %d, want %d", sql, got, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// AssertScenarioProjections, dumpProjections, equalDumps and diffDumps are
// the scenario package's, shared with the ingestion tests.
var (
	AssertScenarioProjections = scenario.AssertProjections
	dumpProjections           = scenario.DumpProjections
	equalDumps                = scenario.EqualDumps
	diffDumps                 = scenario.DiffDumps
)

func TestClusterGenesisAndReset(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	if _, err := store.ClusterGenesis(ctx, b.pool, b.programID()); err != store.ErrNotFound {
		t.Fatalf("ClusterGenesis before any = %v, want ErrNotFound", err)
	}
	if err := store.SetClusterGenesis(ctx, b.pool, b.programID(), "genesisA"); err != nil {
		t.Fatal(err)
	}
	if h, err := store.ClusterGenesis(ctx, b.pool, b.programID()); err != nil || h != "genesisA" {
		t.Fatalf("ClusterGenesis = %q, %v", h, err)
	}
	b.apply(t, b.txs...)
	if err := store.SetChainTip(ctx, b.pool, b.programID(), store.ChainTip{ConfirmedSlot: 5}); err != nil {
		t.Fatal(err)
	}
	if err := store.Reset(ctx, b.pool, b.programID()); err != nil {
		t.Fatal(err)
	}
	for _, table := range append([]string{"chain_event", "ingested_transaction", "dead_letter", "ingest_checkpoint",
		"chain_tip", "indexed_cluster"}, scenario.ProjectionTables...) {
		assertCount(t, b.pool, "SELECT count(*) FROM "+table, 0)
	}
	b.apply(t, b.txs...)
	AssertScenarioProjections(t, b.pool)
}

// TestJobConfigChangesFold checks that an executed ExtendMigration reopens a completed job with a
// larger total and that a CancelMigration ends it, as the program does.
func TestJobConfigChangesFold(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.apply(t, b.txs...)
	var template store.Event
	for _, tx := range b.txs {
		for _, e := range tx.Events {
			if e.Name() == um.EventNameConfigChanged {
				template = e
			}
		}
	}
	last := b.txs[len(b.txs)-1]
	change := func(i int, c um.ConfigChange) store.Transaction {
		ev := *template.Event.(*um.ConfigChanged)
		ev.Change = c
		ev.Timestamp = int64(1769200000 + i)
		e := template
		e.Event, e.Raw = &ev, scenario.Encode(&ev)
		sig := solana.SignatureFromBytes(append(bytes.Repeat([]byte{byte(i)}, 32), bytes.Repeat([]byte{7}, 32)...))
		bt := time.Unix(1769200000+int64(i), 0)
		return store.Transaction{Signature: sig.String(), Slot: last.Slot + uint64(i), BlockTime: &bt,
			Commitment: store.Confirmed, Events: []store.Event{e}}
	}
	job := scenario.MigrationJob
	jobKey := solana.MustPublicKeyFromBase58(job)
	b.apply(t, change(1, um.ConfigChange{Kind: um.ConfigChangeKindExtendMigration,
		ExtendMigration: um.ConfigChangeExtendMigration{Job: jobKey, AdditionalAccounts: 5}}))
	jobState := func() string {
		var s string
		if err := b.pool.QueryRow(t.Context(), `SELECT status || ':' || total_accounts || ':' || (completed_at IS NULL)
			FROM migration_job WHERE address = $1`, job).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := jobState(); got != "active:215:true" {
		t.Errorf("after ExtendMigration: %s, want active:215:true", got)
	}
	b.apply(t, change(2, um.ConfigChange{Kind: um.ConfigChangeKindCancelMigration,
		CancelMigration: um.ConfigChangeCancelMigration{Job: jobKey}}))
	if got := jobState(); got != "cancelled:215:true" {
		t.Errorf("after CancelMigration: %s, want cancelled:215:true", got)
	}
}

package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
	"github.com/upgrade-manager/upgrade-manager/indexer/decode"
	"github.com/upgrade-manager/upgrade-manager/indexer/ingest"
	"github.com/upgrade-manager/upgrade-manager/indexer/rpctest"
	"github.com/upgrade-manager/upgrade-manager/indexer/scenario"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// bundle is one test's indexer against a replaying RPC server.
type bundle struct {
	t        *testing.T
	scenario *scenario.File
	srv      *rpctest.Server
	pool     *pgxpool.Pool
	reg      *prometheus.Registry
	cfg      ingest.Config
	// rate caps the RPC client's requests per second; 0: no cap.
	rate float64
	// slots are the scenario's transactions grouped by slot, in order: a
	// slot is confirmed as a whole.
	slots [][]rpctest.Tx

	mu      sync.Mutex
	running map[int]context.CancelFunc
	done    map[int]chan error
	next    int
}

// quick is a configuration whose timers never fire during a test, so that
// what a test checks comes from notifications, reconnects and explicit
// calls, not from polling.
func quick(program string) ingest.Config {
	return ingest.Config{
		ProgramID:         program,
		Concurrency:       4,
		BatchSize:         16,
		PollInterval:      time.Hour,
		FinalityInterval:  time.Hour,
		ReconcileInterval: time.Hour,
		MinBackoff:        5 * time.Millisecond,
		MaxBackoff:        100 * time.Millisecond,
	}
}

func setup(t *testing.T) *bundle {
	t.Helper()
	f, err := scenario.Load()
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(t.Context(), pgtest.NewDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return newBundle(t, f, pool)
}

func newBundle(t *testing.T, f *scenario.File, pool *pgxpool.Pool) *bundle {
	srv := rpctest.New(f.ProgramID)
	t.Cleanup(srv.Close)
	srv.SetClock(1769130000)
	b := &bundle{
		t: t, scenario: f, srv: srv, pool: pool, reg: prometheus.NewRegistry(), cfg: quick(f.ProgramID),
		running: map[int]context.CancelFunc{}, done: map[int]chan error{},
	}
	var cur []rpctest.Tx
	for i, v := range f.Transactions {
		if i > 0 && v.Slot != f.Transactions[i-1].Slot {
			b.slots = append(b.slots, cur)
			cur = nil
		}
		cur = append(cur, rpctest.Tx{Signature: v.Signature, Slot: v.Slot, BlockIndex: v.BlockIndex, Failed: v.Failed, Result: v.Result})
	}
	b.slots = append(b.slots, cur)
	t.Cleanup(b.stopAll)
	return b
}

// newIngester builds an ingester with fresh metrics registered in b.reg
// (replacing earlier ones).
func (b *bundle) newIngester(withLogs bool) *ingest.Ingester {
	b.t.Helper()
	b.reg = prometheus.NewRegistry()
	cm := chain.NewMetrics(b.reg)
	logger := testkit.Logger(b.t)
	client := chain.NewClient(chain.ClientConfig{URL: b.srv.URL(), MinBackoff: 5 * time.Millisecond,
		MaxBackoff: 100 * time.Millisecond, RatePerSecond: b.rate, Metrics: cm, Logger: logger})
	b.t.Cleanup(func() { _ = client.Close() })
	var logs ingest.Logs
	if withLogs {
		logs = chain.NewSubscriber(chain.SubscriberConfig{URL: b.srv.WSURL(), Program: b.scenario.ProgramID,
			MinBackoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Metrics: cm, Logger: logger})
	}
	d := decode.New(upgrademanager.New(upgrademanager.ProgramID))
	in, err := ingest.New(b.cfg, b.pool, client, logs, ingest.NewEventDecoder(d), ingest.NewMetrics(b.reg), logger)
	if err != nil {
		b.t.Fatal(err)
	}
	return in
}

// start runs in until stop(id) or the end of the test.
func (b *bundle) start(in *ingest.Ingester) int {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	b.running[b.next], b.done[b.next] = cancel, done
	return b.next
}

// stop cancels ingester id, as SIGTERM does, and waits for Run to return.
func (b *bundle) stop(id int) {
	b.t.Helper()
	b.mu.Lock()
	cancel, done := b.running[id], b.done[id]
	delete(b.running, id)
	delete(b.done, id)
	b.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			b.t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(time.Minute):
		b.t.Fatal("Run did not return after its context ended")
	}
}

func (b *bundle) stopAll() {
	b.mu.Lock()
	var ids []int
	for id := range b.running {
		ids = append(ids, id)
	}
	b.mu.Unlock()
	for _, id := range ids {
		b.stop(id)
	}
}

// publish confirms the scenario's slots [from, to).
func (b *bundle) publish(from, to int) {
	for _, txs := range b.slots[from:to] {
		b.srv.Publish(txs...)
	}
}

// lastSig is the signature of the last transaction of slot group i.
func (b *bundle) lastSig(i int) string {
	g := b.slots[i]
	return g[len(g)-1].Signature
}

// waitApplied waits until every transaction of slots [0, upTo) is applied.
func (b *bundle) waitApplied(upTo int) {
	b.t.Helper()
	var want []string
	for _, g := range b.slots[:upTo] {
		for _, tx := range g {
			want = append(want, tx.Signature)
		}
	}
	testkit.Eventually(b.t, 0, fmt.Sprintf("%d transactions applied", len(want)), func() bool {
		got, err := store.AppliedSignatures(context.Background(), b.pool, want)
		return err == nil && len(got) == len(want)
	})
}

func (b *bundle) wantEvents(upTo int) int {
	n := 0
	for _, v := range b.scenario.Transactions {
		if v.Slot <= b.slots[upTo-1][0].Slot {
			n += len(v.Expected)
		}
	}
	return n
}

// assertExactlyOnce checks that the log holds each expected event once and
// the projections are the scenario's.
func (b *bundle) assertComplete() {
	b.t.Helper()
	assertCount(b.t, b.pool, `SELECT count(*) FROM ingested_transaction`, len(b.scenario.Transactions))
	assertCount(b.t, b.pool, `SELECT count(*) FROM chain_event`, b.wantEvents(len(b.slots)))
	assertCount(b.t, b.pool, `SELECT count(*) FROM (SELECT DISTINCT signature, instruction_index, inner_index, ordinal FROM chain_event) x`, b.wantEvents(len(b.slots)))
	assertCount(b.t, b.pool, `SELECT count(*) FROM dead_letter`, 0)
	scenario.AssertProjections(b.t, b.pool)
	b.assertEventsMatchVectors()
}

// assertEventsMatchVectors compares the log with the vectors' expected
// events: names, positions, decoded data and raw bytes.
func (b *bundle) assertEventsMatchVectors() {
	b.t.Helper()
	for _, v := range b.scenario.Transactions {
		rows, err := b.pool.Query(context.Background(), `SELECT name, instruction_index, inner_index, ordinal,
			data = $2::jsonb, encode(raw, 'hex') FROM chain_event WHERE signature = $1 ORDER BY ordinal`, v.Signature, "{}")
		if err != nil {
			b.t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var name, raw string
			var ix, inner, ord int
			var dummy bool
			if err := rows.Scan(&name, &ix, &inner, &ord, &dummy, &raw); err != nil {
				b.t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s@%d/%d/%d:%s", name, ix, inner, ord, raw))
		}
		rows.Close()
		var want []string
		for _, e := range v.Expected {
			want = append(want, fmt.Sprintf("%s@%d/%d/%d:%s", e.Name, e.InstructionIndex, e.InnerIndex, e.Ordinal, e.RawHex))
			var same bool
			err := b.pool.QueryRow(context.Background(), `SELECT data = $3::jsonb FROM chain_event WHERE signature = $1 AND ordinal = $2`,
				v.Signature, e.Ordinal, string(e.Data)).Scan(&same)
			if err != nil || !same {
				b.t.Errorf("%s event %d data differs from the vectors (%v)", v.Signature, e.Ordinal, err)
			}
		}
		if !slices.Equal(got, want) {
			b.t.Errorf("events of %s:\n got %v\nwant %v", v.Signature, got, want)
		}
	}
}

func assertCount(t *testing.T, db store.DBTX, sql string, want int) {
	t.Helper()
	var got int
	if err := db.QueryRow(context.Background(), sql).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("%s = %d, want %d", sql, got, want)
	}
}

// metric returns the sum of the samples of the metric called name.
func (b *bundle) metric(name string, labels ...string) float64 {
	b.t.Helper()
	families, err := b.reg.Gather()
	if err != nil {
		b.t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

func TestLifecycleLandsExpectedProjections(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(b.newIngester(true))
	testkit.Eventually(t, 0, "subscribed", func() bool { return b.srv.Subscribers() == 1 })
	for i := range b.slots {
		b.publish(i, i+1)
		b.waitApplied(i + 1)
	}
	b.assertComplete()
	cp, err := store.GetCheckpoint(t.Context(), b.pool, b.scenario.ProgramID)
	if err != nil {
		t.Fatal(err)
	}
	if want := b.lastSig(len(b.slots) - 1); cp.LastSignature != want {
		t.Errorf("checkpoint = %s, want the last transaction %s", cp.LastSignature, want)
	}
	if got := b.metric("upgrade_manager_indexer_events_applied_total"); got != float64(b.wantEvents(len(b.slots))) {
		t.Errorf("events_applied_total = %v", got)
	}
	if got := b.metric("upgrade_manager_indexer_events_applied_total", "name", "MigrationBatchProcessed"); got != 11 {
		t.Errorf("events_applied_total{name=MigrationBatchProcessed} = %v, want 11", got)
	}
	if got := b.metric("upgrade_manager_indexer_last_applied_slot"); got != float64(b.slots[len(b.slots)-1][0].Slot) {
		t.Errorf("last_applied_slot = %v", got)
	}
	if b.metric("upgrade_manager_indexer_batch_commit_seconds") == 0 || b.metric("upgrade_manager_indexer_rpc_requests_total", "method", "getTransaction") == 0 {
		t.Error("batch_commit_seconds or rpc_requests_total{method=getTransaction} recorded nothing")
	}
	// Several transactions share a slot: their block order was read.
	if b.srv.Requests("getBlock") == 0 {
		t.Error("no getBlock request although slots hold several transactions")
	}
}

func TestFinalityPromotesAndRecordsTip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := b.newIngester(true)
	b.start(in)
	b.publish(0, len(b.slots))
	b.waitApplied(len(b.slots))
	b.srv.SetSlots(30, 16)
	if err := in.Finalize(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertCount(t, b.pool, `SELECT count(*) FROM ingested_transaction WHERE commitment = 'finalized'`, 16)
	assertCount(t, b.pool, `SELECT count(*) FROM ingested_transaction WHERE commitment = 'confirmed' AND slot <= 16`, 0)
	b.srv.FinalizeAll()
	if err := in.Finalize(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertCount(t, b.pool, `SELECT count(*) FROM chain_event WHERE commitment = 'confirmed'`, 0)
	var conf, fin int64
	var at time.Time
	if err := b.pool.QueryRow(t.Context(), `SELECT confirmed_slot, finalized_slot, chain_time FROM chain_tip`).Scan(&conf, &fin, &at); err != nil {
		t.Fatal(err)
	}
	if conf != 30 || fin != 30 || at.Unix() != 1769130000 {
		t.Errorf("chain_tip = %d %d %v", conf, fin, at)
	}
	cp, _ := store.GetCheckpoint(t.Context(), b.pool, b.scenario.ProgramID)
	if cp.FinalizedSlot != 30 {
		t.Errorf("finalized watermark = %d, want 30", cp.FinalizedSlot)
	}
	if got := b.metric("upgrade_manager_indexer_promoted_transactions_total"); got != float64(len(b.scenario.Transactions)) {
		t.Errorf("promoted_transactions_total = %v", got)
	}
	b.assertComplete()
}

func TestWebsocketSeveredMidScenarioMissesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(b.newIngester(true))
	testkit.Eventually(t, 0, "subscribed", func() bool { return b.srv.Subscribers() == 1 })
	third := len(b.slots) / 3
	b.publish(0, third)
	b.waitApplied(third)

	// The connection drops, and what lands meanwhile notifies nobody.
	b.srv.SetNotifyMode(rpctest.NotifyMode{Drop: true})
	b.srv.Sever()
	b.publish(third, 2*third)
	testkit.Eventually(t, 0, "resubscribed", func() bool { return b.srv.Subscribers() == 1 })
	b.waitApplied(2 * third)

	// Sever again while notifications flow.
	b.srv.SetNotifyMode(rpctest.NotifyMode{})
	b.srv.Sever()
	b.publish(2*third, len(b.slots))
	b.waitApplied(len(b.slots))
	b.assertComplete()
	if got := b.metric("upgrade_manager_indexer_websocket_reconnects_total"); got < 2 {
		t.Errorf("websocket_reconnects_total = %v, want at least 2", got)
	}
	if got := b.metric("upgrade_manager_indexer_backfilled_signatures_total"); got == 0 {
		t.Error("backfilled_signatures_total = 0, want the transactions landed while disconnected")
	}
}

func TestRestartMidScenarioAppliesEveryEventOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	half := len(b.slots) / 2
	id := b.start(b.newIngester(true))
	b.publish(0, half)
	// Kill it as soon as anything is applied, whatever it is doing.
	testkit.Eventually(t, 0, "first transactions applied", func() bool {
		var n int
		_ = b.pool.QueryRow(t.Context(), `SELECT count(*) FROM ingested_transaction`).Scan(&n)
		return n > 0
	})
	b.stop(id)
	b.publish(half, len(b.slots)-2)

	id = b.start(b.newIngester(true))
	b.waitApplied(len(b.slots) - 2)
	b.stop(id)
	b.publish(len(b.slots)-2, len(b.slots))
	b.start(b.newIngester(true))
	b.waitApplied(len(b.slots))
	b.assertComplete()
}

func TestDuplicateAndOutOfOrderNotifications(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.srv.ListWithinSlotReversed(true)
	in := b.newIngester(true)
	b.start(in)
	testkit.Eventually(t, 0, "subscribed", func() bool { return b.srv.Subscribers() == 1 })
	b.srv.SetNotifyMode(rpctest.NotifyMode{Duplicate: true, Reverse: true})
	b.publish(0, 4)
	// Hold notifications back and deliver them late, after newer ones.
	b.srv.SetNotifyMode(rpctest.NotifyMode{Hold: true, Duplicate: true})
	b.publish(4, 6)
	b.srv.SetNotifyMode(rpctest.NotifyMode{Duplicate: true, Reverse: true})
	b.publish(6, len(b.slots))
	b.srv.Release()
	b.waitApplied(len(b.slots))
	// The late notifications arrive after everything is applied: nothing
	// changes. Wait until the ingester has received every notification
	// (each transaction twice), then sync once more with what they left
	// (hints, prefetched transactions): a sync that surely runs after them.
	sent := 0
	for _, g := range b.slots {
		sent += 2 * len(g)
	}
	testkit.Eventually(t, 0, fmt.Sprintf("%d notifications received", sent), func() bool {
		return b.metric("upgrade_manager_indexer_log_notifications_total") == float64(sent)
	})
	if err := in.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	b.assertComplete()
}

func TestRateLimitedRPCBacksOffAndSkipsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(b.newIngester(true))
	testkit.Eventually(t, 0, "subscribed", func() bool { return b.srv.Subscribers() == 1 })
	b.publish(0, 3)
	b.waitApplied(3)
	b.srv.RateLimit(25)
	b.publish(3, len(b.slots))
	b.waitApplied(len(b.slots))
	b.assertComplete()
	if got := b.metric("upgrade_manager_indexer_rpc_errors_total", "kind", "rate_limited"); got != 25 {
		t.Errorf("rpc_errors_total{kind=rate_limited} = %v, want 25", got)
	}
}

func TestAbandonedTransactionIsReverted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := b.newIngester(true)
	b.start(in)
	b.publish(0, len(b.slots))
	b.waitApplied(len(b.slots))
	last := b.slots[len(b.slots)-1]
	lastTx := last[len(last)-1] // the migration's last batch and its completion

	// Its fork is abandoned and the chain finalizes past it without it.
	b.srv.Abandon(lastTx.Signature)
	b.srv.SetSlots(40, 40)
	if err := in.Finalize(t.Context()); err != nil {
		t.Fatal(err)
	}
	var status string
	var migrated int
	if err := b.pool.QueryRow(t.Context(), `SELECT status, migrated_count FROM migration_job WHERE address = $1`, scenario.MigrationJob).Scan(&status, &migrated); err != nil {
		t.Fatal(err)
	}
	if status != "active" || migrated != 200 {
		t.Errorf("migration job after revert = %s %d, want active 200", status, migrated)
	}
	assertCount(t, b.pool, `SELECT count(*) FROM chain_event WHERE signature = '`+lastTx.Signature+`'`, 0)
	if got := b.metric("upgrade_manager_indexer_reverted_transactions_total"); got != 1 {
		t.Errorf("reverted_transactions_total = %v, want 1", got)
	}

	// It lands again on the surviving fork, in a later slot.
	again := lastTx
	again.Slot, again.BlockIndex = 41, 0
	again.Result = withSlot(t, lastTx.Result, 41)
	b.srv.Publish(again)
	testkit.Eventually(t, 0, "re-landed transaction applied", func() bool {
		var n int
		_ = b.pool.QueryRow(t.Context(), `SELECT count(*) FROM chain_event WHERE signature = $1 AND slot = 41`, lastTx.Signature).Scan(&n)
		return n == 2
	})
	scenario.AssertProjections(t, b.pool)
}

func TestReconcileAppliesWhatTheListingMissed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := b.newIngester(true)
	b.start(in)
	// A node whose confirmed index skips one transaction of the upgrade
	// proposal: the sync never sees it.
	missed := b.scenario.Transactions[6] // ApprovalRevoked
	b.srv.Unlist(missed.Signature)
	b.publish(0, len(b.slots))
	testkit.Eventually(t, 0, "the rest applied", func() bool {
		cp, err := store.GetCheckpoint(context.Background(), b.pool, b.scenario.ProgramID)
		return err == nil && cp.LastSignature == b.lastSig(len(b.slots)-1)
	})
	// Reconcile does nothing before the first sync has finished (the
	// checkpoint moves inside it).
	testkit.Eventually(t, 0, "ready", in.Ready)
	applied, err := store.AppliedSignatures(t.Context(), b.pool, []string{missed.Signature})
	if err != nil || applied[missed.Signature] {
		t.Fatalf("the unlisted transaction was applied before reconciliation (%v)", err)
	}
	b.srv.FinalizeAll()
	if err := in.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	b.assertComplete()
	if got := b.metric("upgrade_manager_indexer_reconciled_transactions_total"); got != 1 {
		t.Errorf("reconciled_transactions_total = %v, want 1", got)
	}
	if got := b.metric("upgrade_manager_indexer_projection_rebuilds_total"); got != 1 {
		t.Errorf("projection_rebuilds_total = %v, want 1", got)
	}
	// Reconciling again finds nothing.
	if err := in.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := b.metric("upgrade_manager_indexer_reconciled_transactions_total"); got != 1 {
		t.Errorf("reconciled_transactions_total after a second pass = %v, want 1", got)
	}
}

func TestReplayEqualsLive(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(b.newIngester(true))
	b.publish(0, len(b.slots))
	b.waitApplied(len(b.slots))
	b.stopAll()
	live := scenario.DumpProjections(t, b.pool, false)
	if _, err := store.Rebuild(t.Context(), b.pool, b.scenario.ProgramID); err != nil {
		t.Fatal(err)
	}
	replayed := scenario.DumpProjections(t, b.pool, false)
	if !scenario.EqualDumps(live, replayed) {
		t.Errorf("replay differs from live:\n%s", scenario.DiffDumps(replayed, live))
	}
}

func TestStartLatestSkipsHistory(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.publish(0, 7) // slots 10 to 16
	b.cfg.Start = ingest.StartLatest
	b.start(b.newIngester(true))
	testkit.Eventually(t, 0, "checkpoint created", func() bool {
		_, err := store.GetCheckpoint(context.Background(), b.pool, b.scenario.ProgramID)
		return err == nil
	})
	b.publish(7, len(b.slots))
	testkit.Eventually(t, 0, "later transactions applied", func() bool {
		cp, err := store.GetCheckpoint(context.Background(), b.pool, b.scenario.ProgramID)
		return err == nil && cp.LastSignature == b.lastSig(len(b.slots)-1)
	})
	// Slots 17 and 18 came after the start; slot 16, the tip at start, is
	// applied too; nothing before it is.
	var first int64
	if err := b.pool.QueryRow(t.Context(), `SELECT min(slot) FROM ingested_transaction`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if uint64(first) != b.slots[6][0].Slot {
		t.Errorf("first applied slot = %d, want the start tip %d", first, b.slots[6][0].Slot)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg  ingest.Config
		want string
	}{
		{ingest.Config{}, "program id"},
		{ingest.Config{ProgramID: "p", Commitment: "processed"}, "commitment"},
		{ingest.Config{ProgramID: "p", Start: "yesterday"}, "start"},
		{ingest.Config{ProgramID: "p", Start: "123"}, ""},
		{ingest.Config{ProgramID: "p", Start: ingest.StartLatest, Commitment: store.Finalized}, ""},
	} {
		err := c.cfg.Validate()
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want mention of %q", c.cfg, err, c.want)
		}
	}
	if _, err := ingest.New(ingest.Config{}, nil, nil, nil, nil, nil, nil); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("New with an empty config = %v", err)
	}
}

// withSlot returns a getTransaction result moved to slot.
func withSlot(t *testing.T, result json.RawMessage, slot uint64) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(result, &m); err != nil {
		t.Fatal(err)
	}
	m["slot"] = json.RawMessage(strconv.FormatUint(slot, 10))
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOtherClusterIsRefusedOrReset(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.start(b.newIngester(true))
	b.publish(0, len(b.slots))
	b.waitApplied(len(b.slots))
	b.stop(id)

	// The node restarts as a new cluster with a shorter history.
	b.srv.Close()
	b.srv = rpctest.New(b.scenario.ProgramID)
	b.t.Cleanup(b.srv.Close)
	b.srv.SetGenesis("GH7ome3EiwEr7tu9JuTh2dpYWBJK3z69Xm1ZE3MEE6JC")
	err := b.newIngester(true).Run(t.Context())
	if !errors.Is(err, ingest.ErrOtherCluster) {
		t.Fatalf("Run against another cluster = %v, want ErrOtherCluster", err)
	}
	assertCount(t, b.pool, `SELECT count(*) FROM ingested_transaction`, len(b.scenario.Transactions))

	b.cfg.ResetOnNewCluster = true
	b.publish(0, 1)
	b.start(b.newIngester(true))
	testkit.Eventually(t, 0, "the new cluster's transactions alone", func() bool {
		var n int
		_ = b.pool.QueryRow(context.Background(), `SELECT count(*) FROM ingested_transaction`).Scan(&n)
		return n == len(b.slots[0])
	})
	assertCount(t, b.pool, `SELECT count(*) FROM migration_job`, 0)
	assertCount(t, b.pool, `SELECT count(*) FROM governance`, 1)
}

// TestAnotherDeploymentsDatabaseIsRefused: an indexer pointed at a database
// another program's indexer claimed refuses to start, with
// -reset-on-new-cluster too (that flag resets its own cluster's data,
// never another deployment's), and writes nothing.
func TestAnotherDeploymentsDatabaseIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const other = "BPFLoaderUpgradeab1e11111111111111111111111"
	if err := store.SetClusterGenesis(t.Context(), b.pool, other, "otherGenesis"); err != nil {
		t.Fatal(err)
	}
	b.cfg.ResetOnNewCluster = true
	b.publish(0, len(b.slots))
	err := b.newIngester(true).Run(t.Context())
	if !errors.Is(err, store.ErrOtherDeployment) {
		t.Fatalf("Run on another deployment's database = %v, want ErrOtherDeployment", err)
	}
	if !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), b.scenario.ProgramID) {
		t.Errorf("error %q does not name both program ids", err)
	}
	assertCount(t, b.pool, `SELECT count(*) FROM ingested_transaction`, 0)
	assertCount(t, b.pool, `SELECT count(*) FROM indexed_cluster WHERE program_id = '`+other+`'`, 1)
}

// TestClaimTakenWhileRunningStops: when the database stops being the
// indexer's (an operator reset it and another program's indexer claimed
// it), the running indexer stops with ErrOtherDeployment instead of
// retrying for ever.
func TestClaimTakenWhileRunningStops(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.cfg.FinalityInterval = 20 * time.Millisecond
	in := b.newIngester(true)
	done := make(chan error, 1)
	go func() { done <- in.Run(t.Context()) }()
	b.publish(0, 2)
	b.waitApplied(2)
	const other = "BPFLoaderUpgradeab1e11111111111111111111111"
	// One transaction, so that the running indexer cannot claim the
	// emptied database again in between.
	err := pgx.BeginFunc(t.Context(), b.pool, func(tx pgx.Tx) error {
		if err := store.Reset(t.Context(), tx, b.scenario.ProgramID); err != nil {
			return err
		}
		return store.Claim(t.Context(), tx, other)
	})
	if err != nil {
		t.Fatal(err)
	}
	b.publish(2, len(b.slots))
	select {
	case err := <-done:
		if !errors.Is(err, store.ErrOtherDeployment) {
			t.Fatalf("Run after another program claimed the database = %v, want ErrOtherDeployment", err)
		}
	case <-time.After(testkit.DefaultWithin): // only ends a hung test
		t.Fatal("Run went on retrying on another program's database")
	}
	assertCount(t, b.pool, `SELECT count(*) FROM ingested_transaction`, 0)
}

func TestFinalizedCommitmentWritesFinalizedRowsOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.cfg.Commitment = store.Finalized
	in := b.newIngester(true)
	b.start(in)
	testkit.Eventually(t, 0, "subscribed", func() bool { return b.srv.Subscribers() == 1 })
	b.publish(0, len(b.slots))
	b.srv.SetSlots(18, 12)
	// Only what is finalized is applied: slots up to 12.
	if err := in.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertCount(t, b.pool, `SELECT count(*) FROM ingested_transaction WHERE slot > 12`, 0)
	b.srv.FinalizeAll()
	if err := in.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	b.assertComplete()
	assertCount(t, b.pool, `SELECT count(*) FROM chain_event WHERE commitment <> 'finalized'`, 0)
}

// A node that restarts as another cluster under a running indexer: the
// indexer stops being ready and Run ends with ErrOtherCluster instead of
// mixing the new cluster's transactions into the old one's log.
func TestClusterChangeWhileRunningStops(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.cfg.FinalityInterval = 20 * time.Millisecond
	in := b.newIngester(true)
	done := make(chan error, 1)
	go func() { done <- in.Run(t.Context()) }()
	b.publish(0, len(b.slots))
	b.waitApplied(len(b.slots))
	testkit.Eventually(t, 0, "ready", in.Ready)
	b.srv.SetGenesis("GH7ome3EiwEr7tu9JuTh2dpYWBJK3z69Xm1ZE3MEE6JC")
	select {
	case err := <-done:
		if !errors.Is(err, ingest.ErrOtherCluster) {
			t.Errorf("Run = %v, want ErrOtherCluster", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run went on against another cluster")
	}
	if in.Ready() {
		t.Error("Ready after the cluster changed")
	}
}

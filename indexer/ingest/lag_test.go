package ingest_test

import (
	"testing"

	"github.com/upgrade-manager/upgrade-manager/indexer/store"
)

// One node behind a load balancer stopped at slot 12 and answers the
// finality checks: it knows none of the later transactions. Absence from a
// node that has not passed a slot proves nothing, so nothing is reverted
// (before, every confirmed transaction after slot 12 was deleted from the
// log). When an up-to-date node answers, everything is promoted.
func TestLaggingNodeNeverRevertsHistory(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := b.newIngester(true)
	b.start(in)
	b.publish(0, len(b.slots))
	b.waitApplied(len(b.slots))
	b.srv.SetSlots(40, 40)
	b.srv.Lag(12, "getSignatureStatuses", "getTransaction", "getBlock")
	for range 2 {
		if err := in.Finalize(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.metric("upgrade_manager_indexer_reverted_transactions_total"); got != 0 {
		t.Errorf("reverted_transactions_total = %v after answers from a lagging node, want 0", got)
	}
	assertCount(t, b.pool, `SELECT count(*) FROM ingested_transaction`, len(b.scenario.Transactions))
	assertCount(t, b.pool, `SELECT count(*) FROM chain_event`, b.wantEvents(len(b.slots)))
	cp, err := store.GetCheckpoint(t.Context(), b.pool, b.scenario.ProgramID)
	if err != nil || cp.FinalizedSlot > 12 {
		t.Errorf("finalized watermark = %d, %v; want it below what is undecided", cp.FinalizedSlot, err)
	}

	b.srv.Lag(0)
	if err := in.Finalize(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertCount(t, b.pool, `SELECT count(*) FROM ingested_transaction WHERE commitment = 'finalized'`, len(b.scenario.Transactions))
	b.assertComplete()
	if got := b.metric("upgrade_manager_indexer_reverted_transactions_total"); got != 0 {
		t.Errorf("reverted_transactions_total = %v, want 0", got)
	}
}

// A transaction the node does not know although it passed the slot is
// reverted only on positive evidence: the finalized block of its slot,
// read from a node that finalized it, lacks it.
func TestRevertNeedsTheFinalizedBlock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := b.newIngester(true)
	b.start(in)
	b.publish(0, len(b.slots))
	b.waitApplied(len(b.slots))
	last := b.slots[len(b.slots)-1]
	gone := last[len(last)-1]
	b.srv.Abandon(gone.Signature)
	b.srv.SetSlots(40, 40)
	// The block of its slot is not available yet (-32004 from every node):
	// no evidence, no revert.
	b.srv.Lag(gone.Slot-1, "getBlock")
	if err := in.Finalize(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertCount(t, b.pool, `SELECT count(*) FROM ingested_transaction WHERE signature = '`+gone.Signature+`'`, 1)
	// Now a node that finalized the slot gives its block, without it.
	b.srv.Lag(0)
	if err := in.Finalize(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertCount(t, b.pool, `SELECT count(*) FROM ingested_transaction WHERE signature = '`+gone.Signature+`'`, 0)
	if got := b.metric("upgrade_manager_indexer_reverted_transactions_total"); got != 1 {
		t.Errorf("reverted_transactions_total = %v, want 1", got)
	}
}

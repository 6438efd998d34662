package ingest_test

import (
	"fmt"
	"testing"

	"github.com/upgrade-manager/upgrade-manager/indexer/rpctest"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
)

// multiSlot returns the index of the first slot group with several
// transactions.
func (b *bundle) multiSlot() int {
	for i, g := range b.slots {
		if len(g) > 1 {
			return i
		}
	}
	b.t.Fatal("no slot holds several transactions")
	return 0
}

// assertBlockOrder checks that every transaction of a slot with several
// was applied at its position in the block.
func (b *bundle) assertBlockOrder() {
	b.t.Helper()
	for _, g := range b.slots {
		if len(g) < 2 {
			continue
		}
		for _, tx := range g {
			var idx int
			if err := b.pool.QueryRow(b.t.Context(), `SELECT block_index FROM ingested_transaction WHERE signature = $1`,
				tx.Signature).Scan(&idx); err != nil {
				b.t.Fatal(err)
			}
			if idx != tx.BlockIndex {
				b.t.Errorf("transaction %s of slot %d applied at block index %d, want %d", tx.Signature, tx.Slot, idx, tx.BlockIndex)
				return
			}
		}
	}
}

// getBlock errors that mean "not this node, not yet" are retried: every
// slot is applied in block order although the listing gives another order.
// Before, -32004 was taken as final: the slot's transactions got block
// index -1 and the listing's order, which replay kept forever.
func TestTransientBlockErrorsAreRetried(t *testing.T) {
	t.Parallel()
	for _, code := range []int{-32004, -32005, -32014, -32001, -32016} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.srv.ListWithinSlotReversed(true)
			for _, g := range b.slots {
				if len(g) > 1 {
					b.srv.Inject(rpctest.Fault{Method: "getBlock", Slot: g[0].Slot, Code: code, Times: 3})
				}
			}
			b.start(b.newIngester(true))
			b.publish(0, len(b.slots))
			b.waitApplied(len(b.slots))
			b.assertComplete()
			b.assertBlockOrder()
			if got := b.metric("upgrade_manager_indexer_rpc_errors_total", "method", "getBlock"); got < 3 {
				t.Errorf("rpc_errors_total{method=getBlock} = %v, want the injected failures", got)
			}
		})
	}
}

// A slot whose block order cannot be had (the node keeps answering -32004,
// or says the slot was skipped although it lists transactions in it) is not
// committed, nor anything after it; what comes before is. Once the node
// answers, everything lands in block order.
func TestSlotWithoutKnownOrderIsNotCommitted(t *testing.T) {
	t.Parallel()
	for _, code := range []int{-32004, -32007, -32009} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.srv.ListWithinSlotReversed(true)
			i := b.multiSlot()
			slot := b.slots[i][0].Slot
			b.srv.Inject(rpctest.Fault{Method: "getBlock", Slot: slot, Code: code, Times: -1})
			b.start(b.newIngester(true))
			b.publish(0, len(b.slots))
			if i > 0 {
				b.waitApplied(i)
			}
			testkit.Eventually(t, 0, "syncs stopped at the slot", func() bool {
				return b.metric("upgrade_manager_indexer_sync_errors_total") >= 2
			})
			assertCount(t, b.pool, fmt.Sprintf(`SELECT count(*) FROM ingested_transaction WHERE slot >= %d`, slot), 0)
			cp, err := store.GetCheckpoint(t.Context(), b.pool, b.scenario.ProgramID)
			if i > 0 && (err != nil || cp.LastSlot >= slot) {
				t.Errorf("checkpoint = %+v, %v; want it before slot %d", cp, err, slot)
			}
			b.srv.ClearFaults()
			b.waitApplied(len(b.slots))
			b.assertComplete()
			b.assertBlockOrder()
		})
	}
}

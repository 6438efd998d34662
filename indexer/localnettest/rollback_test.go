package localnettest_test

import (
	"context"
	"testing"
	"time"

	"github.com/gagliardetto/solana-go/rpc"

	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
)

// Abandon abandons the slot it was asked to even when the tip moves on
// between reading it and rolling back (a loaded machine): a rollback
// counted from the old tip abandons only later slots, which left a revert
// test's transaction on the fork and the test waiting for a revert that
// never came. It abandons nothing before the slot either.
func TestAbandonWhileTheTipMoves(t *testing.T) {
	t.Parallel()
	node := localnettest.Start(t, localnettest.Options{FinalizationDepth: 64})
	client := rpc.New(node.RPCURL)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	tip := func() uint64 {
		t.Helper()
		s, err := client.GetSlot(ctx, rpc.CommitmentProcessed)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A slot past the genesis, with slots after it.
	testkit.Eventually(t, 0, "slot 4", func() bool { return tip() >= 4 })
	slot := tip() - 2

	// The first try's count is read, then the tip moves two slots on.
	moved := false
	localnettest.SetBeforeRollback(node, func(try int) {
		if try != 1 {
			return
		}
		from := tip()
		testkit.Eventually(t, 0, "the tip to move two slots", func() bool { return tip() >= from+2 })
		moved = true
	})
	rb, err := node.Abandon(ctx, slot)
	if err != nil {
		t.Fatal(err)
	}
	if !moved {
		t.Fatal("the tip was not moved before the first rollback")
	}
	if len(rb.AbandonedSlots) == 0 || rb.AbandonedSlots[0] != slot {
		t.Fatalf("abandoned %v, want slot %d first (and nothing before it)", rb.AbandonedSlots, slot)
	}
	if rb.ForkSlot != slot-1 {
		t.Errorf("fork slot %d, want %d: the fork continues from the slot before", rb.ForkSlot, slot-1)
	}
	_, err = client.GetBlockWithOpts(ctx, slot, &rpc.GetBlockOpts{Commitment: rpc.CommitmentConfirmed})
	if err == nil {
		t.Errorf("getBlock of abandoned slot %d answered a block", slot)
	}
}

package ingest_test

import (
	"testing"

	"github.com/upgrade-manager/upgrade-manager/indexer/rpctest"
)

// Late transactions (null for longer than a sync waits) and failing
// getBlocks cost their own retries, nothing more: every transaction is
// answered once and every multi-transaction slot's block once. Before, the
// sync threw away what it had fetched after a late transaction and fetched
// it again.
func TestEveryTransactionFetchedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.cfg.BatchSize = 1000
	multi := 0
	for i, g := range b.slots {
		if len(g) > 1 {
			multi++
		}
		if i == 3 || i == 7 {
			b.srv.Inject(rpctest.Fault{Method: "getTransaction", Signature: g[0].Signature, Null: true, Times: 8})
		}
	}
	b.srv.Inject(rpctest.Fault{Method: "getBlock", Code: -32004, Every: 2, Times: -1})
	in := b.newIngester(false)
	b.publish(0, len(b.slots))
	for range 100 {
		if err := in.Sync(t.Context()); err == nil {
			break
		}
	}
	b.waitApplied(len(b.slots))
	b.assertComplete()
	txOK, blockOK := 0, 0
	for _, r := range b.srv.Log() {
		switch {
		case r.Fault:
		case r.Method == "getTransaction":
			txOK++
		case r.Method == "getBlock":
			blockOK++
		}
	}
	if txOK != len(b.scenario.Transactions) {
		t.Errorf("%d getTransaction answered for %d transactions, want one each", txOK, len(b.scenario.Transactions))
	}
	if blockOK != multi {
		t.Errorf("%d getBlock answered for %d slots holding several transactions, want one each", blockOK, multi)
	}
}

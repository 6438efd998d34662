package chain_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
	"github.com/upgrade-manager/upgrade-manager/indexer/rpctest"
	"github.com/upgrade-manager/upgrade-manager/indexer/scenario"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
)

func setup(t *testing.T) (*rpctest.Server, *chain.Client, *scenario.File) {
	t.Helper()
	f, err := scenario.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv := rpctest.New(f.ProgramID)
	t.Cleanup(srv.Close)
	for _, v := range f.Transactions {
		srv.Publish(rpctest.Tx{Signature: v.Signature, Slot: v.Slot, BlockIndex: v.BlockIndex, Failed: v.Failed, Result: v.Result})
	}
	srv.SetSlots(18, 12)
	srv.SetClock(1769130000)
	c := chain.NewClient(chain.ClientConfig{URL: srv.URL(), MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		Metrics: chain.NewMetrics(prometheus.NewRegistry())})
	t.Cleanup(func() { _ = c.Close() })
	return srv, c, f
}

func TestClientReads(t *testing.T) {
	t.Parallel()
	srv, c, f := setup(t)
	ctx := t.Context()

	page, err := c.Signatures(ctx, f.ProgramID, "", 10, chain.Confirmed)
	if err != nil || len(page) != 10 || page[0].Slot != 18 {
		t.Fatalf("Signatures = %v, %v", page, err)
	}
	next, err := c.Signatures(ctx, f.ProgramID, page[9].Signature, 1000, chain.Confirmed)
	if err != nil || len(next) != len(f.Transactions)-10 {
		t.Fatalf("second page: %d, %v", len(next), err)
	}
	fin, err := c.Signatures(ctx, f.ProgramID, "", 1000, chain.Finalized)
	if err != nil || fin[0].Slot != 12 {
		t.Fatalf("finalized listing starts at %v, %v; want slot 12", fin, err)
	}

	if _, err := c.Transaction(ctx, f.Transactions[62].Signature, chain.Finalized); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("unfinalized transaction at finalized: %v, want ErrNotFound", err)
	}
	raw, err := c.Transaction(ctx, f.Transactions[62].Signature, chain.Confirmed)
	if err != nil || len(raw) == 0 {
		t.Errorf("Transaction = %d bytes, %v", len(raw), err)
	}

	sigs, err := c.BlockSignatures(ctx, 18, chain.Confirmed)
	if err != nil || len(sigs) != 59 || sigs[0] != f.Transactions[21].Signature {
		t.Errorf("BlockSignatures(18) = %d, %v", len(sigs), err)
	}
	if _, err := c.BlockSignatures(ctx, 99, chain.Confirmed); !errors.Is(err, chain.ErrBlockUnavailable) {
		t.Errorf("BlockSignatures of a slot not reached: %v, want ErrBlockUnavailable", err)
	}

	// "Not this node, not yet": retried, a bounded number of times.
	srv.Inject(rpctest.Fault{Method: "getBlock", Slot: 18, Code: -32004, Times: 3})
	if sigs, err := c.BlockSignatures(ctx, 18, chain.Confirmed); err != nil || len(sigs) != 59 {
		t.Errorf("BlockSignatures after three -32004 = %d, %v", len(sigs), err)
	}
	before := srv.Requests("getBlock")
	srv.Inject(rpctest.Fault{Method: "getBlock", Slot: 18, Code: -32004, Times: -1})
	if _, err := c.BlockSignatures(ctx, 18, chain.Confirmed); !errors.Is(err, chain.ErrBlockUnavailable) {
		t.Errorf("BlockSignatures while -32004 persists: %v, want ErrBlockUnavailable", err)
	}
	if n := srv.Requests("getBlock") - before; n != 8 {
		t.Errorf("getBlock requests while -32004 persists = %d, want 8 (bounded)", n)
	}
	srv.ClearFaults()

	sts, err := c.SignatureStatuses(ctx, []string{f.Transactions[0].Signature, f.Transactions[62].Signature, "unknown"})
	st := sts.Value
	if err != nil || st[0].Commitment != "finalized" || st[1].Commitment != "confirmed" || st[2] != nil || sts.ContextSlot != 18 {
		t.Errorf("SignatureStatuses = %+v %+v %+v at %d, %v", st[0], st[1], st[2], sts.ContextSlot, err)
	}
	if slot, err := c.Slot(ctx, chain.Finalized); err != nil || slot != 12 {
		t.Errorf("Slot(finalized) = %d, %v", slot, err)
	}
	if slot, now, err := c.Clock(ctx, chain.Confirmed); err != nil || slot != 18 || now.Unix() != 1769130000 {
		t.Errorf("Clock = %d %v, %v", slot, now, err)
	}
	if h, err := c.GenesisHash(ctx); err != nil || h == "" {
		t.Errorf("GenesisHash = %q, %v", h, err)
	}

	// A node behind the one already heard from answers -32016 to
	// minContextSlot, and the client asks again until a node that has it
	// answers: never an older view.
	srv.Lag(15, "getSlot", "getSignaturesForAddress", "getAccountInfo")
	type result struct {
		slot uint64
		page []chain.Signature
		err  error
	}
	done := make(chan result, 1)
	go func() {
		slot, err := c.Slot(ctx, chain.Confirmed)
		var page []chain.Signature
		if err == nil {
			page, err = c.Signatures(ctx, f.ProgramID, "", 1000, chain.Confirmed)
		}
		done <- result{slot, page, err}
	}()
	testkit.Eventually(t, 0, "ten getSlot answers from the lagging node", func() bool { return srv.Requests("getSlot") >= 10 })
	srv.Lag(0)
	if r := <-done; r.err != nil || r.slot != 18 || len(r.page) != len(f.Transactions) {
		t.Errorf("after a lagging node: slot %d, %d signatures, %v; want 18 and all", r.slot, len(r.page), r.err)
	}

	// A slot the node passed without a block: skipped, said by -32007.
	srv.SetSlots(100, 12)
	if _, err := c.BlockSignatures(ctx, 99, chain.Confirmed); !errors.Is(err, chain.ErrSlotSkipped) {
		t.Errorf("BlockSignatures of a skipped slot: %v, want ErrSlotSkipped", err)
	}

	// Rate limited: the call waits and succeeds, nothing is lost.
	srv.RateLimit(5)
	if slot, err := c.Slot(ctx, chain.Confirmed); err != nil || slot != 100 {
		t.Errorf("Slot after 429s = %d, %v", slot, err)
	}
	if n := srv.Requests("getSlot"); n < 7 {
		t.Errorf("getSlot requests = %d, want the 5 limited ones retried", n)
	}
}

func TestSubscriberReconnects(t *testing.T) {
	t.Parallel()
	f, err := scenario.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv := rpctest.New(f.ProgramID)
	t.Cleanup(srv.Close)
	sub := chain.NewSubscriber(chain.SubscriberConfig{URL: srv.WSURL(), Program: f.ProgramID,
		MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	var subscribed atomic.Int32
	logs := make(chan chain.Log, 100)
	done := make(chan error, 1)
	go func() {
		done <- sub.Run(ctx, func() { subscribed.Add(1) }, func(l chain.Log) { logs <- l })
	}()
	testkit.Eventually(t, 0, "subscription", func() bool { return srv.Subscribers() == 1 })
	v := f.Transactions[0]
	srv.Publish(rpctest.Tx{Signature: v.Signature, Slot: v.Slot, Result: v.Result})
	if l := <-logs; l.Signature != v.Signature || l.Slot != v.Slot {
		t.Errorf("notification = %+v", l)
	}
	srv.Sever()
	testkit.Eventually(t, 0, "resubscription", func() bool { return subscribed.Load() == 2 && srv.Subscribers() == 1 })
	w := f.Transactions[1]
	srv.Publish(rpctest.Tx{Signature: w.Signature, Slot: w.Slot, Result: w.Result})
	if l := <-logs; l.Signature != w.Signature {
		t.Errorf("notification after reconnect = %+v", l)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel = %v", err)
	}
}

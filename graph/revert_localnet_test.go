package graph_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	"github.com/upgrade-manager/upgrade-manager/indexer"
	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest"
	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// A subscriber learns that the indexer reverted what it had been sent:
// on the real localnet, the real indexer and this server, a proposal is
// created, pushed to the subscriber, then its slot is abandoned
// (dev_rollback); the subscription ends with REVERTED naming the cursor
// after which events are gone, and a refetch no longer finds the proposal.
func TestSubscribersLearnOfReverts(t *testing.T) {
	t.Parallel()
	payer := solana.NewWallet().PrivateKey
	node := localnettest.Start(t, localnettest.Options{FinalizationDepth: 64, Fund: []solana.PublicKey{payer.PublicKey()}})
	client := rpc.New(node.RPCURL)
	dbURL := pgtest.NewDB(t)

	cfg := indexer.DefaultConfig()
	cfg.RPCURL, cfg.WSURL, cfg.DatabaseURL = node.RPCURL, node.WSURL, dbURL
	cfg.ProgramID, cfg.Commitment, cfg.Start, cfg.MetricsAddr = upgrademanager.ProgramID.String(), "confirmed", "earliest", ""
	cfg.FinalityInterval = 100 * time.Millisecond
	idx := indexer.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- idx.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-idx.Ready():
	case err := <-done:
		t.Fatalf("indexer: %v", err)
	}
	base := graphtest.StartServer(t, dbURL, nil)
	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	ws := dial(t, base, graphtest.TransportWS)
	if err := ws.Subscribe(t.Context(), "p", `subscription { proposalUpdated { cursor proposal { address } } }`, nil); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, base, "upgrade_manager_graphql_subscriptions", 1)

	createKey := solana.NewWallet().PrivateKey
	build := txbuild.New(upgrademanager.ProgramID)
	initGov, gov := build.InitGovernance(payer.PublicKey(), createKey.PublicKey(), upgrademanager.InitializeGovernanceArgs{
		Members: []solana.PublicKey{payer.PublicKey()}, Threshold: 1, RollbackThreshold: 1, Spill: payer.PublicKey(),
	})
	send(t, client, payer, initGov, createKey)
	propose, orphan := build.ProposeConfigChange(payer.PublicKey(), gov, 0, upgrademanager.ConfigChange{
		Kind: upgrademanager.ConfigChangeKindSetTimelock, SetTimelock: upgrademanager.ConfigChangeSetTimelock{Seconds: 2 * 3600}}, "ipfs://orphan")
	sig := send(t, client, payer, propose)

	// The subscriber is sent the proposal.
	var update struct {
		ProposalUpdated struct {
			Cursor   string
			Proposal struct{ Address string }
		}
	}
	readNext(t, ws, &update)
	if update.ProposalUpdated.Proposal.Address != orphan.String() {
		t.Fatalf("pushed %+v, want proposal %s", update, orphan)
	}

	// The node abandons the proposal's slot before it finalizes.
	var slot int64
	if err := pool.QueryRow(t.Context(), `SELECT slot FROM ingested_transaction WHERE signature = $1`, sig.String()).Scan(&slot); err != nil {
		t.Fatal(err)
	}
	// Abandon, not a dev_rollback counted from dev_status: the tip moves
	// between the two calls, and a short count leaves the slot on the fork.
	rb, err := node.Abandon(t.Context(), uint64(slot))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rb.RemovedTransactions, sig.String()) {
		t.Fatalf("the rollback of slot %d removed %v, not %s", slot, rb.RemovedTransactions, sig)
	}

	nctx, ncancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer ncancel()
	id, resp, err := ws.Next(nctx)
	if err != nil {
		t.Fatalf("no notice of the revert: %v", err)
	}
	if id != "p" || len(resp.Errors) != 1 || resp.Errors[0].Code() != "REVERTED" {
		t.Fatalf("after the revert: %s %+v, want a REVERTED error", id, resp)
	}
	ext := resp.Errors[0].Extensions
	t.Logf("REVERTED: %s %v", resp.Errors[0].Message, ext)
	if ext["yoursReverted"] != true {
		t.Errorf("yoursReverted = %v, want true: the pushed proposal's event was reverted", ext["yoursReverted"])
	}
	revertedAfter, _ := ext["revertedAfter"].(string)
	if revertedAfter == "" || mustSeq(t, revertedAfter) >= mustSeq(t, update.ProposalUpdated.Cursor) {
		t.Errorf("revertedAfter %q does not lie before the pushed cursor %q", revertedAfter, update.ProposalUpdated.Cursor)
	}
	// The refetch the error asks for: the proposal is gone.
	r, _, err := graphtest.Query(t.Context(), base+"/graphql", `query($a: PublicKey!) { proposal(address: $a) { address } }`,
		map[string]any{"a": orphan.String()})
	if err != nil || string(r.Data) != `{"proposal":null}` {
		t.Errorf("refetch after the revert: %v %s", err, r.Data)
	}
	// And a new subscription from the cursor it was given works.
	cursor, _ := ext["cursor"].(string)
	if err := ws.Subscribe(t.Context(), "q", `subscription($a: String) { events(after: $a) { seq } }`, map[string]any{"a": cursor}); err != nil {
		t.Fatal(err)
	}
}

// mustSeq decodes an event cursor's seq.
func mustSeq(t *testing.T, cursor string) int64 {
	t.Helper()
	seq, err := graph.ParseEventCursor("cursor", cursor)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// readNext reads the next payload into out.
func readNext(t *testing.T, ws *graphtest.WS, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, resp, err := ws.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Errors) > 0 {
		t.Fatalf("errors: %+v", resp.Errors)
	}
	if err := json.Unmarshal(resp.Data, out); err != nil {
		t.Fatal(err)
	}
}

// send signs ix with payer (and extra), sends it and waits until it is
// confirmed.
func send(t *testing.T, client *rpc.Client, payer solana.PrivateKey, ix solana.Instruction, extra ...solana.PrivateKey) solana.Signature {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recent, err := client.GetLatestBlockhash(ctx, rpc.CommitmentConfirmed)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := solana.NewTransaction([]solana.Instruction{ix}, recent.Value.Blockhash, solana.TransactionPayer(payer.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	keys := append([]solana.PrivateKey{payer}, extra...)
	if _, err := tx.Sign(func(k solana.PublicKey) *solana.PrivateKey {
		for i := range keys {
			if keys[i].PublicKey() == k {
				return &keys[i]
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sig, err := client.SendTransactionWithOpts(ctx, tx, rpc.TransactionOpts{PreflightCommitment: rpc.CommitmentConfirmed})
	if err != nil {
		t.Fatalf("send transaction: %v", err)
	}
	for {
		st, err := client.GetSignatureStatuses(ctx, false, sig)
		if err == nil && len(st.Value) == 1 && st.Value[0] != nil && st.Value[0].ConfirmationStatus != rpc.ConfirmationStatusProcessed {
			if st.Value[0].Err != nil {
				t.Fatalf("transaction %s failed: %v", sig, st.Value[0].Err)
			}
			return sig
		}
		if ctx.Err() != nil {
			t.Fatalf("transaction %s not confirmed", sig)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/indexer"
	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// localnet is a running node with a funded payer, for end-to-end tests.
type localnet struct {
	t      *testing.T
	node   *localnettest.Node
	rpc    *rpc.Client
	payer  solana.PrivateKey
	member solana.PrivateKey
}

func startLocalnet(t *testing.T, opts localnettest.Options) *localnet {
	t.Helper()
	payer, member := solana.NewWallet().PrivateKey, solana.NewWallet().PrivateKey
	opts.Fund = append(opts.Fund, payer.PublicKey(), member.PublicKey())
	n := localnettest.Start(t, opts)
	return &localnet{t: t, node: n, rpc: rpc.New(n.RPCURL), payer: payer, member: member}
}

// send signs ix with the payer (and extra signers), sends it and waits until
// it is confirmed; it returns the signature.
func (l *localnet) send(ix solana.Instruction, extra ...solana.PrivateKey) solana.Signature {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recent, err := l.rpc.GetLatestBlockhash(ctx, rpc.CommitmentConfirmed)
	if err != nil {
		l.t.Fatal(err)
	}
	tx, err := solana.NewTransaction([]solana.Instruction{ix}, recent.Value.Blockhash, solana.TransactionPayer(l.payer.PublicKey()))
	if err != nil {
		l.t.Fatal(err)
	}
	keys := append([]solana.PrivateKey{l.payer}, extra...)
	if _, err := tx.Sign(func(k solana.PublicKey) *solana.PrivateKey {
		for i := range keys {
			if keys[i].PublicKey() == k {
				return &keys[i]
			}
		}
		return nil
	}); err != nil {
		l.t.Fatal(err)
	}
	sig, err := l.rpc.SendTransactionWithOpts(ctx, tx, rpc.TransactionOpts{PreflightCommitment: rpc.CommitmentConfirmed})
	if err != nil {
		l.t.Fatalf("send transaction: %v", err)
	}
	for {
		st, err := l.rpc.GetSignatureStatuses(ctx, false, sig)
		if err == nil && len(st.Value) == 1 && st.Value[0] != nil &&
			st.Value[0].ConfirmationStatus != rpc.ConfirmationStatusProcessed {
			if st.Value[0].Err != nil {
				l.t.Fatalf("transaction %s failed: %v", sig, st.Value[0].Err)
			}
			return sig
		}
		if ctx.Err() != nil {
			l.t.Fatalf("transaction %s not confirmed", sig)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// advanceClock moves the node's clock forward and waits until a confirmed bank has the new
// time, so preflight (at confirmed) sees it.
func (l *localnet) advanceClock(seconds int64) {
	l.t.Helper()
	var at struct {
		Slot uint64 `json:"slot"`
	}
	if err := json.Unmarshal(l.dev("dev_advanceClock", seconds), &at); err != nil {
		l.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		slot, err := l.rpc.GetSlot(ctx, rpc.CommitmentConfirmed)
		if err == nil && slot > at.Slot {
			return
		}
		if ctx.Err() != nil {
			l.t.Fatalf("no confirmed slot after %d", at.Slot)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dev calls one of the node's dev_ methods.
func (l *localnet) dev(method string, params ...any) json.RawMessage {
	l.t.Helper()
	var out json.RawMessage
	if params == nil {
		params = []any{}
	}
	if err := l.rpc.RPCCallForInto(context.Background(), &out, method, params); err != nil {
		l.t.Fatalf("%s: %v", method, err)
	}
	return out
}

// waitRow waits until sql (one count) returns want.
func waitRow(t *testing.T, pool *pgxpool.Pool, want int, sql string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var n int
		err := pool.QueryRow(context.Background(), sql, args...).Scan(&n)
		if err == nil && n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s = %d (last %d, %v)", sql, want, n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLocalnetEndToEnd runs the real indexer against the local node running
// the real program: a governance, a config change proposed, approved and
// executed, the websocket severed in between, and a transaction whose slot
// the node abandons, which the indexer reverts.
func TestLocalnetEndToEnd(t *testing.T) {
	t.Parallel()
	l := startLocalnet(t, localnettest.Options{FinalizationDepth: 48})
	dbURL := pgtest.NewDB(t)
	m := NewMain()
	m.Stdout, m.Stderr = os.Stderr, os.Stderr
	m.Logger = testkit.Logger(t)
	m.Config = Config{Command: "run", LogLevel: "info", Service: indexer.Config{
		RPCURL: l.node.RPCURL, WSURL: l.node.WSURL, DatabaseURL: dbURL,
		ProgramID: upgrademanager.ProgramID.String(), Commitment: "confirmed", Start: "earliest",
		MetricsAddr: "127.0.0.1:0", Concurrency: 4, BatchSize: 64,
		PollInterval: time.Hour, FinalityInterval: 100 * time.Millisecond, ReconcileInterval: time.Hour,
		RPCTimeout: 10 * time.Second,
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = m.Close()
	})
	<-m.Ready()
	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	// A governance of two members, threshold 2 (the floor), default timelocks.
	createKey := solana.NewWallet().PrivateKey
	build := txbuild.New(upgrademanager.ProgramID)
	initGov, gov := build.InitGovernance(l.payer.PublicKey(), createKey.PublicKey(), upgrademanager.InitializeGovernanceArgs{
		Members:   []solana.PublicKey{l.payer.PublicKey(), l.member.PublicKey()},
		Threshold: 2, RollbackThreshold: 2,
		Spill: l.payer.PublicKey(),
	})
	initSig := l.send(initGov, createKey)
	waitRow(t, pool, 1, `SELECT count(*) FROM governance WHERE address = $1 AND created_signature = $2`, gov.String(), initSig.String())
	waitRow(t, pool, 2, `SELECT count(*) FROM governance_member WHERE governance = $1`, gov.String())

	// The websocket goes away; what lands meanwhile is backfilled.
	l.dev("dev_disconnectWebsockets")
	change := upgrademanager.ConfigChange{Kind: upgrademanager.ConfigChangeKindSetTimelock,
		SetTimelock: upgrademanager.ConfigChangeSetTimelock{Seconds: 3600}}
	propose, proposal := build.ProposeConfigChange(l.payer.PublicKey(), gov, 0, change, "ipfs://e2e")
	l.send(propose)
	l.send(build.Approve(l.payer.PublicKey(), gov, proposal))
	l.send(build.Approve(l.member.PublicKey(), gov, proposal), l.member)
	waitRow(t, pool, 1, `SELECT count(*) FROM proposal WHERE address = $1 AND status = 'approved' AND approvals = 2`, proposal.String())
	waitRow(t, pool, 1, `SELECT count(*) FROM approval WHERE proposal = $1 AND member = $2`, proposal.String(), l.member.PublicKey().String())

	l.advanceClock(upgrademanager.DefaultTimelockSeconds)
	l.dev("dev_disconnectWebsockets")
	l.send(build.ExecuteConfigChange(l.payer.PublicKey(), proposal, &upgrademanager.Proposal{Governance: gov, ConfigChange: &change}))
	waitRow(t, pool, 1, `SELECT count(*) FROM governance WHERE address = $1 AND timelock_seconds = 3600 AND member_set_seqno = 1`, gov.String())
	waitRow(t, pool, 1, `SELECT count(*) FROM config_change WHERE proposal = $1 AND change = '{"SetTimelock": {"seconds": 3600}}'`, proposal.String())
	waitRow(t, pool, 1, `SELECT count(*) FROM proposal WHERE address = $1 AND status = 'executed'`, proposal.String())

	// A proposal whose slot the node abandons before it finalizes.
	proposeOrphan, orphan := build.ProposeConfigChange(l.payer.PublicKey(), gov, 1, upgrademanager.ConfigChange{
		Kind: upgrademanager.ConfigChangeKindSetTimelock, SetTimelock: upgrademanager.ConfigChangeSetTimelock{Seconds: 7200}}, "ipfs://orphan")
	orphanSig := l.send(proposeOrphan)
	waitRow(t, pool, 1, `SELECT count(*) FROM proposal WHERE address = $1`, orphan.String())
	var txSlot int64
	if err := pool.QueryRow(t.Context(), `SELECT slot FROM ingested_transaction WHERE signature = $1`, orphanSig.String()).Scan(&txSlot); err != nil {
		t.Fatal(err)
	}
	// Abandon, not a dev_rollback counted from dev_status: the tip moves
	// between the two calls, and a short count leaves the slot on the fork.
	rb, err := l.node.Abandon(t.Context(), uint64(txSlot))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rb.RemovedTransactions, orphanSig.String()) {
		t.Fatalf("the rollback of slot %d removed %v, not %s", txSlot, rb.RemovedTransactions, orphanSig)
	}
	waitRow(t, pool, 0, `SELECT count(*) FROM proposal WHERE address = $1`, orphan.String())
	waitRow(t, pool, 0, `SELECT count(*) FROM chain_event WHERE signature = $1`, orphanSig.String())
	// Everything that stayed finalizes.
	waitRow(t, pool, 0, `SELECT count(*) FROM ingested_transaction WHERE commitment = 'confirmed'`)
	waitRow(t, pool, 5, `SELECT count(*) FROM ingested_transaction WHERE commitment = 'finalized'`)
	waitRow(t, pool, 1, `SELECT count(*) FROM chain_tip WHERE chain_time IS NOT NULL`)

	// The revert's commit is visible before the indexer counts it: poll.
	var metrics string
	deadline := time.Now().Add(time.Minute)
	for {
		var code int
		code, metrics = get(t, "http://"+m.Addr().String()+"/metrics")
		if code == http.StatusOK && strings.Contains(metrics, "upgrade_manager_indexer_reverted_transactions_total 1\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reverted_transactions_total never reached 1:\n%s", grepLines(metrics, "reverted"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(metrics, `upgrade_manager_indexer_events_applied_total{name="ConfigChanged"} 1`) {
		t.Errorf("/metrics lacks ConfigChanged:\n%s", grepLines(metrics, "events_applied"))
	}
	if strings.Contains(metrics, "upgrade_manager_indexer_websocket_reconnects_total 0\n") {
		t.Errorf("no websocket reconnect recorded:\n%s", grepLines(metrics, "reconnects"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return fmt.Sprint(out)
}

package crank

import (
	"context"
	"testing"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// TestCloserReturnsRentToTheCollector: an executed proposal (the SetRentCollector change
// itself) is closed by the close crank once it has been ended for -close-after by the chain's
// clock; its rent lands at the governance's new rent collector, not at the crank, which pays
// only the fee; an active proposal beside it is never touched; the read model records the
// closure, and the next scan has nothing to do.
func TestCloserReturnsRentToTheCollector(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	collector := mustKey(t).PublicKey()
	change := um.ConfigChange{Kind: um.ConfigChangeKindSetRentCollector,
		SetRentCollector: um.ConfigChangeSetRentCollector{RentCollector: &collector}}
	propose, executed := build.ProposeConfigChange(w.members[0].PublicKey(), w.gov, 0, change, "ipfs://rent")
	w.send(propose, w.members[0])
	for _, m := range w.members[:2] {
		w.send(build.Approve(m.PublicKey(), w.gov, executed), m)
	}
	// A second proposal stays active: only members' votes end it, never the closer.
	other := um.ConfigChange{Kind: um.ConfigChangeKindSetRentCollector,
		SetRentCollector: um.ConfigChangeSetRentCollector{RentCollector: &w.spill}}
	propose, active := build.ProposeConfigChange(w.members[1].PublicKey(), w.gov, 1, other, "ipfs://active")
	w.send(propose, w.members[1])
	w.waitForDB(`SELECT status FROM proposal WHERE address = $1`, "approved", executed.String())
	w.advanceClock(um.DefaultTimelockSeconds)
	if _, err := w.crank(KindExecute); err != nil {
		t.Fatalf("execute crank: %v", err)
	}
	w.waitForDB(`SELECT status FROM proposal WHERE address = $1`, "executed", executed.String())
	w.waitForDB(`SELECT status FROM proposal WHERE address = $1`, "active", active.String())

	rent := w.lamports(executed)
	if rent == 0 {
		t.Fatal("the executed proposal holds no lamports before the close")
	}
	before := w.lamports(collector)

	// Ended less than -close-after ago by the chain's clock: left open.
	reg := prometheus.NewRegistry()
	k := w.newCloser(reg, time.Hour)
	if err := k.Run(ctx); err != nil {
		t.Fatalf("close crank before close-after: %v", err)
	}
	k.Close()
	if got := counterSum(t, reg, "upgrade_manager_crank_attempts_total"); got != 0 {
		t.Fatalf("attempts before close-after = %v, want 0", got)
	}
	if w.lamports(executed) != rent {
		t.Fatal("the proposal was closed before close-after")
	}

	w.advanceClock(3600)
	reg = prometheus.NewRegistry()
	k = w.newCloser(reg, time.Hour)
	payer := k.cfg.Payer.PublicKey()
	payerBefore := w.lamports(payer)
	if err := k.Run(ctx); err != nil {
		t.Fatalf("close crank: %v", err)
	}
	k.Close()
	if got := counterSum(t, reg, "upgrade_manager_crank_successes_total"); got != 1 {
		t.Fatalf("closes landed = %v, want 1", got)
	}
	if got := counterSum(t, reg, "upgrade_manager_crank_rent_reclaimed_lamports_total"); got != float64(rent) {
		t.Fatalf("rent reclaimed metric = %v, want %d", got, rent)
	}
	if got := w.lamports(executed); got != 0 {
		t.Fatalf("executed proposal still holds %d lamports after the close", got)
	}
	if got := w.lamports(collector) - before; got != rent {
		t.Fatalf("rent collector received %d lamports, want the proposal's %d", got, rent)
	}
	if payerAfter := w.lamports(payer); payerAfter >= payerBefore || payerBefore-payerAfter > 100_000 {
		t.Fatalf("crank fee payer went from %d to %d lamports: it must pay only the fee and get no rent", payerBefore, payerAfter)
	}
	if s := proposalStatus(t, w.rpc, active); s != um.ProposalStatusActive {
		t.Fatalf("active proposal's status = %v after the close crank, want active", s)
	}
	w.waitForDB(`SELECT rent_collector FROM account_closure WHERE address = $1`, collector.String(), executed.String())
	w.waitForDB(`SELECT count(*)::text FROM account_closure WHERE address = $1`, "0", active.String())

	// The read model has the closure: nothing left to do.
	reg = prometheus.NewRegistry()
	if k = w.newCloser(reg, time.Hour); k.Run(ctx) != nil {
		t.Fatal("close crank after the closure failed")
	}
	k.Close()
	if got := counterSum(t, reg, "upgrade_manager_crank_attempts_total"); got != 0 {
		t.Fatalf("attempts after the closure = %v, want 0", got)
	}
}

// newCloser returns a close crank (Once) paid by a new funded key.
func (w *world) newCloser(reg *prometheus.Registry, after time.Duration) *Crank {
	w.t.Helper()
	payer := mustKey(w.t)
	w.fundFrom(payer.PublicKey(), 1_000_000_000)
	k, err := New(Config{
		Kind: KindClose, RPCURL: w.node.RPCURL, DatabaseURL: w.dbURL, ProgramID: um.ProgramID, Payer: payer,
		Commitment: rpc.CommitmentConfirmed, PollInterval: 200 * time.Millisecond, Once: true, MinBalance: 10_000_000,
		CloseAfter: after,
	}, reg, testkit.Logger(w.t).With("payer", payer.PublicKey()), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return k
}

// lamports is key's balance at confirmed commitment; 0 when the account does not exist.
func (w *world) lamports(key solana.PublicKey) uint64 {
	w.t.Helper()
	res, err := w.rpc.GetBalance(context.Background(), key, rpc.CommitmentConfirmed)
	if err != nil {
		w.t.Fatal(err)
	}
	return res.Value
}

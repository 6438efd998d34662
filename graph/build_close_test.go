package graph_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// buildProposeConfigChange's setRentCollector lands; buildCloseProposal refuses an open
// proposal (NOT_ENDED), then closes the executed one with the rent sent to the new collector,
// not to the signer; buildCloseMigrationJob refuses a proposal without a job.
func TestBuildSetRentCollectorAndClose(t *testing.T) {
	w := newChainWorld(t)
	m0, m1 := w.members[0], w.members[1]
	collector := solana.NewWallet().PublicKey()

	w.refused("BAD_USER_INPUT", "buildProposeConfigChange", fmt.Sprintf(`{governance: %q, proposer: %q, change: {setRentCollector: {rentCollector: %q}, spill: %q}}`, w.gov, m0.PublicKey(), collector, collector))
	// null: back to whoever paid; it builds and simulates.
	back := w.built("buildProposeConfigChange", fmt.Sprintf(`{governance: %q, proposer: %q, change: {setRentCollector: {rentCollector: null}}, options: {simulate: true}}`, w.gov, m0.PublicKey()))
	if sim := back["simulation"].(map[string]any); sim["ok"] != true {
		t.Fatalf("simulation of setRentCollector(null) = %v", sim)
	}
	b := w.built("buildProposeConfigChange", fmt.Sprintf(`{governance: %q, proposer: %q, change: {setRentCollector: {rentCollector: %q}}}`, w.gov, m0.PublicKey(), collector))
	proposal := b["address"].(string)
	w.signAndSend(b, m0)
	w.waitFor(fmt.Sprintf(`{ proposal(address: %q) { status configChange { kind } } }`, proposal), `"status":"ACTIVE","configChange":{"kind":"SET_RENT_COLLECTOR"}`)
	w.waitFor(fmt.Sprintf(`{ governance(address: %q) { rentCollector } }`, w.gov), `"rentCollector":null`)

	closeInput := fmt.Sprintf(`{proposal: %q, signer: %q}`, proposal, w.payer.PublicKey())
	w.refused("NOT_ENDED", "buildCloseProposal", closeInput)
	for _, m := range []solana.PrivateKey{m0, m1} {
		w.signAndSend(w.built("buildApprove", fmt.Sprintf(`{proposal: %q, member: %q}`, proposal, m.PublicKey())), m)
	}
	w.waitFor(fmt.Sprintf(`{ proposal(address: %q) { status } }`, proposal), `"status":"APPROVED"`)
	w.refused("NOT_ENDED", "buildCloseProposal", closeInput)
	w.advanceClock(um.DefaultTimelockSeconds)
	w.signAndSend(w.built("buildExecute", closeInput), w.payer)
	w.waitFor(fmt.Sprintf(`{ proposal(address: %q) { status } }`, proposal), `"status":"EXECUTED"`)
	w.waitFor(fmt.Sprintf(`{ governance(address: %q) { rentCollector } }`, w.gov), fmt.Sprintf(`"rentCollector":%q`, collector))
	w.refused("NOT_FOUND", "buildCloseMigrationJob", closeInput)

	c := w.built("buildCloseProposal", closeInput)
	if got := c["details"].(map[string]any)["rentCollector"]; got != collector.String() {
		t.Fatalf("details.rentCollector = %v, want the new collector %s", got, collector)
	}
	if signers := c["signers"].([]any); len(signers) != 1 || signers[0] != w.payer.PublicKey().String() {
		t.Fatalf("signers = %v, want the signer alone", signers)
	}
	rent := balance(t, w.rpc, solana.MustPublicKeyFromBase58(proposal))
	w.signAndSend(c, w.payer)
	if got := balance(t, w.rpc, collector); got != rent {
		t.Fatalf("collector holds %d lamports, want the proposal's rent %d", got, rent)
	}
	w.waitFor(fmt.Sprintf(`{ proposal(address: %q) { accountClosure { rentCollector lamports } } }`, proposal),
		fmt.Sprintf(`"accountClosure":{"rentCollector":%q,"lamports":"%d"}`, collector, rent))
	w.refused("NOT_FOUND", "buildCloseProposal", closeInput)
}

func balance(t *testing.T, c *rpc.Client, key solana.PublicKey) uint64 {
	t.Helper()
	res, err := c.GetBalance(context.Background(), key, rpc.CommitmentConfirmed)
	if err != nil {
		t.Fatal(err)
	}
	return res.Value
}

// A governance created with a rent collector shows it from its GovernanceInitialized event.
func TestGovernanceInitializedCarriesTheRentCollector(t *testing.T) {
	w := newChainWorld(t)
	collector := solana.NewWallet().PublicKey()
	createKey := solana.NewWallet().PrivateKey
	members := []solana.PublicKey{w.members[0].PublicKey(), w.members[1].PublicKey()}
	ix, gov := w.build.InitGovernance(w.payer.PublicKey(), createKey.PublicKey(), um.InitializeGovernanceArgs{
		Members: members, Threshold: 2, RollbackThreshold: 2, Spill: w.payer.PublicKey(), RentCollector: &collector,
	})
	w.send([]solana.Instruction{ix}, createKey)
	w.waitFor(fmt.Sprintf(`{ governance(address: %q) { threshold rentCollector } }`, gov), fmt.Sprintf(`{"governance":{"threshold":2,"rentCollector":%q}}`, collector))
}

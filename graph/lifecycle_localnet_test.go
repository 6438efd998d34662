package graph_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// An active proposal past its voting period: the program refuses votes on it, and the read
// model says EXPIRED (not ACTIVE) before anyone calls expire. Then expire and close_proposal
// run against the program, and the proposal stays in the read model, marked closed.
func TestVotingPeriodAndCloseAgainstTheProgram(t *testing.T) {
	t.Parallel()
	w := newChainWorld(t)
	m0, m1 := w.members[0], w.members[1]
	ix, proposal := w.build.ProposeConfigChange(m0.PublicKey(), w.gov, 0, um.ConfigChange{
		Kind: um.ConfigChangeKindSetGracePeriod, SetGracePeriod: um.ConfigChangeSetGracePeriod{Seconds: 86400},
	}, "")
	w.send([]solana.Instruction{ix}, m0)
	q := fmt.Sprintf(`{ proposal(address: %q) { status accountStatus votingEndsAt accountClosure { status rentCollector } } governance(address: %q) { votingPeriodSeconds } }`, proposal, w.gov)
	w.waitFor(q, `"status":"ACTIVE"`)
	w.waitFor(q, fmt.Sprintf(`"votingPeriodSeconds":"%d"`, um.DefaultVotingPeriodSeconds))

	w.advanceClock(um.DefaultVotingPeriodSeconds + 1)
	// The program refuses the vote...
	if code := w.simulateCode([]solana.Instruction{w.build.Approve(m1.PublicKey(), w.gov, proposal)}, m1); code != int(um.ErrProposalExpired) {
		t.Fatalf("approve past the voting period: code %d, want %d (ProposalExpired)", code, um.ErrProposalExpired)
	}
	// ...and the read model does not call the proposal votable.
	w.waitFor(q, `"status":"EXPIRED","accountStatus":"ACTIVE"`)

	reader := &txbuild.Reader{RPC: w.rpc, Commitment: rpc.CommitmentConfirmed, Builder: w.build}
	p, err := reader.Proposal(context.Background(), proposal)
	if err != nil {
		t.Fatal(err)
	}
	if err := txbuild.CheckCloseProposal(proposal, p); err == nil {
		t.Fatal("CheckCloseProposal accepted an active proposal")
	}
	w.send([]solana.Instruction{w.build.Expire(w.payer.PublicKey(), proposal, p, w.payer.PublicKey())})
	plan, err := reader.PlanCloseProposal(context.Background(), proposal, w.payer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	w.send(plan.Instructions)
	w.waitFor(q, `"status":"EXPIRED","accountStatus":"EXPIRED"`)
	w.waitFor(q, fmt.Sprintf(`"accountClosure":{"status":"EXPIRED","rentCollector":%q}`, m0.PublicKey()))
	if ok, err := reader.Exists(context.Background(), proposal); err != nil || ok {
		t.Fatalf("the proposal account still exists (%v)", err)
	}
}

// simulateCode simulates ixs and returns the program's custom error code, or -1 when it
// succeeds or fails otherwise.
func (w *chainWorld) simulateCode(ixs []solana.Instruction, signers ...solana.PrivateKey) int {
	w.t.Helper()
	bh, err := w.rpc.GetLatestBlockhash(context.Background(), rpc.CommitmentConfirmed)
	if err != nil {
		w.t.Fatal(err)
	}
	tx, err := txbuild.Assemble(ixs, w.payer.PublicKey(), bh.Value.Blockhash, txbuild.Budget{})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := txbuild.Sign(tx, append(signers, w.payer)...); err != nil {
		w.t.Fatal(err)
	}
	sim, err := w.rpc.SimulateTransactionWithOpts(context.Background(), tx, &rpc.SimulateTransactionOpts{Commitment: rpc.CommitmentConfirmed})
	if err != nil {
		w.t.Fatal(err)
	}
	if sim.Value.Err == nil {
		return -1
	}
	var code int
	if _, err := fmt.Sscanf(customCode(fmt.Sprint(sim.Value.Err)), "%d", &code); err != nil {
		w.t.Logf("simulation error %v", sim.Value.Err)
		return -1
	}
	return code
}

// customCode extracts N from an error printed as ...map[Custom:N]...
func customCode(s string) string {
	i := strings.Index(s, "Custom:")
	if i < 0 {
		return ""
	}
	return strings.TrimRight(s[i+len("Custom:"):], "]} ")
}

// A SetUpgradeAuthority change executed by the program: the read model shows that the
// governance no longer controls the program.
func TestHandOverShowsInTheReadModel(t *testing.T) {
	t.Parallel()
	w := newChainWorld(t)
	m0, m1 := w.members[0], w.members[1]
	q := fmt.Sprintf(`{ program(program: %q) { controlled handOver { newAuthority proposal { index } } } }`, w.node.Target)
	w.waitFor(q, `"controlled":true,"handOver":null`)
	ix, proposal := w.build.ProposeConfigChange(m0.PublicKey(), w.gov, 0, um.ConfigChange{
		Kind:                um.ConfigChangeKindSetUpgradeAuthority,
		SetUpgradeAuthority: um.ConfigChangeSetUpgradeAuthority{Program: w.node.Target},
	}, "")
	w.send([]solana.Instruction{ix}, m0)
	w.send([]solana.Instruction{w.build.Approve(m0.PublicKey(), w.gov, proposal)}, m0)
	w.send([]solana.Instruction{w.build.Approve(m1.PublicKey(), w.gov, proposal)}, m1)
	w.advanceClock(um.DefaultTimelockSeconds)
	reader := &txbuild.Reader{RPC: w.rpc, Commitment: rpc.CommitmentConfirmed, Builder: w.build}
	plan, err := reader.PlanExecute(context.Background(), proposal, w.payer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	w.send(plan.Instructions)
	w.waitFor(q, `"controlled":false,"handOver":{"newAuthority":null,"proposal":{"index":"0"}}`)
}

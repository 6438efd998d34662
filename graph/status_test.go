package graph_test

import (
	"testing"
	"time"

	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	idxstore "github.com/upgrade-manager/upgrade-manager/indexer/store"
)

// proposalStatus returns a proposal's status and account status.
func (b *bundle) proposalStatus(t *testing.T, address string) (string, string) {
	t.Helper()
	var data struct {
		Proposal struct{ Status, AccountStatus string }
	}
	b.query(t, `query($a: PublicKey!) { proposal(address: $a) { status accountStatus } }`, map[string]any{"a": address}, &data)
	return data.Proposal.Status, data.Proposal.AccountStatus
}

// filtered returns the addresses of the proposals whose status is status.
func (b *bundle) filtered(t *testing.T, status string) []string {
	t.Helper()
	var data struct {
		Proposals struct{ Nodes []struct{ Address string } }
	}
	b.query(t, `query($s: [ProposalStatus!]) { proposals(first: 100, filter: {status: $s}) { nodes { address } } }`,
		map[string]any{"s": []string{status}}, &data)
	var out []string
	for _, n := range data.Proposals.Nodes {
		out = append(out, n.Address)
	}
	return out
}

func (b *bundle) apply(t *testing.T, from, to int) {
	t.Helper()
	for _, tx := range b.scenario.Txs[from:to] {
		if err := b.scenario.Apply(t.Context(), b.pool, tx); err != nil {
			t.Fatal(err)
		}
	}
}

// createdAt returns the proposal created by the scenario's transaction i.
func createdAt(t *testing.T, sc *graphtest.Scenario, i int) string {
	t.Helper()
	for _, e := range graphtest.Events(sc.Txs[i : i+1]) {
		if e.Name == "ProposalCreated" {
			return e.Data["proposal"].(string)
		}
	}
	t.Fatalf("transaction %d creates no proposal", i)
	return ""
}

// The derived statuses follow the chain's clock: the latest block time
// the indexer applied, or the Clock sysvar time it recorded.
func TestDerivedStatusesFollowTheChainClock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	upgrade := createdAt(t, b.scenario, 3)

	// Approved by the threshold in the same block: the timelock runs.
	b.apply(t, 0, 9)
	if st, acct := b.proposalStatus(t, upgrade); st != "APPROVED" || acct != "APPROVED" {
		t.Fatalf("after the approvals: %s (account %s), want APPROVED", st, acct)
	}
	// The next block is 48 h later, at the eta.
	b.apply(t, 9, 10)
	if st, acct := b.proposalStatus(t, upgrade); st != "READY_TO_EXECUTE" || acct != "APPROVED" {
		t.Fatalf("at the eta: %s (account %s), want READY_TO_EXECUTE", st, acct)
	}
	if got := b.filtered(t, "READY_TO_EXECUTE"); len(got) != 1 || got[0] != upgrade {
		t.Errorf("filter READY_TO_EXECUTE = %v, want [%s]", got, upgrade)
	}

	// The proposal the scenario later expires: approved, then its grace
	// period passes on chain before anyone calls expire.
	b.apply(t, 10, 33)
	expiring := createdAt(t, b.scenario, 29)
	if st, _ := b.proposalStatus(t, expiring); st != "APPROVED" {
		t.Fatalf("before its eta: %s, want APPROVED", st)
	}
	late := time.Unix(1767574800+1209600, 0).UTC() // eta + grace
	if err := idxstore.SetChainTip(t.Context(), b.pool, b.scenario.ProgramID, idxstore.ChainTip{ConfirmedSlot: 18, ChainTime: &late}); err != nil {
		t.Fatal(err)
	}
	if st, acct := b.proposalStatus(t, expiring); st != "EXPIRED" || acct != "APPROVED" {
		t.Fatalf("after the grace period: %s (account %s), want EXPIRED on an APPROVED account", st, acct)
	}
	if got := b.filtered(t, "EXPIRED"); len(got) != 1 || got[0] != expiring {
		t.Errorf("filter EXPIRED = %v, want [%s]", got, expiring)
	}
}

func TestApprovalsUnderAnOldMemberSetAreStale(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Up to the config change's execution: the upgrade proposal approved
	// before it was approved under member set 0.
	b.apply(t, 0, 44)
	pending := createdAt(t, b.scenario, 35)
	if st, acct := b.proposalStatus(t, pending); st != "STALE" || acct != "APPROVED" {
		t.Fatalf("after the config change: %s (account %s), want STALE", st, acct)
	}
	if got := b.filtered(t, "STALE"); len(got) != 1 || got[0] != pending {
		t.Errorf("filter STALE = %v, want [%s]", got, pending)
	}
}

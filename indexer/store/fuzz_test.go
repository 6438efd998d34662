package store

import (
	"testing"

	"github.com/gagliardetto/solana-go"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// FuzzFold feeds arbitrary bytes, under every event's discriminator, through
// what the store does with an event: the generated decoder must reject or
// accept them without panicking, and an accepted event must pass or fail
// the store's check and fold into any projection state without panicking.
func FuzzFold(f *testing.F) {
	var events []um.Event // every event type, for its discriminator
	for _, name := range um.EventNames() {
		events = append(events, um.NewEvent(name))
	}
	gov, proposal, job, member := key(1), key(2), key(3), key(4)
	for i, e := range []um.Event{
		&um.ProposalCreated{Governance: gov, Proposal: proposal, Kind: um.ProposalKindUpgrade, Program: key(9), Buffer: key(8)},
		&um.ProposalApproved{Proposal: proposal, Member: member, Approvals: 3, Status: um.ProposalStatusApproved, Eta: 5, StaleReset: true},
		&um.ApprovalRevoked{Proposal: proposal, Member: member, Status: um.ProposalStatusActive},
		&um.ConfigChanged{Governance: gov, Proposal: proposal, Change: um.ConfigChange{Kind: um.ConfigChangeKindCancelMigration,
			CancelMigration: um.ConfigChangeCancelMigration{Job: job}}, Members: []solana.PublicKey{member}},
		&um.MigrationStarted{Governance: gov, Proposal: proposal, Job: job, Spec: um.MigrationSpec{TotalAccounts: 3}},
	} {
		f.Add(uint8(i), e.AppendBorsh(nil))
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		p := newProjection()
		// Some state to fold into: a governance, a proposal, an approval, a job.
		for i, seed := range []um.Event{
			&um.GovernanceInitialized{Governance: gov, Members: []solana.PublicKey{member}},
			&um.ProposalCreated{Governance: gov, Proposal: proposal, Kind: um.ProposalKindUpgrade},
			&um.ProposalApproved{Proposal: proposal, Member: member, Approvals: 1, Status: um.ProposalStatusApproved, Eta: 9},
			&um.MigrationStarted{Governance: gov, Proposal: proposal, Job: job},
		} {
			p.apply(loggedEvent{Seq: int64(i + 1), Signature: "s", Slot: 1, Name: seed.EventName(), Event: seed})
		}
		d := events[int(which)%len(events)].Discriminator()
		ev, err := um.DecodeEvent(append(d[:], data...))
		if err != nil {
			return
		}
		if checkEvent(ev) != nil {
			return // a dead letter, never folded
		}
		if _, err := storableJSON(ev.AppendJSON(nil)); err != nil {
			t.Fatalf("the log's JSON of %s is not storable: %v", ev.EventName(), err)
		}
		p.apply(loggedEvent{Seq: 100, Signature: "t", Slot: 2, Name: ev.EventName(), Event: ev})
		rowsOf(p, true)
	})
}

func key(b byte) solana.PublicKey {
	var k solana.PublicKey
	k[0] = b
	return k
}

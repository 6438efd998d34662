package store_test

import (
	"crypto/rand"
	"testing"

	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/indexer/scenario"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// A proposer who cancels alone a proposal whose approvals went stale: the program first drops
// those approvals (its reset_if_stale), then cancels, and emits only ProposalCancelled, which
// does not carry the member set. Found by the chaos run (seed 11): the read model kept the stale
// approval count and member set; the chain had 0 approvals and the governance's member set.
func TestProposerCancelOfStaleProposalDropsItsApprovals(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1, 64} {
		t.Run("batch"+itoa(size), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			txs := append(append([]store.Transaction(nil), b.txs...), b.staleCancel(t)...)
			b.applyInBatches(t, txs, size)
			gov, proposal := b.staleCancelAddresses()
			var approvals, seqno int64
			var status string
			if err := b.pool.QueryRow(t.Context(),
				`SELECT approvals, member_set_seqno, status FROM proposal WHERE address = $1`, proposal).
				Scan(&approvals, &seqno, &status); err != nil {
				t.Fatal(err)
			}
			if approvals != 0 || seqno != 1 || status != "cancelled" {
				t.Errorf("proposal after the proposer's cancel: approvals %d, member set %d, %s; want 0, 1 (governance %s's), cancelled",
					approvals, seqno, status, gov)
			}
			live := dumpProjections(t, b.pool, false)
			if _, err := store.Rebuild(t.Context(), b.pool, b.programID()); err != nil {
				t.Fatal(err)
			}
			if replayed := dumpProjections(t, b.pool, false); !equalDumps(live, replayed) {
				t.Errorf("replay differs from live:\n%s", diffDumps(replayed, live))
			}
		})
	}
}

var (
	staleGov      = solana.PublicKeyFromBytes(append([]byte("stale-cancel governance"), make([]byte, 9)...))
	staleProposal = solana.PublicKeyFromBytes(append([]byte("stale-cancel proposal"), make([]byte, 11)...))
	// The config change that moved the member set (its own proposal, not in the projections).
	staleConfigProposal = solana.PublicKeyFromBytes(append([]byte("stale-cancel config change"), make([]byte, 6)...))
)

func (b *bundle) staleCancelAddresses() (string, string) {
	return staleGov.String(), staleProposal.String()
}

// staleCancel builds, from the scenario's own events, a new governance and proposal after the
// scenario: the proposer approves under member set 0, a config change moves the governance to
// member set 1, and the proposer cancels alone.
func (b *bundle) staleCancel(t *testing.T) []store.Transaction {
	t.Helper()
	last := b.txs[len(b.txs)-1]
	slot := last.Slot + 10
	find := func(name string) store.Event {
		for _, tx := range b.txs {
			for _, e := range tx.Events {
				if e.Name() == name {
					return e
				}
			}
		}
		t.Fatalf("no %s in the scenario", name)
		return store.Event{}
	}
	tx := func(name string, edit func(um.Event)) store.Transaction {
		e := find(name)
		ev, err := um.DecodeEvent(e.Raw) // a copy to edit
		if err != nil {
			t.Fatal(err)
		}
		edit(ev)
		e.Event, e.Raw = ev, scenario.Encode(ev)
		e.InstructionIndex, e.InnerIndex, e.Ordinal = 0, 0, 0
		var sig solana.Signature
		_, _ = rand.Read(sig[:])
		slot++
		bt := *last.BlockTime
		return store.Transaction{Signature: sig.String(), Slot: slot, BlockTime: &bt, Commitment: store.Confirmed, Events: []store.Event{e}}
	}
	proposer := solana.MustPublicKeyFromBase58("AKnL4NNf3DGWZJS6cPknBuEGnVsV4A4m5tgebLHaRSZ9")
	return []store.Transaction{
		tx(um.EventNameGovernanceInitialized, func(e um.Event) {
			f := e.(*um.GovernanceInitialized)
			f.Governance, f.MemberSetSeqno = staleGov, 0
		}),
		tx(um.EventNameProposalCreated, func(e um.Event) {
			f := e.(*um.ProposalCreated)
			f.Governance, f.Proposal, f.Proposer, f.MemberSetSeqno = staleGov, staleProposal, proposer, 0
		}),
		tx(um.EventNameProposalApproved, func(e um.Event) {
			f := e.(*um.ProposalApproved)
			f.Governance, f.Proposal, f.Member, f.Approvals = staleGov, staleProposal, proposer, 1
			f.Status, f.Eta, f.MemberSetSeqno, f.StaleReset = um.ProposalStatusActive, 0, 0, false
		}),
		tx(um.EventNameConfigChanged, func(e um.Event) {
			f := e.(*um.ConfigChanged)
			f.Governance, f.Proposal, f.MemberSetSeqno = staleGov, staleConfigProposal, 1
		}),
		tx(um.EventNameProposalCancelled, func(e um.Event) {
			f := e.(*um.ProposalCancelled)
			f.Governance, f.Proposal, f.Actor, f.ByProposer, f.CancelVotes = staleGov, staleProposal, proposer, true, 0
		}),
	}
}

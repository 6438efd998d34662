package txbuild

import (
	"errors"
	"testing"

	"github.com/gagliardetto/solana-go"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// The rent goes where the program sends it: the governance's collector, else the payer; a job
// made before layout 3 (no payer recorded) to the spill account.
func TestRentCollector(t *testing.T) {
	proposer, executor, spill, collector := key(1), key(2), key(3), key(4)
	none := &um.Governance{Spill: spill}
	set := &um.Governance{Spill: spill, RentCollector: collector}
	for _, c := range []struct {
		name      string
		got, want solana.PublicKey
	}{
		{"proposal, no collector", RentCollector(none, proposer), proposer},
		{"proposal, collector", RentCollector(set, proposer), collector},
		{"job, no collector", JobRentCollector(none, &um.MigrationJob{Payer: executor}), executor},
		{"legacy job, no collector", JobRentCollector(none, &um.MigrationJob{}), spill},
		{"job, collector", JobRentCollector(set, &um.MigrationJob{Payer: executor}), collector},
	} {
		if !c.got.Equals(c.want) {
			t.Errorf("%s: %s, want %s", c.name, c.got, c.want)
		}
	}
}

// Only ended proposals and jobs pass the close checks, as the program decides.
func TestCheckClose(t *testing.T) {
	for status, ended := range map[um.ProposalStatus]bool{
		um.ProposalStatusActive: false, um.ProposalStatusApproved: false,
		um.ProposalStatusExecuted: true, um.ProposalStatusCancelled: true,
		um.ProposalStatusExpired: true, um.ProposalStatusRejected: true,
	} {
		err := CheckCloseProposal(key(9), &um.Proposal{Status: status})
		var e *Error
		if ended != (err == nil) || (err != nil && (!errors.As(err, &e) || e.Code != CodeNotEnded)) {
			t.Errorf("status %d: %v, want ended %v", status, err, ended)
		}
	}
	for status, ended := range map[um.MigrationStatus]bool{
		um.MigrationStatusActive: false, um.MigrationStatusCompleted: true, um.MigrationStatusCancelled: true,
	} {
		if err := CheckCloseMigrationJob(key(9), &um.MigrationJob{Status: status}); ended != (err == nil) {
			t.Errorf("job status %d: %v, want ended %v", status, err, ended)
		}
	}
}

// close_proposal's accounts: signer, governance, proposal (writable), the rent destination
// (writable), then the event accounts; retargeted to another deployment's program id.
func TestCloseProposalAccounts(t *testing.T) {
	program := key(7)
	b := New(program)
	gov := &um.Governance{RentCollector: key(4)}
	ix := b.CloseProposal(key(1), key(5), &um.Proposal{Governance: key(2), Proposer: key(3)}, gov)
	if !ix.ProgramID().Equals(program) {
		t.Fatalf("program %s, want %s", ix.ProgramID(), program)
	}
	want := []solana.PublicKey{key(1), key(2), key(5), key(4), b.EventAuthority(), program}
	metas := ix.Accounts()
	if len(metas) != len(want) {
		t.Fatalf("%d accounts, want %d", len(metas), len(want))
	}
	for i, m := range metas {
		if !m.PublicKey.Equals(want[i]) {
			t.Errorf("account %d = %s, want %s", i, m.PublicKey, want[i])
		}
	}
	if !metas[2].IsWritable || !metas[3].IsWritable || !metas[0].IsSigner {
		t.Errorf("proposal and rent collector must be writable and the closer a signer: %+v", metas)
	}
}

// execute_upgrade passes the buffer lock for proposals made since locks exist, none before.
func TestExecutePassesTheLockByLayout(t *testing.T) {
	b := New(um.ProgramID)
	for _, c := range []struct {
		layout uint8
		lock   solana.PublicKey
	}{{1, um.ProgramID}, {2, b.BufferLock(key(6))}, {3, b.BufferLock(key(6))}} {
		p := &um.Proposal{LayoutVersion: c.layout, Kind: um.ProposalKindUpgrade, Buffer: key(6), Program: key(8)}
		ix, err := b.Execute(key(1), key(5), p, key(3))
		if err != nil {
			t.Fatal(err)
		}
		if got := ix.Accounts()[7].PublicKey; !got.Equals(c.lock) {
			t.Errorf("layout %d: lock account %s, want %s", c.layout, got, c.lock)
		}
	}
}

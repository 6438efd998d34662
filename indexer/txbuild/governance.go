package txbuild

import (
	"fmt"

	"github.com/gagliardetto/solana-go"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// InitGovernance creates a governance whose address is derived from createKey (a one-time key
// that signs once); payer pays its rent. It returns the instruction and the governance address.
func (b *Builder) InitGovernance(payer, createKey solana.PublicKey, args um.InitializeGovernanceArgs) (*solana.GenericInstruction, solana.PublicKey) {
	gov := b.Governance(createKey)
	return b.client.NewInitializeGovernanceInstruction(args, um.InitializeGovernanceAccounts{
		Payer: payer, CreateKey: createKey, Governance: gov,
	}), gov
}

// RegisterProgram hands program to governance: currentAuthority, its upgrade authority now,
// signs, and the manager's PDA becomes the authority.
func (b *Builder) RegisterProgram(payer, currentAuthority, governance, program solana.PublicKey) *solana.GenericInstruction {
	return b.client.NewRegisterProgramInstruction(um.RegisterProgramAccounts{
		Payer:            payer,
		CurrentAuthority: currentAuthority,
		Governance:       governance,
		ManagedProgram:   b.ManagedProgram(program),
		TargetProgram:    program,
		Programdata:      Programdata(program),
		UpgradeAuthority: b.UpgradeAuthority(program),
	})
}

// ProposeBinary is an upgrade or rollback proposal: program to the binary in Buffer, which
// must already be locked to the program's upgrade-authority PDA.
type ProposeBinary struct {
	Proposer   solana.PublicKey
	Governance solana.PublicKey
	// Index is the governance's proposal_count now: the new proposal's index.
	Index       uint64
	Program     solana.PublicKey
	Buffer      solana.PublicKey
	MetadataURI string
	BuildHash   [32]byte
}

// ProposeUpgrade proposes upgrading p.Program to p.Buffer; it returns the proposal's address.
func (b *Builder) ProposeUpgrade(p ProposeBinary) (*solana.GenericInstruction, solana.PublicKey) {
	proposal := b.Proposal(p.Governance, p.Index)
	return b.client.NewProposeUpgradeInstruction(p.MetadataURI, p.BuildHash, um.ProposeUpgradeAccounts{
		Proposer:       p.Proposer,
		Governance:     p.Governance,
		ManagedProgram: b.ManagedProgram(p.Program),
		Programdata:    Programdata(p.Program),
		Buffer:         p.Buffer,
		BufferLock:     b.BufferLock(p.Buffer),
		Proposal:       proposal,
	}), proposal
}

// ProposeRollback proposes returning p.Program to the earlier release in p.Buffer.
func (b *Builder) ProposeRollback(p ProposeBinary) (*solana.GenericInstruction, solana.PublicKey) {
	proposal := b.Proposal(p.Governance, p.Index)
	return b.client.NewProposeRollbackInstruction(p.MetadataURI, p.BuildHash, um.ProposeRollbackAccounts{
		Proposer:       p.Proposer,
		Governance:     p.Governance,
		ManagedProgram: b.ManagedProgram(p.Program),
		Programdata:    Programdata(p.Program),
		Buffer:         p.Buffer,
		BufferLock:     b.BufferLock(p.Buffer),
		Proposal:       proposal,
	}), proposal
}

// ProposeConfigChange proposes change to the governance as its index-th proposal.
func (b *Builder) ProposeConfigChange(proposer, governance solana.PublicKey, index uint64, change um.ConfigChange, metadataURI string) (*solana.GenericInstruction, solana.PublicKey) {
	proposal := b.Proposal(governance, index)
	return b.client.NewProposeConfigChangeInstruction(change, metadataURI, um.ProposeConfigChangeAccounts{
		Proposer: proposer, Governance: governance, Proposal: proposal,
	}), proposal
}

// ProposeMigration proposes migrating program's accounts as spec says.
func (b *Builder) ProposeMigration(proposer, governance solana.PublicKey, index uint64, program solana.PublicKey, spec um.MigrationSpec, metadataURI string) (*solana.GenericInstruction, solana.PublicKey) {
	proposal := b.Proposal(governance, index)
	return b.client.NewProposeMigrationInstruction(spec, metadataURI, um.ProposeMigrationAccounts{
		Proposer:       proposer,
		Governance:     governance,
		ManagedProgram: b.ManagedProgram(program),
		Proposal:       proposal,
	}), proposal
}

// Approve is member's approval of proposal.
func (b *Builder) Approve(member, governance, proposal solana.PublicKey) *solana.GenericInstruction {
	return b.client.NewApproveInstruction(um.ApproveAccounts{Member: member, Governance: governance, Proposal: proposal})
}

// Revoke withdraws member's approval of proposal.
func (b *Builder) Revoke(member, governance, proposal solana.PublicKey) *solana.GenericInstruction {
	return b.client.NewRevokeApprovalInstruction(um.RevokeApprovalAccounts{Member: member, Governance: governance, Proposal: proposal})
}

// closing is the optional accounts that let the program close p's buffer and its lock when a
// call ends the proposal: the buffer's lamports go to spill (the governance's spill account), the
// lock's rent back to the proposer. All nil when p holds no buffer.
type closing struct {
	buffer, lock, spill, proposer, authority, loader *solana.PublicKey
}

func (b *Builder) bufferClose(p *um.Proposal, spill solana.PublicKey) closing {
	if p.Buffer.IsZero() {
		return closing{}
	}
	buf, lock, prop := p.Buffer, b.BufferLock(p.Buffer), p.Proposer
	auth := b.UpgradeAuthority(p.Program)
	ldr := solana.BPFLoaderUpgradeableProgramID
	return closing{buffer: &buf, lock: &lock, spill: &spill, proposer: &prop, authority: &auth, loader: &ldr}
}

// Cancel is signer's cancel (the proposer alone, or one of the members' cancel votes) of the
// proposal at address, whose on-chain state is p; spill is its governance's spill account.
func (b *Builder) Cancel(signer, address solana.PublicKey, p *um.Proposal, spill solana.PublicKey) *solana.GenericInstruction {
	c := b.bufferClose(p, spill)
	return b.client.NewCancelInstruction(um.CancelAccounts{
		Signer: signer, Governance: p.Governance, Proposal: address,
		Buffer: c.buffer, BufferLock: c.lock, Spill: c.spill, Proposer: c.proposer,
		UpgradeAuthority: c.authority, BpfLoaderUpgradeable: c.loader,
	})
}

// Reject is member's vote against the proposal at address; the vote that makes approval
// impossible rejects it and closes its buffer (spill: the governance's spill account).
func (b *Builder) Reject(member, address solana.PublicKey, p *um.Proposal, spill solana.PublicKey) *solana.GenericInstruction {
	c := b.bufferClose(p, spill)
	return b.client.NewRejectInstruction(um.RejectAccounts{
		Member: member, Governance: p.Governance, Proposal: address,
		Buffer: c.buffer, BufferLock: c.lock, Spill: c.spill, Proposer: c.proposer,
		UpgradeAuthority: c.authority, BpfLoaderUpgradeable: c.loader,
	})
}

// Expire marks the proposal at address expired after its grace period (or its voting period);
// anyone may sign.
func (b *Builder) Expire(signer, address solana.PublicKey, p *um.Proposal, spill solana.PublicKey) *solana.GenericInstruction {
	c := b.bufferClose(p, spill)
	return b.client.NewExpireInstruction(um.ExpireAccounts{
		Signer: signer, Governance: p.Governance, Proposal: address,
		Buffer: c.buffer, BufferLock: c.lock, Spill: c.spill, Proposer: c.proposer,
		UpgradeAuthority: c.authority, BpfLoaderUpgradeable: c.loader,
	})
}

// Extend grows the programdata of p's program so that p's buffer fits (the program grows it by
// what is missing, up to the loader's per-call limit); anyone may pay.
func (b *Builder) Extend(payer, address solana.PublicKey, p *um.Proposal) *solana.GenericInstruction {
	return b.client.NewExtendProgramInstruction(um.ExtendProgramAccounts{
		Payer:            payer,
		Governance:       p.Governance,
		Proposal:         address,
		ManagedProgram:   b.ManagedProgram(p.Program),
		TargetProgram:    p.Program,
		Programdata:      Programdata(p.Program),
		Buffer:           p.Buffer,
		UpgradeAuthority: b.UpgradeAuthority(p.Program),
	})
}

// Execute carries out the approved proposal at address by its kind: the upgrade or rollback
// (spill is the governance's spill account, which gets the buffer's lamports), the config
// change, or the start of the migration job.
func (b *Builder) Execute(executor, address solana.PublicKey, p *um.Proposal, spill solana.PublicKey) (*solana.GenericInstruction, error) {
	switch p.Kind {
	case um.ProposalKindUpgrade, um.ProposalKindRollback:
		// Proposals made before buffer locks existed (layout 1) hold none; the program refuses
		// an execution that leaves out the lock of any later one.
		var lock *solana.PublicKey
		if p.LayoutVersion >= um.BufferLockLayoutVersion {
			l := b.BufferLock(p.Buffer)
			lock = &l
		}
		return b.client.NewExecuteUpgradeInstruction(um.ExecuteUpgradeAccounts{
			Executor:         executor,
			Governance:       p.Governance,
			Proposal:         address,
			ManagedProgram:   b.ManagedProgram(p.Program),
			TargetProgram:    p.Program,
			Programdata:      Programdata(p.Program),
			Buffer:           p.Buffer,
			BufferLock:       lock,
			Proposer:         p.Proposer,
			Spill:            spill,
			UpgradeAuthority: b.UpgradeAuthority(p.Program),
		}), nil
	case um.ProposalKindConfigChange:
		return b.ExecuteConfigChange(executor, address, p), nil
	case um.ProposalKindMigration:
		return b.StartMigration(executor, address, p), nil
	}
	return nil, fmt.Errorf("proposal %s has unknown kind %d", address, p.Kind)
}

// ExecuteConfigChange executes the approved config change at address with the accounts its
// change applies to: the managed program (RevokeRelease, SetUpgradeAuthority), the migration job
// (ExtendMigration, CancelMigration), and for a hand-over the programdata, the program's PDA,
// the new authority and the loader.
func (b *Builder) ExecuteConfigChange(executor, address solana.PublicKey, p *um.Proposal) *solana.GenericInstruction {
	accounts := um.ExecuteConfigChangeAccounts{Executor: executor, Governance: p.Governance, Proposal: address}
	if c := p.ConfigChange; c != nil {
		switch c.Kind {
		case um.ConfigChangeKindRevokeRelease:
			mp := b.ManagedProgram(c.RevokeRelease.Program)
			accounts.ManagedProgram = &mp
		case um.ConfigChangeKindExtendMigration:
			job := c.ExtendMigration.Job
			accounts.MigrationJob = &job
		case um.ConfigChangeKindCancelMigration:
			job := c.CancelMigration.Job
			accounts.MigrationJob = &job
		case um.ConfigChangeKindSetUpgradeAuthority:
			program := c.SetUpgradeAuthority.Program
			mp, pd, auth := b.ManagedProgram(program), Programdata(program), b.UpgradeAuthority(program)
			loader := solana.BPFLoaderUpgradeableProgramID
			accounts.ManagedProgram, accounts.Programdata, accounts.UpgradeAuthority = &mp, &pd, &auth
			accounts.NewAuthority = c.SetUpgradeAuthority.NewAuthority
			accounts.BpfLoaderUpgradeable = &loader
		}
	}
	return b.client.NewExecuteConfigChangeInstruction(accounts)
}

// StartMigration executes the approved migration proposal at address: it creates the job that
// migrate_batch then drives.
func (b *Builder) StartMigration(executor, address solana.PublicKey, p *um.Proposal) *solana.GenericInstruction {
	return b.client.NewExecuteMigrationInstruction(um.ExecuteMigrationAccounts{
		Executor:       executor,
		Governance:     p.Governance,
		Proposal:       address,
		ManagedProgram: b.ManagedProgram(p.Program),
		Programdata:    Programdata(p.Program),
		Job:            b.MigrationJob(address),
	})
}

// MigrateBatch migrates accounts (the target program's, in order) of the job for program.
func (b *Builder) MigrateBatch(payer, job, program solana.PublicKey, accounts []solana.PublicKey) *solana.GenericInstruction {
	ix := b.client.NewMigrateBatchInstruction(um.MigrateBatchAccounts{
		Payer:              payer,
		Job:                job,
		TargetProgram:      program,
		Programdata:        Programdata(program),
		MigrationAuthority: b.MigrationAuthority(program),
	})
	for _, a := range accounts {
		ix.AccountValues = append(ix.AccountValues, solana.Meta(a).WRITE())
	}
	return ix
}

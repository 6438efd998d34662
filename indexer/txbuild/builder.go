package txbuild

import (
	"fmt"

	"github.com/gagliardetto/solana-go"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// Builder builds instructions for one deployment of upgrade_manager. The zero value is not
// usable; New makes one.
type Builder struct {
	// client is the generated client of the deployment: its PDAs and instructions.
	client *um.Program
}

// New returns a Builder for upgrade_manager at program; the zero key means the IDL's address.
func New(program solana.PublicKey) *Builder {
	return &Builder{client: um.New(program)}
}

// ProgramID is the upgrade_manager address the Builder targets.
func (b *Builder) ProgramID() solana.PublicKey { return b.client.ID() }

// Client is the generated client of the Builder's deployment.
func (b *Builder) Client() *um.Program { return b.client }

// must returns the PDA a generated Find*Address derived. Only seeds over 32 bytes fail, and
// every seed here is a key, a u64 or a constant.
func must(k solana.PublicKey, _ uint8, err error) solana.PublicKey {
	if err != nil {
		panic(fmt.Sprintf("derive PDA: %v", err))
	}
	return k
}

// Governance is the governance PDA ["governance", createKey].
func (b *Builder) Governance(createKey solana.PublicKey) solana.PublicKey {
	return must(b.client.FindGovernanceAddress(createKey))
}

// ManagedProgram is the record PDA ["managed_program", program] of a managed program.
func (b *Builder) ManagedProgram(program solana.PublicKey) solana.PublicKey {
	return must(b.client.FindManagedProgramAddress(program))
}

// UpgradeAuthority is the PDA ["upgrade_authority", program] that holds program's upgrade
// authority once registered; buffers must be locked to it.
func (b *Builder) UpgradeAuthority(program solana.PublicKey) solana.PublicKey {
	return must(b.client.FindUpgradeAuthorityAddress(program))
}

// MigrationAuthority is the PDA ["migration_authority", program] a target trusts to migrate.
func (b *Builder) MigrationAuthority(program solana.PublicKey) solana.PublicKey {
	return must(b.client.FindMigrationAuthorityAddress(program))
}

// Proposal is the PDA ["proposal", governance, index u64 LE] of a governance's index-th proposal.
func (b *Builder) Proposal(governance solana.PublicKey, index uint64) solana.PublicKey {
	return must(b.client.FindProposalAddress(governance, index))
}

// BufferLock is the PDA ["buffer_lock", buffer] that propose creates so that one buffer backs
// one open proposal at a time; execute, cancel, reject and expire close it.
func (b *Builder) BufferLock(buffer solana.PublicKey) solana.PublicKey {
	return must(b.client.FindBufferLockAddress(buffer))
}

// MigrationJob is the PDA ["migration", proposal] of a migration proposal's job.
func (b *Builder) MigrationJob(proposal solana.PublicKey) solana.PublicKey {
	return must(b.client.FindJobAddress(proposal))
}

// EventAuthority is the PDA ["__event_authority"] every emit_cpi! event is signed by.
func (b *Builder) EventAuthority() solana.PublicKey { return b.client.EventAuthority() }

// Programdata is the loader-v3 programdata address of program.
func Programdata(program solana.PublicKey) solana.PublicKey {
	k, _, err := solana.FindProgramAddress([][]byte{program[:]}, solana.BPFLoaderUpgradeableProgramID)
	if err != nil {
		panic(fmt.Sprintf("derive programdata: %v", err))
	}
	return k
}

// ProposalSpace is the size of a Proposal account (8 + Proposal::INIT_SPACE), for the rent a
// proposer needs. TestProposalSpace keeps it true to the generated layout.
const ProposalSpace = 698

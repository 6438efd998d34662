package store

import (
	"encoding/json"
	"time"

	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// Governance is a row of governance.
type Governance struct {
	Address                 string
	CreateKey               string
	Threshold               int
	RollbackThreshold       int
	TimelockSeconds         int64
	RollbackTimelockSeconds int64
	GracePeriodSeconds      int64
	Spill                   string
	MemberSetSeqno          int64
	CreatedAt               time.Time
	CreatedSlot             int64
	CreatedSignature        string
	UpdatedAt               time.Time
	UpdatedSlot             int64
}

// Member is a row of governance_member.
type Member struct {
	Governance string
	Address    string
	Position   int
}

// ManagedProgram is a row of managed_program.
type ManagedProgram struct {
	Program             string
	Address             string
	GovernanceAddress   string
	ProgramData         string
	UpgradeAuthority    string
	CurrentHash         string
	LastDeploySlot      int64
	ReleaseCount        int64
	RegisteredBy        string
	RegisteredAt        time.Time
	RegisteredSlot      int64
	RegisteredSignature string
}

// Release is a row of program_release.
type Release struct {
	Program         string
	Number          int64
	Hash            string
	PreviousHash    *string
	Rollback        bool
	ProposalAddress *string
	DeploySlot      int64
	DeployedAt      time.Time
	Signature       string
}

// Proposal is a row of proposal with its status at the chain's clock.
type Proposal struct {
	Address           string
	GovernanceAddress string
	Index             int64
	// Kind is upgrade, rollback, config_change or migration.
	Kind              string
	ProgramID         *string
	Buffer            *string
	BufferHash        *string
	BufferElfLength   *int64
	ExtendBytesNeeded int64
	ConfigChange      json.RawMessage
	MigrationSpec     json.RawMessage
	MetadataURI       string
	BuildHash         string
	Proposer          string
	// StoredStatus is the account's status: active, approved, executed,
	// cancelled or expired.
	StoredStatus string
	// EffectiveStatus is proposal_effective_status at the chain's clock:
	// StoredStatus or ready, expired, stale.
	EffectiveStatus   string
	ApprovalCount     int
	Threshold         int
	CancelVotes       int
	MemberSetSeqno    int64
	Eta               *time.Time
	CreatedAt         time.Time
	CreatedSlot       int64
	CreatedSignature  string
	ApprovedAt        *time.Time
	ApprovedSlot      *int64
	ExecutedAt        *time.Time
	ExecutedSlot      *int64
	ExecutedSignature *string
	Executor          *string
	ClosedAt          *time.Time
	ClosedSignature   *string
	UpdatedAt         time.Time
	UpdatedSlot       int64
	// GovernanceThreshold is the approvals the governance needs now for a
	// proposal of this kind (its rollback threshold for rollbacks); nil
	// when the governance row is missing.
	GovernanceThreshold *int
	// WindowEnd is eta plus the governance's grace period: the end of the
	// execution window; nil without an eta.
	WindowEnd *time.Time
}

// Approval is a row of approval.
type Approval struct {
	ProposalAddress  string
	Member           string
	MemberSetSeqno   int64
	ApprovedAt       time.Time
	Slot             int64
	Signature        string
	Seq              int64
	RevokedAt        *time.Time
	RevokedSignature *string
}

// ConfigChange is a row of config_change.
type ConfigChange struct {
	ProposalAddress   string
	GovernanceAddress string
	Change            json.RawMessage
	MemberSetSeqno    int64
	ExecutedAt        time.Time
	Slot              int64
	Signature         string
}

// Rollback is a row of rollback.
type Rollback struct {
	ProposalAddress string
	ProgramID       string
	FromHash        string
	ToHash          string
	ExecutedAt      time.Time
	Slot            int64
	Signature       string
}

// Migration is a row of migration_job.
type Migration struct {
	Address                string
	GovernanceAddress      string
	ProposalAddress        string
	ProgramID              string
	FromVersion            int
	ToVersion              int
	VersionOffset          int
	DataSize               int64
	Discriminator          *string
	MigrateInstructionData string
	TotalAccounts          int64
	MigratedCount          int64
	BatchCount             int64
	// Status is active or completed.
	Status        string
	StartedAt     time.Time
	StartedSlot   int64
	CompletedAt   *time.Time
	CompletedSlot *int64
	UpdatedAt     time.Time
}

// Event is a row of chain_event, with the keys that subscriptions filter
// on lifted out of its data.
type Event struct {
	Seq              int64
	Signature        string
	InstructionIndex int
	InnerIndex       int
	Ordinal          int
	Slot             int64
	BlockTime        *time.Time
	Name             string
	// Data is the event's fields as JSON (the GraphQL payload).
	Data json.RawMessage
	// Raw is the event as the program emitted it: its discriminator and
	// borsh fields.
	Raw []byte
	// Decoded is Raw decoded; nil when it does not decode (a layout this
	// build does not know), and the subjects below are then empty.
	Decoded    upgrademanager.Event
	Commitment string

	// From Decoded; empty when the event has no such field.
	Governance string
	Proposal   string
	Program    string
	Job        string
}

// Checkpoint is a row of ingest_checkpoint.
type Checkpoint struct {
	ProgramID     string
	LastSignature string
	LastSlot      int64
	FinalizedSlot int64
	UpdatedAt     time.Time
}

// IndexerStatus summarizes the indexer's progress.
type IndexerStatus struct {
	Checkpoints []*Checkpoint
	// LastSeq is the newest event's seq; nil while the log is empty.
	LastSeq *int64
	// ChainTime is the chain's clock as derived statuses use it; nil while
	// the indexer has recorded none.
	ChainTime *time.Time
	// TipSlot is the newest confirmed slot the indexer saw on chain; nil
	// before it recorded one.
	TipSlot *int64
	// DeadLetters counts dead_letter rows; RefusedTransactions those of
	// them that are transactions the database refused (indexer replay
	// retries them).
	DeadLetters, RefusedTransactions int64
}

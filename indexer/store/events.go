package store

import (
	"encoding/json"
	"fmt"
)

// The fields of each event that the projections read, in the decoder's JSON
// convention (pubkeys base58, byte arrays hex, enums by variant name).

type governanceInitialized struct {
	Governance              string   `json:"governance"`
	CreateKey               string   `json:"create_key"`
	Members                 []string `json:"members"`
	Threshold               int16    `json:"threshold"`
	RollbackThreshold       int16    `json:"rollback_threshold"`
	TimelockSeconds         int64    `json:"timelock_seconds"`
	RollbackTimelockSeconds int64    `json:"rollback_timelock_seconds"`
	GracePeriodSeconds      int64    `json:"grace_period_seconds"`
	Spill                   string   `json:"spill"`
	MemberSetSeqno          int64    `json:"member_set_seqno"`
	VotingPeriodSeconds     int64    `json:"voting_period_seconds"`
	RentCollector           *string  `json:"rent_collector"`
	Timestamp               int64    `json:"timestamp"`
}

type configChanged struct {
	Governance              string          `json:"governance"`
	Proposal                string          `json:"proposal"`
	Change                  json.RawMessage `json:"change"`
	Members                 []string        `json:"members"`
	Threshold               int16           `json:"threshold"`
	RollbackThreshold       int16           `json:"rollback_threshold"`
	TimelockSeconds         int64           `json:"timelock_seconds"`
	RollbackTimelockSeconds int64           `json:"rollback_timelock_seconds"`
	GracePeriodSeconds      int64           `json:"grace_period_seconds"`
	Spill                   string          `json:"spill"`
	MemberSetSeqno          int64           `json:"member_set_seqno"`
	VotingPeriodSeconds     int64           `json:"voting_period_seconds"`
	RentCollector           *string         `json:"rent_collector"`
	Timestamp               int64           `json:"timestamp"`
}

type programRegistered struct {
	Governance       string `json:"governance"`
	ManagedProgram   string `json:"managed_program"`
	Program          string `json:"program"`
	Programdata      string `json:"programdata"`
	UpgradeAuthority string `json:"upgrade_authority"`
	Actor            string `json:"actor"`
	DeployedHash     string `json:"deployed_hash"`
	LastDeploySlot   int64  `json:"last_deploy_slot"`
	Timestamp        int64  `json:"timestamp"`
}

type programUpgraded struct {
	Proposal     string `json:"proposal"`
	Program      string `json:"program"`
	Rollback     bool   `json:"rollback"`
	PreviousHash string `json:"previous_hash"`
	NewHash      string `json:"new_hash"`
	ReleaseCount int64  `json:"release_count"`
	DeploySlot   int64  `json:"deploy_slot"`
	Timestamp    int64  `json:"timestamp"`
}

type proposalCreated struct {
	Governance        string          `json:"governance"`
	Proposal          string          `json:"proposal"`
	Index             int64           `json:"index"`
	Kind              string          `json:"kind"`
	Program           string          `json:"program"`
	Buffer            string          `json:"buffer"`
	BufferHash        string          `json:"buffer_hash"`
	BufferElfLen      int64           `json:"buffer_elf_len"`
	ExtendBytesNeeded int64           `json:"extend_bytes_needed"`
	ConfigChange      json.RawMessage `json:"config_change"`
	Migration         json.RawMessage `json:"migration"`
	MetadataURI       string          `json:"metadata_uri"`
	BuildHash         string          `json:"build_hash"`
	Proposer          string          `json:"proposer"`
	Threshold         int16           `json:"threshold"`
	MemberSetSeqno    int64           `json:"member_set_seqno"`
	Timestamp         int64           `json:"timestamp"`
}

type proposalApproved struct {
	Proposal       string `json:"proposal"`
	Member         string `json:"member"`
	Approvals      int16  `json:"approvals"`
	Threshold      int16  `json:"threshold"`
	StaleReset     bool   `json:"stale_reset"`
	Status         string `json:"status"`
	Eta            int64  `json:"eta"`
	MemberSetSeqno int64  `json:"member_set_seqno"`
	Timestamp      int64  `json:"timestamp"`
}

type approvalRevoked struct {
	Proposal       string `json:"proposal"`
	Member         string `json:"member"`
	Approvals      int16  `json:"approvals"`
	Threshold      int16  `json:"threshold"`
	Status         string `json:"status"`
	Eta            int64  `json:"eta"`
	MemberSetSeqno int64  `json:"member_set_seqno"`
	Timestamp      int64  `json:"timestamp"`
}

type cancelVoted struct {
	Proposal       string `json:"proposal"`
	CancelVotes    int16  `json:"cancel_votes"`
	MemberSetSeqno int64  `json:"member_set_seqno"`
	Timestamp      int64  `json:"timestamp"`
}

type rejectVoted struct {
	Proposal       string `json:"proposal"`
	Status         string `json:"status"`
	MemberSetSeqno int64  `json:"member_set_seqno"`
	Timestamp      int64  `json:"timestamp"`
}

type proposalCancelled struct {
	Governance  string `json:"governance"`
	Proposal    string `json:"proposal"`
	CancelVotes int16  `json:"cancel_votes"`
	Timestamp   int64  `json:"timestamp"`
}

type proposalExpired struct {
	Proposal  string `json:"proposal"`
	Timestamp int64  `json:"timestamp"`
}

type programExtended struct {
	Proposal       string `json:"proposal"`
	RemainingBytes int64  `json:"remaining_bytes"`
	Timestamp      int64  `json:"timestamp"`
}

type proposalExecuted struct {
	Proposal  string `json:"proposal"`
	Executor  string `json:"executor"`
	Eta       int64  `json:"eta"`
	Timestamp int64  `json:"timestamp"`
}

type migrationSpec struct {
	FromVersion   int16   `json:"from_version"`
	ToVersion     int16   `json:"to_version"`
	VersionOffset int32   `json:"version_offset"`
	DataSize      int64   `json:"data_size"`
	Discriminator *string `json:"discriminator"`
	MigrateIxData string  `json:"migrate_ix_data"`
	TotalAccounts int64   `json:"total_accounts"`
}

type migrationStarted struct {
	Governance string        `json:"governance"`
	Proposal   string        `json:"proposal"`
	Job        string        `json:"job"`
	Program    string        `json:"program"`
	Spec       migrationSpec `json:"spec"`
	Timestamp  int64         `json:"timestamp"`
}

type migrationBatchProcessed struct {
	Job        string `json:"job"`
	BatchIndex int64  `json:"batch_index"`
	Migrated   int64  `json:"migrated"`
	Timestamp  int64  `json:"timestamp"`
}

type migrationCompleted struct {
	Job       string `json:"job"`
	Migrated  int64  `json:"migrated"`
	Batches   int64  `json:"batches"`
	Timestamp int64  `json:"timestamp"`
}

// The program's events by IDL name.
const (
	evGovernanceInitialized   = "GovernanceInitialized"
	evProgramRegistered       = "ProgramRegistered"
	evProposalCreated         = "ProposalCreated"
	evProposalApproved        = "ProposalApproved"
	evApprovalRevoked         = "ApprovalRevoked"
	evCancelVoted             = "CancelVoted"
	evRejectVoted             = "RejectVoted"
	evProposalCancelled       = "ProposalCancelled"
	evProposalExpired         = "ProposalExpired"
	evProgramExtended         = "ProgramExtended"
	evProposalExecuted        = "ProposalExecuted"
	evProgramUpgraded         = "ProgramUpgraded"
	evConfigChanged           = "ConfigChanged"
	evMigrationStarted        = "MigrationStarted"
	evMigrationBatchProcessed = "MigrationBatchProcessed"
	evMigrationCompleted      = "MigrationCompleted"
)

// parseEvent decodes data into the struct that the projections read for
// event name. An unknown name or data that does not fit is an error: such an
// event goes to dead_letter instead of the log, so it can never block the
// fold.
func parseEvent(name string, data []byte) (any, error) {
	var v any
	switch name {
	case evGovernanceInitialized:
		v = new(governanceInitialized)
	case evProgramRegistered:
		v = new(programRegistered)
	case evProposalCreated:
		v = new(proposalCreated)
	case evProposalApproved:
		v = new(proposalApproved)
	case evApprovalRevoked:
		v = new(approvalRevoked)
	case evCancelVoted:
		v = new(cancelVoted)
	case evRejectVoted:
		v = new(rejectVoted)
	case evProposalCancelled:
		v = new(proposalCancelled)
	case evProposalExpired:
		v = new(proposalExpired)
	case evProgramExtended:
		v = new(programExtended)
	case evProposalExecuted:
		v = new(proposalExecuted)
	case evProgramUpgraded:
		v = new(programUpgraded)
	case evConfigChanged:
		v = new(configChanged)
	case evMigrationStarted:
		v = new(migrationStarted)
	case evMigrationBatchProcessed:
		v = new(migrationBatchProcessed)
	case evMigrationCompleted:
		v = new(migrationCompleted)
	case evProposalClosed:
		v = new(proposalClosed)
	case evMigrationJobClosed:
		v = new(migrationJobClosed)
	default:
		return nil, fmt.Errorf("unknown event %q", name)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	return v, nil
}

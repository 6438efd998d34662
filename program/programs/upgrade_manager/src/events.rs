//! Events, emitted with `emit_cpi!` so they travel as inner instructions (logs can be truncated).
//! Every event carries `schema_version`, the keys involved, the actor, resulting counters and the
//! chain's time and slot.

use anchor_lang::prelude::*;

use crate::state::{ConfigChange, MigrationSpec, MigrationStatus, ProposalKind, ProposalStatus};

#[event]
pub struct GovernanceInitialized {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub create_key: Pubkey,
    pub actor: Pubkey,
    pub members: Vec<Pubkey>,
    pub threshold: u8,
    pub rollback_threshold: u8,
    pub timelock_seconds: i64,
    pub rollback_timelock_seconds: i64,
    pub grace_period_seconds: i64,
    pub spill: Pubkey,
    pub member_set_seqno: u64,
    pub voting_period_seconds: i64,
    /// Receives the rent of closed proposals and migration jobs; `None`: whoever paid for each.
    pub rent_collector: Option<Pubkey>,
    pub timestamp: i64,
    pub slot: u64,
}

#[event]
pub struct ProgramRegistered {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub managed_program: Pubkey,
    pub program: Pubkey,
    pub programdata: Pubkey,
    pub upgrade_authority: Pubkey,
    /// The authority that handed the program over; it signed.
    pub actor: Pubkey,
    pub deployed_hash: [u8; 32],
    pub last_deploy_slot: u64,
    pub timestamp: i64,
    pub slot: u64,
}

#[event]
pub struct ProposalCreated {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub proposal: Pubkey,
    pub index: u64,
    pub kind: ProposalKind,
    pub program: Pubkey,
    pub buffer: Pubkey,
    pub buffer_hash: [u8; 32],
    pub buffer_elf_len: u64,
    pub extend_bytes_needed: u32,
    pub config_change: Option<ConfigChange>,
    pub migration: Option<MigrationSpec>,
    pub metadata_uri: String,
    pub build_hash: [u8; 32],
    pub proposer: Pubkey,
    pub threshold: u8,
    pub member_set_seqno: u64,
    pub timestamp: i64,
    pub slot: u64,
}

#[event]
pub struct ProposalApproved {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub proposal: Pubkey,
    pub member: Pubkey,
    pub approvals: u8,
    pub threshold: u8,
    /// Approvals given under an older member set were dropped first.
    pub stale_reset: bool,
    pub status: ProposalStatus,
    /// Earliest execution time once approved; 0 before.
    pub eta: i64,
    pub member_set_seqno: u64,
    pub timestamp: i64,
    pub slot: u64,
}

#[event]
pub struct ApprovalRevoked {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub proposal: Pubkey,
    pub member: Pubkey,
    pub approvals: u8,
    pub threshold: u8,
    pub status: ProposalStatus,
    pub eta: i64,
    pub member_set_seqno: u64,
    pub timestamp: i64,
    pub slot: u64,
}

#[event]
pub struct CancelVoted {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub proposal: Pubkey,
    pub member: Pubkey,
    pub cancel_votes: u8,
    pub threshold: u8,
    pub member_set_seqno: u64,
    pub timestamp: i64,
    pub slot: u64,
}

#[event]
pub struct ProposalCancelled {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub proposal: Pubkey,
    pub actor: Pubkey,
    /// True when the proposer cancelled alone, false when members reached the threshold.
    pub by_proposer: bool,
    pub cancel_votes: u8,
    /// Whether the proposal's buffer was closed (rent returned to the proposer).
    pub buffer_closed: bool,
    pub timestamp: i64,
    pub slot: u64,
}

#[event]
pub struct RejectVoted {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub proposal: Pubkey,
    pub member: Pubkey,
    pub rejections: u8,
    /// More rejections than this make the proposal `Rejected` (members − threshold).
    pub cutoff: u8,
    pub status: ProposalStatus,
    /// The proposal's buffer was closed (it was rejected and held one).
    pub buffer_closed: bool,
    pub member_set_seqno: u64,
    pub timestamp: i64,
    pub slot: u64,
}

#[event]
pub struct ProposalExpired {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub proposal: Pubkey,
    pub actor: Pubkey,
    pub eta: i64,
    pub buffer_closed: bool,
    pub timestamp: i64,
    pub slot: u64,
}

#[event]
pub struct ProgramExtended {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub proposal: Pubkey,
    pub program: Pubkey,
    pub actor: Pubkey,
    pub additional_bytes: u32,
    /// Bytes still missing after this call; 0 when the binary fits.
    pub remaining_bytes: u32,
    pub timestamp: i64,
    pub slot: u64,
}

#[event]
pub struct ProposalExecuted {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub proposal: Pubkey,
    pub kind: ProposalKind,
    pub executor: Pubkey,
    pub eta: i64,
    pub timestamp: i64,
    pub slot: u64,
}

#[event]
pub struct ProgramUpgraded {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub proposal: Pubkey,
    pub program: Pubkey,
    pub buffer: Pubkey,
    pub spill: Pubkey,
    pub executor: Pubkey,
    pub rollback: bool,
    pub previous_hash: [u8; 32],
    pub new_hash: [u8; 32],
    pub release_count: u64,
    pub deploy_slot: u64,
    pub timestamp: i64,
    pub slot: u64,
}

#[event]
pub struct ConfigChanged {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub proposal: Pubkey,
    pub change: ConfigChange,
    pub executor: Pubkey,
    pub members: Vec<Pubkey>,
    pub threshold: u8,
    pub rollback_threshold: u8,
    pub timelock_seconds: i64,
    pub rollback_timelock_seconds: i64,
    pub grace_period_seconds: i64,
    pub spill: Pubkey,
    pub member_set_seqno: u64,
    pub voting_period_seconds: i64,
    /// Receives the rent of closed proposals and migration jobs; `None`: whoever paid for each.
    pub rent_collector: Option<Pubkey>,
    pub timestamp: i64,
    pub slot: u64,
}

#[event]
pub struct MigrationStarted {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub proposal: Pubkey,
    pub job: Pubkey,
    pub program: Pubkey,
    pub executor: Pubkey,
    pub spec: MigrationSpec,
    pub timestamp: i64,
    pub slot: u64,
}

#[event]
pub struct MigrationBatchProcessed {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub job: Pubkey,
    pub program: Pubkey,
    pub actor: Pubkey,
    pub batch_index: u64,
    pub migrated_in_batch: u32,
    pub skipped_in_batch: u32,
    pub migrated: u64,
    pub total: u64,
    pub timestamp: i64,
    pub slot: u64,
}

#[event]
pub struct MigrationCompleted {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub job: Pubkey,
    pub program: Pubkey,
    pub migrated: u64,
    pub total: u64,
    pub batches: u64,
    pub timestamp: i64,
    pub slot: u64,
}

/// An ended proposal's account was closed; its rent went to `rent_collector`.
#[event]
pub struct ProposalClosed {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub proposal: Pubkey,
    pub index: u64,
    /// The status it ended in.
    pub status: ProposalStatus,
    pub actor: Pubkey,
    pub rent_collector: Pubkey,
    /// Lamports returned.
    pub lamports: u64,
    pub timestamp: i64,
    pub slot: u64,
}

/// A completed or cancelled migration job's account was closed; its rent went to
/// `rent_collector`.
#[event]
pub struct MigrationJobClosed {
    pub schema_version: u8,
    pub governance: Pubkey,
    pub job: Pubkey,
    pub proposal: Pubkey,
    pub program: Pubkey,
    /// The status it ended in.
    pub status: MigrationStatus,
    pub migrated: u64,
    pub actor: Pubkey,
    pub rent_collector: Pubkey,
    /// Lamports returned.
    pub lamports: u64,
    pub timestamp: i64,
    pub slot: u64,
}

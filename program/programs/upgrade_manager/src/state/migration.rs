use anchor_lang::prelude::*;

use crate::state::MigrationSpec;

/// Where a migration job is.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug, InitSpace)]
pub enum MigrationStatus {
    Active,
    Completed,
    /// Stopped by an executed `CancelMigration` config change.
    Cancelled,
}

/// An account-state migration started by an executed proposal; `migrate_batch` drives it.
/// PDA: `["migration", proposal]`.
#[account]
#[derive(InitSpace)]
pub struct MigrationJob {
    pub layout_version: u8,
    pub bump: u8,
    pub governance: Pubkey,
    pub proposal: Pubkey,
    /// Target program whose accounts are migrated.
    pub program: Pubkey,
    /// The target's programdata, whose binary must hash to `spec.required_hash`.
    pub programdata: Pubkey,
    pub spec: MigrationSpec,
    /// Accounts migrated so far; each is counted once.
    pub migrated_count: u64,
    /// Batches processed so far.
    pub batch_count: u64,
    pub status: MigrationStatus,
    pub started_at: i64,
    pub started_slot: u64,
    pub completed_at: i64,
    pub completed_slot: u64,
    /// Paid the job's rent (the executor of the migration proposal); gets it back when the job
    /// is closed unless the governance has a rent collector. The default key in jobs created
    /// before layout 3: their rent goes to the governance's spill account.
    pub payer: Pubkey,
}

//! `upgrade_manager`: M-of-N, timelocked governance of Solana program upgrades.
//!
//! Members approve an upgrade whose buffer is already locked to the manager; once the M-th
//! approval is in, a timelock runs, and then anyone may execute it. The same path runs config
//! changes, rollbacks to a known earlier binary (with their own threshold and timelock) and
//! account-state migrations. Every state change emits an event with `emit_cpi!`.
#![allow(unexpected_cfgs)]
// Anchor's generated code trips these.
#![allow(clippy::too_many_arguments, clippy::result_large_err)]
// `#[program]` expands to a call of the deprecated `AccountInfo::realloc`.
#![allow(deprecated)]

use anchor_lang::prelude::*;

pub mod constants;
pub mod errors;
pub mod events;
pub mod instructions;
pub mod loader;
pub mod state;

pub use constants::*;
pub use errors::*;
pub use events::*;
pub use instructions::*;
pub use state::*;

declare_id!("UpgradeMgr111111111111111111111111111111111");

#[program]
pub mod upgrade_manager {
    use super::*;

    /// Creates a governance: members, threshold, rollback threshold, timelocks, spill account.
    pub fn initialize_governance(
        ctx: Context<InitializeGovernance>,
        args: InitializeGovernanceArgs,
    ) -> Result<()> {
        instructions::handle_initialize_governance(ctx, args)
    }

    /// Hands a program to the governance: its PDA becomes the program's upgrade authority.
    pub fn register_program(ctx: Context<RegisterProgram>) -> Result<()> {
        instructions::handle_register_program(ctx)
    }

    /// Proposes upgrading a managed program to a buffer locked to its upgrade-authority PDA.
    pub fn propose_upgrade(
        ctx: Context<ProposeUpgrade>,
        metadata_uri: String,
        build_hash: [u8; 32],
    ) -> Result<()> {
        instructions::handle_propose_upgrade(ctx, metadata_uri, build_hash)
    }

    /// Proposes returning a managed program to a binary from its release history.
    pub fn propose_rollback(
        ctx: Context<ProposeUpgrade>,
        metadata_uri: String,
        build_hash: [u8; 32],
    ) -> Result<()> {
        instructions::handle_propose_rollback(ctx, metadata_uri, build_hash)
    }

    /// Proposes a change to members, thresholds, timelocks or the spill account.
    pub fn propose_config_change(
        ctx: Context<ProposeConfigChange>,
        change: ConfigChange,
        metadata_uri: String,
    ) -> Result<()> {
        instructions::handle_propose_config_change(ctx, change, metadata_uri)
    }

    /// Proposes an account-state migration of a managed program.
    pub fn propose_migration(
        ctx: Context<ProposeMigration>,
        spec: MigrationSpec,
        metadata_uri: String,
    ) -> Result<()> {
        instructions::handle_propose_migration(ctx, spec, metadata_uri)
    }

    /// Approves a proposal; the threshold-th approval starts the timelock.
    pub fn approve(ctx: Context<Vote>) -> Result<()> {
        instructions::handle_approve(ctx)
    }

    /// Withdraws an approval; below the threshold the proposal is active again.
    pub fn revoke_approval(ctx: Context<Vote>) -> Result<()> {
        instructions::handle_revoke_approval(ctx)
    }

    /// Votes against a proposal; once approval is impossible (rejections > members − threshold)
    /// it is `Rejected` and its buffer closed.
    pub fn reject(ctx: Context<Reject>) -> Result<()> {
        instructions::handle_reject(ctx)
    }

    /// Cancels: the proposer alone while nobody else approved, or members by threshold.
    pub fn cancel(ctx: Context<Cancel>) -> Result<()> {
        instructions::handle_cancel(ctx)
    }

    /// Marks a proposal expired after its grace period (approved) or voting period (active);
    /// permissionless.
    pub fn expire(ctx: Context<Expire>) -> Result<()> {
        instructions::handle_expire(ctx)
    }

    /// Grows a managed program's programdata so an approved upgrade fits; permissionless.
    pub fn extend_program(ctx: Context<ExtendProgram>) -> Result<()> {
        instructions::handle_extend_program(ctx)
    }

    /// Executes an approved upgrade or rollback after its timelock; permissionless.
    pub fn execute_upgrade(ctx: Context<ExecuteUpgrade>) -> Result<()> {
        instructions::handle_execute_upgrade(ctx)
    }

    /// Executes an approved config change after its timelock; permissionless.
    pub fn execute_config_change(ctx: Context<ExecuteConfigChange>) -> Result<()> {
        instructions::handle_execute_config_change(ctx)
    }

    /// Starts an approved migration after its timelock; permissionless.
    pub fn execute_migration(ctx: Context<ExecuteMigration>) -> Result<()> {
        instructions::handle_execute_migration(ctx)
    }

    /// Migrates a batch of the target program's accounts; permissionless.
    pub fn migrate_batch<'info>(
        ctx: Context<'_, '_, 'info, 'info, MigrateBatch<'info>>,
    ) -> Result<()> {
        instructions::handle_migrate_batch(ctx)
    }

    /// Closes an executed, cancelled, rejected or expired proposal; its rent goes to the
    /// governance's rent collector (or back to the proposer); permissionless.
    pub fn close_proposal(ctx: Context<CloseProposal>) -> Result<()> {
        instructions::handle_close_proposal(ctx)
    }

    /// Closes a completed or cancelled migration job; its rent goes to the governance's rent
    /// collector (or back to whoever paid it); permissionless.
    pub fn close_migration_job(ctx: Context<CloseMigrationJob>) -> Result<()> {
        instructions::handle_close_migration_job(ctx)
    }
}

use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::UpgradeManagerError;
use crate::events::{MigrationCompleted, MigrationStarted, ProposalExecuted};
use crate::state::*;

/// Accounts of `execute_migration`: anyone may start an approved migration whose timelock has run.
#[event_cpi]
#[derive(Accounts)]
pub struct ExecuteMigration<'info> {
    #[account(mut)]
    pub executor: Signer<'info>,
    pub governance: Account<'info, Governance>,
    #[account(mut, has_one = governance @ UpgradeManagerError::GovernanceMismatch)]
    pub proposal: Account<'info, Proposal>,
    #[account(
        has_one = governance @ UpgradeManagerError::GovernanceMismatch,
        constraint = managed_program.program == proposal.program @ UpgradeManagerError::ProposalAccountMismatch
    )]
    pub managed_program: Account<'info, ManagedProgram>,
    /// CHECK: the target's programdata; its binary must be the one the migration requires.
    #[account(address = managed_program.programdata @ UpgradeManagerError::ProgramDataMismatch)]
    pub programdata: UncheckedAccount<'info>,
    #[account(
        init,
        payer = executor,
        space = 8 + MigrationJob::INIT_SPACE,
        seeds = [MIGRATION_SEED, proposal.key().as_ref()],
        bump
    )]
    pub job: Account<'info, MigrationJob>,
    pub system_program: Program<'info, System>,
}

pub fn handle_execute_migration(ctx: Context<ExecuteMigration>) -> Result<()> {
    let clock = Clock::get()?;
    let gov = &ctx.accounts.governance;
    let p = &mut ctx.accounts.proposal;
    require!(
        p.kind == ProposalKind::Migration,
        UpgradeManagerError::WrongProposalKind
    );
    p.check_executable(gov, clock.unix_timestamp)?;
    let spec = p
        .migration
        .clone()
        .ok_or_else(|| error!(UpgradeManagerError::WrongProposalKind))?;
    crate::loader::require_deployed(&ctx.accounts.programdata, &spec.required_hash)?;
    p.status = ProposalStatus::Executed;
    p.executed_at = clock.unix_timestamp;
    p.executed_slot = clock.slot;

    let job = &mut ctx.accounts.job;
    job.layout_version = ACCOUNT_LAYOUT_VERSION;
    job.bump = ctx.bumps.job;
    job.governance = gov.key();
    job.proposal = p.key();
    job.program = p.program;
    job.programdata = ctx.accounts.programdata.key();
    job.spec = spec.clone();
    job.status = MigrationStatus::Active;
    job.started_at = clock.unix_timestamp;
    job.started_slot = clock.slot;
    job.payer = ctx.accounts.executor.key();
    let completed = spec.total_accounts == 0;
    if completed {
        job.status = MigrationStatus::Completed;
        job.completed_at = clock.unix_timestamp;
        job.completed_slot = clock.slot;
    }

    let executor = ctx.accounts.executor.key();
    let executed = ProposalExecuted {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: gov.key(),
        proposal: p.key(),
        kind: p.kind,
        executor,
        eta: p.eta,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    let started = MigrationStarted {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: gov.key(),
        proposal: p.key(),
        job: job.key(),
        program: job.program,
        executor,
        spec,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    let done = MigrationCompleted {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: gov.key(),
        job: job.key(),
        program: job.program,
        migrated: 0,
        total: 0,
        batches: 0,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    emit_cpi!(executed);
    emit_cpi!(started);
    if completed {
        emit_cpi!(done);
    }
    Ok(())
}

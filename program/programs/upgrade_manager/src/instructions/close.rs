use anchor_lang::prelude::*;

use crate::constants::EVENT_SCHEMA_VERSION;
use crate::errors::UpgradeManagerError;
use crate::events::{MigrationJobClosed, ProposalClosed};
use crate::state::*;

/// Accounts of `close_proposal`: anyone may close an ended proposal. Its rent goes to the
/// governance's rent collector (or, without one, back to the proposer who paid it), never to
/// the caller. Anchor's `close` zeroes the account and hands it to the system program after the
/// handler, so it cannot be closed twice nor read as a proposal again, even within the same
/// transaction; its address (governance, index) is never proposed at again.
#[event_cpi]
#[derive(Accounts)]
pub struct CloseProposal<'info> {
    pub signer: Signer<'info>,
    pub governance: Account<'info, Governance>,
    #[account(
        mut,
        has_one = governance @ UpgradeManagerError::GovernanceMismatch,
        close = rent_collector
    )]
    pub proposal: Account<'info, Proposal>,
    /// CHECK: must be `governance.rent_destination(proposal.proposer)` (checked in the handler).
    #[account(mut)]
    pub rent_collector: UncheckedAccount<'info>,
}

/// Accounts of `close_migration_job`: anyone may close a completed or cancelled job. Its rent
/// goes to the governance's rent collector (or, without one, back to the executor who paid it).
#[event_cpi]
#[derive(Accounts)]
pub struct CloseMigrationJob<'info> {
    pub signer: Signer<'info>,
    pub governance: Account<'info, Governance>,
    #[account(
        mut,
        has_one = governance @ UpgradeManagerError::GovernanceMismatch,
        close = rent_collector
    )]
    pub job: Account<'info, MigrationJob>,
    /// CHECK: must be `governance.rent_destination(job.payer)` (checked in the handler).
    #[account(mut)]
    pub rent_collector: UncheckedAccount<'info>,
}

pub fn handle_close_proposal(ctx: Context<CloseProposal>) -> Result<()> {
    let gov = &ctx.accounts.governance;
    let p = &ctx.accounts.proposal;
    // Active and Approved proposals still gather votes or wait to execute; one past its window
    // must be marked by `expire` first (which also closes its buffer and lock). Every path that
    // ends a proposal closes its buffer lock in the same instruction, so an ended proposal
    // holds none.
    require!(p.is_ended(), UpgradeManagerError::ProposalNotEnded);
    let collector = gov.rent_destination(p.proposer);
    require_keys_eq!(
        ctx.accounts.rent_collector.key(),
        collector,
        UpgradeManagerError::WrongRentCollector
    );
    let clock = Clock::get()?;
    let event = ProposalClosed {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: gov.key(),
        proposal: p.key(),
        index: p.index,
        status: p.status,
        actor: ctx.accounts.signer.key(),
        rent_collector: collector,
        lamports: p.to_account_info().lamports(),
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    emit_cpi!(event);
    Ok(())
}

pub fn handle_close_migration_job(ctx: Context<CloseMigrationJob>) -> Result<()> {
    let gov = &ctx.accounts.governance;
    let job = &ctx.accounts.job;
    require!(
        job.status != MigrationStatus::Active,
        UpgradeManagerError::MigrationJobNotEnded
    );
    // Jobs made before layout 3 do not record who paid: their rent goes to the spill account,
    // which the governance controls.
    let payer = if job.payer == Pubkey::default() {
        gov.spill
    } else {
        job.payer
    };
    let collector = gov.rent_destination(payer);
    require_keys_eq!(
        ctx.accounts.rent_collector.key(),
        collector,
        UpgradeManagerError::WrongRentCollector
    );
    let clock = Clock::get()?;
    let event = MigrationJobClosed {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: gov.key(),
        job: job.key(),
        proposal: job.proposal,
        program: job.program,
        status: job.status,
        migrated: job.migrated_count,
        actor: ctx.accounts.signer.key(),
        rent_collector: collector,
        lamports: job.to_account_info().lamports(),
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    emit_cpi!(event);
    Ok(())
}

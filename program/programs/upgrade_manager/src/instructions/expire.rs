use anchor_lang::prelude::*;

use crate::constants::EVENT_SCHEMA_VERSION;
use crate::errors::UpgradeManagerError;
use crate::events::ProposalExpired;
use crate::loader;

use crate::instructions::{close_proposal_buffer, BufferAccounts};
use crate::state::*;

/// Accounts of `expire`: anyone may mark a proposal expired once its grace period (approved) or
/// its voting period (active) has passed, which closes its buffer.
#[event_cpi]
#[derive(Accounts)]
pub struct Expire<'info> {
    pub signer: Signer<'info>,
    pub governance: Account<'info, Governance>,
    #[account(mut, has_one = governance @ UpgradeManagerError::GovernanceMismatch)]
    pub proposal: Account<'info, Proposal>,
    /// CHECK: must be the proposal's buffer (checked in `close_proposal_buffer`).
    #[account(mut)]
    pub buffer: Option<UncheckedAccount<'info>>,
    /// CHECK: the buffer's lock PDA (checked in `close_proposal_buffer`).
    #[account(mut)]
    pub buffer_lock: Option<UncheckedAccount<'info>>,
    /// CHECK: must be the governance's spill account, which gets the buffer's rent.
    #[account(mut)]
    pub spill: Option<UncheckedAccount<'info>>,
    /// CHECK: must be the proposal's proposer, who paid for the lock and gets its rent back.
    #[account(mut)]
    pub proposer: Option<UncheckedAccount<'info>>,
    /// CHECK: the program's upgrade-authority PDA (checked in `close_proposal_buffer`).
    pub upgrade_authority: Option<UncheckedAccount<'info>>,
    /// CHECK: the upgradeable loader.
    #[account(address = loader::LOADER_ID)]
    pub bpf_loader_upgradeable: Option<UncheckedAccount<'info>>,
}

pub fn handle_expire(ctx: Context<Expire>) -> Result<()> {
    let gov = &ctx.accounts.governance;
    let clock = Clock::get()?;
    let p = &mut ctx.accounts.proposal;
    // An approved proposal expires after its grace period; an active one after the voting
    // period (in governances that have one).
    let expiry = match p.status {
        ProposalStatus::Approved => p
            .eta
            .checked_add(gov.grace_period_seconds)
            .ok_or_else(|| error!(UpgradeManagerError::Overflow))?,
        ProposalStatus::Active => p
            .voting_deadline(gov)?
            .ok_or_else(|| error!(UpgradeManagerError::ProposalNotExpired))?,
        _ => return err!(UpgradeManagerError::ProposalNotOpen),
    };
    require!(
        clock.unix_timestamp >= expiry,
        UpgradeManagerError::ProposalNotExpired
    );
    p.status = ProposalStatus::Expired;
    let key = p.key();
    let buffer_closed = close_proposal_buffer(
        p,
        &key,
        gov,
        BufferAccounts {
            buffer: ctx.accounts.buffer.as_ref(),
            buffer_lock: ctx.accounts.buffer_lock.as_ref(),
            spill: ctx.accounts.spill.as_ref(),
            proposer: ctx.accounts.proposer.as_ref(),
            upgrade_authority: ctx.accounts.upgrade_authority.as_ref(),
            bpf_loader_upgradeable: ctx.accounts.bpf_loader_upgradeable.as_ref(),
        },
        ctx.program_id,
    )?;
    let p = &ctx.accounts.proposal;
    let event = ProposalExpired {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: gov.key(),
        proposal: p.key(),
        actor: ctx.accounts.signer.key(),
        eta: p.eta,
        buffer_closed,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    emit_cpi!(event);
    Ok(())
}

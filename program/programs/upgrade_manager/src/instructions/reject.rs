use anchor_lang::prelude::*;

use crate::constants::EVENT_SCHEMA_VERSION;
use crate::errors::UpgradeManagerError;
use crate::events::RejectVoted;
use crate::instructions::{close_proposal_buffer, BufferAccounts};
use crate::loader;
use crate::state::*;

/// Accounts of `reject`: a member and an open proposal. The optional accounts close the
/// proposal's buffer and its lock; they are needed only when the proposal holds a buffer and
/// this rejection makes it `Rejected`.
#[event_cpi]
#[derive(Accounts)]
pub struct Reject<'info> {
    pub member: Signer<'info>,
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

pub fn handle_reject(ctx: Context<Reject>) -> Result<()> {
    let gov = &ctx.accounts.governance;
    let member = ctx.accounts.member.key();
    let index = gov.require_member(&member)?;
    let clock = Clock::get()?;

    let p = &mut ctx.accounts.proposal;
    require!(p.is_open(), UpgradeManagerError::ProposalNotOpen);
    p.reset_if_stale(gov);
    p.require_voting_open(gov, clock.unix_timestamp)?;
    let bit = 1u32 << index;
    require!(p.approvals & bit == 0, UpgradeManagerError::AlreadyApproved);
    require!(
        p.rejections & bit == 0,
        UpgradeManagerError::AlreadyRejected
    );
    p.rejections |= bit;

    // Approvals and rejections come from different members, so once more members rejected
    // than the threshold can spare, the proposal can never pass.
    let cutoff = gov.reject_cutoff(p.threshold(gov));
    let rejections = p.rejections.count_ones() as u8;
    let mut buffer_closed = false;
    if rejections > cutoff {
        p.status = ProposalStatus::Rejected;
        let key = p.key();
        buffer_closed = close_proposal_buffer(
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
    }

    let p = &ctx.accounts.proposal;
    let event = RejectVoted {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: gov.key(),
        proposal: p.key(),
        member,
        rejections,
        cutoff,
        status: p.status,
        buffer_closed,
        member_set_seqno: p.member_set_seqno,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    emit_cpi!(event);
    Ok(())
}

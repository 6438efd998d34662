use anchor_lang::prelude::*;

use crate::constants::EVENT_SCHEMA_VERSION;
use crate::errors::UpgradeManagerError;
use crate::events::ProposalApproved;
use crate::state::*;

/// Accounts of `approve`, `revoke_approval` and `cancel` votes: a member and an open proposal.
#[event_cpi]
#[derive(Accounts)]
pub struct Vote<'info> {
    pub member: Signer<'info>,
    pub governance: Account<'info, Governance>,
    #[account(mut, has_one = governance @ UpgradeManagerError::GovernanceMismatch)]
    pub proposal: Account<'info, Proposal>,
}

pub fn handle_approve(ctx: Context<Vote>) -> Result<()> {
    let gov = &ctx.accounts.governance;
    let member = ctx.accounts.member.key();
    let index = gov.require_member(&member)?;
    let clock = Clock::get()?;

    let p = &mut ctx.accounts.proposal;
    require!(p.is_open(), UpgradeManagerError::ProposalNotOpen);
    let stale_reset = p.reset_if_stale(gov);
    p.require_voting_open(gov, clock.unix_timestamp)?;
    let bit = 1u32 << index;
    require!(p.approvals & bit == 0, UpgradeManagerError::AlreadyApproved);
    require!(
        p.rejections & bit == 0,
        UpgradeManagerError::AlreadyRejected
    );
    p.approvals |= bit;

    let threshold = p.threshold(gov);
    if p.status == ProposalStatus::Active && p.approval_count() >= threshold {
        p.status = ProposalStatus::Approved;
        p.approved_at = clock.unix_timestamp;
        p.approved_slot = clock.slot;
        p.eta = clock
            .unix_timestamp
            .checked_add(p.timelock(gov))
            .ok_or_else(|| error!(UpgradeManagerError::Overflow))?;
    }

    let event = ProposalApproved {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: gov.key(),
        proposal: p.key(),
        member,
        approvals: p.approval_count(),
        threshold,
        stale_reset,
        status: p.status,
        eta: p.eta,
        member_set_seqno: p.member_set_seqno,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    emit_cpi!(event);
    Ok(())
}

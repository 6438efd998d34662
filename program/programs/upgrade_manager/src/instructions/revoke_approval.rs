use anchor_lang::prelude::*;

use crate::constants::EVENT_SCHEMA_VERSION;
use crate::errors::UpgradeManagerError;
use crate::events::ApprovalRevoked;
use crate::instructions::Vote;
use crate::state::*;

pub fn handle_revoke_approval(ctx: Context<Vote>) -> Result<()> {
    let gov = &ctx.accounts.governance;
    let member = ctx.accounts.member.key();
    let index = gov.require_member(&member)?;
    let clock = Clock::get()?;

    let p = &mut ctx.accounts.proposal;
    require!(p.is_open(), UpgradeManagerError::ProposalNotOpen);
    require!(!p.is_stale(gov), UpgradeManagerError::StaleApprovals);
    let bit = 1u32 << index;
    require!(p.approvals & bit != 0, UpgradeManagerError::NotApproved);
    p.approvals &= !bit;

    let threshold = p.threshold(gov);
    if p.status == ProposalStatus::Approved && p.approval_count() < threshold {
        p.status = ProposalStatus::Active;
        p.approved_at = 0;
        p.approved_slot = 0;
        p.eta = 0;
    }

    let event = ApprovalRevoked {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: gov.key(),
        proposal: p.key(),
        member,
        approvals: p.approval_count(),
        threshold,
        status: p.status,
        eta: p.eta,
        member_set_seqno: p.member_set_seqno,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    emit_cpi!(event);
    Ok(())
}

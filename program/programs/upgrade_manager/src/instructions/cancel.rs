use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::UpgradeManagerError;
use crate::events::{CancelVoted, ProposalCancelled};
use crate::loader::{self, loader_ix};
use crate::state::*;

/// Accounts of `cancel`. The optional accounts close the proposal's buffer and its lock; they
/// are needed only when the proposal holds a buffer and this call completes the cancellation.
#[event_cpi]
#[derive(Accounts)]
pub struct Cancel<'info> {
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

/// The accounts closing a proposal's buffer takes; each is optional in the instruction.
pub struct BufferAccounts<'a, 'info> {
    pub buffer: Option<&'a UncheckedAccount<'info>>,
    pub buffer_lock: Option<&'a UncheckedAccount<'info>>,
    pub spill: Option<&'a UncheckedAccount<'info>>,
    pub proposer: Option<&'a UncheckedAccount<'info>>,
    pub upgrade_authority: Option<&'a UncheckedAccount<'info>>,
    pub bpf_loader_upgradeable: Option<&'a UncheckedAccount<'info>>,
}

/// Ends a proposal's hold on its buffer: closes the buffer's lock (rent back to the proposer,
/// who paid it) and the buffer, if it still exists, with its rent going to the governance's
/// spill account: never to whoever cancelled. Returns whether a buffer was closed.
pub fn close_proposal_buffer(
    p: &Proposal,
    proposal: &Pubkey,
    gov: &Governance,
    a: BufferAccounts,
    program_id: &Pubkey,
) -> Result<bool> {
    if p.buffer == Pubkey::default() {
        return Ok(false);
    }
    let (
        Some(buffer),
        Some(buffer_lock),
        Some(spill),
        Some(proposer),
        Some(upgrade_authority),
        Some(bpf_loader),
    ) = (
        a.buffer,
        a.buffer_lock,
        a.spill,
        a.proposer,
        a.upgrade_authority,
        a.bpf_loader_upgradeable,
    )
    else {
        return err!(UpgradeManagerError::ProposalAccountMismatch);
    };
    require_keys_eq!(
        buffer.key(),
        p.buffer,
        UpgradeManagerError::ProposalAccountMismatch
    );
    require_keys_eq!(
        spill.key(),
        gov.spill,
        UpgradeManagerError::ProposalAccountMismatch
    );
    require_keys_eq!(
        proposer.key(),
        p.proposer,
        UpgradeManagerError::ProposalAccountMismatch
    );
    let (authority, bump) =
        Pubkey::find_program_address(&[UPGRADE_AUTHORITY_SEED, p.program.as_ref()], program_id);
    require_keys_eq!(
        upgrade_authority.key(),
        authority,
        UpgradeManagerError::ProposalAccountMismatch
    );
    BufferLock::close(
        &buffer_lock.to_account_info(),
        &proposer.to_account_info(),
        &p.buffer,
        proposal,
        program_id,
    )?;
    if buffer.owner != &loader::LOADER_ID || buffer.data_len() == 0 {
        return Ok(false);
    }
    let ix = loader_ix::close_any(&p.buffer, &gov.spill, Some(&authority), None);
    loader::invoke_loader(
        ix,
        &[
            buffer.to_account_info(),
            spill.to_account_info(),
            upgrade_authority.to_account_info(),
            bpf_loader.to_account_info(),
        ],
        &[UPGRADE_AUTHORITY_SEED, p.program.as_ref(), &[bump]],
    )?;
    Ok(true)
}

pub fn handle_cancel(ctx: Context<Cancel>) -> Result<()> {
    let gov = &ctx.accounts.governance;
    let signer = ctx.accounts.signer.key();
    let clock = Clock::get()?;
    let p = &mut ctx.accounts.proposal;
    require!(p.is_open(), UpgradeManagerError::ProposalNotOpen);
    p.reset_if_stale(gov);

    let member_index = gov.member_index(&signer);
    let proposer_bit = gov.member_index(&p.proposer).map_or(0, |i| 1u32 << i);
    // The proposer cancels alone only while still a member and nobody else has approved.
    let by_proposer =
        signer == p.proposer && member_index.is_some() && p.approvals & !proposer_bit == 0;
    // Stopping a proposal takes no more votes than approving it (rollbacks: rollback threshold).
    let threshold = p.threshold(gov);
    if !by_proposer {
        let index = member_index.ok_or_else(|| error!(UpgradeManagerError::CancelNotAllowed))?;
        let bit = 1u32 << index;
        require!(
            p.cancel_votes & bit == 0,
            UpgradeManagerError::AlreadyVotedCancel
        );
        p.cancel_votes |= bit;
        let votes = p.cancel_votes.count_ones() as u8;
        if votes < threshold {
            let event = CancelVoted {
                schema_version: EVENT_SCHEMA_VERSION,
                governance: gov.key(),
                proposal: p.key(),
                member: signer,
                cancel_votes: votes,
                threshold,
                member_set_seqno: p.member_set_seqno,
                timestamp: clock.unix_timestamp,
                slot: clock.slot,
            };
            emit_cpi!(event);
            return Ok(());
        }
    }

    p.status = ProposalStatus::Cancelled;
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
    let event = ProposalCancelled {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: gov.key(),
        proposal: p.key(),
        actor: signer,
        by_proposer,
        cancel_votes: p.cancel_votes.count_ones() as u8,
        buffer_closed,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    emit_cpi!(event);
    Ok(())
}

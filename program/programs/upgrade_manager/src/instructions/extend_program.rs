use anchor_lang::prelude::*;
use anchor_lang::solana_program::entrypoint::MAX_PERMITTED_DATA_INCREASE;

use crate::constants::*;
use crate::errors::UpgradeManagerError;
use crate::events::ProgramExtended;
use crate::loader::{self, loader_ix};
use crate::state::*;

/// Accounts of `extend_program`: anyone may pay to grow an approved upgrade's programdata so
/// the new binary fits. An account may grow by at most 10 KiB inside a CPI, and the loader
/// extends a program at most once per slot and refuses to upgrade it in the slot it was
/// extended in: so a large growth takes one call per slot, each in an earlier slot than
/// `execute_upgrade`.
#[event_cpi]
#[derive(Accounts)]
pub struct ExtendProgram<'info> {
    #[account(mut)]
    pub payer: Signer<'info>,
    pub governance: Account<'info, Governance>,
    #[account(has_one = governance @ UpgradeManagerError::GovernanceMismatch)]
    pub proposal: Account<'info, Proposal>,
    #[account(
        has_one = governance @ UpgradeManagerError::GovernanceMismatch,
        constraint = managed_program.program == proposal.program @ UpgradeManagerError::ProposalAccountMismatch
    )]
    pub managed_program: Account<'info, ManagedProgram>,
    /// CHECK: the managed program.
    #[account(mut, address = managed_program.program @ UpgradeManagerError::ProposalAccountMismatch)]
    pub target_program: UncheckedAccount<'info>,
    /// CHECK: the managed program's programdata.
    #[account(mut, address = managed_program.programdata @ UpgradeManagerError::ProgramDataMismatch)]
    pub programdata: UncheckedAccount<'info>,
    /// CHECK: the proposal's buffer, whose size sets the extension.
    #[account(address = proposal.buffer @ UpgradeManagerError::ProposalAccountMismatch)]
    pub buffer: UncheckedAccount<'info>,
    /// CHECK: the upgrade-authority PDA; signs the loader CPI.
    #[account(
        seeds = [UPGRADE_AUTHORITY_SEED, managed_program.program.as_ref()],
        bump = managed_program.upgrade_authority_bump
    )]
    pub upgrade_authority: UncheckedAccount<'info>,
    /// CHECK: the upgradeable loader.
    #[account(address = loader::LOADER_ID)]
    pub bpf_loader_upgradeable: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

pub fn handle_extend_program(ctx: Context<ExtendProgram>) -> Result<()> {
    let a = &ctx.accounts;
    let p = &a.proposal;
    require!(
        matches!(p.kind, ProposalKind::Upgrade | ProposalKind::Rollback),
        UpgradeManagerError::WrongProposalKind
    );
    require!(
        p.status == ProposalStatus::Approved,
        UpgradeManagerError::ProposalNotApproved
    );
    require!(
        !p.is_stale(&a.governance),
        UpgradeManagerError::StaleApprovals
    );
    let needed = loader::extend_needed(&a.programdata, a.buffer.data_len());
    require!(needed > 0, UpgradeManagerError::ExtendNotNeeded);
    let additional_bytes = needed.min(MAX_PERMITTED_DATA_INCREASE as u32);

    let program = a.managed_program.program;
    let mut ix = loader_ix::extend_program_checked(
        &program,
        &a.upgrade_authority.key(),
        Some(&a.payer.key()),
        additional_bytes,
    );
    // The interface marks the authority writable, which the loader does not need; a PDA passed
    // read-only would make that a privilege escalation.
    ix.accounts[2].is_writable = false;
    loader::invoke_loader(
        ix,
        &[
            a.programdata.to_account_info(),
            a.target_program.to_account_info(),
            a.upgrade_authority.to_account_info(),
            a.system_program.to_account_info(),
            a.payer.to_account_info(),
            a.bpf_loader_upgradeable.to_account_info(),
        ],
        &[
            UPGRADE_AUTHORITY_SEED,
            program.as_ref(),
            &[a.managed_program.upgrade_authority_bump],
        ],
    )?;

    let clock = Clock::get()?;
    let event = ProgramExtended {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: a.governance.key(),
        proposal: p.key(),
        program,
        actor: a.payer.key(),
        additional_bytes,
        remaining_bytes: needed - additional_bytes,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    emit_cpi!(event);
    Ok(())
}

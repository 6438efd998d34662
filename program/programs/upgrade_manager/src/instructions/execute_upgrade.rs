use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::UpgradeManagerError;
use crate::events::{ProgramUpgraded, ProposalExecuted};
use crate::loader::{self, loader_ix};
use crate::state::*;

/// Accounts of `execute_upgrade`: anyone may execute an approved upgrade or rollback whose
/// timelock has run.
#[event_cpi]
#[derive(Accounts)]
pub struct ExecuteUpgrade<'info> {
    #[account(mut)]
    pub executor: Signer<'info>,
    pub governance: Account<'info, Governance>,
    #[account(mut, has_one = governance @ UpgradeManagerError::GovernanceMismatch)]
    pub proposal: Account<'info, Proposal>,
    #[account(
        mut,
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
    /// CHECK: must be the proposal's buffer; its hash is checked again.
    #[account(mut, address = proposal.buffer @ UpgradeManagerError::ProposalAccountMismatch)]
    pub buffer: UncheckedAccount<'info>,
    /// The buffer's lock, closed here (its rent goes back to the proposer). Every proposal made
    /// since layout 2 holds one until it ends; only older proposals pass none.
    #[account(mut)]
    pub buffer_lock: Option<Account<'info, BufferLock>>,
    /// CHECK: the proposal's proposer, who paid for the lock and gets its rent back.
    #[account(mut, address = proposal.proposer @ UpgradeManagerError::ProposalAccountMismatch)]
    pub proposer: UncheckedAccount<'info>,
    /// CHECK: the governance's spill account receives the buffer's leftover lamports.
    #[account(mut, address = governance.spill @ UpgradeManagerError::ProposalAccountMismatch)]
    pub spill: UncheckedAccount<'info>,
    /// CHECK: the upgrade-authority PDA; signs the loader CPI.
    #[account(
        seeds = [UPGRADE_AUTHORITY_SEED, managed_program.program.as_ref()],
        bump = managed_program.upgrade_authority_bump
    )]
    pub upgrade_authority: UncheckedAccount<'info>,
    pub rent: Sysvar<'info, Rent>,
    pub clock: Sysvar<'info, Clock>,
    /// CHECK: the upgradeable loader.
    #[account(address = loader::LOADER_ID)]
    pub bpf_loader_upgradeable: UncheckedAccount<'info>,
}

pub fn handle_execute_upgrade(ctx: Context<ExecuteUpgrade>) -> Result<()> {
    let a = &ctx.accounts;
    let p = &a.proposal;
    let clock = Clock::get()?;
    require!(
        matches!(p.kind, ProposalKind::Upgrade | ProposalKind::Rollback),
        UpgradeManagerError::WrongProposalKind
    );
    p.check_executable(&a.governance, clock.unix_timestamp)?;
    // Leaving the lock out would strand its rent and keep the buffer's address locked forever.
    match &a.buffer_lock {
        Some(lock) => require_keys_eq!(
            lock.key(),
            BufferLock::address(&p.buffer, ctx.program_id).0,
            UpgradeManagerError::ProposalAccountMismatch
        ),
        None => require!(
            p.layout_version < BUFFER_LOCK_LAYOUT_VERSION,
            UpgradeManagerError::ProposalAccountMismatch
        ),
    }
    let (hash, _) = loader::buffer_elf(&a.buffer)?;
    require!(
        hash == p.buffer_hash,
        UpgradeManagerError::BufferHashMismatch
    );
    require!(
        loader::extend_needed(&a.programdata, a.buffer.data_len()) == 0,
        UpgradeManagerError::ProgramDataTooSmall
    );
    let rollback = p.kind == ProposalKind::Rollback;
    if rollback {
        require!(
            a.managed_program.knows_release(&hash),
            UpgradeManagerError::RollbackHashUnknown
        );
    }

    let program = a.managed_program.program;
    let ix = loader_ix::upgrade(
        &program,
        &a.buffer.key(),
        &a.upgrade_authority.key(),
        &a.spill.key(),
    );
    loader::invoke_loader(
        ix,
        &[
            a.programdata.to_account_info(),
            a.target_program.to_account_info(),
            a.buffer.to_account_info(),
            a.spill.to_account_info(),
            a.rent.to_account_info(),
            a.clock.to_account_info(),
            a.upgrade_authority.to_account_info(),
            a.bpf_loader_upgradeable.to_account_info(),
        ],
        &[
            UPGRADE_AUTHORITY_SEED,
            program.as_ref(),
            &[a.managed_program.upgrade_authority_bump],
        ],
    )?;

    // Verify success: the programdata now holds exactly the approved binary. Only a loader
    // that wrote something other than the buffer could fail this, so it shares the code of the
    // buffer check rather than having one no input can produce.
    require!(
        loader::programdata_hash(&ctx.accounts.programdata)? == hash,
        UpgradeManagerError::BufferHashMismatch
    );
    if let Some(lock) = &ctx.accounts.buffer_lock {
        // Another proposal's lock (a legacy proposal of the same buffer) is not ours to free.
        if lock.proposal == ctx.accounts.proposal.key() {
            require_keys_eq!(
                lock.payer,
                ctx.accounts.proposer.key(),
                UpgradeManagerError::ProposalAccountMismatch
            );
            lock.close(ctx.accounts.proposer.to_account_info())?;
        }
    }

    let executor = ctx.accounts.executor.key();
    let spill = ctx.accounts.spill.key();
    let buffer = ctx.accounts.buffer.key();
    let governance = ctx.accounts.governance.key();
    let mp = &mut ctx.accounts.managed_program;
    let previous_hash = mp.current_hash;
    mp.record_release(Release {
        hash,
        slot: clock.slot,
        deployed_at: clock.unix_timestamp,
    });
    let release_count = mp.release_count;
    let p = &mut ctx.accounts.proposal;
    p.status = ProposalStatus::Executed;
    p.executed_at = clock.unix_timestamp;
    p.executed_slot = clock.slot;

    let executed = ProposalExecuted {
        schema_version: EVENT_SCHEMA_VERSION,
        governance,
        proposal: p.key(),
        kind: p.kind,
        executor,
        eta: p.eta,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    let upgraded = ProgramUpgraded {
        schema_version: EVENT_SCHEMA_VERSION,
        governance,
        proposal: p.key(),
        program,
        buffer,
        spill,
        executor,
        rollback,
        previous_hash,
        new_hash: hash,
        release_count,
        deploy_slot: clock.slot,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    emit_cpi!(executed);
    emit_cpi!(upgraded);
    Ok(())
}

use anchor_lang::prelude::*;
use anchor_lang::solana_program::{
    instruction::{AccountMeta, Instruction},
    program::invoke_signed,
};

use crate::constants::*;
use crate::errors::UpgradeManagerError;
use crate::events::{MigrationBatchProcessed, MigrationCompleted};
use crate::state::*;

/// Accounts of `migrate_batch`: anyone may migrate accounts of an active job. The accounts to
/// migrate follow as remaining accounts, writable.
///
/// For each, the target program's migrate instruction is invoked with the job's instruction data
/// and the accounts `[account (writable), migration authority (signer), payer (writable, signer),
/// system program]`.
#[event_cpi]
#[derive(Accounts)]
pub struct MigrateBatch<'info> {
    #[account(mut)]
    pub payer: Signer<'info>,
    #[account(mut)]
    pub job: Account<'info, MigrationJob>,
    /// CHECK: the job's target program.
    #[account(
        executable,
        address = job.program @ UpgradeManagerError::TargetProgramMismatch
    )]
    pub target_program: UncheckedAccount<'info>,
    /// CHECK: the target's programdata; its binary must still be the one the job requires.
    #[account(address = job.programdata @ UpgradeManagerError::ProgramDataMismatch)]
    pub programdata: UncheckedAccount<'info>,
    /// CHECK: the migration-authority PDA the target program trusts; signs the CPI.
    #[account(seeds = [MIGRATION_AUTHORITY_SEED, job.program.as_ref()], bump)]
    pub migration_authority: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

fn version_byte(account: &AccountInfo, offset: usize) -> Result<u8> {
    let data = account.try_borrow_data()?;
    data.get(offset)
        .copied()
        .ok_or_else(|| error!(UpgradeManagerError::AccountTooSmall))
}

pub fn handle_migrate_batch<'info>(
    ctx: Context<'_, '_, 'info, 'info, MigrateBatch<'info>>,
) -> Result<()> {
    let clock = Clock::get()?;
    let job = &ctx.accounts.job;
    require!(
        job.status == MigrationStatus::Active,
        UpgradeManagerError::MigrationNotActive
    );
    let spec = job.spec.clone();
    crate::loader::require_deployed(&ctx.accounts.programdata, &spec.required_hash)?;
    let offset = spec.version_offset as usize;
    let program = job.program;
    let bump = [ctx.bumps.migration_authority];
    let seeds: &[&[u8]] = &[MIGRATION_AUTHORITY_SEED, program.as_ref(), &bump];

    let mut migrated: u32 = 0;
    let mut skipped: u32 = 0;
    for (i, account) in ctx.remaining_accounts.iter().enumerate() {
        require!(
            !ctx.remaining_accounts[..i]
                .iter()
                .any(|a| a.key == account.key),
            UpgradeManagerError::DuplicateAccount
        );
        require_keys_eq!(
            *account.owner,
            program,
            UpgradeManagerError::WrongAccountOwner
        );
        let version = version_byte(account, offset)?;
        if version == spec.to_version {
            skipped += 1;
            continue;
        }
        require!(
            version == spec.from_version,
            UpgradeManagerError::WrongAccountVersion
        );
        if spec.data_size != 0 {
            require!(
                account.data_len() as u64 == spec.data_size,
                UpgradeManagerError::AccountFilterMismatch
            );
        }
        if let Some(disc) = spec.discriminator {
            let data = account.try_borrow_data()?;
            require!(
                data.get(..8) == Some(&disc[..]),
                UpgradeManagerError::AccountFilterMismatch
            );
        }

        let ix = Instruction {
            program_id: program,
            accounts: vec![
                AccountMeta::new(*account.key, false),
                AccountMeta::new_readonly(ctx.accounts.migration_authority.key(), true),
                AccountMeta::new(ctx.accounts.payer.key(), true),
                AccountMeta::new_readonly(ctx.accounts.system_program.key(), false),
            ],
            data: spec.migrate_ix_data.clone(),
        };
        invoke_signed(
            &ix,
            &[
                account.clone(),
                ctx.accounts.migration_authority.to_account_info(),
                ctx.accounts.payer.to_account_info(),
                ctx.accounts.system_program.to_account_info(),
                ctx.accounts.target_program.to_account_info(),
            ],
            &[seeds],
        )?;
        require!(
            version_byte(account, offset)? == spec.to_version,
            UpgradeManagerError::MigrationNotApplied
        );
        migrated += 1;
    }

    let job = &mut ctx.accounts.job;
    job.migrated_count = job
        .migrated_count
        .checked_add(migrated as u64)
        .ok_or_else(|| error!(UpgradeManagerError::Overflow))?;
    require!(
        job.migrated_count <= spec.total_accounts,
        UpgradeManagerError::MigrationTotalExceeded
    );
    job.batch_count = job.batch_count.saturating_add(1);
    let completed = job.migrated_count == spec.total_accounts;
    if completed {
        job.status = MigrationStatus::Completed;
        job.completed_at = clock.unix_timestamp;
        job.completed_slot = clock.slot;
    }

    let batch = MigrationBatchProcessed {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: job.governance,
        job: job.key(),
        program,
        actor: ctx.accounts.payer.key(),
        batch_index: job.batch_count - 1,
        migrated_in_batch: migrated,
        skipped_in_batch: skipped,
        migrated: job.migrated_count,
        total: spec.total_accounts,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    let done = MigrationCompleted {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: job.governance,
        job: job.key(),
        program,
        migrated: job.migrated_count,
        total: spec.total_accounts,
        batches: job.batch_count,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    emit_cpi!(batch);
    if completed {
        emit_cpi!(done);
    }
    Ok(())
}

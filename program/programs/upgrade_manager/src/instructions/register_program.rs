use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::UpgradeManagerError;
use crate::events::ProgramRegistered;
use crate::loader::{self, loader_ix};
use crate::state::{Governance, ManagedProgram, Release};

#[event_cpi]
#[derive(Accounts)]
pub struct RegisterProgram<'info> {
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The program's upgrade authority now; it hands the program to the governance.
    pub current_authority: Signer<'info>,
    pub governance: Account<'info, Governance>,
    #[account(
        init,
        payer = payer,
        space = 8 + ManagedProgram::INIT_SPACE,
        seeds = [MANAGED_PROGRAM_SEED, target_program.key().as_ref()],
        bump
    )]
    pub managed_program: Account<'info, ManagedProgram>,
    /// CHECK: verified to be an upgradeable program pointing at `programdata`.
    pub target_program: UncheckedAccount<'info>,
    /// CHECK: verified against the program account and the loader's state.
    #[account(mut)]
    pub programdata: UncheckedAccount<'info>,
    /// CHECK: PDA that becomes the upgrade authority; signs the loader CPI.
    #[account(seeds = [UPGRADE_AUTHORITY_SEED, target_program.key().as_ref()], bump)]
    pub upgrade_authority: UncheckedAccount<'info>,
    /// CHECK: the upgradeable loader.
    #[account(address = loader::LOADER_ID)]
    pub bpf_loader_upgradeable: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

pub fn handle_register_program(ctx: Context<RegisterProgram>) -> Result<()> {
    let a = &ctx.accounts;
    let programdata_key = loader::program_programdata(&a.target_program)?;
    require_keys_eq!(
        programdata_key,
        a.programdata.key(),
        UpgradeManagerError::ProgramDataMismatch
    );
    let (deploy_slot, authority) = loader::programdata_state(&a.programdata)?;
    require!(
        authority == Some(a.current_authority.key()),
        UpgradeManagerError::WrongCurrentAuthority
    );
    let deployed_hash = loader::programdata_hash(&a.programdata)?;
    let program_key = a.target_program.key();

    let ix = loader_ix::set_upgrade_authority_checked(
        &program_key,
        &a.current_authority.key(),
        &a.upgrade_authority.key(),
    );
    let bump = [ctx.bumps.upgrade_authority];
    loader::invoke_loader(
        ix,
        &[
            a.programdata.to_account_info(),
            a.current_authority.to_account_info(),
            a.upgrade_authority.to_account_info(),
            a.bpf_loader_upgradeable.to_account_info(),
        ],
        &[UPGRADE_AUTHORITY_SEED, program_key.as_ref(), &bump],
    )?;

    let clock = Clock::get()?;
    let (_, migration_authority_bump) = Pubkey::find_program_address(
        &[MIGRATION_AUTHORITY_SEED, program_key.as_ref()],
        ctx.program_id,
    );
    let mp = &mut ctx.accounts.managed_program;
    mp.layout_version = ACCOUNT_LAYOUT_VERSION;
    mp.bump = ctx.bumps.managed_program;
    mp.upgrade_authority_bump = ctx.bumps.upgrade_authority;
    mp.migration_authority_bump = migration_authority_bump;
    mp.governance = ctx.accounts.governance.key();
    mp.program = program_key;
    mp.programdata = programdata_key;
    mp.upgrade_authority = ctx.accounts.upgrade_authority.key();
    mp.releases = Vec::with_capacity(MAX_RELEASES);
    mp.record_release(Release {
        hash: deployed_hash,
        slot: deploy_slot,
        deployed_at: clock.unix_timestamp,
    });

    let event = ProgramRegistered {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: mp.governance,
        managed_program: mp.key(),
        program: program_key,
        programdata: programdata_key,
        upgrade_authority: mp.upgrade_authority,
        actor: ctx.accounts.current_authority.key(),
        deployed_hash,
        last_deploy_slot: mp.last_deploy_slot,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    emit_cpi!(event);
    Ok(())
}

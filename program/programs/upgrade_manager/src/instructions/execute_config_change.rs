use anchor_lang::prelude::*;

use crate::constants::{EVENT_SCHEMA_VERSION, UPGRADE_AUTHORITY_SEED};
use crate::errors::UpgradeManagerError;
use crate::events::{ConfigChanged, ProposalExecuted};
use crate::loader::{self, loader_ix};
use crate::state::*;

/// Accounts of `execute_config_change`: anyone may execute an approved config change whose
/// timelock has run. Executing bumps `member_set_seqno`, making other approvals stale.
#[event_cpi]
#[derive(Accounts)]
pub struct ExecuteConfigChange<'info> {
    pub executor: Signer<'info>,
    #[account(mut)]
    pub governance: Account<'info, Governance>,
    #[account(mut, has_one = governance @ UpgradeManagerError::GovernanceMismatch)]
    pub proposal: Account<'info, Proposal>,
    /// The managed program a change such as `RevokeRelease` applies to; absent otherwise.
    #[account(mut, has_one = governance @ UpgradeManagerError::GovernanceMismatch)]
    pub managed_program: Option<Account<'info, ManagedProgram>>,
    /// The migration job an `ExtendMigration` or `CancelMigration` applies to; absent otherwise.
    #[account(mut, has_one = governance @ UpgradeManagerError::GovernanceMismatch)]
    pub migration_job: Option<Account<'info, MigrationJob>>,
    /// CHECK: for `SetUpgradeAuthority`: the managed program's programdata.
    #[account(mut)]
    pub programdata: Option<UncheckedAccount<'info>>,
    /// CHECK: for `SetUpgradeAuthority`: the program's upgrade-authority PDA; signs the loader CPI.
    pub upgrade_authority: Option<UncheckedAccount<'info>>,
    /// CHECK: for `SetUpgradeAuthority` to a key: that key (it need not sign).
    pub new_authority: Option<UncheckedAccount<'info>>,
    /// CHECK: the upgradeable loader.
    #[account(address = loader::LOADER_ID)]
    pub bpf_loader_upgradeable: Option<UncheckedAccount<'info>>,
}

/// Calls the loader's `SetAuthority` on the managed program's programdata, signed by its
/// upgrade-authority PDA: the program goes to `new_authority`, or becomes immutable.
struct HandOver<'a, 'info> {
    managed_program: Option<&'a ManagedProgram>,
    programdata: Option<&'a UncheckedAccount<'info>>,
    upgrade_authority: Option<&'a UncheckedAccount<'info>>,
    new_authority: Option<&'a UncheckedAccount<'info>>,
    bpf_loader_upgradeable: Option<&'a UncheckedAccount<'info>>,
}

fn hand_over(a: HandOver, program: Pubkey, new_authority: Option<Pubkey>) -> Result<()> {
    let mismatch = || error!(UpgradeManagerError::ProposalAccountMismatch);
    let mp = a.managed_program.ok_or_else(mismatch)?;
    require_keys_eq!(
        mp.program,
        program,
        UpgradeManagerError::ProposalAccountMismatch
    );
    let programdata = a.programdata.ok_or_else(mismatch)?;
    require_keys_eq!(
        programdata.key(),
        mp.programdata,
        UpgradeManagerError::ProgramDataMismatch
    );
    let authority = a.upgrade_authority.ok_or_else(mismatch)?;
    require_keys_eq!(
        authority.key(),
        mp.upgrade_authority,
        UpgradeManagerError::ProposalAccountMismatch
    );
    let bpf_loader = a.bpf_loader_upgradeable.ok_or_else(mismatch)?;
    let mut infos = vec![programdata.to_account_info(), authority.to_account_info()];
    if let Some(new) = new_authority {
        let account = a.new_authority.ok_or_else(mismatch)?;
        require_keys_eq!(
            account.key(),
            new,
            UpgradeManagerError::ProposalAccountMismatch
        );
        infos.push(account.to_account_info());
    }
    infos.push(bpf_loader.to_account_info());
    let ix = loader_ix::set_upgrade_authority(&program, &authority.key(), new_authority.as_ref());
    loader::invoke_loader(
        ix,
        &infos,
        &[
            UPGRADE_AUTHORITY_SEED,
            program.as_ref(),
            &[mp.upgrade_authority_bump],
        ],
    )
}

pub fn handle_execute_config_change(ctx: Context<ExecuteConfigChange>) -> Result<()> {
    let clock = Clock::get()?;
    let p = &mut ctx.accounts.proposal;
    let gov = &mut ctx.accounts.governance;
    require!(
        p.kind == ProposalKind::ConfigChange,
        UpgradeManagerError::WrongProposalKind
    );
    p.check_executable(gov, clock.unix_timestamp)?;
    let change = p
        .config_change
        .ok_or_else(|| error!(UpgradeManagerError::WrongProposalKind))?;
    change.apply(gov)?;
    if let ConfigChange::RevokeRelease { program, hash } = change {
        let mp = ctx
            .accounts
            .managed_program
            .as_mut()
            .ok_or_else(|| error!(UpgradeManagerError::ProposalAccountMismatch))?;
        require_keys_eq!(
            mp.program,
            program,
            UpgradeManagerError::ProposalAccountMismatch
        );
        ConfigChange::revoke_release(mp, &hash)?;
    }
    if let ConfigChange::SetUpgradeAuthority {
        program,
        new_authority,
    } = change
    {
        hand_over(
            HandOver {
                managed_program: ctx.accounts.managed_program.as_deref(),
                programdata: ctx.accounts.programdata.as_ref(),
                upgrade_authority: ctx.accounts.upgrade_authority.as_ref(),
                new_authority: ctx.accounts.new_authority.as_ref(),
                bpf_loader_upgradeable: ctx.accounts.bpf_loader_upgradeable.as_ref(),
            },
            program,
            new_authority,
        )?;
    }
    if let Some(key) = change.job() {
        let job = ctx
            .accounts
            .migration_job
            .as_mut()
            .ok_or_else(|| error!(UpgradeManagerError::ProposalAccountMismatch))?;
        require_keys_eq!(job.key(), key, UpgradeManagerError::ProposalAccountMismatch);
        change.apply_to_job(job)?;
    }
    // Only a change of members, thresholds or delays makes other approvals stale.
    if change.changes_governance() {
        gov.member_set_seqno = gov
            .member_set_seqno
            .checked_add(1)
            .ok_or_else(|| error!(UpgradeManagerError::Overflow))?;
    }
    p.status = ProposalStatus::Executed;
    p.executed_at = clock.unix_timestamp;
    p.executed_slot = clock.slot;

    let executor = ctx.accounts.executor.key();
    let executed = ProposalExecuted {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: gov.key(),
        proposal: p.key(),
        kind: p.kind,
        executor,
        eta: p.eta,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    let changed = ConfigChanged {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: gov.key(),
        proposal: p.key(),
        change,
        executor,
        members: gov.members.clone(),
        threshold: gov.threshold,
        rollback_threshold: gov.rollback_threshold,
        timelock_seconds: gov.timelock_seconds,
        rollback_timelock_seconds: gov.rollback_timelock_seconds,
        grace_period_seconds: gov.grace_period_seconds,
        spill: gov.spill,
        member_set_seqno: gov.member_set_seqno,
        voting_period_seconds: gov.voting_period_seconds,
        rent_collector: gov.rent_collector_option(),
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    emit_cpi!(executed);
    emit_cpi!(changed);
    Ok(())
}

use anchor_lang::prelude::*;

use crate::constants::EVENT_SCHEMA_VERSION;
use crate::errors::UpgradeManagerError;
use crate::events::{ConfigChanged, ProposalExecuted};
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
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    };
    emit_cpi!(executed);
    emit_cpi!(changed);
    Ok(())
}

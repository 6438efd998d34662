use anchor_lang::prelude::*;

use crate::constants::*;
use crate::events::GovernanceInitialized;
use crate::state::Governance;

/// Arguments of `initialize_governance`; `None` delays take the defaults.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct InitializeGovernanceArgs {
    pub members: Vec<Pubkey>,
    pub threshold: u8,
    pub rollback_threshold: u8,
    pub timelock_seconds: Option<i64>,
    pub rollback_timelock_seconds: Option<i64>,
    pub grace_period_seconds: Option<i64>,
    pub spill: Pubkey,
    /// Seconds an active proposal may gather approvals; `None` takes the default (14 days).
    pub voting_period_seconds: Option<i64>,
    /// Receives the rent of closed proposals and migration jobs; `None`: whoever paid for each.
    pub rent_collector: Option<Pubkey>,
}

#[event_cpi]
#[derive(Accounts)]
pub struct InitializeGovernance<'info> {
    #[account(mut)]
    pub payer: Signer<'info>,
    /// One-time key that makes the governance address unique.
    pub create_key: Signer<'info>,
    #[account(
        init,
        payer = payer,
        space = 8 + Governance::INIT_SPACE,
        seeds = [GOVERNANCE_SEED, create_key.key().as_ref()],
        bump
    )]
    pub governance: Account<'info, Governance>,
    pub system_program: Program<'info, System>,
}

pub fn handle_initialize_governance(
    ctx: Context<InitializeGovernance>,
    args: InitializeGovernanceArgs,
) -> Result<()> {
    let timelock = args.timelock_seconds.unwrap_or(DEFAULT_TIMELOCK_SECONDS);
    let rollback_timelock = args
        .rollback_timelock_seconds
        .unwrap_or(DEFAULT_ROLLBACK_TIMELOCK_SECONDS);
    let grace = args
        .grace_period_seconds
        .unwrap_or(DEFAULT_GRACE_PERIOD_SECONDS);
    let voting_period = args
        .voting_period_seconds
        .unwrap_or(DEFAULT_VOTING_PERIOD_SECONDS);
    Governance::validate_voting_period(voting_period)?;
    Governance::validate(
        &args.members,
        args.threshold,
        args.rollback_threshold,
        timelock,
        rollback_timelock,
        grace,
    )?;

    let gov = &mut ctx.accounts.governance;
    gov.layout_version = ACCOUNT_LAYOUT_VERSION;
    gov.bump = ctx.bumps.governance;
    gov.create_key = ctx.accounts.create_key.key();
    gov.members = args.members;
    gov.threshold = args.threshold;
    gov.rollback_threshold = args.rollback_threshold;
    gov.timelock_seconds = timelock;
    gov.rollback_timelock_seconds = rollback_timelock;
    gov.grace_period_seconds = grace;
    gov.spill = args.spill;
    gov.member_set_seqno = 0;
    gov.proposal_count = 0;
    gov.voting_period_seconds = voting_period;
    gov.rent_collector = args.rent_collector.unwrap_or_default();
    gov.check_floors(None)?;

    let clock = Clock::get()?;
    let event = GovernanceInitialized {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: gov.key(),
        create_key: gov.create_key,
        actor: ctx.accounts.payer.key(),
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
    emit_cpi!(event);
    Ok(())
}

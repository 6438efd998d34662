use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::UpgradeManagerError;
use crate::events::ProposalCreated;
use crate::loader;
use crate::state::*;

/// Accounts of `propose_upgrade` and `propose_rollback`.
#[event_cpi]
#[derive(Accounts)]
pub struct ProposeUpgrade<'info> {
    #[account(mut)]
    pub proposer: Signer<'info>,
    #[account(mut)]
    pub governance: Account<'info, Governance>,
    #[account(has_one = governance @ UpgradeManagerError::GovernanceMismatch)]
    pub managed_program: Account<'info, ManagedProgram>,
    /// CHECK: the managed program's programdata, sized against the buffer.
    #[account(address = managed_program.programdata @ UpgradeManagerError::ProgramDataMismatch)]
    pub programdata: UncheckedAccount<'info>,
    /// CHECK: verified to be a loader buffer locked to the program's upgrade-authority PDA.
    pub buffer: UncheckedAccount<'info>,
    /// CHECK: the buffer's lock PDA, created here; one that exists means the buffer already
    /// backs an open proposal (`BufferInUse`).
    #[account(mut, seeds = [BUFFER_LOCK_SEED, buffer.key().as_ref()], bump)]
    pub buffer_lock: UncheckedAccount<'info>,
    #[account(
        init,
        payer = proposer,
        space = 8 + Proposal::INIT_SPACE,
        seeds = [PROPOSAL_SEED, governance.key().as_ref(), &governance.proposal_count.to_le_bytes()],
        bump
    )]
    pub proposal: Account<'info, Proposal>,
    pub system_program: Program<'info, System>,
}

/// Accounts of `propose_config_change`.
#[event_cpi]
#[derive(Accounts)]
pub struct ProposeConfigChange<'info> {
    #[account(mut)]
    pub proposer: Signer<'info>,
    #[account(mut)]
    pub governance: Account<'info, Governance>,
    #[account(
        init,
        payer = proposer,
        space = 8 + Proposal::INIT_SPACE,
        seeds = [PROPOSAL_SEED, governance.key().as_ref(), &governance.proposal_count.to_le_bytes()],
        bump
    )]
    pub proposal: Account<'info, Proposal>,
    pub system_program: Program<'info, System>,
}

/// Accounts of `propose_migration`.
#[event_cpi]
#[derive(Accounts)]
pub struct ProposeMigration<'info> {
    #[account(mut)]
    pub proposer: Signer<'info>,
    #[account(mut)]
    pub governance: Account<'info, Governance>,
    #[account(has_one = governance @ UpgradeManagerError::GovernanceMismatch)]
    pub managed_program: Account<'info, ManagedProgram>,
    #[account(
        init,
        payer = proposer,
        space = 8 + Proposal::INIT_SPACE,
        seeds = [PROPOSAL_SEED, governance.key().as_ref(), &governance.proposal_count.to_le_bytes()],
        bump
    )]
    pub proposal: Account<'info, Proposal>,
    pub system_program: Program<'info, System>,
}

/// Fills a new proposal's common fields and advances the governance's counter.
fn init_proposal(
    gov: &mut Account<Governance>,
    proposal: &mut Account<Proposal>,
    bump: u8,
    proposer: Pubkey,
    kind: ProposalKind,
    metadata_uri: String,
    build_hash: [u8; 32],
    clock: &Clock,
) -> Result<()> {
    gov.require_member(&proposer)?;
    Proposal::validate_metadata(&metadata_uri)?;
    proposal.layout_version = ACCOUNT_LAYOUT_VERSION;
    proposal.bump = bump;
    proposal.governance = gov.key();
    proposal.index = gov.proposal_count;
    proposal.kind = kind;
    proposal.metadata_uri = metadata_uri;
    proposal.build_hash = build_hash;
    proposal.proposer = proposer;
    proposal.member_set_seqno = gov.member_set_seqno;
    proposal.status = ProposalStatus::Active;
    proposal.created_at = clock.unix_timestamp;
    proposal.created_slot = clock.slot;
    gov.proposal_count = gov
        .proposal_count
        .checked_add(1)
        .ok_or_else(|| error!(UpgradeManagerError::Overflow))?;
    Ok(())
}

fn created_event(p: &Proposal, gov: &Governance, key: Pubkey, clock: &Clock) -> ProposalCreated {
    ProposalCreated {
        schema_version: EVENT_SCHEMA_VERSION,
        governance: p.governance,
        proposal: key,
        index: p.index,
        kind: p.kind,
        program: p.program,
        buffer: p.buffer,
        buffer_hash: p.buffer_hash,
        buffer_elf_len: p.buffer_elf_len,
        extend_bytes_needed: p.extend_bytes_needed,
        config_change: p.config_change,
        migration: p.migration.clone(),
        metadata_uri: p.metadata_uri.clone(),
        build_hash: p.build_hash,
        proposer: p.proposer,
        threshold: p.threshold(gov),
        member_set_seqno: p.member_set_seqno,
        timestamp: clock.unix_timestamp,
        slot: clock.slot,
    }
}

fn propose_binary(
    ctx: Context<ProposeUpgrade>,
    kind: ProposalKind,
    metadata_uri: String,
    build_hash: [u8; 32],
) -> Result<()> {
    let a = &ctx.accounts;
    let mp = &a.managed_program;
    require!(
        loader::buffer_authority(&a.buffer)? == Some(mp.upgrade_authority),
        UpgradeManagerError::BufferAuthorityNotLocked
    );
    let (buffer_hash, buffer_elf_len) = loader::buffer_elf(&a.buffer)?;
    if kind == ProposalKind::Rollback {
        require!(
            buffer_hash != mp.current_hash,
            UpgradeManagerError::RollbackToCurrent
        );
        require!(
            mp.knows_release(&buffer_hash),
            UpgradeManagerError::RollbackHashUnknown
        );
    }
    let extend_bytes_needed = loader::extend_needed(&a.programdata, a.buffer.data_len());
    let program = mp.program;
    let buffer = a.buffer.key();

    let clock = Clock::get()?;
    let accounts = &mut *ctx.accounts;
    init_proposal(
        &mut accounts.governance,
        &mut accounts.proposal,
        ctx.bumps.proposal,
        accounts.proposer.key(),
        kind,
        metadata_uri,
        build_hash,
        &clock,
    )?;
    BufferLock::create(
        &accounts.buffer_lock.to_account_info(),
        ctx.bumps.buffer_lock,
        buffer,
        accounts.proposal.key(),
        &accounts.proposer.to_account_info(),
        &accounts.system_program.to_account_info(),
        ctx.program_id,
    )?;
    let p = &mut accounts.proposal;
    p.program = program;
    p.buffer = buffer;
    p.buffer_hash = buffer_hash;
    p.buffer_elf_len = buffer_elf_len;
    p.extend_bytes_needed = extend_bytes_needed;

    let event = created_event(p, &accounts.governance, p.key(), &clock);
    emit_cpi!(event);
    Ok(())
}

pub fn handle_propose_upgrade(
    ctx: Context<ProposeUpgrade>,
    metadata_uri: String,
    build_hash: [u8; 32],
) -> Result<()> {
    propose_binary(ctx, ProposalKind::Upgrade, metadata_uri, build_hash)
}

pub fn handle_propose_rollback(
    ctx: Context<ProposeUpgrade>,
    metadata_uri: String,
    build_hash: [u8; 32],
) -> Result<()> {
    propose_binary(ctx, ProposalKind::Rollback, metadata_uri, build_hash)
}

pub fn handle_propose_config_change(
    ctx: Context<ProposeConfigChange>,
    change: ConfigChange,
    metadata_uri: String,
) -> Result<()> {
    // Reject a change that could never execute under the current settings.
    let mut preview = (*ctx.accounts.governance).clone();
    change.apply(&mut preview)?;

    let clock = Clock::get()?;
    let accounts = &mut *ctx.accounts;
    init_proposal(
        &mut accounts.governance,
        &mut accounts.proposal,
        ctx.bumps.proposal,
        accounts.proposer.key(),
        ProposalKind::ConfigChange,
        metadata_uri,
        [0; 32],
        &clock,
    )?;
    let p = &mut accounts.proposal;
    p.config_change = Some(change);
    p.program = change.program().unwrap_or_default();

    let event = created_event(p, &accounts.governance, p.key(), &clock);
    emit_cpi!(event);
    Ok(())
}

pub fn handle_propose_migration(
    ctx: Context<ProposeMigration>,
    spec: MigrationSpec,
    metadata_uri: String,
) -> Result<()> {
    require!(
        spec.from_version != spec.to_version,
        UpgradeManagerError::InvalidMigrationVersions
    );
    require!(
        spec.migrate_ix_data.len() <= MAX_MIGRATE_IX_DATA_LEN,
        UpgradeManagerError::MigrateIxDataTooLong
    );
    let program = ctx.accounts.managed_program.program;

    let clock = Clock::get()?;
    let accounts = &mut *ctx.accounts;
    init_proposal(
        &mut accounts.governance,
        &mut accounts.proposal,
        ctx.bumps.proposal,
        accounts.proposer.key(),
        ProposalKind::Migration,
        metadata_uri,
        [0; 32],
        &clock,
    )?;
    let p = &mut accounts.proposal;
    p.program = program;
    p.migration = Some(spec);

    let event = created_event(p, &accounts.governance, p.key(), &clock);
    emit_cpi!(event);
    Ok(())
}

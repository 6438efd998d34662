use anchor_lang::prelude::*;

use crate::constants::MAX_METADATA_URI_LEN;
use crate::errors::UpgradeManagerError;
use crate::state::{Governance, ManagedProgram, MigrationJob, MigrationStatus};

/// What a proposal does when executed.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug, InitSpace)]
pub enum ProposalKind {
    /// Replace the program's binary with the buffer's.
    Upgrade,
    /// Return to a binary from the release history; uses the rollback threshold and timelock.
    Rollback,
    /// Change members, thresholds, timelocks or the spill account.
    ConfigChange,
    /// Start an account-state migration job.
    Migration,
}

/// Where a proposal is in its life.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug, InitSpace)]
pub enum ProposalStatus {
    Active,
    Approved,
    Executed,
    Cancelled,
    Expired,
    /// More members rejected it than could still be spared for it to pass.
    Rejected,
}

/// A change to the governance itself.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug, InitSpace)]
pub enum ConfigChange {
    AddMember {
        member: Pubkey,
    },
    RemoveMember {
        member: Pubkey,
    },
    SetThreshold {
        threshold: u8,
    },
    SetRollbackThreshold {
        threshold: u8,
    },
    SetTimelock {
        seconds: i64,
    },
    SetRollbackTimelock {
        seconds: i64,
    },
    SetGracePeriod {
        seconds: i64,
    },
    SetSpill {
        spill: Pubkey,
    },
    /// Removes a binary from a managed program's release history, so no rollback can return
    /// to it (a release with a known vulnerability). The binary deployed now cannot be revoked.
    RevokeRelease {
        program: Pubkey,
        hash: [u8; 32],
    },
    /// Raises a migration job's total by `additional_accounts`, reopening it if the count had
    /// completed it while accounts of the old version remained.
    ExtendMigration {
        job: Pubkey,
        additional_accounts: u64,
    },
    /// Stops an active migration job for good.
    CancelMigration {
        job: Pubkey,
    },
    /// Sets how long an active proposal may gather approvals before it expires.
    SetVotingPeriod {
        seconds: i64,
    },
    /// The way out: hands a managed program's upgrade authority to `new_authority`, or makes the
    /// program immutable when it is `None`. The governance no longer controls it afterwards.
    SetUpgradeAuthority {
        program: Pubkey,
        new_authority: Option<Pubkey>,
    },
    /// Sets who receives the rent of closed proposals and migration jobs; `None`: whoever paid
    /// for each account.
    SetRentCollector {
        rent_collector: Option<Pubkey>,
    },
}

impl ConfigChange {
    /// Applies the change to `gov` and validates the result, floors included.
    pub fn apply(&self, gov: &mut Governance) -> Result<()> {
        let before = gov.clone();
        match *self {
            ConfigChange::AddMember { member } => {
                require!(
                    gov.member_index(&member).is_none(),
                    UpgradeManagerError::MemberAlreadyExists
                );
                gov.members.push(member);
            }
            ConfigChange::RemoveMember { member } => {
                let i = gov
                    .member_index(&member)
                    .ok_or_else(|| error!(UpgradeManagerError::MemberNotFound))?;
                gov.members.remove(i);
                require!(
                    gov.threshold as usize <= gov.members.len()
                        && gov.rollback_threshold as usize <= gov.members.len(),
                    UpgradeManagerError::ThresholdExceedsMembers
                );
            }
            ConfigChange::SetThreshold { threshold } => gov.threshold = threshold,
            ConfigChange::SetRollbackThreshold { threshold } => gov.rollback_threshold = threshold,
            ConfigChange::SetTimelock { seconds } => gov.timelock_seconds = seconds,
            ConfigChange::SetRollbackTimelock { seconds } => {
                gov.rollback_timelock_seconds = seconds
            }
            ConfigChange::SetGracePeriod { seconds } => gov.grace_period_seconds = seconds,
            ConfigChange::SetSpill { spill } => gov.spill = spill,
            ConfigChange::SetVotingPeriod { seconds } => {
                Governance::validate_voting_period(seconds)?;
                gov.voting_period_seconds = seconds;
            }
            ConfigChange::SetRentCollector { rent_collector } => {
                gov.rent_collector = rent_collector.unwrap_or_default()
            }
            ConfigChange::ExtendMigration {
                additional_accounts,
                ..
            } => require!(
                additional_accounts > 0,
                UpgradeManagerError::InvalidMigrationExtension
            ),
            // Apply to a managed program or a migration job, not to the governance.
            ConfigChange::RevokeRelease { .. }
            | ConfigChange::CancelMigration { .. }
            | ConfigChange::SetUpgradeAuthority { .. } => {}
        }
        gov.validate_self()?;
        gov.check_floors(Some(&before))
    }

    /// The managed program the change applies to, if it applies to one.
    pub fn program(&self) -> Option<Pubkey> {
        match *self {
            ConfigChange::RevokeRelease { program, .. }
            | ConfigChange::SetUpgradeAuthority { program, .. } => Some(program),
            _ => None,
        }
    }

    /// The migration job the change applies to, if it applies to one.
    pub fn job(&self) -> Option<Pubkey> {
        match *self {
            ConfigChange::ExtendMigration { job, .. } | ConfigChange::CancelMigration { job } => {
                Some(job)
            }
            _ => None,
        }
    }

    /// Whether the change alters members, thresholds, delays or the spill account, so that
    /// approvals given before it no longer hold.
    pub fn changes_governance(&self) -> bool {
        self.program().is_none() && self.job().is_none()
    }

    /// Applies an `ExtendMigration` or `CancelMigration` to `job`.
    pub fn apply_to_job(&self, job: &mut MigrationJob) -> Result<()> {
        require!(
            job.status != MigrationStatus::Cancelled,
            UpgradeManagerError::MigrationNotActive
        );
        match *self {
            ConfigChange::ExtendMigration {
                additional_accounts,
                ..
            } => {
                job.spec.total_accounts = job
                    .spec
                    .total_accounts
                    .checked_add(additional_accounts)
                    .ok_or_else(|| error!(UpgradeManagerError::Overflow))?;
                job.status = MigrationStatus::Active;
                job.completed_at = 0;
                job.completed_slot = 0;
            }
            ConfigChange::CancelMigration { .. } => {
                require!(
                    job.status == MigrationStatus::Active,
                    UpgradeManagerError::MigrationNotActive
                );
                job.status = MigrationStatus::Cancelled;
            }
            _ => return err!(UpgradeManagerError::WrongProposalKind),
        }
        Ok(())
    }

    /// Removes `hash` from `mp`'s release history.
    pub fn revoke_release(mp: &mut ManagedProgram, hash: &[u8; 32]) -> Result<()> {
        require!(
            &mp.current_hash != hash,
            UpgradeManagerError::RevokeCurrentRelease
        );
        require!(mp.knows_release(hash), UpgradeManagerError::ReleaseNotFound);
        mp.releases.retain(|r| &r.hash != hash);
        Ok(())
    }
}

/// What a migration proposal starts.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, PartialEq, Eq, Debug, InitSpace)]
pub struct MigrationSpec {
    /// Version byte value of accounts still to migrate.
    pub from_version: u8,
    /// Version byte value after migration.
    pub to_version: u8,
    /// Offset of the version byte in the account data.
    pub version_offset: u32,
    /// Data size accounts must have before migration; 0 accepts any size.
    pub data_size: u64,
    /// Discriminator accounts must start with, if any.
    pub discriminator: Option<[u8; 8]>,
    /// Instruction data of the target program's migrate instruction.
    #[max_len(64)]
    pub migrate_ix_data: Vec<u8>,
    /// Accounts to migrate; the job completes when this many are migrated.
    pub total_accounts: u64,
    /// Hash of the binary the target must be running (sha256 of its programdata's ELF, as
    /// `solana-verify` computes it) when the job starts and when each batch runs: the binary
    /// that reads the new layout and creates accounts only in it.
    pub required_hash: [u8; 32],
}

/// A proposed upgrade, rollback, config change or migration.
/// PDA: `["proposal", governance, index (u64 LE)]`.
#[account]
#[derive(InitSpace)]
pub struct Proposal {
    pub layout_version: u8,
    pub bump: u8,
    pub governance: Pubkey,
    pub index: u64,
    pub kind: ProposalKind,
    /// Target program; the default key for config changes.
    pub program: Pubkey,
    /// Buffer holding the new binary; the default key when there is none.
    pub buffer: Pubkey,
    /// sha256 of the buffer's ELF (trailing zeros stripped), computed on chain at proposal time.
    pub buffer_hash: [u8; 32],
    /// Length of the ELF in the buffer.
    pub buffer_elf_len: u64,
    /// Bytes the programdata must grow by before the upgrade fits; 0 when it fits.
    pub extend_bytes_needed: u32,
    pub config_change: Option<ConfigChange>,
    pub migration: Option<MigrationSpec>,
    #[max_len(200)]
    pub metadata_uri: String,
    /// Build or commit hash the binary was made from.
    pub build_hash: [u8; 32],
    pub proposer: Pubkey,
    /// Bitmap over member slots of approvals given under `member_set_seqno`.
    pub approvals: u32,
    /// Bitmap over member slots of cancel votes given under `member_set_seqno`.
    pub cancel_votes: u32,
    /// The governance's `member_set_seqno` the bitmaps were given under.
    pub member_set_seqno: u64,
    pub status: ProposalStatus,
    pub created_at: i64,
    pub created_slot: u64,
    pub approved_at: i64,
    pub approved_slot: u64,
    /// Earliest execution time; 0 until approved.
    pub eta: i64,
    pub executed_at: i64,
    pub executed_slot: u64,
    /// Bitmap over member slots of rejections given under `member_set_seqno`.
    pub rejections: u32,
    pub reserved: [u8; 28],
}

impl Proposal {
    /// Approvals the proposal needs under `gov`.
    pub fn threshold(&self, gov: &Governance) -> u8 {
        match self.kind {
            ProposalKind::Rollback => gov.rollback_threshold,
            _ => gov.threshold,
        }
    }

    /// Timelock the proposal runs under `gov`.
    pub fn timelock(&self, gov: &Governance) -> i64 {
        match self.kind {
            ProposalKind::Rollback => gov.rollback_timelock_seconds,
            _ => gov.timelock_seconds,
        }
    }

    /// Number of approvals in the bitmap.
    pub fn approval_count(&self) -> u8 {
        self.approvals.count_ones() as u8
    }

    /// Whether the approvals were given under an older member set.
    pub fn is_stale(&self, gov: &Governance) -> bool {
        self.member_set_seqno != gov.member_set_seqno
    }

    /// Whether the proposal can still gather votes.
    pub fn is_open(&self) -> bool {
        matches!(
            self.status,
            ProposalStatus::Active | ProposalStatus::Approved
        )
    }

    /// Whether the proposal has ended for good (executed, cancelled, rejected or expired): no
    /// instruction reads it again, so it may be closed.
    pub fn is_ended(&self) -> bool {
        matches!(
            self.status,
            ProposalStatus::Executed
                | ProposalStatus::Cancelled
                | ProposalStatus::Rejected
                | ProposalStatus::Expired
        )
    }

    /// Drops approvals and cancel votes given under an older member set; returns whether it did.
    pub fn reset_if_stale(&mut self, gov: &Governance) -> bool {
        if !self.is_stale(gov) {
            return false;
        }
        self.approvals = 0;
        self.cancel_votes = 0;
        self.rejections = 0;
        self.member_set_seqno = gov.member_set_seqno;
        self.status = ProposalStatus::Active;
        self.approved_at = 0;
        self.approved_slot = 0;
        self.eta = 0;
        true
    }

    /// Time after which an active proposal can no longer be approved; `None` when the
    /// governance has no voting period.
    pub fn voting_deadline(&self, gov: &Governance) -> Result<Option<i64>> {
        if gov.voting_period_seconds <= 0 {
            return Ok(None);
        }
        self.created_at
            .checked_add(gov.voting_period_seconds)
            .map(Some)
            .ok_or_else(|| error!(UpgradeManagerError::Overflow))
    }

    /// Refuses a vote on an active proposal whose voting period has passed.
    pub fn require_voting_open(&self, gov: &Governance, now: i64) -> Result<()> {
        if self.status == ProposalStatus::Active {
            if let Some(deadline) = self.voting_deadline(gov)? {
                require!(now < deadline, UpgradeManagerError::ProposalExpired);
            }
        }
        Ok(())
    }

    /// Checks everything execution needs except the kind-specific accounts.
    pub fn check_executable(&self, gov: &Governance, now: i64) -> Result<()> {
        require!(
            self.status == ProposalStatus::Approved,
            UpgradeManagerError::ProposalNotApproved
        );
        require!(!self.is_stale(gov), UpgradeManagerError::StaleApprovals);
        require!(now >= self.eta, UpgradeManagerError::TimelockNotElapsed);
        let expiry = self
            .eta
            .checked_add(gov.grace_period_seconds)
            .ok_or_else(|| error!(UpgradeManagerError::Overflow))?;
        require!(now < expiry, UpgradeManagerError::ProposalExpired);
        Ok(())
    }

    /// Validates the metadata URI: at most `MAX_METADATA_URI_LEN` bytes of printable UTF-8
    /// (borsh already refuses invalid UTF-8). Control characters, NUL included, and the
    /// bidirectional overrides that make text display other than it reads are refused.
    pub fn validate_metadata(uri: &str) -> Result<()> {
        require!(
            uri.len() <= MAX_METADATA_URI_LEN,
            UpgradeManagerError::MetadataUriTooLong
        );
        require!(
            !uri.chars().any(|c| c.is_control()
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)),
            UpgradeManagerError::MetadataUriNotPrintable
        );
        Ok(())
    }
}

use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::UpgradeManagerError;

/// An M-of-N set of members with the timelocks that govern every program it manages.
/// PDA: `["governance", create_key]`.
#[account]
#[derive(InitSpace)]
pub struct Governance {
    /// Layout version of this account.
    pub layout_version: u8,
    pub bump: u8,
    /// One-time key that makes the PDA unique.
    pub create_key: Pubkey,
    /// Members; approval bitmaps index into this list.
    #[max_len(16)]
    pub members: Vec<Pubkey>,
    /// Approvals an upgrade, config change or migration needs.
    pub threshold: u8,
    /// Approvals a rollback to a known earlier binary needs.
    pub rollback_threshold: u8,
    /// Seconds from the approving vote to the earliest execution.
    pub timelock_seconds: i64,
    /// Seconds from the approving vote to the earliest execution of a rollback.
    pub rollback_timelock_seconds: i64,
    /// Seconds after the eta during which an approved proposal may execute.
    pub grace_period_seconds: i64,
    /// Receives the lamports left over from upgrade buffers.
    pub spill: Pubkey,
    /// Bumped by every executed config change; approvals given under an older value are stale.
    pub member_set_seqno: u64,
    /// Proposals created so far; the next proposal's index.
    pub proposal_count: u64,
    /// Seconds after its creation an active proposal may gather approvals; then it expires.
    /// 0 in governances created before voting periods existed: their proposals wait forever.
    pub voting_period_seconds: i64,
    /// Receives the rent of closed proposals and migration jobs; the default key means "whoever
    /// paid for each account" (a proposal's proposer, a job's executor). Never the closer.
    pub rent_collector: Pubkey,
    /// Room for the next layout.
    pub reserved: [u8; 24],
}

impl Governance {
    /// Position of `key` among the members.
    pub fn member_index(&self, key: &Pubkey) -> Option<usize> {
        self.members.iter().position(|m| m == key)
    }

    /// Index of the member `key`, or `NotAMember`.
    pub fn require_member(&self, key: &Pubkey) -> Result<usize> {
        self.member_index(key)
            .ok_or_else(|| error!(UpgradeManagerError::NotAMember))
    }

    /// Validates a member set with its thresholds and delays.
    pub fn validate(
        members: &[Pubkey],
        threshold: u8,
        rollback_threshold: u8,
        timelock_seconds: i64,
        rollback_timelock_seconds: i64,
        grace_period_seconds: i64,
    ) -> Result<()> {
        require!(
            !members.is_empty() && members.len() <= MAX_MEMBERS,
            UpgradeManagerError::InvalidMemberCount
        );
        for (i, m) in members.iter().enumerate() {
            require!(
                !members[..i].contains(m),
                UpgradeManagerError::DuplicateMember
            );
        }
        let n = members.len();
        require!(
            threshold >= 1 && (threshold as usize) <= n,
            UpgradeManagerError::InvalidThreshold
        );
        require!(
            rollback_threshold >= 1 && (rollback_threshold as usize) <= n,
            UpgradeManagerError::InvalidThreshold
        );
        for d in [timelock_seconds, rollback_timelock_seconds] {
            require!(
                (0..=MAX_DELAY_SECONDS).contains(&d),
                UpgradeManagerError::InvalidDelay
            );
        }
        require!(
            grace_period_seconds <= MAX_DELAY_SECONDS,
            UpgradeManagerError::InvalidDelay
        );
        require!(
            grace_period_seconds > 0,
            UpgradeManagerError::InvalidGracePeriod
        );
        Ok(())
    }

    /// Validates this governance's current settings.
    pub fn validate_self(&self) -> Result<()> {
        Self::validate(
            &self.members,
            self.threshold,
            self.rollback_threshold,
            self.timelock_seconds,
            self.rollback_timelock_seconds,
            self.grace_period_seconds,
        )
    }

    /// Where the rent of a closed account paid by `payer` goes: the rent collector when the
    /// governance has one, else back to `payer`.
    pub fn rent_destination(&self, payer: Pubkey) -> Pubkey {
        if self.rent_collector == Pubkey::default() {
            payer
        } else {
            self.rent_collector
        }
    }

    /// The rent collector as events carry it: `None` when the governance has none.
    pub fn rent_collector_option(&self) -> Option<Pubkey> {
        (self.rent_collector != Pubkey::default()).then_some(self.rent_collector)
    }

    /// Validates a voting period: positive and at most a year.
    pub fn validate_voting_period(seconds: i64) -> Result<()> {
        require!(
            seconds > 0 && seconds <= MAX_DELAY_SECONDS,
            UpgradeManagerError::InvalidDelay
        );
        Ok(())
    }

    /// Approvals that can still be missing before a proposal needing `threshold` of them
    /// cannot pass: more rejections than this make it `Rejected` (Squads' cutoff, N − M).
    pub fn reject_cutoff(&self, threshold: u8) -> u8 {
        (self.members.len() as u8).saturating_sub(threshold)
    }

    /// Checks the floors: with two or more members no one member decides alone, and nothing,
    /// not even a rollback, executes before members and watchers have had time to react.
    ///
    /// With `before` (a config change), a setting below its floor is accepted only if the change
    /// did not lower it: a governance created before the floors existed can then raise its
    /// settings one change at a time, and no change can make it weaker.
    pub fn check_floors(&self, before: Option<&Governance>) -> Result<()> {
        let floor = MIN_THRESHOLD.min(self.members.len() as u8);
        let kept = |now: i64, old: Option<i64>| old.is_some_and(|old| now >= old);
        for (now, old) in [
            (self.threshold, before.map(|b| b.threshold)),
            (
                self.rollback_threshold,
                before.map(|b| b.rollback_threshold),
            ),
        ] {
            require!(
                now >= floor || kept(now as i64, old.map(i64::from)),
                UpgradeManagerError::ThresholdBelowFloor
            );
        }
        for (now, old, min) in [
            (
                self.timelock_seconds,
                before.map(|b| b.timelock_seconds),
                MIN_TIMELOCK_SECONDS,
            ),
            (
                self.rollback_timelock_seconds,
                before.map(|b| b.rollback_timelock_seconds),
                MIN_ROLLBACK_TIMELOCK_SECONDS,
            ),
        ] {
            require!(
                now >= min || kept(now, old),
                UpgradeManagerError::DelayBelowFloor
            );
        }
        Ok(())
    }
}

//! Seeds, limits and defaults shared by every instruction.

use anchor_lang::prelude::*;

/// Seed of the governance PDA: `["governance", create_key]`.
#[constant]
pub const GOVERNANCE_SEED: &[u8] = b"governance";
/// Seed of a managed program's record: `["managed_program", program_id]`.
#[constant]
pub const MANAGED_PROGRAM_SEED: &[u8] = b"managed_program";
/// Seed of the PDA that becomes a managed program's upgrade authority: `["upgrade_authority", program_id]`.
#[constant]
pub const UPGRADE_AUTHORITY_SEED: &[u8] = b"upgrade_authority";
/// Seed of a proposal: `["proposal", governance, index (u64 LE)]`.
#[constant]
pub const PROPOSAL_SEED: &[u8] = b"proposal";
/// Seed of a migration job: `["migration", proposal]`.
#[constant]
pub const MIGRATION_SEED: &[u8] = b"migration";
/// Seed of the lock that keeps a buffer behind one open proposal: `["buffer_lock", buffer]`.
#[constant]
pub const BUFFER_LOCK_SEED: &[u8] = b"buffer_lock";
/// Seed of the PDA a target program trusts to migrate its accounts: `["migration_authority", program_id]`.
#[constant]
pub const MIGRATION_AUTHORITY_SEED: &[u8] = b"migration_authority";

/// Most members a governance can have (approvals are a bitmap over member slots).
pub const MAX_MEMBERS: usize = 16;
/// Deployed hashes kept per managed program; a rollback may target any of them.
pub const MAX_RELEASES: usize = 8;
/// Longest metadata URI a proposal may carry.
pub const MAX_METADATA_URI_LEN: usize = 200;
/// Longest instruction data a migration job may pass to the target's migrate instruction.
pub const MAX_MIGRATE_IX_DATA_LEN: usize = 64;

/// Default timelock between the M-th approval and execution: 48 hours.
#[constant]
pub const DEFAULT_TIMELOCK_SECONDS: i64 = 172_800;
/// Default timelock for rollbacks: 1 hour.
#[constant]
pub const DEFAULT_ROLLBACK_TIMELOCK_SECONDS: i64 = 3_600;
/// Default grace period after the eta, after which an approved proposal expires: 14 days.
#[constant]
pub const DEFAULT_GRACE_PERIOD_SECONDS: i64 = 1_209_600;
/// Default voting period: an active proposal not approved within 14 days of its creation expires.
#[constant]
pub const DEFAULT_VOTING_PERIOD_SECONDS: i64 = 1_209_600;
/// Longest timelock or grace period accepted: one year. Keeps clock arithmetic far from overflow.
#[constant]
pub const MAX_DELAY_SECONDS: i64 = 31_536_000;

/// Floor of `timelock_seconds`: an hour for members and watchers to see an approved upgrade
/// coming and cancel it before anyone can execute it.
#[constant]
pub const MIN_TIMELOCK_SECONDS: i64 = 3_600;
/// Floor of `rollback_timelock_seconds`: rollbacks are the fast path, but never instant.
#[constant]
pub const MIN_ROLLBACK_TIMELOCK_SECONDS: i64 = 600;
/// Floor of both thresholds when a governance has two or more members: no single member may
/// approve anything alone.
#[constant]
pub const MIN_THRESHOLD: u8 = 2;

/// Version of every event's layout; bumped when a field is added.
#[constant]
pub const EVENT_SCHEMA_VERSION: u8 = 3;
/// First layout version whose upgrade and rollback proposals hold a `BufferLock`.
#[constant]
pub const BUFFER_LOCK_LAYOUT_VERSION: u8 = 2;
/// Layout version of the accounts this program writes.
#[constant]
pub const ACCOUNT_LAYOUT_VERSION: u8 = 3;

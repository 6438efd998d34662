//! Every rejection has its own code and message.

use anchor_lang::prelude::*;

/// Errors of `upgrade_manager`. Codes start at 6000 (Anchor's custom error offset).
#[error_code]
pub enum UpgradeManagerError {
    #[msg("A governance needs between 1 and 16 members")]
    InvalidMemberCount,
    #[msg("A member appears more than once")]
    DuplicateMember,
    #[msg("Threshold must be between 1 and the number of members")]
    InvalidThreshold,
    #[msg("Timelock or grace period is negative or longer than a year")]
    InvalidDelay,
    #[msg("Grace period must be longer than zero")]
    InvalidGracePeriod,
    #[msg("Signer is not a member of this governance")]
    NotAMember,
    #[msg("Account is not an upgradeable program")]
    NotUpgradeableProgram,
    #[msg("ProgramData account does not belong to this program")]
    ProgramDataMismatch,
    #[msg("Signer is not the program's current upgrade authority")]
    WrongCurrentAuthority,
    #[msg("Program is managed by another governance")]
    GovernanceMismatch,
    #[msg("Buffer is not an upgradeable-loader buffer")]
    InvalidBuffer,
    #[msg("Buffer's authority is not the program's upgrade-authority PDA")]
    BufferAuthorityNotLocked,
    #[msg("Buffer holds no program")]
    EmptyBuffer,
    #[msg("Metadata URI is too long")]
    MetadataUriTooLong,
    #[msg("Rollback target hash is not in the program's release history")]
    RollbackHashUnknown,
    #[msg("Rollback target is the binary already deployed")]
    RollbackToCurrent,
    #[msg("Member has already approved this proposal")]
    AlreadyApproved,
    #[msg("Member has not approved this proposal")]
    NotApproved,
    #[msg("Proposal is not active or approved")]
    ProposalNotOpen,
    #[msg("Proposal is not approved")]
    ProposalNotApproved,
    #[msg("Timelock has not elapsed")]
    TimelockNotElapsed,
    #[msg("Proposal's grace period has passed; it has expired")]
    ProposalExpired,
    #[msg("Proposal has not expired yet")]
    ProposalNotExpired,
    #[msg("Membership changed since the approvals were given; approve again")]
    StaleApprovals,
    #[msg("Account does not match the proposal")]
    ProposalAccountMismatch,
    #[msg("Proposal has a different kind")]
    WrongProposalKind,
    #[msg("Buffer contents changed since the proposal")]
    BufferHashMismatch,
    #[msg("ProgramData is too small for the new binary; call extend_program first")]
    ProgramDataTooSmall,
    #[msg("ProgramData is already large enough")]
    ExtendNotNeeded,
    #[msg("Member has already voted to cancel")]
    AlreadyVotedCancel,
    #[msg("Only the proposer alone, or members by threshold, may cancel")]
    CancelNotAllowed,
    #[msg("Member to add is already a member")]
    MemberAlreadyExists,
    #[msg("Member to remove is not a member")]
    MemberNotFound,
    #[msg("Change would leave a threshold above the number of members")]
    ThresholdExceedsMembers,
    #[msg("Migration versions must differ")]
    InvalidMigrationVersions,
    #[msg("Migrate instruction data is too long")]
    MigrateIxDataTooLong,
    #[msg("Migration job is not active")]
    MigrationNotActive,
    #[msg("Account is not owned by the migration's target program")]
    WrongAccountOwner,
    #[msg("Account does not match the migration's size or discriminator filter")]
    AccountFilterMismatch,
    #[msg("Account's version byte is neither the migration's from nor to version")]
    WrongAccountVersion,
    #[msg("Account passed more than once in one batch")]
    DuplicateAccount,
    #[msg("Target program did not set the version byte to the migration's to version")]
    MigrationNotApplied,
    #[msg("Batch would migrate more accounts than the job's total")]
    MigrationTotalExceeded,
    #[msg("Account data is too short for the version byte offset")]
    AccountTooSmall,
    #[msg("Target program account does not match the migration job")]
    TargetProgramMismatch,
    #[msg("Arithmetic overflow")]
    Overflow,
    #[msg("Buffer already backs another open proposal")]
    BufferInUse,
    #[msg("Threshold is below the floor (two votes when there are two or more members)")]
    ThresholdBelowFloor,
    #[msg("Timelock is below the floor (1 hour for upgrades, 10 minutes for rollbacks)")]
    DelayBelowFloor,
    #[msg("Metadata URI must be printable UTF-8 without control characters")]
    MetadataUriNotPrintable,
    #[msg("Target program is not running the binary this migration requires")]
    MigrationBinaryMismatch,
    #[msg("The binary deployed now cannot be revoked; upgrade away from it first")]
    RevokeCurrentRelease,
    #[msg("Hash is not in the program's release history")]
    ReleaseNotFound,
    #[msg("A migration extension must add at least one account")]
    InvalidMigrationExtension,
    #[msg("Member has already rejected this proposal")]
    AlreadyRejected,
    #[msg("Proposal is still open; only executed, cancelled, rejected or expired proposals can be closed")]
    ProposalNotEnded,
    #[msg("Migration job is still active; only completed or cancelled jobs can be closed")]
    MigrationJobNotEnded,
    #[msg("Rent destination is not the governance's rent collector (or, without one, the account's payer)")]
    WrongRentCollector,
}

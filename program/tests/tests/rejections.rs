//! Every rejection the program makes, each with its own error code.

use solana_sdk::{
    instruction::InstructionError, pubkey::Pubkey, signature::Signer, transaction::TransactionError,
};
use upgrade_manager::{
    ConfigChange, InitializeGovernanceArgs, MigrationJob, Proposal, ProposalStatus,
    UpgradeManagerError as E,
};
use upgrade_manager_tests::fixtures::*;
use upgrade_manager_tests::{build, code, elf_v1, elf_v2, keypair, pda, Harness};

#[tokio::test]
async fn initialize_rejects_bad_member_sets() {
    let mut h = Harness::new().await;
    let payer = h.payer().pubkey();
    let m: Vec<Pubkey> = (1..=17).map(|i| keypair(i).pubkey()).collect();
    let args = |members: Vec<Pubkey>, threshold, timelock| InitializeGovernanceArgs {
        members,
        threshold,
        rollback_threshold: 1,
        timelock_seconds: timelock,
        rollback_timelock_seconds: None,
        grace_period_seconds: None,
        spill: Pubkey::new_unique(),
    };
    let cases = [
        (args(vec![], 1, None), E::InvalidMemberCount),
        (args(m.clone(), 1, None), E::InvalidMemberCount),
        (args(vec![m[0], m[0]], 1, None), E::DuplicateMember),
        (args(m[..3].to_vec(), 4, None), E::InvalidThreshold),
        (args(m[..3].to_vec(), 0, None), E::InvalidThreshold),
        (args(m[..3].to_vec(), 2, Some(-1)), E::InvalidDelay),
    ];
    for (i, (a, err)) in cases.into_iter().enumerate() {
        let ck = keypair(150 + i as u8);
        h.fails_with(
            &[build::initialize_governance(&payer, &ck.pubkey(), a)],
            &[&ck],
            code(err),
        )
        .await;
    }
}

#[tokio::test]
async fn register_requires_the_current_authority() {
    let mut h = Harness::new().await;
    let payer = h.payer().pubkey();
    let ck = keypair(100);
    h.ok(
        &[build::initialize_governance(
            &payer,
            &ck.pubkey(),
            InitializeGovernanceArgs {
                members: vec![keypair(1).pubkey()],
                threshold: 1,
                rollback_threshold: 1,
                timelock_seconds: None,
                rollback_timelock_seconds: None,
                grace_period_seconds: None,
                spill: payer,
            },
        )],
        &[&ck],
    )
    .await;
    let gov = pda::governance(&ck.pubkey());
    let impostor = keypair(99);
    let target = h.target;
    h.fails_with(
        &[build::register_program(
            &payer,
            &impostor.pubkey(),
            &gov,
            &target,
        )],
        &[&impostor],
        code(E::WrongCurrentAuthority),
    )
    .await;
}

#[tokio::test]
async fn members_only_propose_and_approve_once() {
    let mut f = Fixture::new().await;
    let buffer = f.buffer(&elf_v2(), true).await;
    let outsider = keypair(60);
    f.h.fund(&outsider.pubkey(), 1_000_000_000).await;
    let target = f.h.target;
    f.h.fails_with(
        &[build::propose_binary(
            false,
            &outsider.pubkey(),
            &f.gov,
            0,
            &target,
            &buffer,
            "u",
        )],
        &[&outsider],
        code(E::NotAMember),
    )
    .await;
    let p = f.propose(0, &buffer).await;
    f.h.fails_with(
        &[build::approve(&outsider.pubkey(), &f.gov, &p)],
        &[&outsider],
        code(E::NotAMember),
    )
    .await;
    f.approve(&[1], &p).await;
    f.h.fails_with(
        &[build::approve(&f.m[1], &f.gov, &p)],
        &[&f.members[1]],
        code(E::AlreadyApproved),
    )
    .await;
    f.h.fails_with(
        &[build::revoke_approval(&f.m[2], &f.gov, &p)],
        &[&f.members[2]],
        code(E::NotApproved),
    )
    .await;
}

#[tokio::test]
async fn buffers_must_be_locked_loader_buffers() {
    let mut f = Fixture::new().await;
    let unlocked = f.buffer(&elf_v2(), false).await;
    let target = f.h.target;
    let ix = build::propose_binary(false, &f.m[0], &f.gov, 0, &target, &unlocked, "u");
    f.h.fails_with(&[ix], &[&keypair(1)], code(E::BufferAuthorityNotLocked))
        .await;
    // A system account is not a buffer at all.
    let not_buffer = f.m[4];
    let ix = build::propose_binary(false, &f.m[0], &f.gov, 0, &target, &not_buffer, "u");
    f.h.fails_with(&[ix], &[&keypair(1)], code(E::InvalidBuffer))
        .await;
}

#[tokio::test]
async fn execute_only_inside_the_window_with_the_proposed_buffer() {
    let mut f = Fixture::new().await;
    let (p, buffer) = f.ready_upgrade().await;
    let other = f.buffer(&elf_v1(), true).await;
    f.h.fails_with(&[f.execute(&p, &buffer)], &[], code(E::TimelockNotElapsed))
        .await;
    f.h.advance_time(48 * HOUR).await;
    f.h.fails_with(
        &[f.execute(&p, &other)],
        &[],
        code(E::ProposalAccountMismatch),
    )
    .await;
    f.h.advance_time(14 * DAY).await;
    f.h.fails_with(&[f.execute(&p, &buffer)], &[], code(E::ProposalExpired))
        .await;
    // Executing an active proposal is refused too.
    let b2 = f.buffer(&elf_v2(), true).await;
    let p2 = f.propose(1, &b2).await;
    f.h.fails_with(&[f.execute(&p2, &b2)], &[], code(E::ProposalNotApproved))
        .await;
}

#[tokio::test]
async fn expire_only_after_the_grace_period() {
    let mut f = Fixture::new().await;
    let (p, buffer) = f.ready_upgrade().await;
    let target = f.h.target;
    let proposer = f.m[0];
    let payer = f.payer();
    let ix = build::expire(
        &payer,
        &f.gov,
        &p,
        Some((buffer, proposer, target)),
        &f.spill,
    );
    f.h.advance_time(48 * HOUR).await;
    f.h.fails_with(std::slice::from_ref(&ix), &[], code(E::ProposalNotExpired))
        .await;
    f.h.advance_time(14 * DAY).await;
    f.h.ok(&[ix], &[]).await;
    let pr: Proposal = f.h.anchor_account(&p).await;
    assert_eq!(pr.status, ProposalStatus::Expired);
    assert!(f.h.account(&buffer).await.is_none(), "buffer closed");
}

#[tokio::test]
async fn membership_change_makes_approvals_stale() {
    let mut f = Fixture::new().await;
    let (p, buffer) = f.ready_upgrade().await;
    let newcomer = f.m[5];
    let c = f
        .propose_config(1, ConfigChange::AddMember { member: newcomer })
        .await;
    f.approve(&[1, 2, 3], &c).await;
    f.h.advance_time(48 * HOUR).await;
    let payer = f.payer();
    f.h.ok(&[build::execute_config_change(&payer, &f.gov, &c)], &[])
        .await;
    f.h.fails_with(&[f.execute(&p, &buffer)], &[], code(E::StaleApprovals))
        .await;
    f.h.fails_with(
        &[build::revoke_approval(&f.m[0], &f.gov, &p)],
        &[&f.members[0]],
        code(E::StaleApprovals),
    )
    .await;
    // Re-approval under the new member set restarts the count and the timelock.
    f.approve(&[0, 1, 5], &p).await;
    let pr: Proposal = f.h.anchor_account(&p).await;
    assert_eq!(pr.status, ProposalStatus::Approved);
    assert_eq!(pr.eta, f.h.now + 48 * HOUR);
    f.h.advance_time(48 * HOUR).await;
    f.h.ok(&[f.execute(&p, &buffer)], &[]).await;
}

#[tokio::test]
async fn config_changes_are_validated() {
    let mut f = Fixture::new().await;
    let index = f.next_index;
    let cases = [
        (
            ConfigChange::SetThreshold { threshold: 6 },
            E::InvalidThreshold,
        ),
        (
            ConfigChange::AddMember { member: f.m[0] },
            E::MemberAlreadyExists,
        ),
        (
            ConfigChange::RemoveMember { member: f.m[5] },
            E::MemberNotFound,
        ),
        (ConfigChange::SetTimelock { seconds: -5 }, E::InvalidDelay),
        (
            ConfigChange::SetGracePeriod { seconds: 0 },
            E::InvalidGracePeriod,
        ),
    ];
    for (change, err) in cases {
        let ix = build::propose_config_change(&f.m[0], &f.gov, index, change);
        f.h.fails_with(&[ix], &[&keypair(1)], code(err)).await;
    }
    // Removing members until the threshold no longer fits is refused at execution.
    let r1 = f
        .propose_config(0, ConfigChange::RemoveMember { member: f.m[4] })
        .await;
    let r2 = f
        .propose_config(0, ConfigChange::RemoveMember { member: f.m[3] })
        .await;
    let r3 = f
        .propose_config(0, ConfigChange::RemoveMember { member: f.m[2] })
        .await;
    f.approve(&[0, 1, 2], &r1).await;
    f.h.advance_time(48 * HOUR).await;
    let payer = f.payer();
    f.h.ok(&[build::execute_config_change(&payer, &f.gov, &r1)], &[])
        .await;
    f.approve(&[0, 1, 2], &r2).await;
    f.h.advance_time(48 * HOUR).await;
    f.h.ok(&[build::execute_config_change(&payer, &f.gov, &r2)], &[])
        .await;
    f.approve(&[0, 1, 2], &r3).await;
    f.h.advance_time(48 * HOUR).await;
    f.h.fails_with(
        &[build::execute_config_change(&payer, &f.gov, &r3)],
        &[],
        code(E::ThresholdExceedsMembers),
    )
    .await;
    // Executing a config change through the upgrade path is refused.
    let (p, buffer) = (r3, f.m[0]);
    f.h.fails_with(
        &[f.execute(&p, &buffer)],
        &[],
        code(E::ProposalAccountMismatch),
    )
    .await;
}

#[tokio::test]
async fn cancel_rules() {
    let mut f = Fixture::new().await;
    let buffer = f.buffer(&elf_v2(), true).await;
    let p = f.propose(0, &buffer).await;
    f.approve(&[0, 1], &p).await;
    let target = f.h.target;
    let accounts = Some((buffer, f.m[0], target));
    // An outsider may not cancel.
    let outsider = keypair(61);
    f.h.fund(&outsider.pubkey(), 1_000_000_000).await;
    f.h.fails_with(
        &[build::cancel(
            &outsider.pubkey(),
            &f.gov,
            &p,
            accounts,
            &f.spill,
        )],
        &[&outsider],
        code(E::CancelNotAllowed),
    )
    .await;
    // Someone else approved, so the proposer's cancel is only a vote.
    f.h.ok(
        &[build::cancel(&f.m[0], &f.gov, &p, accounts, &f.spill)],
        &[&f.members[0]],
    )
    .await;
    let pr: Proposal = f.h.anchor_account(&p).await;
    assert_eq!(pr.status, ProposalStatus::Active);
    f.h.fails_with(
        &[build::cancel(&f.m[0], &f.gov, &p, accounts, &f.spill)],
        &[&f.members[0]],
        code(E::AlreadyVotedCancel),
    )
    .await;
    // The threshold-th vote cancels, and needs the buffer accounts to close the buffer.
    f.h.ok(
        &[build::cancel(&f.m[3], &f.gov, &p, accounts, &f.spill)],
        &[&f.members[3]],
    )
    .await;
    f.h.fails_with(
        &[build::cancel(&f.m[4], &f.gov, &p, None, &f.spill)],
        &[&f.members[4]],
        code(E::ProposalAccountMismatch),
    )
    .await;
    f.h.ok(
        &[build::cancel(&f.m[4], &f.gov, &p, accounts, &f.spill)],
        &[&f.members[4]],
    )
    .await;
    assert!(f.h.account(&buffer).await.is_none());
    f.h.fails_with(
        &[build::approve(&f.m[2], &f.gov, &p)],
        &[&f.members[2]],
        code(E::ProposalNotOpen),
    )
    .await;
}

#[tokio::test]
async fn rollback_only_to_a_known_earlier_binary() {
    let mut f = Fixture::new().await;
    let target = f.h.target;
    // v1 is the current binary: not a rollback.
    let current = f.buffer(&elf_v1(), true).await;
    let ix = build::propose_binary(true, &f.m[0], &f.gov, 0, &target, &current, "r");
    f.h.fails_with(&[ix], &[&keypair(1)], code(E::RollbackToCurrent))
        .await;
    // A binary never deployed: not a rollback.
    let unknown = f.buffer(&elf_v2(), true).await;
    let ix = build::propose_binary(true, &f.m[0], &f.gov, 0, &target, &unknown, "r");
    f.h.fails_with(&[ix], &[&keypair(1)], code(E::RollbackHashUnknown))
        .await;
}

#[tokio::test]
async fn migrate_batch_checks_each_account() {
    let mut f = Fixture::new().await;
    let (job, pos) = migration(&mut f, 6, 6).await;
    let payer = f.payer();
    let batch =
        |accounts: &[Pubkey]| build::migrate_batch(&payer, &job, &perp_market::ID, accounts);

    // Wrong owner: a system account.
    f.h.fails_with(&[batch(&[f.m[0]])], &[], code(E::WrongAccountOwner))
        .await;
    // The same account twice in one batch.
    f.h.fails_with(&[batch(&[pos[0], pos[0]])], &[], code(E::DuplicateAccount))
        .await;
    // Wrong version: neither from nor to.
    let mut a = f.h.account(&pos[1]).await.unwrap();
    a.data[perp_market::VERSION_OFFSET] = 9;
    f.h.set_account(&pos[1], a);
    f.h.fails_with(&[batch(&[pos[1]])], &[], code(E::WrongAccountVersion))
        .await;
    let mut a = f.h.account(&pos[1]).await.unwrap();
    a.data[perp_market::VERSION_OFFSET] = 1;
    f.h.set_account(&pos[1], a);

    // A migrated account passed again is skipped, not counted twice.
    f.h.ok(&[batch(&pos[..2])], &[]).await;
    f.h.ok(&[batch(&pos[..3])], &[]).await;
    let j: MigrationJob = f.h.anchor_account(&job).await;
    assert_eq!(j.migrated_count, 3);
    f.h.ok(&[batch(&pos[3..])], &[]).await;
    let j: MigrationJob = f.h.anchor_account(&job).await;
    assert_eq!(j.migrated_count, 6);
    f.h.fails_with(&[batch(&pos[..1])], &[], code(E::MigrationNotActive))
        .await;
}

#[tokio::test]
async fn migrate_batch_never_counts_past_the_total() {
    let mut f = Fixture::new().await;
    let (job, pos) = migration(&mut f, 4, 3).await;
    let payer = f.payer();
    f.h.fails_with(
        &[build::migrate_batch(&payer, &job, &perp_market::ID, &pos)],
        &[],
        code(E::MigrationTotalExceeded),
    )
    .await;
}

#[tokio::test]
async fn target_accepts_migrations_only_from_the_manager() {
    let mut h = Harness::new().await;
    let pos = seed_positions(&mut h, 1)[0];
    let attacker = keypair(70);
    h.fund(&attacker.pubkey(), 1_000_000_000).await;
    use anchor_lang::{InstructionData, ToAccountMetas};
    let ix = solana_sdk::instruction::Instruction {
        program_id: perp_market::ID,
        accounts: perp_market::accounts::MigratePosition {
            position: pos,
            migration_authority: attacker.pubkey(),
            payer: attacker.pubkey(),
            system_program: solana_sdk::system_program::ID,
        }
        .to_account_metas(None),
        data: perp_market::instruction::MigratePosition {}.data(),
    };
    let not_authority = anchor_lang::error::ERROR_CODE_OFFSET
        + perp_market::PerpError::NotMigrationAuthority as u32;
    match h.send(&[ix], &[&attacker]).await {
        Err(TransactionError::InstructionError(0, InstructionError::Custom(c)))
            if c == not_authority => {}
        other => panic!("expected NotMigrationAuthority, got {other:?}"),
    }
}

//! Every rejection the program makes, each with its own error code.

use solana_sdk::{
    instruction::InstructionError, pubkey::Pubkey, signature::Signer, transaction::TransactionError,
};
use upgrade_manager::{
    ConfigChange, InitializeGovernanceArgs, MigrationJob, MigrationSpec, Proposal, ProposalStatus,
    UpgradeManagerError as E,
};
use upgrade_manager_tests::fixtures::*;
use upgrade_manager_tests::{build, code, elf_small, elf_v1, elf_v2, keypair, pda, Harness};

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
        voting_period_seconds: None,
        rent_collector: None,
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
                voting_period_seconds: None,
                rent_collector: None,
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
    // Another buffer, with the proposal's own lock (the other buffer has none).
    let mut ix = f.execute(&p, &other);
    ix.accounts[7].pubkey = pda::buffer_lock(&buffer);
    f.h.fails_with(&[ix], &[], code(E::ProposalAccountMismatch))
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
    let mut ix = f.execute(&p, &buffer);
    // A config change holds no lock: the optional account is left out.
    ix.accounts[7] = solana_sdk::instruction::AccountMeta::new_readonly(upgrade_manager::ID, false);
    f.h.fails_with(&[ix], &[], code(E::ProposalAccountMismatch))
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

#[tokio::test]
async fn register_checks_the_program_and_its_programdata() {
    let mut f = Fixture::new().await;
    let payer = f.payer();
    let deployer = keypair(201);
    // A builtin is not a loader-v3 program.
    f.h.fails_with(
        &[build::register_program(
            &payer,
            &deployer.pubkey(),
            &f.gov,
            &perp_market::ID,
        )],
        &[&deployer],
        code(E::NotUpgradeableProgram),
    )
    .await;
    // The target's programdata swapped for another account.
    let other = Pubkey::new_unique();
    let target = Pubkey::new_unique();
    let pd = solana_loader_v3_interface::get_program_data_address(&target);
    f.h.set_account(
        &target,
        solana_sdk::account::Account {
            lamports: 1_000_000_000,
            data: upgrade_manager_tests::program_account_data(&pd),
            owner: upgrade_manager_tests::LOADER_ID,
            executable: true,
            rent_epoch: 0,
        },
    );
    let mut ix = build::register_program(&payer, &deployer.pubkey(), &f.gov, &target);
    ix.accounts[5].pubkey = other;
    f.h.fails_with(&[ix], &[&deployer], code(E::ProgramDataMismatch))
        .await;
}

#[tokio::test]
async fn proposals_check_their_accounts_and_arguments() {
    let mut f = Fixture::new().await;
    let target = f.h.target;
    let buffer = f.buffer(&elf_small(), true).await;
    // Metadata longer than 200 bytes.
    let long = "u".repeat(201);
    let ix = build::propose_binary(false, &f.m[0], &f.gov, 0, &target, &buffer, &long);
    f.h.fails_with(&[ix], &[&f.members[0]], code(E::MetadataUriTooLong))
        .await;
    // A buffer holding nothing but zeros.
    let empty = f.buffer(&[0; 64], true).await;
    let ix = build::propose_binary(false, &f.m[0], &f.gov, 0, &target, &empty, "u");
    f.h.fails_with(&[ix], &[&f.members[0]], code(E::EmptyBuffer))
        .await;
    // Another account in the programdata's place.
    let mut ix = build::propose_binary(false, &f.m[0], &f.gov, 0, &target, &buffer, "u");
    ix.accounts[3].pubkey = f.m[3];
    f.h.fails_with(&[ix], &[&f.members[0]], code(E::ProgramDataMismatch))
        .await;
    // A program managed by another governance.
    let ck = keypair(160);
    let payer = f.payer();
    f.h.ok(
        &[build::initialize_governance(
            &payer,
            &ck.pubkey(),
            InitializeGovernanceArgs {
                members: f.m[..2].to_vec(),
                threshold: 2,
                rollback_threshold: 2,
                timelock_seconds: None,
                rollback_timelock_seconds: None,
                grace_period_seconds: None,
                voting_period_seconds: None,
                rent_collector: None,
                spill: payer,
            },
        )],
        &[&ck],
    )
    .await;
    let other_gov = pda::governance(&ck.pubkey());
    let ix = build::propose_binary(false, &f.m[0], &other_gov, 0, &target, &buffer, "u");
    f.h.fails_with(&[ix], &[&f.members[0]], code(E::GovernanceMismatch))
        .await;
    // Migration specs.
    let gov = f.gov;
    let required_hash = register_builtin_as_managed(&mut f.h, &gov);
    let spec = |from_version, migrate_ix_data: Vec<u8>| MigrationSpec {
        from_version,
        to_version: 2,
        version_offset: perp_market::VERSION_OFFSET as u32,
        data_size: 0,
        discriminator: None,
        migrate_ix_data,
        total_accounts: 1,
        required_hash,
    };
    for (s, err) in [
        (
            spec(2, migrate_position_data()),
            E::InvalidMigrationVersions,
        ),
        (spec(1, vec![0; 65]), E::MigrateIxDataTooLong),
    ] {
        let ix = build::propose_migration(&f.m[0], &gov, 0, &perp_market::ID, s);
        f.h.fails_with(&[ix], &[&f.members[0]], code(err)).await;
    }
}

#[tokio::test]
async fn execution_checks_the_kind_and_the_buffer() {
    let mut f = Fixture::new().await;
    let (p, buffer) = f.ready_upgrade().await;
    f.h.advance_time(48 * HOUR).await;
    let payer = f.payer();
    // An upgrade is not a config change, nor a migration.
    f.h.fails_with(
        &[build::execute_config_change(&payer, &f.gov, &p)],
        &[],
        code(E::WrongProposalKind),
    )
    .await;
    let target = f.h.target;
    f.h.fails_with(
        &[build::execute_migration(&payer, &f.gov, &p, &target)],
        &[],
        code(E::WrongProposalKind),
    )
    .await;
    // The buffer's bytes changed behind the loader's back (a loader bug, or a runtime that let
    // someone write it): execution refuses.
    let mut b = f.h.account(&buffer).await.unwrap();
    let n = b.data.len();
    b.data[n - 1] ^= 0xff;
    f.h.set_account(&buffer, b);
    f.h.fails_with(&[f.execute(&p, &buffer)], &[], code(E::BufferHashMismatch))
        .await;
}

#[tokio::test]
async fn migrate_batch_checks_the_spec_against_each_account() {
    let mut f = Fixture::new().await;
    let (job, pos) = migration(&mut f, 3, 3).await;
    let payer = f.payer();
    // Another executable in the target's place.
    let mut ix = build::migrate_batch(&payer, &job, &perp_market::ID, &pos[..1]);
    ix.accounts[2].pubkey = upgrade_manager_tests::LOADER_ID;
    f.h.fails_with(&[ix], &[], code(E::TargetProgramMismatch))
        .await;
    // A v1 account of the wrong discriminator.
    let mut a = f.h.account(&pos[0]).await.unwrap();
    a.data[0] ^= 0xff;
    f.h.set_account(&pos[0], a);
    f.h.fails_with(
        &[build::migrate_batch(
            &payer,
            &job,
            &perp_market::ID,
            &pos[..1],
        )],
        &[],
        code(E::AccountFilterMismatch),
    )
    .await;

    // A job whose version byte lies past the account's end, and one whose target does not
    // write the version the job expects.
    let gov = f.gov;
    let required_hash = register_builtin_as_managed(&mut f.h, &gov);
    for (offset, to_version, err) in [
        (1_000u32, 2u8, E::AccountTooSmall),
        (
            perp_market::VERSION_OFFSET as u32,
            3,
            E::MigrationNotApplied,
        ),
    ] {
        let index = f.next_index;
        let ix = build::propose_migration(
            &f.m[0],
            &gov,
            index,
            &perp_market::ID,
            MigrationSpec {
                from_version: 1,
                to_version,
                version_offset: offset,
                data_size: 0,
                discriminator: None,
                migrate_ix_data: migrate_position_data(),
                total_accounts: 1,
                required_hash,
            },
        );
        f.h.ok(&[ix], &[&f.members[0]]).await;
        f.next_index += 1;
        let p = pda::proposal(&gov, index);
        f.approve(&[0, 1, 2], &p).await;
        f.h.advance_time(48 * HOUR).await;
        f.h.ok(
            &[build::execute_migration(&payer, &gov, &p, &perp_market::ID)],
            &[],
        )
        .await;
        f.h.fails_with(
            &[build::migrate_batch(
                &payer,
                &pda::migration(&p),
                &perp_market::ID,
                &pos[1..2],
            )],
            &[],
            code(err),
        )
        .await;
    }

    // Extending a job past u64::MAX accounts.
    let c = f
        .propose_config(
            0,
            ConfigChange::ExtendMigration {
                job,
                additional_accounts: u64::MAX,
            },
        )
        .await;
    f.approve(&[0, 1, 2], &c).await;
    f.h.advance_time(48 * HOUR).await;
    f.h.fails_with(
        &[build::execute_config_change_with(
            &payer,
            &f.gov,
            &c,
            None,
            Some(&job),
        )],
        &[],
        code(E::Overflow),
    )
    .await;
}

#[tokio::test]
async fn active_proposals_expire_after_the_voting_period() {
    let mut f = Fixture::new().await;
    let buffer = f.buffer(&elf_small(), true).await;
    let p = f.propose(1, &buffer).await;
    f.approve(&[1], &p).await;
    let target = f.h.target;
    let payer = f.payer();
    let ix = build::expire(&payer, &f.gov, &p, Some((buffer, f.m[1], target)), &f.spill);
    f.h.advance_time(14 * DAY - 1).await;
    f.h.fails_with(std::slice::from_ref(&ix), &[], code(E::ProposalNotExpired))
        .await;
    f.h.advance_time(1).await;
    // Past the voting period nobody can approve it any more...
    f.h.fails_with(
        &[build::approve(&f.m[2], &f.gov, &p)],
        &[&f.members[2]],
        code(E::ProposalExpired),
    )
    .await;
    // ...and anyone may expire it, which closes its buffer and lock.
    let spill_before = f.h.account(&f.spill).await.map_or(0, |a| a.lamports);
    f.h.ok(&[ix], &[]).await;
    let pr: Proposal = f.h.anchor_account(&p).await;
    assert_eq!(pr.status, ProposalStatus::Expired);
    assert!(f.h.account(&buffer).await.is_none());
    assert!(f.h.account(&pda::buffer_lock(&buffer)).await.is_none());
    assert!(f.h.account(&f.spill).await.unwrap().lamports > spill_before);
    // An ended proposal expires no more.
    let ix = build::expire(&payer, &f.gov, &p, Some((buffer, f.m[1], target)), &f.spill);
    f.h.fails_with(&[ix], &[], code(E::ProposalNotOpen)).await;
}

#[tokio::test]
async fn rejections_past_the_cutoff_reject_a_proposal() {
    let mut f = Fixture::new().await;
    let buffer = f.buffer(&elf_small(), true).await;
    let p = f.propose(0, &buffer).await;
    let target = f.h.target;
    let accounts = Some((buffer, f.m[0], target));
    f.approve(&[0], &p).await;
    // A member who approved cannot also reject; one who rejected cannot approve or reject again.
    f.h.fails_with(
        &[build::reject(&f.m[0], &f.gov, &p, accounts, &f.spill)],
        &[&f.members[0]],
        code(E::AlreadyApproved),
    )
    .await;
    // 3 of 5: approval is impossible once 3 reject (more than 5 - 3).
    for i in [3, 4] {
        f.h.ok(
            &[build::reject(&f.m[i], &f.gov, &p, accounts, &f.spill)],
            &[&f.members[i]],
        )
        .await;
    }
    f.h.fails_with(
        &[build::reject(&f.m[4], &f.gov, &p, accounts, &f.spill)],
        &[&f.members[4]],
        code(E::AlreadyRejected),
    )
    .await;
    f.h.fails_with(
        &[build::approve(&f.m[3], &f.gov, &p)],
        &[&f.members[3]],
        code(E::AlreadyRejected),
    )
    .await;
    let pr: Proposal = f.h.anchor_account(&p).await;
    assert_eq!(pr.status, ProposalStatus::Active);
    f.h.ok(
        &[build::reject(&f.m[2], &f.gov, &p, accounts, &f.spill)],
        &[&f.members[2]],
    )
    .await;
    let pr: Proposal = f.h.anchor_account(&p).await;
    assert_eq!(pr.status, ProposalStatus::Rejected);
    assert!(f.h.account(&buffer).await.is_none(), "buffer closed");
    // The buffer is free again: a rejected proposal holds no lock.
    assert!(f.h.account(&pda::buffer_lock(&buffer)).await.is_none());
    f.h.fails_with(
        &[build::reject(&f.m[1], &f.gov, &p, accounts, &f.spill)],
        &[&f.members[1]],
        code(E::ProposalNotOpen),
    )
    .await;
}

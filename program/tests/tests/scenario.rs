//! The scripted scenario: the full lifecycle of a governance, emitting every event at least once.
//! It asserts the outcome of each step and writes the transactions with their expected events
//! as test vectors when `UPDATE_VECTORS=1` (`make vectors`); otherwise it checks that the
//! committed vectors hold the same sequence of events.

use solana_sdk::{pubkey::Pubkey, signature::Signer};
use upgrade_manager::{
    ConfigChange, Governance, InitializeGovernanceArgs, ManagedProgram, MigrationJob,
    MigrationSpec, MigrationStatus, Proposal, ProposalStatus, UpgradeManagerError as E,
};
use upgrade_manager_tests::fixtures::*;
use upgrade_manager_tests::{
    build, code, elf_hash, elf_v1, elf_v2, keypair, pda, strip_zeros, vectors, Harness,
    PROGRAMDATA_HEADER_LEN,
};

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

#[tokio::test]
async fn scenario() {
    let mut h = Harness::new().await;
    h.recorder = Some(vectors::Recorder::new());
    let members: Vec<_> = (1..=6).map(keypair).collect();
    for m in &members {
        h.fund(&m.pubkey(), 10_000_000_000).await;
    }
    let m: Vec<Pubkey> = members.iter().map(|k| k.pubkey()).collect();
    let payer = h.payer().pubkey();
    let create_key = keypair(100);
    let spill = keypair(101).pubkey();
    let gov = pda::governance(&create_key.pubkey());
    let target = h.target;
    let deployer = keypair(201);
    let programdata = solana_loader_v3_interface::get_program_data_address(&target);

    // 1. A 3-of-5 governance with a 2-member rollback path and default timelocks.
    h.ok(
        &[build::initialize_governance(
            &payer,
            &create_key.pubkey(),
            InitializeGovernanceArgs {
                members: m[..5].to_vec(),
                threshold: 3,
                rollback_threshold: 2,
                timelock_seconds: None,
                rollback_timelock_seconds: None,
                grace_period_seconds: None,
                voting_period_seconds: None,
                rent_collector: None,
                spill,
            },
        )],
        &[&create_key],
    )
    .await;
    let g: Governance = h.anchor_account(&gov).await;
    assert_eq!(g.timelock_seconds, 48 * HOUR);
    assert_eq!(g.grace_period_seconds, 14 * DAY);
    assert_eq!(g.rollback_timelock_seconds, HOUR);

    // 2. The deployer hands the target program to the governance.
    let v1 = elf_v1();
    let v2 = elf_v2();
    h.ok(
        &[build::register_program(
            &payer,
            &deployer.pubkey(),
            &gov,
            &target,
        )],
        &[&deployer],
    )
    .await;
    let pd = h.account(&programdata).await.unwrap();
    assert_eq!(&pd.data[13..45], pda::upgrade_authority(&target).as_ref());
    let mp: ManagedProgram = h.anchor_account(&pda::managed_program(&target)).await;
    assert_eq!(mp.current_hash, elf_hash(&v1));
    assert_eq!(mp.releases.len(), 1);

    // 3. A buffer with v2, written by the deployer, then locked to the program's PDA.
    let buf_v2 = keypair(110).pubkey();
    locked_buffer(&mut h, &buf_v2, &v2).await;

    // 4. Propose; approve twice, revoke one, approve up to the threshold.
    let p0 = pda::proposal(&gov, 0);
    h.ok(
        &[build::propose_binary(
            false,
            &m[0],
            &gov,
            0,
            &target,
            &buf_v2,
            "ipfs://v2",
        )],
        &[&members[0]],
    )
    .await;
    let p: Proposal = h.anchor_account(&p0).await;
    assert_eq!(p.buffer_hash, elf_hash(&v2));
    assert!(p.extend_bytes_needed > 0, "token is larger than memo");
    for i in [0, 1] {
        h.ok(&[build::approve(&m[i], &gov, &p0)], &[&members[i]])
            .await;
    }
    h.ok(&[build::revoke_approval(&m[1], &gov, &p0)], &[&members[1]])
        .await;
    for i in [1, 2] {
        h.ok(&[build::approve(&m[i], &gov, &p0)], &[&members[i]])
            .await;
    }
    let p: Proposal = h.anchor_account(&p0).await;
    assert_eq!(p.status, ProposalStatus::Approved);
    assert_eq!(p.eta, h.now + 48 * HOUR);

    // 5. Not before the eta; then the programdata is too small until extended.
    let exec0 = build::execute_upgrade(&payer, &gov, &p0, &m[0], &target, &buf_v2, &spill);
    h.fails_with(
        std::slice::from_ref(&exec0),
        &[],
        code(E::TimelockNotElapsed),
    )
    .await;
    h.advance_time(48 * HOUR).await;
    h.fails_with(
        std::slice::from_ref(&exec0),
        &[],
        code(E::ProgramDataTooSmall),
    )
    .await;
    let mut extensions = 0;
    while h.anchor_account::<Proposal>(&p0).await.status == ProposalStatus::Approved
        && extend_needed(&mut h, &programdata, &buf_v2).await > 0
    {
        h.ok(
            &[build::extend_program(&payer, &gov, &p0, &target, &buf_v2)],
            &[],
        )
        .await;
        h.next_slot().await;
        extensions += 1;
    }
    assert!(extensions > 1, "growth beyond 10 KiB takes several calls");
    h.fails_with(
        &[build::extend_program(&payer, &gov, &p0, &target, &buf_v2)],
        &[],
        code(E::ExtendNotNeeded),
    )
    .await;
    h.ok(&[exec0], &[]).await;
    h.next_slot().await;
    let pd = h.account(&programdata).await.unwrap();
    assert_eq!(
        strip_zeros(&pd.data[PROGRAMDATA_HEADER_LEN..]),
        strip_zeros(&v2)
    );
    let mp: ManagedProgram = h.anchor_account(&pda::managed_program(&target)).await;
    assert_eq!(mp.current_hash, elf_hash(&v2));
    assert_eq!(mp.releases.len(), 2);
    assert!(
        h.account(&spill).await.is_some(),
        "spill received the buffer's lamports"
    );

    // 6. Roll back to v1 on the fast path: 2 approvals, 1 hour.
    let buf_v1 = keypair(111).pubkey();
    locked_buffer(&mut h, &buf_v1, &v1).await;
    let p1 = pda::proposal(&gov, 1);
    h.ok(
        &[build::propose_binary(
            true,
            &m[1],
            &gov,
            1,
            &target,
            &buf_v1,
            "ipfs://rollback",
        )],
        &[&members[1]],
    )
    .await;
    for i in [1, 3] {
        h.ok(&[build::approve(&m[i], &gov, &p1)], &[&members[i]])
            .await;
    }
    h.advance_time(HOUR).await;
    h.ok(
        &[build::execute_upgrade(
            &payer, &gov, &p1, &m[1], &target, &buf_v1, &spill,
        )],
        &[],
    )
    .await;
    h.next_slot().await;
    let pd = h.account(&programdata).await.unwrap();
    assert_eq!(
        strip_zeros(&pd.data[PROGRAMDATA_HEADER_LEN..]),
        strip_zeros(&v1)
    );
    let mp: ManagedProgram = h.anchor_account(&pda::managed_program(&target)).await;
    assert_eq!(mp.current_hash, elf_hash(&v1));

    // 7. The proposer cancels alone while nobody else has approved; the buffer's rent returns.
    let buf_c = keypair(112).pubkey();
    locked_buffer(&mut h, &buf_c, &v2).await;
    let p2 = pda::proposal(&gov, 2);
    h.ok(
        &[build::propose_binary(
            false,
            &m[2],
            &gov,
            2,
            &target,
            &buf_c,
            "ipfs://oops",
        )],
        &[&members[2]],
    )
    .await;
    let before = h.account(&m[2]).await.unwrap().lamports;
    h.ok(
        &[build::cancel(
            &m[2],
            &gov,
            &p2,
            Some((buf_c, m[2], target)),
            &spill,
        )],
        &[&members[2]],
    )
    .await;
    assert!(h.account(&buf_c).await.is_none(), "buffer closed");
    assert!(h.account(&m[2]).await.unwrap().lamports > before);

    // 8. Members cancel by threshold once others have approved.
    let p3 = pda::proposal(&gov, 3);
    h.ok(
        &[build::propose_config_change(
            &m[0],
            &gov,
            3,
            ConfigChange::SetTimelock { seconds: 2 * HOUR },
        )],
        &[&members[0]],
    )
    .await;
    h.ok(&[build::approve(&m[1], &gov, &p3)], &[&members[1]])
        .await;
    for i in [0, 1, 2] {
        h.ok(
            &[build::cancel(&m[i], &gov, &p3, None, &spill)],
            &[&members[i]],
        )
        .await;
    }
    let p: Proposal = h.anchor_account(&p3).await;
    assert_eq!(p.status, ProposalStatus::Cancelled);

    // 9. An approved proposal nobody executes expires after the grace period.
    let p4 = pda::proposal(&gov, 4);
    h.ok(
        &[build::propose_config_change(
            &m[0],
            &gov,
            4,
            ConfigChange::SetGracePeriod { seconds: 7 * DAY },
        )],
        &[&members[0]],
    )
    .await;
    for i in [0, 1, 2] {
        h.ok(&[build::approve(&m[i], &gov, &p4)], &[&members[i]])
            .await;
    }
    h.advance_time(48 * HOUR + 14 * DAY).await;
    h.ok(&[build::expire(&payer, &gov, &p4, None, &spill)], &[])
        .await;

    // 10. A membership change makes other proposals' approvals stale.
    let buf_s = keypair(113).pubkey();
    locked_buffer(&mut h, &buf_s, &v2).await;
    let p5 = pda::proposal(&gov, 5);
    h.ok(
        &[build::propose_binary(
            false,
            &m[0],
            &gov,
            5,
            &target,
            &buf_s,
            "ipfs://v2-again",
        )],
        &[&members[0]],
    )
    .await;
    for i in [0, 1, 2] {
        h.ok(&[build::approve(&m[i], &gov, &p5)], &[&members[i]])
            .await;
    }
    let p6 = pda::proposal(&gov, 6);
    h.ok(
        &[build::propose_config_change(
            &m[1],
            &gov,
            6,
            ConfigChange::AddMember { member: m[5] },
        )],
        &[&members[1]],
    )
    .await;
    for i in [1, 2, 3] {
        h.ok(&[build::approve(&m[i], &gov, &p6)], &[&members[i]])
            .await;
    }
    h.advance_time(48 * HOUR).await;
    h.ok(&[build::execute_config_change(&payer, &gov, &p6)], &[])
        .await;
    let g: Governance = h.anchor_account(&gov).await;
    assert_eq!(g.members.len(), 6);
    assert_eq!(g.member_set_seqno, 1);
    h.fails_with(
        &[build::execute_upgrade(
            &payer, &gov, &p5, &m[0], &target, &buf_s, &spill,
        )],
        &[],
        code(E::StaleApprovals),
    )
    .await;
    h.ok(&[build::approve(&m[0], &gov, &p5)], &[&members[0]])
        .await;
    let p: Proposal = h.anchor_account(&p5).await;
    assert_eq!(
        (p.status, p.approvals.count_ones()),
        (ProposalStatus::Active, 1)
    );
    h.ok(
        &[build::cancel(
            &m[0],
            &gov,
            &p5,
            Some((buf_s, m[0], target)),
            &spill,
        )],
        &[&members[0]],
    )
    .await;

    // 11. A proposal most members oppose: rejections past members - threshold reject it.
    let p7 = pda::proposal(&gov, 7);
    h.ok(
        &[build::propose_config_change(
            &m[0],
            &gov,
            7,
            ConfigChange::SetVotingPeriod { seconds: 7 * DAY },
        )],
        &[&members[0]],
    )
    .await;
    for i in [2, 3, 4, 5] {
        h.ok(
            &[build::reject(&m[i], &gov, &p7, None, &spill)],
            &[&members[i]],
        )
        .await;
    }
    let p: Proposal = h.anchor_account(&p7).await;
    assert_eq!(p.status, ProposalStatus::Rejected);

    // 12. v2 turns out to be vulnerable: the governance revokes it from the release history,
    // so no rollback can return to it.
    let p8 = pda::proposal(&gov, 8);
    h.ok(
        &[build::propose_config_change(
            &m[0],
            &gov,
            8,
            ConfigChange::RevokeRelease {
                program: target,
                hash: elf_hash(&v2),
            },
        )],
        &[&members[0]],
    )
    .await;
    for i in [0, 1, 2] {
        h.ok(&[build::approve(&m[i], &gov, &p8)], &[&members[i]])
            .await;
    }
    h.advance_time(48 * HOUR).await;
    h.ok(
        &[build::execute_program_config_change(
            &payer,
            &gov,
            &p8,
            Some(&target),
        )],
        &[],
    )
    .await;
    let mp: ManagedProgram = h.anchor_account(&pda::managed_program(&target)).await;
    assert!(!mp.knows_release(&elf_hash(&v2)));
    assert!(mp.knows_release(&elf_hash(&v1)));

    // 13. Migrate 210 perp_market positions from v1 to v2 in batches. A position opened now is
    // already v2 (the binary opens positions in the current layout only): skipped, not counted.
    let required_hash = register_builtin_as_managed(&mut h, &gov);
    let positions = seed_positions(&mut h, 210);
    let opener = &members[5];
    let opened = Pubkey::find_program_address(
        &[
            perp_market::POSITION_SEED,
            m[5].as_ref(),
            &7u64.to_le_bytes(),
        ],
        &perp_market::ID,
    )
    .0;
    h.ok(&[open_position_ix(&m[5], &opened, 7)], &[opener])
        .await;
    let total = positions.len() as u64;
    let p9 = pda::proposal(&gov, 9);
    h.ok(
        &[build::propose_migration(
            &m[0],
            &gov,
            9,
            &perp_market::ID,
            MigrationSpec {
                from_version: 1,
                to_version: 2,
                version_offset: perp_market::VERSION_OFFSET as u32,
                data_size: perp_market::POSITION_V1_LEN as u64,
                discriminator: Some(perp_market::POSITION_DISCRIMINATOR),
                migrate_ix_data: migrate_position_data(),
                total_accounts: total,
                required_hash,
            },
        )],
        &[&members[0]],
    )
    .await;
    // 14. A second migration with nothing to migrate, proposed alongside: it completes as it
    // starts, and then rent comes back: anyone closes its job (the rent to the executor who paid
    // it) and the ended revoke and migration proposals (their rent to their proposer). Their rows
    // stay in the read model, marked closed.
    let p10 = pda::proposal(&gov, 10);
    h.ok(
        &[build::propose_migration(
            &m[1],
            &gov,
            10,
            &perp_market::ID,
            MigrationSpec {
                from_version: 1,
                to_version: 2,
                version_offset: perp_market::VERSION_OFFSET as u32,
                data_size: perp_market::POSITION_V1_LEN as u64,
                discriminator: Some(perp_market::POSITION_DISCRIMINATOR),
                migrate_ix_data: migrate_position_data(),
                total_accounts: 0,
                required_hash,
            },
        )],
        &[&members[1]],
    )
    .await;
    for i in [0, 1, 2] {
        h.ok(&[build::approve(&m[i], &gov, &p9)], &[&members[i]])
            .await;
        h.ok(&[build::approve(&m[i], &gov, &p10)], &[&members[i]])
            .await;
    }
    h.advance_time(48 * HOUR).await;
    h.ok(
        &[build::execute_migration(
            &payer,
            &gov,
            &p9,
            &perp_market::ID,
        )],
        &[],
    )
    .await;
    let job = pda::migration(&p9);
    h.ok(
        &[build::execute_migration(
            &payer,
            &gov,
            &p10,
            &perp_market::ID,
        )],
        &[],
    )
    .await;
    let empty_job = pda::migration(&p10);
    let j: MigrationJob = h.anchor_account(&empty_job).await;
    assert_eq!(j.status, MigrationStatus::Completed);
    let closer = &members[5];
    h.ok(
        &[build::close_migration_job(&m[5], &gov, &empty_job, &payer)],
        &[closer],
    )
    .await;
    assert!(h.account(&empty_job).await.is_none());
    h.ok(
        &[
            build::close_proposal(&m[5], &gov, &p8, &m[0]),
            build::close_proposal(&m[5], &gov, &p10, &m[1]),
        ],
        &[closer],
    )
    .await;
    assert!(h.account(&p8).await.is_none());
    assert!(h.account(&p10).await.is_none());
    // An active job cannot be closed.
    h.fails_with(
        &[build::close_migration_job(&m[5], &gov, &job, &payer)],
        &[closer],
        code(E::MigrationJobNotEnded),
    )
    .await;

    // 15. The first migration's batches.
    let mut all = positions.clone();
    all.push(opened);
    for chunk in all.chunks(20) {
        h.ok(
            &[build::migrate_batch(&payer, &job, &perp_market::ID, chunk)],
            &[],
        )
        .await;
    }
    let j: MigrationJob = h.anchor_account(&job).await;
    assert_eq!(j.migrated_count, total);
    assert_eq!(j.status, MigrationStatus::Completed);
    for k in &all {
        let a = h.account(k).await.unwrap();
        assert_eq!(a.data.len(), perp_market::POSITION_V2_LEN);
        assert_eq!(a.data[perp_market::VERSION_OFFSET], 2);
    }

    // Every event the IDL declares was emitted at least once.
    let rec = h.recorder.take().unwrap();
    let names = rec.event_names();
    let idl = upgrade_manager_tests::idl::Idl::load();
    for e in idl.value["events"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        assert!(
            names.iter().any(|n| n == name),
            "scenario never emits {name}"
        );
    }

    let doc = rec.document();
    let path = vectors::vectors_path();
    if std::env::var("UPDATE_VECTORS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut text = serde_json::to_string_pretty(&doc).unwrap();
        text.push('\n');
        std::fs::write(&path, text).unwrap();
    } else {
        let committed: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&path).expect("vectors exist (run `make vectors`)"),
        )
        .unwrap();
        let committed_names: Vec<String> = committed["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["expectedEvents"].as_array().unwrap().iter())
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            committed_names, names,
            "vectors are stale: run `make vectors`"
        );
    }
}

//! The attacks of the security review (issue 11), each performed in the real runtime by a hostile
//! member or an outsider. Each test failed on the program before its fix.

use solana_sdk::{pubkey::Pubkey, signature::Signer};
use upgrade_manager::{
    ConfigChange, InitializeGovernanceArgs, ManagedProgram, MigrationJob, MigrationSpec,
    MigrationStatus, Proposal, ProposalStatus, UpgradeManagerError as E,
};
use upgrade_manager_tests::fixtures::*;
use upgrade_manager_tests::{build, code, elf_hash, elf_small, elf_v1, elf_v2, keypair, pda};

/// Attack 1: a member proposes an already-approved buffer again and cancels that duplicate alone
/// in the same transaction, closing the buffer through the loader and pocketing its rent.
#[tokio::test]
async fn duplicate_proposal_cannot_destroy_an_approved_upgrade() {
    let mut f = Fixture::new().await;
    let (honest, buffer) = f.ready_upgrade().await;
    let attacker = 3;
    let target = f.h.target;
    let before = f.h.account(&f.m[attacker]).await.unwrap().lamports;
    let dup = pda::proposal(&f.gov, f.next_index);
    let propose = build::propose_binary(
        false,
        &f.m[attacker],
        &f.gov,
        f.next_index,
        &target,
        &buffer,
        "dup",
    );
    let cancel = build::cancel(
        &f.m[attacker],
        &f.gov,
        &dup,
        Some((buffer, f.m[attacker], target)),
        &f.spill,
    );
    let signer = keypair(attacker as u8 + 1);
    f.h.fails_with(&[propose, cancel], &[&signer], code(E::BufferInUse))
        .await;
    // The same in two transactions: the duplicate proposal is refused outright.
    let propose = build::propose_binary(
        false,
        &f.m[attacker],
        &f.gov,
        f.next_index,
        &target,
        &buffer,
        "dup",
    );
    f.h.fails_with(&[propose], &[&signer], code(E::BufferInUse))
        .await;
    assert!(f.h.account(&f.m[attacker]).await.unwrap().lamports <= before);

    // The honest, approved upgrade still executes.
    f.h.advance_time(48 * HOUR).await;
    f.h.ok(&[f.execute(&honest, &buffer)], &[]).await;
    let pr: Proposal = f.h.anchor_account(&honest).await;
    assert_eq!(pr.status, ProposalStatus::Executed);
}

/// Attack 1, second form: a member removed by an executed config change still "cancels alone"
/// their own proposal, because a non-member proposer counted as nobody-else-approved.
#[tokio::test]
async fn removed_proposer_cannot_cancel_alone() {
    let mut f = Fixture::new().await;
    let buffer = f.buffer(&elf_small(), true).await;
    let p = f.propose(4, &buffer).await;
    let removal = f
        .propose_config(0, ConfigChange::RemoveMember { member: f.m[4] })
        .await;
    f.approve(&[0, 1, 2], &removal).await;
    f.h.advance_time(48 * HOUR).await;
    let payer = f.payer();
    f.h.ok(
        &[build::execute_config_change(&payer, &f.gov, &removal)],
        &[],
    )
    .await;
    let target = f.h.target;
    let ix = build::cancel(
        &f.m[4],
        &f.gov,
        &p,
        Some((buffer, f.m[4], target)),
        &f.spill,
    );
    f.h.fails_with(&[ix], &[&f.members[4]], code(E::CancelNotAllowed))
        .await;
    assert!(f.h.account(&buffer).await.is_some(), "buffer still there");
}

/// Attack 1, third form: whoever cancels, the buffer's rent never goes to the proposer; it goes
/// to the governance's spill account.
#[tokio::test]
async fn cancelled_buffer_rent_goes_to_the_spill_account() {
    let mut f = Fixture::new().await;
    let buffer = f.buffer(&elf_small(), true).await;
    let rent = f.h.account(&buffer).await.unwrap().lamports;
    let p = f.propose(2, &buffer).await;
    let target = f.h.target;
    let spill_before = f.h.account(&f.spill).await.map_or(0, |a| a.lamports);
    let proposer_before = f.h.account(&f.m[2]).await.unwrap().lamports;
    f.h.ok(
        &[build::cancel(
            &f.m[2],
            &f.gov,
            &p,
            Some((buffer, f.m[2], target)),
            &f.spill,
        )],
        &[&f.members[2]],
    )
    .await;
    assert!(f.h.account(&buffer).await.is_none(), "buffer closed");
    let spill_after = f.h.account(&f.spill).await.map_or(0, |a| a.lamports);
    assert_eq!(spill_after - spill_before, rent, "the spill got the rent");
    let proposer_after = f.h.account(&f.m[2]).await.unwrap().lamports;
    assert!(
        proposer_after < proposer_before + rent,
        "the proposer did not get the buffer's rent"
    );
}

/// Attack 2: an outsider opens fresh positions and migrates them until the job's total is
/// reached, completing the job while the real positions stay at the old version.
#[tokio::test]
async fn outsider_cannot_complete_someone_elses_migration() {
    let mut f = Fixture::new().await;
    let (job, real) = migration(&mut f, 6, 6).await;
    let outsider = keypair(70);
    f.h.fund(&outsider.pubkey(), 10_000_000_000).await;
    let mut fake = Vec::new();
    for id in 0..6u64 {
        let pos = Pubkey::find_program_address(
            &[
                perp_market::POSITION_SEED,
                outsider.pubkey().as_ref(),
                &id.to_le_bytes(),
            ],
            &perp_market::ID,
        )
        .0;
        f.h.ok(
            &[open_position_ix(&outsider.pubkey(), &pos, id)],
            &[&outsider],
        )
        .await;
        fake.push(pos);
    }
    let _ =
        f.h.send(
            &[build::migrate_batch(
                &outsider.pubkey(),
                &job,
                &perp_market::ID,
                &fake,
            )],
            &[&outsider],
        )
        .await;
    let j: MigrationJob = f.h.anchor_account(&job).await;
    assert_eq!(j.status, MigrationStatus::Active, "outsider ended the job");
    assert_eq!(j.migrated_count, 0);
    let payer = f.payer();
    f.h.ok(
        &[build::migrate_batch(&payer, &job, &perp_market::ID, &real)],
        &[],
    )
    .await;
    let j: MigrationJob = f.h.anchor_account(&job).await;
    assert_eq!(j.status, MigrationStatus::Completed);
    for k in &real {
        let a = f.h.account(k).await.unwrap();
        assert_eq!(a.data[perp_market::VERSION_OFFSET], 2);
    }
}

/// Attack 3: a governance set up, or reconfigured, with a one-vote, zero-delay rollback path.
#[tokio::test]
async fn rollback_path_has_floors() {
    let mut f = Fixture::new().await;
    let payer = f.payer();
    let args = |rollback_threshold, rollback_timelock| InitializeGovernanceArgs {
        members: f.m[..5].to_vec(),
        threshold: 3,
        rollback_threshold,
        timelock_seconds: None,
        rollback_timelock_seconds: rollback_timelock,
        grace_period_seconds: None,
        voting_period_seconds: None,
        rent_collector: None,
        spill: Pubkey::new_unique(),
    };
    let cases = [
        (args(1, None), E::ThresholdBelowFloor),
        (args(2, Some(0)), E::DelayBelowFloor),
    ];
    for (i, (a, err)) in cases.into_iter().enumerate() {
        let ck = keypair(150 + i as u8);
        f.h.fails_with(
            &[build::initialize_governance(&payer, &ck.pubkey(), a)],
            &[&ck],
            code(err),
        )
        .await;
    }
    let index = f.next_index;
    for (change, err) in [
        (
            ConfigChange::SetRollbackThreshold { threshold: 1 },
            E::ThresholdBelowFloor,
        ),
        (
            ConfigChange::SetRollbackTimelock { seconds: 0 },
            E::DelayBelowFloor,
        ),
        (
            ConfigChange::SetTimelock { seconds: 60 },
            E::DelayBelowFloor,
        ),
    ] {
        let ix = build::propose_config_change(&f.m[0], &f.gov, index, change);
        f.h.fails_with(&[ix], &[&f.members[0]], code(err)).await;
    }
}

/// Attack 3: two members approve a rollback (its threshold is 2); stopping it must not take
/// more votes than that.
#[tokio::test]
async fn cancelling_a_rollback_takes_no_more_votes_than_approving_it() {
    let mut f = Fixture::new().await;
    let (p, buffer) = f.ready_upgrade().await;
    f.h.advance_time(48 * HOUR).await;
    f.h.ok(&[f.execute(&p, &buffer)], &[]).await;
    f.h.next_slot().await;
    let back = f.buffer(&elf_v1(), true).await;
    let target = f.h.target;
    let index = f.next_index;
    let ix = build::propose_binary(true, &f.m[0], &f.gov, index, &target, &back, "r");
    f.h.ok(&[ix], &[&f.members[0]]).await;
    f.next_index += 1;
    let r = pda::proposal(&f.gov, index);
    f.approve(&[0, 1], &r).await;
    let accounts = Some((back, f.m[0], target));
    for i in [3, 4] {
        f.h.ok(
            &[build::cancel(&f.m[i], &f.gov, &r, accounts, &f.spill)],
            &[&f.members[i]],
        )
        .await;
    }
    let pr: Proposal = f.h.anchor_account(&r).await;
    assert_eq!(pr.status, ProposalStatus::Cancelled);
}

/// Attack 4: control bytes in the metadata URI, which the chain would carry forever.
#[tokio::test]
async fn metadata_uri_must_be_printable() {
    let mut f = Fixture::new().await;
    let buffer = f.buffer(&elf_small(), true).await;
    let target = f.h.target;
    for uri in ["ipfs://a\0b", "ipfs://a\nb", "ipfs://\u{1b}[31m"] {
        let ix = build::propose_binary(false, &f.m[0], &f.gov, 0, &target, &buffer, uri);
        f.h.fails_with(&[ix], &[&f.members[0]], code(E::MetadataUriNotPrintable))
            .await;
    }
    // Printable non-ASCII is text.
    let ix = build::propose_binary(false, &f.m[0], &f.gov, 0, &target, &buffer, "ipfs://é");
    f.h.ok(&[ix], &[&f.members[0]]).await;
}

/// Attack 2: a migration names the binary it requires. It does not start while another binary
/// runs, and a batch stops when the binary changes under a running job (a rollback to the
/// binary that still opens old-layout accounts).
#[tokio::test]
async fn migration_runs_only_on_the_binary_it_names() {
    let mut f = Fixture::new().await;
    let gov = f.gov;
    register_builtin_as_managed(&mut f.h, &gov);
    let positions = seed_positions(&mut f.h, 2);
    let index = f.next_index;
    let spec = |required_hash| MigrationSpec {
        from_version: 1,
        to_version: 2,
        version_offset: perp_market::VERSION_OFFSET as u32,
        data_size: perp_market::POSITION_V1_LEN as u64,
        discriminator: Some(perp_market::POSITION_DISCRIMINATOR),
        migrate_ix_data: migrate_position_data(),
        total_accounts: 2,
        required_hash,
    };
    let ix = build::propose_migration(
        &f.m[0],
        &gov,
        index,
        &perp_market::ID,
        spec(elf_hash(&elf_v2())),
    );
    f.h.ok(&[ix], &[&f.members[0]]).await;
    let p = pda::proposal(&gov, index);
    f.approve(&[0, 1, 2], &p).await;
    f.h.advance_time(48 * HOUR).await;
    let payer = f.payer();
    f.h.fails_with(
        &[build::execute_migration(&payer, &gov, &p, &perp_market::ID)],
        &[],
        code(E::MigrationBinaryMismatch),
    )
    .await;

    f.next_index += 1;
    let (job, _) = migration(&mut f, 0, 2).await;
    // The binary changes under the running job.
    let programdata = solana_loader_v3_interface::get_program_data_address(&perp_market::ID);
    let mut pd = f.h.account(&programdata).await.unwrap();
    let n = pd.data.len();
    pd.data[n - 1] ^= 0xff;
    f.h.set_account(&programdata, pd);
    f.h.fails_with(
        &[build::migrate_batch(
            &payer,
            &job,
            &perp_market::ID,
            &positions,
        )],
        &[],
        code(E::MigrationBinaryMismatch),
    )
    .await;
}

/// Attack 3: a release with a known vulnerability stays a rollback target forever, unless the
/// governance revokes it from the history.
#[tokio::test]
async fn revoked_release_cannot_be_rolled_back_to() {
    let mut f = Fixture::new().await;
    let target = f.h.target;
    let (p, buffer) = f.ready_upgrade().await;
    f.h.advance_time(48 * HOUR).await;
    f.h.ok(&[f.execute(&p, &buffer)], &[]).await;
    f.h.next_slot().await;
    let v1 = elf_hash(&elf_v1());
    // A rollback to v1 is approved before the revocation.
    let back = f.buffer(&elf_v1(), true).await;
    let index = f.next_index;
    let ix = build::propose_binary(true, &f.m[0], &f.gov, index, &target, &back, "r");
    f.h.ok(&[ix], &[&f.members[0]]).await;
    f.next_index += 1;
    let rollback = pda::proposal(&f.gov, index);
    f.proposers.insert(rollback, f.m[0]);
    f.approve(&[0, 1], &rollback).await;

    let payer = f.payer();
    let current = elf_hash(&elf_small());
    for (hash, err) in [
        (current, E::RevokeCurrentRelease),
        (elf_hash(&elf_v2()), E::ReleaseNotFound),
    ] {
        let c = f
            .propose_config(
                0,
                ConfigChange::RevokeRelease {
                    program: target,
                    hash,
                },
            )
            .await;
        f.approve(&[0, 1, 2], &c).await;
        f.h.advance_time(48 * HOUR).await;
        f.h.fails_with(
            &[build::execute_program_config_change(
                &payer,
                &f.gov,
                &c,
                Some(&target),
            )],
            &[],
            code(err),
        )
        .await;
        // Without the managed program's account, the change cannot apply.
        f.h.fails_with(
            &[build::execute_config_change(&payer, &f.gov, &c)],
            &[],
            code(E::ProposalAccountMismatch),
        )
        .await;
    }
    let c = f
        .propose_config(
            0,
            ConfigChange::RevokeRelease {
                program: target,
                hash: v1,
            },
        )
        .await;
    f.approve(&[0, 1, 2], &c).await;
    f.h.advance_time(48 * HOUR).await;
    f.h.ok(
        &[build::execute_program_config_change(
            &payer,
            &f.gov,
            &c,
            Some(&target),
        )],
        &[],
    )
    .await;
    let mp: ManagedProgram = f.h.anchor_account(&pda::managed_program(&target)).await;
    assert!(!mp.knows_release(&v1));
    // The approved rollback no longer executes, and no new one can be proposed.
    f.h.fails_with(
        &[f.execute(&rollback, &back)],
        &[],
        code(E::RollbackHashUnknown),
    )
    .await;
    let b2 = f.buffer(&elf_v1(), true).await;
    let ix = build::propose_binary(true, &f.m[1], &f.gov, f.next_index, &target, &b2, "r");
    f.h.fails_with(&[ix], &[&f.members[1]], code(E::RollbackHashUnknown))
        .await;
}

/// Attack 2, before the upgrade: old-layout accounts an outsider made while the old binary ran
/// count toward the total and end the job early. The governance extends the job through a
/// proposal, and can cancel one for good.
#[tokio::test]
async fn governance_extends_or_cancels_a_hijacked_migration() {
    let mut f = Fixture::new().await;
    let (job, real) = migration(&mut f, 3, 3).await;
    // Three v1 positions the outsider opened under the old binary.
    let fake: Vec<Pubkey> = (0..3u8)
        .map(|i| {
            let owner = Pubkey::new_from_array([100 + i; 32]);
            let key = Pubkey::find_program_address(
                &[
                    perp_market::POSITION_SEED,
                    owner.as_ref(),
                    &0u64.to_le_bytes(),
                ],
                &perp_market::ID,
            )
            .0;
            let data = perp_market::position_v1(&owner, 1, 1, 1);
            f.h.set_account(
                &key,
                solana_sdk::account::Account {
                    lamports: 10_000_000,
                    data,
                    owner: perp_market::ID,
                    executable: false,
                    rent_epoch: 0,
                },
            );
            key
        })
        .collect();
    let outsider = keypair(70);
    f.h.fund(&outsider.pubkey(), 10_000_000_000).await;
    f.h.ok(
        &[build::migrate_batch(
            &outsider.pubkey(),
            &job,
            &perp_market::ID,
            &fake,
        )],
        &[&outsider],
    )
    .await;
    let payer = f.payer();
    let batch = build::migrate_batch(&payer, &job, &perp_market::ID, &real);
    f.h.fails_with(
        std::slice::from_ref(&batch),
        &[],
        code(E::MigrationNotActive),
    )
    .await;

    // An extension by nothing is refused when proposed.
    let index = f.next_index;
    let ix = build::propose_config_change(
        &f.m[0],
        &f.gov,
        index,
        ConfigChange::ExtendMigration {
            job,
            additional_accounts: 0,
        },
    );
    f.h.fails_with(&[ix], &[&f.members[0]], code(E::InvalidMigrationExtension))
        .await;
    let extend = f
        .propose_config(
            0,
            ConfigChange::ExtendMigration {
                job,
                additional_accounts: 3,
            },
        )
        .await;
    f.approve(&[0, 1, 2], &extend).await;
    f.h.advance_time(48 * HOUR).await;
    f.h.ok(
        &[build::execute_config_change_with(
            &payer,
            &f.gov,
            &extend,
            None,
            Some(&job),
        )],
        &[],
    )
    .await;
    let j: MigrationJob = f.h.anchor_account(&job).await;
    assert_eq!(
        (j.status, j.spec.total_accounts),
        (MigrationStatus::Active, 6)
    );
    f.h.ok(&[batch], &[]).await;
    let j: MigrationJob = f.h.anchor_account(&job).await;
    assert_eq!(
        (j.status, j.migrated_count),
        (MigrationStatus::Completed, 6)
    );

    // A completed job cannot be cancelled; an active one can, and then takes no batch.
    let cancel = f
        .propose_config(1, ConfigChange::CancelMigration { job })
        .await;
    f.approve(&[0, 1, 2], &cancel).await;
    f.h.advance_time(48 * HOUR).await;
    f.h.fails_with(
        &[build::execute_config_change_with(
            &payer,
            &f.gov,
            &cancel,
            None,
            Some(&job),
        )],
        &[],
        code(E::MigrationNotActive),
    )
    .await;
    let more = seed_positions(&mut f.h, 5)[3..].to_vec();
    let (job2, _) = migration(&mut f, 0, 2).await;
    let cancel = f
        .propose_config(1, ConfigChange::CancelMigration { job: job2 })
        .await;
    f.approve(&[0, 1, 2], &cancel).await;
    f.h.advance_time(48 * HOUR).await;
    f.h.ok(
        &[build::execute_config_change_with(
            &payer,
            &f.gov,
            &cancel,
            None,
            Some(&job2),
        )],
        &[],
    )
    .await;
    let j: MigrationJob = f.h.anchor_account(&job2).await;
    assert_eq!(j.status, MigrationStatus::Cancelled);
    f.h.fails_with(
        &[build::migrate_batch(&payer, &job2, &perp_market::ID, &more)],
        &[],
        code(E::MigrationNotActive),
    )
    .await;
}

/// A governance created before the floors existed, below them, still works and can climb to
/// them one change at a time; no change can take it further down.
#[tokio::test]
async fn governance_below_the_floors_can_only_climb() {
    use anchor_lang::{AccountDeserialize, AccountSerialize};
    let mut f = Fixture::new().await;
    let mut acct = f.h.account(&f.gov).await.unwrap();
    let mut g = upgrade_manager::Governance::try_deserialize(&mut acct.data.as_slice()).unwrap();
    g.rollback_threshold = 1;
    g.rollback_timelock_seconds = 0;
    let mut data = Vec::new();
    g.try_serialize(&mut data).unwrap();
    acct.data[..data.len()].copy_from_slice(&data);
    f.h.set_account(&f.gov, acct);

    for (change, err) in [
        (ConfigChange::SetRollbackTimelock { seconds: 0 }, None),
        (
            ConfigChange::SetTimelock { seconds: 60 },
            Some(E::DelayBelowFloor),
        ),
        (ConfigChange::SetRollbackThreshold { threshold: 1 }, None),
    ] {
        let ix = build::propose_config_change(&f.m[0], &f.gov, f.next_index, change);
        match err {
            Some(err) => f.h.fails_with(&[ix], &[&f.members[0]], code(err)).await,
            // Keeping a setting where it is stays allowed.
            None => {
                f.h.ok(&[ix], &[&f.members[0]]).await;
                f.next_index += 1;
            }
        }
    }
    let index = f.next_index;
    // A member added while below the floors is fine: nothing was lowered.
    let add = f
        .propose_config(0, ConfigChange::AddMember { member: f.m[5] })
        .await;
    assert_eq!(add, pda::proposal(&f.gov, index));
    let raise = f
        .propose_config(0, ConfigChange::SetRollbackThreshold { threshold: 2 })
        .await;
    f.approve(&[0, 1, 2], &raise).await;
    f.h.advance_time(48 * HOUR).await;
    let payer = f.payer();
    f.h.ok(&[build::execute_config_change(&payer, &f.gov, &raise)], &[])
        .await;
    let g: upgrade_manager::Governance = f.h.anchor_account(&f.gov).await;
    assert_eq!((g.rollback_threshold, g.rollback_timelock_seconds), (2, 0));
    // Now at the floor, the threshold cannot go back down.
    let ix = build::propose_config_change(
        &f.m[0],
        &f.gov,
        f.next_index,
        ConfigChange::SetRollbackThreshold { threshold: 1 },
    );
    f.h.fails_with(&[ix], &[&f.members[0]], code(E::ThresholdBelowFloor))
        .await;
}

/// The way out: through a proposal, the governance hands a program's upgrade authority to a new
/// key, or makes the program immutable; after that the governance can no longer upgrade it.
#[tokio::test]
async fn governance_hands_over_or_freezes_a_program() {
    for new_authority in [Some(keypair(77).pubkey()), None] {
        let mut f = Fixture::new().await;
        let target = f.h.target;
        let c = f
            .propose_config(
                0,
                ConfigChange::SetUpgradeAuthority {
                    program: target,
                    new_authority,
                },
            )
            .await;
        f.approve(&[0, 1, 2], &c).await;
        f.h.advance_time(48 * HOUR).await;
        let payer = f.payer();
        // Without the loader's accounts the change cannot apply.
        f.h.fails_with(
            &[build::execute_program_config_change(
                &payer,
                &f.gov,
                &c,
                Some(&target),
            )],
            &[],
            code(E::ProposalAccountMismatch),
        )
        .await;
        f.h.ok(
            &[build::execute_hand_over(
                &payer,
                &f.gov,
                &c,
                &target,
                new_authority,
            )],
            &[],
        )
        .await;
        let pd =
            f.h.account(&solana_loader_v3_interface::get_program_data_address(
                &target,
            ))
            .await
            .unwrap();
        match new_authority {
            Some(k) => assert_eq!((pd.data[12], &pd.data[13..45]), (1, k.as_ref())),
            None => assert_eq!(pd.data[12], 0, "immutable"),
        }
        // The governance's own upgrades stop at the loader.
        f.h.next_slot().await;
        let (p, buffer) = f.ready_upgrade().await;
        f.h.advance_time(48 * HOUR).await;
        assert!(f.h.send(&[f.execute(&p, &buffer)], &[]).await.is_err());
    }
}

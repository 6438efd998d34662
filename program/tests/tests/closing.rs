//! Closing ended proposals and migration jobs (issue 11, "rent comes back"), performed as an
//! outsider would try to abuse it: closing what is still needed, sending the rent elsewhere,
//! closing twice, or reviving a closed account inside the same transaction.

use anchor_lang::error::ErrorCode as AnchorError;
#[allow(deprecated)]
use solana_sdk::system_instruction;
use solana_sdk::{pubkey::Pubkey, signature::Signer};
use upgrade_manager::{
    ConfigChange, Governance, MigrationJob, MigrationStatus, Proposal, ProposalStatus,
    UpgradeManagerError as E,
};
use upgrade_manager_tests::fixtures::*;
use upgrade_manager_tests::{build, code, elf_small, keypair, pda, MANAGER_ID};

async fn lamports(f: &mut Fixture, key: &Pubkey) -> u64 {
    f.h.account(key).await.map_or(0, |a| a.lamports)
}

/// Whether `key` is gone as a program account: no account, or a system account without data.
async fn closed(f: &mut Fixture, key: &Pubkey) -> bool {
    match f.h.account(key).await {
        None => true,
        Some(a) => a.owner != MANAGER_ID && a.data.is_empty(),
    }
}

/// An open proposal cannot be closed, whatever the destination; an ended one is closed by an
/// outsider, its rent going back to the proposer who paid it and never to the caller.
#[tokio::test]
async fn only_ended_proposals_close_and_their_rent_goes_back_to_the_payer() {
    let mut f = Fixture::new().await;
    let outsider = keypair(70);
    f.h.fund(&outsider.pubkey(), 10_000_000_000).await;
    let o = outsider.pubkey();
    let (p, buffer) = f.ready_upgrade().await;
    let proposer = f.m[0];
    // Approved and inside its window: its votes and its buffer lock are still needed.
    for dest in [o, proposer] {
        f.h.fails_with(
            &[build::close_proposal(&o, &f.gov, &p, &dest)],
            &[&outsider],
            code(E::ProposalNotEnded),
        )
        .await;
    }
    // Active: still gathering votes.
    let buffer2 = f.buffer(&elf_small(), true).await;
    let active = f.propose(1, &buffer2).await;
    f.h.fails_with(
        &[build::close_proposal(&o, &f.gov, &active, &f.m[1])],
        &[&outsider],
        code(E::ProposalNotEnded),
    )
    .await;

    f.h.advance_time(48 * HOUR).await;
    f.h.ok(&[f.execute(&p, &buffer)], &[]).await;
    // Executed: the rent must not go to the caller.
    f.h.fails_with(
        &[build::close_proposal(&o, &f.gov, &p, &o)],
        &[&outsider],
        code(E::WrongRentCollector),
    )
    .await;
    let rent = lamports(&mut f, &p).await;
    let before = lamports(&mut f, &proposer).await;
    let outsider_before = lamports(&mut f, &o).await;
    f.h.ok(
        &[build::close_proposal(&o, &f.gov, &p, &proposer)],
        &[&outsider],
    )
    .await;
    assert_eq!(lamports(&mut f, &proposer).await, before + rent);
    assert_eq!(
        lamports(&mut f, &o).await,
        outsider_before,
        "the caller got nothing"
    );
    assert!(closed(&mut f, &p).await);
    // The release it made stays in the program's history.
    let mp: upgrade_manager::ManagedProgram =
        f.h.anchor_account(&pda::managed_program(&f.h.target)).await;
    assert_eq!(
        mp.current_hash,
        upgrade_manager_tests::elf_hash(&elf_small())
    );
    // Closed once: a second close finds no proposal.
    f.h.fails_with(
        &[build::close_proposal(&o, &f.gov, &p, &proposer)],
        &[&outsider],
        AnchorError::AccountNotInitialized as u32,
    )
    .await;
}

/// Closing, refunding the address and closing again in one transaction (the revival attack)
/// fails as a whole: Anchor's `close` hands the account to the system program with no data, so
/// lamports sent back make a system account, not a proposal.
#[tokio::test]
async fn a_closed_proposal_cannot_be_revived_or_closed_twice_in_one_transaction() {
    let mut f = Fixture::new().await;
    let outsider = keypair(70);
    f.h.fund(&outsider.pubkey(), 10_000_000_000).await;
    let o = outsider.pubkey();
    let buffer = f.buffer(&elf_small(), true).await;
    let p = f.propose(2, &buffer).await;
    let target = f.h.target;
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
    let rent = lamports(&mut f, &p).await;
    let close = build::close_proposal(&o, &f.gov, &p, &f.m[2]);
    let revive = system_instruction::transfer(&o, &p, rent);
    f.h.fails_with(
        &[close.clone(), revive.clone(), close.clone()],
        &[&outsider],
        AnchorError::AccountOwnedByWrongProgram as u32,
    )
    .await;
    f.h.fails_with(
        &[close.clone(), close.clone()],
        &[&outsider],
        AnchorError::AccountNotInitialized as u32,
    )
    .await;
    // Both failed as a whole: the proposal is still there, cancelled.
    let pr: Proposal = f.h.anchor_account(&p).await;
    assert_eq!(pr.status, ProposalStatus::Cancelled);

    f.h.ok(std::slice::from_ref(&close), &[&outsider]).await;
    f.h.ok(&[revive], &[&outsider]).await;
    // Refunded, the address is a plain system account: no instruction reads it as a proposal.
    assert!(closed(&mut f, &p).await);
    f.h.fails_with(
        &[close],
        &[&outsider],
        AnchorError::AccountOwnedByWrongProgram as u32,
    )
    .await;
    f.h.fails_with(
        &[build::approve(&f.m[0], &f.gov, &p)],
        &[&f.members[0]],
        AnchorError::AccountOwnedByWrongProgram as u32,
    )
    .await;
    // Proposal addresses are never reused: the next proposal gets the next index.
    let gov: Governance = f.h.anchor_account(&f.gov).await;
    assert_eq!(gov.proposal_count, pr.index + 1);
}

/// An active proposal past its voting period is expired first (`expire` closes its buffer and
/// lock), then closed; a rejected one closes too.
#[tokio::test]
async fn expired_and_rejected_proposals_close() {
    let mut f = Fixture::new().await;
    let payer = f.payer();
    let target = f.h.target;
    let buffer = f.buffer(&elf_small(), true).await;
    let p = f.propose(1, &buffer).await;
    f.h.advance_time(14 * DAY).await;
    // Past its voting period but not marked: `expire` comes first.
    f.h.fails_with(
        &[build::close_proposal(&payer, &f.gov, &p, &f.m[1])],
        &[],
        code(E::ProposalNotEnded),
    )
    .await;
    f.h.ok(
        &[
            build::expire(&payer, &f.gov, &p, Some((buffer, f.m[1], target)), &f.spill),
            build::close_proposal(&payer, &f.gov, &p, &f.m[1]),
        ],
        &[],
    )
    .await;
    assert!(closed(&mut f, &p).await);
    assert!(f.h.account(&pda::buffer_lock(&buffer)).await.is_none());

    let q = f
        .propose_config(0, ConfigChange::SetGracePeriod { seconds: DAY })
        .await;
    for i in [1, 2, 3] {
        f.h.ok(
            &[build::reject(&f.m[i], &f.gov, &q, None, &f.spill)],
            &[&f.members[i]],
        )
        .await;
    }
    let pr: Proposal = f.h.anchor_account(&q).await;
    assert_eq!(pr.status, ProposalStatus::Rejected);
    f.h.ok(&[build::close_proposal(&payer, &f.gov, &q, &f.m[0])], &[])
        .await;
    assert!(closed(&mut f, &q).await);
}

/// With a rent collector set by a config change, closed accounts' rent goes there and no longer
/// to the payer.
#[tokio::test]
async fn rent_goes_to_the_governance_rent_collector_once_set() {
    let mut f = Fixture::new().await;
    let collector = Pubkey::new_unique();
    let c = f
        .propose_config(
            0,
            ConfigChange::SetRentCollector {
                rent_collector: Some(collector),
            },
        )
        .await;
    f.approve(&[0, 1, 2], &c).await;
    f.h.advance_time(48 * HOUR).await;
    let payer = f.payer();
    f.h.ok(&[build::execute_config_change(&payer, &f.gov, &c)], &[])
        .await;
    let gov: Governance = f.h.anchor_account(&f.gov).await;
    assert_eq!(gov.rent_collector, collector);
    // The proposer who paid no longer gets it back.
    f.h.fails_with(
        &[build::close_proposal(&payer, &f.gov, &c, &f.m[0])],
        &[],
        code(E::WrongRentCollector),
    )
    .await;
    let rent = lamports(&mut f, &c).await;
    f.h.ok(
        &[build::close_proposal(&payer, &f.gov, &c, &collector)],
        &[],
    )
    .await;
    assert_eq!(lamports(&mut f, &collector).await, rent);
    // `None` goes back to "whoever paid".
    let d = f
        .propose_config(
            1,
            ConfigChange::SetRentCollector {
                rent_collector: None,
            },
        )
        .await;
    f.approve(&[0, 1, 2], &d).await;
    f.h.advance_time(48 * HOUR).await;
    f.h.ok(&[build::execute_config_change(&payer, &f.gov, &d)], &[])
        .await;
    f.h.ok(&[build::close_proposal(&payer, &f.gov, &d, &f.m[1])], &[])
        .await;
}

/// A migration job closes only once it ended; its rent goes back to the executor who paid it.
/// Closing the executed migration proposal while the job runs does not stop the job: batches
/// never read the proposal.
#[tokio::test]
async fn migration_jobs_close_only_once_ended() {
    let mut f = Fixture::new().await;
    let (job, real) = migration(&mut f, 3, 3).await;
    let outsider = keypair(70);
    f.h.fund(&outsider.pubkey(), 10_000_000_000).await;
    let o = outsider.pubkey();
    let payer = f.payer();
    let j: MigrationJob = f.h.anchor_account(&job).await;
    assert_eq!(j.payer, payer);
    f.h.fails_with(
        &[build::close_migration_job(&o, &f.gov, &job, &payer)],
        &[&outsider],
        code(E::MigrationJobNotEnded),
    )
    .await;
    // The migration proposal has ended (executed): closing it leaves the job running.
    f.h.ok(
        &[build::close_proposal(&o, &f.gov, &j.proposal, &f.m[0])],
        &[&outsider],
    )
    .await;
    f.h.ok(
        &[build::migrate_batch(&payer, &job, &perp_market::ID, &real)],
        &[],
    )
    .await;
    let j: MigrationJob = f.h.anchor_account(&job).await;
    assert_eq!(j.status, MigrationStatus::Completed);
    f.h.fails_with(
        &[build::close_migration_job(&o, &f.gov, &job, &o)],
        &[&outsider],
        code(E::WrongRentCollector),
    )
    .await;
    let rent = lamports(&mut f, &job).await;
    let before = lamports(&mut f, &payer).await;
    f.h.ok(
        &[build::close_migration_job(&o, &f.gov, &job, &payer)],
        &[&outsider],
    )
    .await;
    // The harness's payer also paid this transaction's fee (two signatures).
    assert_eq!(lamports(&mut f, &payer).await, before + rent - 10_000);
    assert!(closed(&mut f, &job).await);
    f.h.fails_with(
        &[build::migrate_batch(&payer, &job, &perp_market::ID, &real)],
        &[],
        AnchorError::AccountNotInitialized as u32,
    )
    .await;
}

/// The executor cannot leave the buffer lock out (stranding the proposer's rent and the
/// buffer's address) nor pass another buffer's lock: the lock is a typed account checked
/// against the proposal's buffer.
#[tokio::test]
async fn execute_upgrade_closes_the_proposals_own_lock() {
    let mut f = Fixture::new().await;
    let (p, buffer) = f.ready_upgrade().await;
    let other = f.buffer(&elf_small(), true).await;
    let _held = f.propose(1, &other).await;
    f.h.advance_time(48 * HOUR).await;
    let mut without = f.execute(&p, &buffer);
    // An optional account left out is the program id in its place.
    without.accounts[7].pubkey = MANAGER_ID;
    without.accounts[7].is_writable = false;
    f.h.fails_with(&[without], &[], code(E::ProposalAccountMismatch))
        .await;
    let mut wrong = f.execute(&p, &buffer);
    wrong.accounts[7].pubkey = pda::buffer_lock(&other);
    f.h.fails_with(&[wrong], &[], code(E::ProposalAccountMismatch))
        .await;
    let proposer = f.m[0];
    let lock_rent = lamports(&mut f, &pda::buffer_lock(&buffer)).await;
    let before = lamports(&mut f, &proposer).await;
    f.h.ok(&[f.execute(&p, &buffer)], &[]).await;
    assert!(f.h.account(&pda::buffer_lock(&buffer)).await.is_none());
    assert_eq!(lamports(&mut f, &proposer).await, before + lock_rent);
    assert!(f.h.account(&pda::buffer_lock(&other)).await.is_some());
}

//! A PDA as a governance member: a vault of the `pda_member` test program (a stand-in for a
//! Squads v4 vault) proposes, approves and revokes through CPI with `invoke_signed`, and
//! nobody but its owner can make it sign.

use solana_sdk::{instruction::InstructionError, signature::Signer, transaction::TransactionError};
use upgrade_manager::{
    ConfigChange, Governance, InitializeGovernanceArgs, Proposal, ProposalStatus,
    UpgradeManagerError as E,
};
use upgrade_manager_tests::{build, code, keypair, pda, Harness};

const DAY: i64 = 86_400;

#[tokio::test]
async fn a_vault_pda_proposes_approves_and_revokes_through_cpi() {
    let mut h = Harness::new().await;
    let owner = keypair(50);
    let (vault, _) = pda_member::vault(&owner.pubkey());
    let m1 = keypair(51);
    for k in [&owner.pubkey(), &m1.pubkey(), &vault] {
        // The vault is a system account with lamports, as a Squads vault is: it pays rent.
        h.fund(k, 10_000_000_000).await;
    }
    let create_key = keypair(52);
    let payer = h.payer().pubkey();
    h.ok(
        &[build::initialize_governance(
            &payer,
            &create_key.pubkey(),
            InitializeGovernanceArgs {
                members: vec![vault, m1.pubkey(), keypair(53).pubkey()],
                threshold: 2,
                rollback_threshold: 2,
                timelock_seconds: Some(DAY),
                rollback_timelock_seconds: None,
                grace_period_seconds: None,
                voting_period_seconds: None,
                rent_collector: None,
                spill: payer,
            },
        )],
        &[&create_key],
    )
    .await;
    let gov = pda::governance(&create_key.pubkey());
    let proposal = pda::proposal(&gov, 0);

    // The vault proposes: upgrade_manager sees it as the signing, paying proposer.
    let change = ConfigChange::SetGracePeriod { seconds: 3 * DAY };
    let propose = build::propose_config_change(&vault, &gov, 0, change);
    h.ok(&[pda_member::execute(&owner.pubkey(), &propose)], &[&owner])
        .await;
    let p: Proposal = h.anchor_account(&proposal).await;
    assert_eq!(p.proposer, vault);

    // It approves, revokes and approves again; its bit is slot 0.
    let approve = build::approve(&vault, &gov, &proposal);
    h.ok(&[pda_member::execute(&owner.pubkey(), &approve)], &[&owner])
        .await;
    let p: Proposal = h.anchor_account(&proposal).await;
    assert_eq!(p.approvals, 0b001);
    let revoke = build::revoke_approval(&vault, &gov, &proposal);
    h.ok(&[pda_member::execute(&owner.pubkey(), &revoke)], &[&owner])
        .await;
    let p: Proposal = h.anchor_account(&proposal).await;
    assert_eq!(p.approvals, 0);
    h.next_slot().await;
    h.ok(&[pda_member::execute(&owner.pubkey(), &approve)], &[&owner])
        .await;

    // Attack: another key makes its own vault approve: that PDA is not a member.
    let impostor = keypair(54);
    h.fund(&impostor.pubkey(), 1_000_000_000).await;
    let (impostor_vault, _) = pda_member::vault(&impostor.pubkey());
    let forged = build::approve(&impostor_vault, &gov, &proposal);
    h.fails_with(
        &[pda_member::execute(&impostor.pubkey(), &forged)],
        &[&impostor],
        code(E::NotAMember),
    )
    .await;
    // Attack: another key names the member vault: the program cannot sign for seeds it does not
    // own, so the call fails before upgrade_manager runs.
    let mut stolen = pda_member::execute(&impostor.pubkey(), &approve);
    stolen.accounts[1].pubkey = vault;
    for m in stolen.accounts.iter_mut().filter(|m| m.pubkey == vault) {
        m.is_signer = false;
    }
    match h.send(&[stolen], &[&impostor]).await {
        Err(TransactionError::InstructionError(0, InstructionError::InvalidSeeds)) => {}
        other => panic!("a stranger made the vault sign: {other:?}"),
    }
    // Attack: the vault's approval without the vault's signature.
    let unsigned = solana_sdk::instruction::Instruction {
        accounts: approve
            .accounts
            .iter()
            .map(|m| solana_sdk::instruction::AccountMeta {
                is_signer: false,
                ..m.clone()
            })
            .collect(),
        ..approve.clone()
    };
    h.fails_with(
        &[unsigned],
        &[],
        anchor_lang::error::ErrorCode::AccountNotSigner as u32,
    )
    .await;

    // The second member's approval reaches the threshold; the change executes after the timelock.
    h.ok(&[build::approve(&m1.pubkey(), &gov, &proposal)], &[&m1])
        .await;
    let p: Proposal = h.anchor_account(&proposal).await;
    assert_eq!(p.status, ProposalStatus::Approved);
    assert_eq!(p.approvals, 0b011);
    h.advance_time(DAY).await;
    h.ok(
        &[build::execute_config_change(&payer, &gov, &proposal)],
        &[],
    )
    .await;
    let g: Governance = h.anchor_account(&gov).await;
    assert_eq!(g.grace_period_seconds, 3 * DAY);
}

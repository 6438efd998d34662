//! Set-ups shared by the scenario and the rejection tests.

use solana_sdk::{
    account::Account, instruction::Instruction, pubkey::Pubkey, rent::Rent, signature::Signer,
};
use upgrade_manager::ManagedProgram;

use crate::{
    buffer_account_data, build, keypair, pda, Harness, BUFFER_HEADER_LEN, LOADER_ID,
    PROGRAMDATA_HEADER_LEN,
};

/// Writes a loader buffer holding `elf` with `authority`, as `solana program write-buffer` would.
pub fn put_buffer(h: &mut Harness, key: &Pubkey, authority: &Pubkey, elf: &[u8]) {
    let data = buffer_account_data(Some(authority), elf);
    h.set_account(
        key,
        Account {
            lamports: Rent::default().minimum_balance(data.len()),
            data,
            owner: LOADER_ID,
            executable: false,
            rent_epoch: 0,
        },
    );
}

pub async fn extend_needed(h: &mut Harness, programdata: &Pubkey, buffer: &Pubkey) -> usize {
    let pd = h.account(programdata).await.unwrap().data.len() - PROGRAMDATA_HEADER_LEN;
    let elf = h.account(buffer).await.unwrap().data.len() - BUFFER_HEADER_LEN;
    elf.saturating_sub(pd)
}

/// Natively registered builtins are not upgradeable-loader programs, so `register_program`
/// cannot take perp_market; write the record it would write, so migrations can target it.
pub fn register_builtin_as_managed(h: &mut Harness, gov: &Pubkey) {
    use anchor_lang::{AccountSerialize, Space};
    let program = perp_market::ID;
    let key = pda::managed_program(&program);
    let (_, bump) = Pubkey::find_program_address(
        &[upgrade_manager::MANAGED_PROGRAM_SEED, program.as_ref()],
        &upgrade_manager::ID,
    );
    let (ua, ua_bump) = Pubkey::find_program_address(
        &[upgrade_manager::UPGRADE_AUTHORITY_SEED, program.as_ref()],
        &upgrade_manager::ID,
    );
    let (_, ma_bump) = Pubkey::find_program_address(
        &[upgrade_manager::MIGRATION_AUTHORITY_SEED, program.as_ref()],
        &upgrade_manager::ID,
    );
    let mp = ManagedProgram {
        layout_version: 1,
        bump,
        upgrade_authority_bump: ua_bump,
        migration_authority_bump: ma_bump,
        governance: *gov,
        program,
        programdata: Pubkey::default(),
        upgrade_authority: ua,
        current_hash: [0; 32],
        last_deploy_slot: 0,
        release_count: 0,
        releases: vec![],
        reserved: [0; 64],
    };
    let mut data = Vec::with_capacity(8 + ManagedProgram::INIT_SPACE);
    mp.try_serialize(&mut data).unwrap();
    data.resize(8 + ManagedProgram::INIT_SPACE, 0);
    h.set_account(
        &key,
        Account {
            lamports: Rent::default().minimum_balance(data.len()),
            data,
            owner: upgrade_manager::ID,
            executable: false,
            rent_epoch: 0,
        },
    );
}

/// Writes `n` v1 positions directly into the bank.
pub fn seed_positions(h: &mut Harness, n: u8) -> Vec<Pubkey> {
    (0..n)
        .map(|i| {
            let owner = Pubkey::new_from_array([i; 32]);
            let key = Pubkey::find_program_address(
                &[
                    perp_market::POSITION_SEED,
                    owner.as_ref(),
                    &0u64.to_le_bytes(),
                ],
                &perp_market::ID,
            )
            .0;
            let data = perp_market::position_v1(&owner, 1, 10 + i as i64, 1_000 * (i as u64 + 1));
            h.set_account(
                &key,
                Account {
                    lamports: Rent::default().minimum_balance(data.len()),
                    data,
                    owner: perp_market::ID,
                    executable: false,
                    rent_epoch: 0,
                },
            );
            key
        })
        .collect()
}

pub fn migrate_position_data() -> Vec<u8> {
    use anchor_lang::InstructionData;
    perp_market::instruction::MigratePosition {}.data()
}

pub fn open_position_ix(owner: &Pubkey, position: &Pubkey, id: u64) -> Instruction {
    use anchor_lang::{InstructionData, ToAccountMetas};
    Instruction {
        program_id: perp_market::ID,
        accounts: perp_market::accounts::OpenPosition {
            owner: *owner,
            position: *position,
            system_program: solana_sdk::system_program::ID,
        }
        .to_account_metas(None),
        data: perp_market::instruction::OpenPosition {
            id,
            market_index: 3,
            size: 5,
            collateral: 500,
        }
        .data(),
    }
}

/// Writes a buffer holding `elf` as the harness's deployer (`keypair(201)`), then locks it to
/// the target's upgrade-authority PDA with the loader's SetAuthority, as a team handing an
/// upgrade to the governance does.
pub async fn locked_buffer(h: &mut Harness, key: &Pubkey, elf: &[u8]) {
    let deployer = keypair(201);
    put_buffer(h, key, &deployer.pubkey(), elf);
    let target = h.target;
    h.ok(
        &[build::lock_buffer(key, &deployer.pubkey(), &target)],
        &[&deployer],
    )
    .await;
}

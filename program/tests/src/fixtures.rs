//! Set-ups shared by the scenario and the rejection tests.

use solana_sdk::{
    account::Account,
    instruction::Instruction,
    pubkey::Pubkey,
    rent::Rent,
    signature::{Keypair, Signer},
};
use upgrade_manager::{ConfigChange, InitializeGovernanceArgs, ManagedProgram, MigrationSpec};

use crate::{
    buffer_account_data, build, elf_hash, elf_small, keypair, pda, programdata_account_data,
    Harness, BUFFER_HEADER_LEN, LOADER_ID, PROGRAMDATA_HEADER_LEN,
};

/// An hour in seconds.
pub const HOUR: i64 = 3_600;
/// A day in seconds.
pub const DAY: i64 = 86_400;

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

/// The binary perp_market's stand-in programdata holds (see `register_builtin_as_managed`).
pub fn perp_market_elf() -> Vec<u8> {
    elf_small()
}

/// Natively registered builtins are not upgradeable-loader programs, so `register_program`
/// cannot take perp_market; write the record it would write, so migrations can target it, and
/// a programdata account standing for its deployed binary (`perp_market_elf()`), whose hash a
/// migration requires. Returns that hash.
pub fn register_builtin_as_managed(h: &mut Harness, gov: &Pubkey) -> [u8; 32] {
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
    let programdata = solana_loader_v3_interface::get_program_data_address(&program);
    let elf = perp_market_elf();
    let pd = programdata_account_data(0, Some(&ua), &elf);
    h.set_account(
        &programdata,
        Account {
            lamports: Rent::default().minimum_balance(pd.len()),
            data: pd,
            owner: LOADER_ID,
            executable: false,
            rent_epoch: 0,
        },
    );
    let hash = elf_hash(&elf);
    let mp = ManagedProgram {
        layout_version: upgrade_manager::ACCOUNT_LAYOUT_VERSION,
        bump,
        upgrade_authority_bump: ua_bump,
        migration_authority_bump: ma_bump,
        governance: *gov,
        program,
        programdata,
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
    hash
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

/// A 3-of-5 governance managing the harness's target program.
pub struct Fixture {
    pub h: Harness,
    pub members: Vec<Keypair>,
    pub m: Vec<Pubkey>,
    pub gov: Pubkey,
    pub spill: Pubkey,
    pub next_index: u64,
    pub next_buffer_seed: u8,
    /// Proposer of each proposal made through the fixture.
    pub proposers: std::collections::HashMap<Pubkey, Pubkey>,
}

impl Fixture {
    pub async fn new() -> Self {
        let mut h = Harness::new().await;
        let members: Vec<_> = (1..=6).map(keypair).collect();
        for k in &members {
            h.fund(&k.pubkey(), 10_000_000_000).await;
        }
        let m: Vec<Pubkey> = members.iter().map(|k| k.pubkey()).collect();
        let create_key = keypair(100);
        let spill = keypair(101).pubkey();
        let payer = h.payer().pubkey();
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
        let gov = pda::governance(&create_key.pubkey());
        let deployer = keypair(201);
        let target = h.target;
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
        Fixture {
            h,
            members,
            m,
            gov,
            spill,
            next_index: 0,
            next_buffer_seed: 120,
            proposers: Default::default(),
        }
    }

    pub fn payer(&self) -> Pubkey {
        self.h.payer().pubkey()
    }

    /// A buffer holding `elf`, locked to the target's upgrade-authority PDA when `lock`.
    pub async fn buffer(&mut self, elf: &[u8], lock: bool) -> Pubkey {
        let key = keypair(self.next_buffer_seed).pubkey();
        self.next_buffer_seed += 1;
        if lock {
            locked_buffer(&mut self.h, &key, elf).await;
        } else {
            put_buffer(&mut self.h, &key, &keypair(201).pubkey(), elf);
        }
        key
    }

    /// Proposes an upgrade to `buffer` by member `by`; returns the proposal.
    pub async fn propose(&mut self, by: usize, buffer: &Pubkey) -> Pubkey {
        let index = self.next_index;
        let target = self.h.target;
        let ix = build::propose_binary(false, &self.m[by], &self.gov, index, &target, buffer, "u");
        let signer = keypair(by as u8 + 1);
        self.h.ok(&[ix], &[&signer]).await;
        self.next_index += 1;
        let p = pda::proposal(&self.gov, index);
        self.proposers.insert(p, self.m[by]);
        p
    }

    pub async fn propose_config(&mut self, by: usize, change: ConfigChange) -> Pubkey {
        let index = self.next_index;
        let ix = build::propose_config_change(&self.m[by], &self.gov, index, change);
        let signer = keypair(by as u8 + 1);
        self.h.ok(&[ix], &[&signer]).await;
        self.next_index += 1;
        let p = pda::proposal(&self.gov, index);
        self.proposers.insert(p, self.m[by]);
        p
    }

    pub async fn approve(&mut self, by: &[usize], proposal: &Pubkey) {
        for &i in by {
            let ix = build::approve(&self.m[i], &self.gov, proposal);
            let signer = keypair(i as u8 + 1);
            self.h.ok(&[ix], &[&signer]).await;
        }
    }

    pub fn execute(
        &self,
        proposal: &Pubkey,
        buffer: &Pubkey,
    ) -> solana_sdk::instruction::Instruction {
        let proposer = self.proposers.get(proposal).copied().unwrap_or(self.m[0]);
        build::execute_upgrade(
            &self.payer(),
            &self.gov,
            proposal,
            &proposer,
            &self.h.target,
            buffer,
            &self.spill,
        )
    }

    /// An approved upgrade to a binary that fits the programdata (no extension needed).
    pub async fn ready_upgrade(&mut self) -> (Pubkey, Pubkey) {
        let buffer = self.buffer(&elf_small(), true).await;
        let p = self.propose(0, &buffer).await;
        self.approve(&[0, 1, 2], &p).await;
        (p, buffer)
    }
}

/// A migration job over `n` seeded perp_market positions, started and ready for batches.
pub async fn migration(f: &mut Fixture, n: u8, total: u64) -> (Pubkey, Vec<Pubkey>) {
    let gov = f.gov;
    let required_hash = register_builtin_as_managed(&mut f.h, &gov);
    let positions = seed_positions(&mut f.h, n);
    let index = f.next_index;
    let ix = build::propose_migration(
        &f.m[0],
        &gov,
        index,
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
    );
    f.h.ok(&[ix], &[&keypair(1)]).await;
    f.next_index += 1;
    let p = pda::proposal(&gov, index);
    f.approve(&[0, 1, 2], &p).await;
    f.h.advance_time(48 * HOUR).await;
    let payer = f.payer();
    f.h.ok(
        &[build::execute_migration(&payer, &gov, &p, &perp_market::ID)],
        &[],
    )
    .await;
    (pda::migration(&p), positions)
}

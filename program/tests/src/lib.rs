//! Test harness for `upgrade_manager` in the real agave runtime: both programs run natively as
//! builtins next to the real system program and upgradeable loader, and a real SBF program
//! (SPL Memo 3.0, then SPL Token 3.5) is the upgrade target.
//!
//! Every successful transaction can be recorded as a test vector: the transaction as
//! `getTransaction` would show it, plus the events it emitted decoded through the IDL.
#![allow(clippy::result_large_err)]

pub mod fixtures;
pub mod idl;
pub mod vectors;

use std::mem;

use anchor_lang::{prelude::AccountMeta, InstructionData, ToAccountMetas};
use solana_loader_v3_interface::instruction as loader_ix;
use solana_program_test::{processor, BanksClientError, ProgramTest, ProgramTestContext};
use solana_sdk::{
    account::{Account, AccountSharedData},
    account_info::AccountInfo,
    clock::Clock,
    entrypoint::ProgramResult,
    instruction::{Instruction, InstructionError},
    pubkey::Pubkey,
    rent::Rent,
    signature::{Keypair, Signer},
    transaction::{Transaction, TransactionError},
};

pub use upgrade_manager::ID as MANAGER_ID;
use upgrade_manager::{accounts as ax, instruction as ix};

/// Size of a loader-v3 buffer header.
pub const BUFFER_HEADER_LEN: usize = 37;
/// Size of a loader-v3 programdata header.
pub const PROGRAMDATA_HEADER_LEN: usize = 45;
/// The upgradeable loader.
pub const LOADER_ID: Pubkey = solana_sdk::bpf_loader_upgradeable::ID;

// Anchor's `entry` takes `&'info [AccountInfo<'info>]`, which `processor!` cannot name. The
// account infos live for the whole builtin invocation, so widening the slice's lifetime for the
// duration of the call is sound (the approach Trident's `convert_entry!` takes).
fn manager_entry(p: &Pubkey, a: &[AccountInfo], d: &[u8]) -> ProgramResult {
    let a: &[AccountInfo] = unsafe { mem::transmute::<&[AccountInfo], &[AccountInfo]>(a) };
    upgrade_manager::entry(p, a, d)
}

fn pda_member_entry(p: &Pubkey, a: &[AccountInfo], d: &[u8]) -> ProgramResult {
    pda_member::process(p, a, d)
}

fn perp_entry(p: &Pubkey, a: &[AccountInfo], d: &[u8]) -> ProgramResult {
    let a: &[AccountInfo] = unsafe { mem::transmute::<&[AccountInfo], &[AccountInfo]>(a) };
    perp_market::entry(p, a, d)
}

/// The ELF bytes of a program bundled with program-test (a loader-v2 account holds the ELF).
pub fn bundled_elf(program_id: &Pubkey) -> Vec<u8> {
    solana_program_test::programs::spl_programs(&Rent::default())
        .into_iter()
        .find(|(k, _)| k == program_id)
        .map(|(_, a)| Account::from(a).data)
        .expect("program is bundled with solana-program-test")
}

/// SPL Memo 3.0: the target's first binary.
pub fn elf_v1() -> Vec<u8> {
    bundled_elf(&Pubkey::from_str_const(
        "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr",
    ))
}

/// SPL Token 3.5: the target's second binary (larger, so the programdata must be extended).
pub fn elf_v2() -> Vec<u8> {
    bundled_elf(&Pubkey::from_str_const(
        "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
    ))
}

/// The core BPF feature-gate program (72,984 bytes): smaller than `elf_v1()`, so it upgrades
/// the target without extending its programdata.
pub fn elf_small() -> Vec<u8> {
    let programdata =
        solana_loader_v3_interface::get_program_data_address(&solana_sdk::feature::ID);
    solana_program_test::programs::core_bpf_programs(&Rent::default(), |_| true)
        .into_iter()
        .find(|(k, _)| *k == programdata)
        .map(|(_, a)| Account::from(a).data[PROGRAMDATA_HEADER_LEN..].to_vec())
        .expect("feature gate is bundled with solana-program-test")
}

/// sha256 of an ELF without trailing zeros, as `solana-verify` computes it.
pub fn elf_hash(elf: &[u8]) -> [u8; 32] {
    upgrade_manager::loader::elf_hash(strip_zeros(elf))
}

/// `bytes` without trailing zero padding.
pub fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// Loader-v3 program account data pointing at `programdata`.
pub fn program_account_data(programdata: &Pubkey) -> Vec<u8> {
    let mut d = 2u32.to_le_bytes().to_vec();
    d.extend_from_slice(programdata.as_ref());
    d
}

/// Loader-v3 programdata account data.
pub fn programdata_account_data(slot: u64, authority: Option<&Pubkey>, elf: &[u8]) -> Vec<u8> {
    let mut d = 3u32.to_le_bytes().to_vec();
    d.extend_from_slice(&slot.to_le_bytes());
    push_optional_key(&mut d, authority);
    d.extend_from_slice(elf);
    d
}

/// Loader-v3 buffer account data.
pub fn buffer_account_data(authority: Option<&Pubkey>, elf: &[u8]) -> Vec<u8> {
    let mut d = 1u32.to_le_bytes().to_vec();
    push_optional_key(&mut d, authority);
    d.extend_from_slice(elf);
    d
}

fn push_optional_key(d: &mut Vec<u8>, key: Option<&Pubkey>) {
    match key {
        Some(k) => {
            d.push(1);
            d.extend_from_slice(k.as_ref());
        }
        None => {
            d.push(0);
            d.extend_from_slice(&[0; 32]);
        }
    }
}

/// A deterministic keypair, so vectors name the same keys on every run.
pub fn keypair(seed: u8) -> Keypair {
    let secret = [seed; 32];
    Keypair::new_from_array(secret)
}

/// PDA helpers.
pub mod pda {
    use super::*;
    use upgrade_manager::constants::*;

    pub fn governance(create_key: &Pubkey) -> Pubkey {
        Pubkey::find_program_address(&[GOVERNANCE_SEED, create_key.as_ref()], &MANAGER_ID).0
    }
    pub fn managed_program(program: &Pubkey) -> Pubkey {
        Pubkey::find_program_address(&[MANAGED_PROGRAM_SEED, program.as_ref()], &MANAGER_ID).0
    }
    pub fn upgrade_authority(program: &Pubkey) -> Pubkey {
        Pubkey::find_program_address(&[UPGRADE_AUTHORITY_SEED, program.as_ref()], &MANAGER_ID).0
    }
    pub fn migration_authority(program: &Pubkey) -> Pubkey {
        Pubkey::find_program_address(&[MIGRATION_AUTHORITY_SEED, program.as_ref()], &MANAGER_ID).0
    }
    pub fn proposal(governance: &Pubkey, index: u64) -> Pubkey {
        Pubkey::find_program_address(
            &[PROPOSAL_SEED, governance.as_ref(), &index.to_le_bytes()],
            &MANAGER_ID,
        )
        .0
    }
    pub fn buffer_lock(buffer: &Pubkey) -> Pubkey {
        Pubkey::find_program_address(&[BUFFER_LOCK_SEED, buffer.as_ref()], &MANAGER_ID).0
    }
    pub fn migration(proposal: &Pubkey) -> Pubkey {
        Pubkey::find_program_address(&[MIGRATION_SEED, proposal.as_ref()], &MANAGER_ID).0
    }
    pub fn event_authority() -> Pubkey {
        Pubkey::find_program_address(&[b"__event_authority"], &MANAGER_ID).0
    }
}

/// The runtime with both programs and an upgradeable SBF target, plus a clock we control.
pub struct Harness {
    pub ctx: ProgramTestContext,
    /// Upgradeable SBF program the governance upgrades.
    pub target: Pubkey,
    /// The target's upgrade authority before it is handed to the governance.
    pub deployer: Keypair,
    /// The chain time the harness keeps the Clock at.
    pub now: i64,
    /// Successful transactions, recorded as vectors when `record` is set.
    pub recorder: Option<vectors::Recorder>,
}

/// Seed of the target program's key.
const TARGET_SEED: u8 = 200;
/// Seed of the deployer's key.
const DEPLOYER_SEED: u8 = 201;

impl Harness {
    /// Starts the runtime. The target runs `elf_v1()` with `deployer` as its upgrade authority.
    pub async fn new() -> Self {
        let mut pt = ProgramTest::default();
        pt.prefer_bpf(false);
        pt.add_program("upgrade_manager", MANAGER_ID, processor!(manager_entry));
        pt.add_program("perp_market", perp_market::ID, processor!(perp_entry));
        pt.add_program("pda_member", pda_member::ID, processor!(pda_member_entry));

        let target = keypair(TARGET_SEED).pubkey();
        let deployer = keypair(DEPLOYER_SEED);
        let programdata = solana_loader_v3_interface::get_program_data_address(&target);
        let rent = Rent::default();
        let elf = elf_v1();
        let pd = programdata_account_data(0, Some(&deployer.pubkey()), &elf);
        pt.add_account(
            programdata,
            Account {
                lamports: rent.minimum_balance(pd.len()),
                data: pd,
                owner: LOADER_ID,
                executable: false,
                rent_epoch: 0,
            },
        );
        let prog = program_account_data(&programdata);
        pt.add_account(
            target,
            Account {
                lamports: rent.minimum_balance(prog.len()),
                data: prog,
                owner: LOADER_ID,
                executable: true,
                rent_epoch: 0,
            },
        );
        pt.add_account(
            deployer.pubkey(),
            Account::new(100_000_000_000, 0, &solana_sdk::system_program::ID),
        );

        let mut ctx = pt.start_with_context().await;
        // Start from a settled slot and a round, recognisable time.
        ctx.warp_to_slot(10).unwrap();
        let mut h = Harness {
            ctx,
            target,
            deployer,
            now: 1_767_225_600, // 2026-01-01T00:00:00Z
            recorder: None,
        };
        h.apply_clock().await;
        h
    }

    /// The fee payer program-test funded.
    pub fn payer(&self) -> &Keypair {
        &self.ctx.payer
    }

    /// Funds `key` from the payer's genesis balance without a transaction.
    pub async fn fund(&mut self, key: &Pubkey, lamports: u64) {
        self.ctx.set_account(
            key,
            &AccountSharedData::new(lamports, 0, &solana_sdk::system_program::ID),
        );
    }

    async fn apply_clock(&mut self) {
        let mut clock: Clock = self.ctx.banks_client.get_sysvar().await.unwrap();
        clock.unix_timestamp = self.now;
        self.ctx.set_sysvar(&clock);
    }

    /// Moves the chain's time forward by `seconds`.
    pub async fn advance_time(&mut self, seconds: i64) {
        self.now += seconds;
        self.apply_clock().await;
    }

    /// Moves to the next slot (the loader refuses to run or re-deploy a program in the slot it
    /// was deployed or extended in), keeping the harness's time.
    pub async fn next_slot(&mut self) {
        let slot = self.slot().await;
        self.ctx.warp_to_slot(slot + 1).unwrap();
        self.apply_clock().await;
    }

    /// The current slot.
    pub async fn slot(&mut self) -> u64 {
        self.ctx.banks_client.get_root_slot().await.unwrap()
    }

    /// The bank's clock.
    pub async fn clock(&mut self) -> Clock {
        self.ctx.banks_client.get_sysvar().await.unwrap()
    }

    /// An account, if it exists.
    pub async fn account(&mut self, key: &Pubkey) -> Option<Account> {
        self.ctx.banks_client.get_account(*key).await.unwrap()
    }

    /// Deserializes an Anchor account.
    pub async fn anchor_account<T: anchor_lang::AccountDeserialize>(&mut self, key: &Pubkey) -> T {
        let a = self.account(key).await.expect("account exists");
        T::try_deserialize(&mut a.data.as_slice()).expect("account deserializes")
    }

    /// Writes an account directly (genesis-style set-up, not a transaction).
    pub fn set_account(&mut self, key: &Pubkey, account: Account) {
        self.ctx.set_account(key, &AccountSharedData::from(account));
    }

    /// Signs and sends `ixs` with the payer and `signers`. On success, records the transaction
    /// (with its inner instructions, taken from a simulation in the same bank state) as a vector.
    pub async fn send(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<(), TransactionError> {
        let blockhash = self.ctx.get_new_latest_blockhash().await.unwrap();
        let mut all: Vec<&Keypair> = vec![&self.ctx.payer];
        all.extend_from_slice(signers);
        let tx = Transaction::new_signed_with_payer(
            ixs,
            Some(&self.ctx.payer.pubkey()),
            &all,
            blockhash,
        );
        let sim = self
            .ctx
            .banks_client
            .simulate_transaction(tx.clone())
            .await
            .unwrap();
        if let Some(Err(e)) = sim.result {
            return Err(e);
        }
        let slot = self.slot().await;
        let recording = self.recorder.is_some();
        let pre = if recording {
            self.balances(&tx).await
        } else {
            Vec::new()
        };
        match self.ctx.banks_client.process_transaction(tx.clone()).await {
            Ok(()) => {}
            Err(BanksClientError::TransactionError(e)) => return Err(e),
            Err(e) => panic!("banks client: {e}"),
        }
        if recording {
            let post = self.balances(&tx).await;
            let fee = self
                .ctx
                .banks_client
                .get_fee_for_message(tx.message.clone())
                .await
                .unwrap()
                .unwrap_or_default();
            let details = sim.simulation_details.expect("simulation details");
            let now = self.now;
            self.recorder.as_mut().unwrap().record(
                &tx,
                slot,
                now,
                &details.logs,
                details.inner_instructions.unwrap_or_default(),
                vectors::Balances { pre, post, fee },
            );
        }
        Ok(())
    }

    async fn balances(&mut self, tx: &Transaction) -> Vec<u64> {
        let mut out = Vec::with_capacity(tx.message.account_keys.len());
        for k in &tx.message.account_keys {
            out.push(self.ctx.banks_client.get_balance(*k).await.unwrap());
        }
        out
    }

    /// Sends and expects success.
    pub async fn ok(&mut self, ixs: &[Instruction], signers: &[&Keypair]) {
        if let Err(e) = self.send(ixs, signers).await {
            panic!(
                "transaction failed: {e:?} (instructions {:?})",
                ixs.iter()
                    .map(|i| (i.program_id, i.data.get(..8).map(<[u8]>::to_vec)))
                    .collect::<Vec<_>>()
            );
        }
    }

    /// Sends and expects the custom error `code` from instruction `index`.
    pub async fn fails_with(&mut self, ixs: &[Instruction], signers: &[&Keypair], code: u32) {
        match self.send(ixs, signers).await {
            Err(TransactionError::InstructionError(_, InstructionError::Custom(c)))
                if c == code => {}
            other => panic!("expected custom error {code}, got {other:?}"),
        }
    }
}

/// Error code of an `upgrade_manager` error.
pub fn code(e: upgrade_manager::UpgradeManagerError) -> u32 {
    anchor_lang::error::ERROR_CODE_OFFSET + e as u32
}

/// Builds an `upgrade_manager` instruction from its Anchor accounts and args.
pub fn manager_ix(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: MANAGER_ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

/// Instruction builders for every `upgrade_manager` instruction.
pub mod build {
    use super::*;
    use upgrade_manager::{ConfigChange, InitializeGovernanceArgs, MigrationSpec};

    fn ev() -> (Pubkey, Pubkey) {
        (pda::event_authority(), MANAGER_ID)
    }

    pub fn initialize_governance(
        payer: &Pubkey,
        create_key: &Pubkey,
        args: InitializeGovernanceArgs,
    ) -> Instruction {
        let (event_authority, program) = ev();
        manager_ix(
            ax::InitializeGovernance {
                payer: *payer,
                create_key: *create_key,
                governance: pda::governance(create_key),
                system_program: solana_sdk::system_program::ID,
                event_authority,
                program,
            },
            ix::InitializeGovernance { args },
        )
    }

    pub fn register_program(
        payer: &Pubkey,
        current_authority: &Pubkey,
        governance: &Pubkey,
        target: &Pubkey,
    ) -> Instruction {
        let (event_authority, program) = ev();
        manager_ix(
            ax::RegisterProgram {
                payer: *payer,
                current_authority: *current_authority,
                governance: *governance,
                managed_program: pda::managed_program(target),
                target_program: *target,
                programdata: solana_loader_v3_interface::get_program_data_address(target),
                upgrade_authority: pda::upgrade_authority(target),
                bpf_loader_upgradeable: LOADER_ID,
                system_program: solana_sdk::system_program::ID,
                event_authority,
                program,
            },
            ix::RegisterProgram {},
        )
    }

    pub fn propose_binary(
        rollback: bool,
        proposer: &Pubkey,
        governance: &Pubkey,
        index: u64,
        target: &Pubkey,
        buffer: &Pubkey,
        uri: &str,
    ) -> Instruction {
        let (event_authority, program) = ev();
        let accounts = ax::ProposeUpgrade {
            proposer: *proposer,
            governance: *governance,
            managed_program: pda::managed_program(target),
            programdata: solana_loader_v3_interface::get_program_data_address(target),
            buffer: *buffer,
            buffer_lock: pda::buffer_lock(buffer),
            proposal: pda::proposal(governance, index),
            system_program: solana_sdk::system_program::ID,
            event_authority,
            program,
        };
        let build_hash = [7; 32];
        if rollback {
            manager_ix(
                accounts,
                ix::ProposeRollback {
                    metadata_uri: uri.into(),
                    build_hash,
                },
            )
        } else {
            manager_ix(
                accounts,
                ix::ProposeUpgrade {
                    metadata_uri: uri.into(),
                    build_hash,
                },
            )
        }
    }

    pub fn propose_config_change(
        proposer: &Pubkey,
        governance: &Pubkey,
        index: u64,
        change: ConfigChange,
    ) -> Instruction {
        let (event_authority, program) = ev();
        manager_ix(
            ax::ProposeConfigChange {
                proposer: *proposer,
                governance: *governance,
                proposal: pda::proposal(governance, index),
                system_program: solana_sdk::system_program::ID,
                event_authority,
                program,
            },
            ix::ProposeConfigChange {
                change,
                metadata_uri: "ipfs://config".into(),
            },
        )
    }

    pub fn propose_migration(
        proposer: &Pubkey,
        governance: &Pubkey,
        index: u64,
        target: &Pubkey,
        spec: MigrationSpec,
    ) -> Instruction {
        let (event_authority, program) = ev();
        manager_ix(
            ax::ProposeMigration {
                proposer: *proposer,
                governance: *governance,
                managed_program: pda::managed_program(target),
                proposal: pda::proposal(governance, index),
                system_program: solana_sdk::system_program::ID,
                event_authority,
                program,
            },
            ix::ProposeMigration {
                spec,
                metadata_uri: "ipfs://migration".into(),
            },
        )
    }

    fn vote(member: &Pubkey, governance: &Pubkey, proposal: &Pubkey) -> ax::Vote {
        let (event_authority, program) = ev();
        ax::Vote {
            member: *member,
            governance: *governance,
            proposal: *proposal,
            event_authority,
            program,
        }
    }

    pub fn approve(member: &Pubkey, governance: &Pubkey, proposal: &Pubkey) -> Instruction {
        manager_ix(vote(member, governance, proposal), ix::Approve {})
    }

    pub fn revoke_approval(member: &Pubkey, governance: &Pubkey, proposal: &Pubkey) -> Instruction {
        manager_ix(vote(member, governance, proposal), ix::RevokeApproval {})
    }

    /// `buffer` is `Some((buffer, proposer, target))` when the proposal holds a buffer; its rent
    /// goes to `spill`, the governance's spill account.
    pub fn cancel(
        signer: &Pubkey,
        governance: &Pubkey,
        proposal: &Pubkey,
        buffer: Option<(Pubkey, Pubkey, Pubkey)>,
        spill: &Pubkey,
    ) -> Instruction {
        let (event_authority, program) = ev();
        manager_ix(
            ax::Cancel {
                signer: *signer,
                governance: *governance,
                proposal: *proposal,
                buffer: buffer.map(|b| b.0),
                buffer_lock: buffer.map(|b| pda::buffer_lock(&b.0)),
                spill: buffer.map(|_| *spill),
                proposer: buffer.map(|b| b.1),
                upgrade_authority: buffer.map(|b| pda::upgrade_authority(&b.2)),
                bpf_loader_upgradeable: buffer.map(|_| LOADER_ID),
                event_authority,
                program,
            },
            ix::Cancel {},
        )
    }

    /// `buffer` is `Some((buffer, proposer, target))` when the proposal holds a buffer; its rent
    /// goes to `spill` if this rejection ends the proposal.
    pub fn reject(
        member: &Pubkey,
        governance: &Pubkey,
        proposal: &Pubkey,
        buffer: Option<(Pubkey, Pubkey, Pubkey)>,
        spill: &Pubkey,
    ) -> Instruction {
        let (event_authority, program) = ev();
        manager_ix(
            ax::Reject {
                member: *member,
                governance: *governance,
                proposal: *proposal,
                buffer: buffer.map(|b| b.0),
                buffer_lock: buffer.map(|b| pda::buffer_lock(&b.0)),
                spill: buffer.map(|_| *spill),
                proposer: buffer.map(|b| b.1),
                upgrade_authority: buffer.map(|b| pda::upgrade_authority(&b.2)),
                bpf_loader_upgradeable: buffer.map(|_| LOADER_ID),
                event_authority,
                program,
            },
            ix::Reject {},
        )
    }

    pub fn expire(
        signer: &Pubkey,
        governance: &Pubkey,
        proposal: &Pubkey,
        buffer: Option<(Pubkey, Pubkey, Pubkey)>,
        spill: &Pubkey,
    ) -> Instruction {
        let (event_authority, program) = ev();
        manager_ix(
            ax::Expire {
                signer: *signer,
                governance: *governance,
                proposal: *proposal,
                buffer: buffer.map(|b| b.0),
                buffer_lock: buffer.map(|b| pda::buffer_lock(&b.0)),
                spill: buffer.map(|_| *spill),
                proposer: buffer.map(|b| b.1),
                upgrade_authority: buffer.map(|b| pda::upgrade_authority(&b.2)),
                bpf_loader_upgradeable: buffer.map(|_| LOADER_ID),
                event_authority,
                program,
            },
            ix::Expire {},
        )
    }

    pub fn extend_program(
        payer: &Pubkey,
        governance: &Pubkey,
        proposal: &Pubkey,
        target: &Pubkey,
        buffer: &Pubkey,
    ) -> Instruction {
        let (event_authority, program) = ev();
        manager_ix(
            ax::ExtendProgram {
                payer: *payer,
                governance: *governance,
                proposal: *proposal,
                managed_program: pda::managed_program(target),
                target_program: *target,
                programdata: solana_loader_v3_interface::get_program_data_address(target),
                buffer: *buffer,
                upgrade_authority: pda::upgrade_authority(target),
                bpf_loader_upgradeable: LOADER_ID,
                system_program: solana_sdk::system_program::ID,
                event_authority,
                program,
            },
            ix::ExtendProgram {},
        )
    }

    pub fn execute_upgrade(
        executor: &Pubkey,
        governance: &Pubkey,
        proposal: &Pubkey,
        proposer: &Pubkey,
        target: &Pubkey,
        buffer: &Pubkey,
        spill: &Pubkey,
    ) -> Instruction {
        let (event_authority, program) = ev();
        manager_ix(
            ax::ExecuteUpgrade {
                executor: *executor,
                governance: *governance,
                proposal: *proposal,
                managed_program: pda::managed_program(target),
                target_program: *target,
                programdata: solana_loader_v3_interface::get_program_data_address(target),
                buffer: *buffer,
                buffer_lock: Some(pda::buffer_lock(buffer)),
                proposer: *proposer,
                spill: *spill,
                upgrade_authority: pda::upgrade_authority(target),
                rent: solana_sdk::sysvar::rent::ID,
                clock: solana_sdk::sysvar::clock::ID,
                bpf_loader_upgradeable: LOADER_ID,
                event_authority,
                program,
            },
            ix::ExecuteUpgrade {},
        )
    }

    pub fn execute_config_change(
        executor: &Pubkey,
        governance: &Pubkey,
        proposal: &Pubkey,
    ) -> Instruction {
        execute_program_config_change(executor, governance, proposal, None)
    }

    /// `execute_config_change` of a change that applies to the managed program `target`.
    pub fn execute_program_config_change(
        executor: &Pubkey,
        governance: &Pubkey,
        proposal: &Pubkey,
        target: Option<&Pubkey>,
    ) -> Instruction {
        execute_config_change_with(executor, governance, proposal, target, None)
    }

    /// `execute_config_change` with the optional managed program (of `target`) and migration job.
    pub fn execute_config_change_with(
        executor: &Pubkey,
        governance: &Pubkey,
        proposal: &Pubkey,
        target: Option<&Pubkey>,
        job: Option<&Pubkey>,
    ) -> Instruction {
        let (event_authority, program) = ev();
        manager_ix(
            ax::ExecuteConfigChange {
                executor: *executor,
                governance: *governance,
                proposal: *proposal,
                managed_program: target.map(pda::managed_program),
                migration_job: job.copied(),
                programdata: None,
                upgrade_authority: None,
                new_authority: None,
                bpf_loader_upgradeable: None,
                event_authority,
                program,
            },
            ix::ExecuteConfigChange {},
        )
    }

    /// `execute_config_change` of a `SetUpgradeAuthority` for `target`.
    pub fn execute_hand_over(
        executor: &Pubkey,
        governance: &Pubkey,
        proposal: &Pubkey,
        target: &Pubkey,
        new_authority: Option<Pubkey>,
    ) -> Instruction {
        let (event_authority, program) = ev();
        manager_ix(
            ax::ExecuteConfigChange {
                executor: *executor,
                governance: *governance,
                proposal: *proposal,
                managed_program: Some(pda::managed_program(target)),
                migration_job: None,
                programdata: Some(solana_loader_v3_interface::get_program_data_address(target)),
                upgrade_authority: Some(pda::upgrade_authority(target)),
                new_authority,
                bpf_loader_upgradeable: Some(LOADER_ID),
                event_authority,
                program,
            },
            ix::ExecuteConfigChange {},
        )
    }

    pub fn execute_migration(
        executor: &Pubkey,
        governance: &Pubkey,
        proposal: &Pubkey,
        target: &Pubkey,
    ) -> Instruction {
        let (event_authority, program) = ev();
        manager_ix(
            ax::ExecuteMigration {
                executor: *executor,
                governance: *governance,
                proposal: *proposal,
                managed_program: pda::managed_program(target),
                programdata: solana_loader_v3_interface::get_program_data_address(target),
                job: pda::migration(proposal),
                system_program: solana_sdk::system_program::ID,
                event_authority,
                program,
            },
            ix::ExecuteMigration {},
        )
    }

    pub fn migrate_batch(
        payer: &Pubkey,
        job: &Pubkey,
        target: &Pubkey,
        accounts: &[Pubkey],
    ) -> Instruction {
        let (event_authority, program) = ev();
        let mut i = manager_ix(
            ax::MigrateBatch {
                payer: *payer,
                job: *job,
                target_program: *target,
                programdata: solana_loader_v3_interface::get_program_data_address(target),
                migration_authority: pda::migration_authority(target),
                system_program: solana_sdk::system_program::ID,
                event_authority,
                program,
            },
            ix::MigrateBatch {},
        );
        i.accounts
            .extend(accounts.iter().map(|k| AccountMeta::new(*k, false)));
        i
    }

    pub fn close_proposal(
        signer: &Pubkey,
        governance: &Pubkey,
        proposal: &Pubkey,
        rent_collector: &Pubkey,
    ) -> Instruction {
        let (event_authority, program) = ev();
        manager_ix(
            ax::CloseProposal {
                signer: *signer,
                governance: *governance,
                proposal: *proposal,
                rent_collector: *rent_collector,
                event_authority,
                program,
            },
            ix::CloseProposal {},
        )
    }

    pub fn close_migration_job(
        signer: &Pubkey,
        governance: &Pubkey,
        job: &Pubkey,
        rent_collector: &Pubkey,
    ) -> Instruction {
        let (event_authority, program) = ev();
        manager_ix(
            ax::CloseMigrationJob {
                signer: *signer,
                governance: *governance,
                job: *job,
                rent_collector: *rent_collector,
                event_authority,
                program,
            },
            ix::CloseMigrationJob {},
        )
    }

    /// The loader's SetAuthority for a buffer: locks it to the target's upgrade-authority PDA.
    pub fn lock_buffer(buffer: &Pubkey, current: &Pubkey, target: &Pubkey) -> Instruction {
        loader_ix::set_buffer_authority(buffer, current, &pda::upgrade_authority(target))
    }
}

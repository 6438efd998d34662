//! The programs the node runs: upgrade_manager and perp_market natively, and an upgradeable SBF
//! target (SPL Memo 3.0's ELF bundled with solana-program-test) owned by a well-known deployer.

use std::mem;

use solana_program_runtime::loaded_programs::ProgramCacheEntry;
use solana_sdk::{
    account::{Account, AccountSharedData},
    account_info::AccountInfo,
    entrypoint::ProgramResult,
    pubkey::Pubkey,
    rent::Rent,
    signature::{Keypair, Signer},
};

/// upgrade_manager's program id.
pub const MANAGER_ID: Pubkey = upgrade_manager::ID;
/// perp_market's program id.
pub const PERP_ID: Pubkey = perp_market::ID;
/// SPL Memo 3.0, whose ELF the upgradeable target runs.
pub const MEMO_ID: Pubkey = Pubkey::from_str_const("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");

/// Seed of the upgradeable target's program key (the same key the program tests use).
pub const TARGET_SEED: u8 = 200;
/// Seed of the target's initial upgrade authority (the same key the program tests use).
pub const DEPLOYER_SEED: u8 = 201;

/// A keypair whose 32-byte secret is `seed` repeated: well-known development keys.
pub fn seeded_keypair(seed: u8) -> Keypair {
    Keypair::new_from_array([seed; 32])
}

// Anchor's `entry` takes `&'info [AccountInfo<'info>]`, which a plain fn pointer cannot name. The
// account infos live for the whole builtin invocation, so widening the slice's lifetime for the
// duration of the call is sound (as in the program tests' harness).
fn manager_entry(p: &Pubkey, a: &[AccountInfo], d: &[u8]) -> ProgramResult {
    // SAFETY: see above.
    let a: &[AccountInfo] = unsafe { mem::transmute::<&[AccountInfo], &[AccountInfo]>(a) };
    upgrade_manager::entry(p, a, d)
}

fn perp_entry(p: &Pubkey, a: &[AccountInfo], d: &[u8]) -> ProgramResult {
    // SAFETY: see above.
    let a: &[AccountInfo] = unsafe { mem::transmute::<&[AccountInfo], &[AccountInfo]>(a) };
    perp_market::entry(p, a, d)
}

/// The natively registered programs: (id, name, builtin).
pub fn builtins() -> Vec<(Pubkey, &'static str, ProgramCacheEntry)> {
    let manager: solana_program_runtime::invoke_context::BuiltinFunctionWithContext =
        crate::native!(manager_entry);
    let perp: solana_program_runtime::invoke_context::BuiltinFunctionWithContext =
        crate::native!(perp_entry);
    vec![
        (
            MANAGER_ID,
            "upgrade_manager",
            ProgramCacheEntry::new_builtin(0, "upgrade_manager".len(), manager),
        ),
        (
            PERP_ID,
            "perp_market",
            ProgramCacheEntry::new_builtin(0, "perp_market".len(), perp),
        ),
    ]
}

/// The ELF of a program bundled with solana-program-test.
pub fn bundled_elf(program_id: &Pubkey) -> Option<Vec<u8>> {
    solana_program_test::programs::spl_programs(&Rent::default())
        .into_iter()
        .find(|(k, _)| k == program_id)
        .map(|(_, a)| Account::from(a).data)
}

/// The upgradeable target: its program id, its programdata address and its deployer.
pub struct Target {
    /// The program's address.
    pub program: Pubkey,
    /// Its programdata account.
    pub programdata: Pubkey,
    /// Its upgrade authority at genesis.
    pub deployer: Keypair,
}

impl Target {
    /// The well-known target.
    pub fn new() -> Self {
        let program = seeded_keypair(TARGET_SEED).pubkey();
        Target {
            program,
            programdata: solana_loader_v3_interface::get_program_data_address(&program),
            deployer: seeded_keypair(DEPLOYER_SEED),
        }
    }

    /// Loader-v3 program and programdata accounts running Memo 3.0, upgradeable by the deployer.
    pub fn accounts(&self, rent: &Rent) -> Vec<(Pubkey, AccountSharedData)> {
        let elf = bundled_elf(&MEMO_ID).expect("solana-program-test bundles SPL Memo 3.0");
        let mut pd = 3u32.to_le_bytes().to_vec();
        pd.extend_from_slice(&0u64.to_le_bytes());
        pd.push(1);
        pd.extend_from_slice(self.deployer.pubkey().as_ref());
        pd.extend_from_slice(&elf);
        let mut prog = 2u32.to_le_bytes().to_vec();
        prog.extend_from_slice(self.programdata.as_ref());
        let loader = solana_sdk_ids::bpf_loader_upgradeable::ID;
        vec![
            (
                self.programdata,
                AccountSharedData::from(Account {
                    lamports: rent.minimum_balance(pd.len()),
                    data: pd,
                    owner: loader,
                    executable: false,
                    rent_epoch: 0,
                }),
            ),
            (
                self.program,
                AccountSharedData::from(Account {
                    lamports: rent.minimum_balance(prog.len()),
                    data: prog,
                    owner: loader,
                    executable: true,
                    rent_epoch: 0,
                }),
            ),
        ]
    }
}

impl Default for Target {
    fn default() -> Self {
        Self::new()
    }
}

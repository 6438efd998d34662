//! The chain: one thread owns the banks, produces a slot per tick, executes transactions, keeps
//! their history, and tells subscribers what happened at each commitment level.
//!
//! Commitment is by slot distance on the current fork: the working bank is processed, its parent
//! (frozen when the working bank was made) is confirmed, and the slot `finalization_depth` slots
//! below the working bank is finalized and rooted.

use std::{
    collections::{HashMap, HashSet},
    sync::{mpsc, Arc, RwLock},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::{json, Value};
use solana_account_decoder::{
    parse_account_data::SplTokenAdditionalDataV2,
    parse_token::{is_known_spl_token_id, token_amount_to_ui_amount_v3},
};
use solana_cost_model::cost_model::CostModel;
use solana_message::inner_instruction::InnerInstructionsList;
use solana_rpc_client_api::{custom_error::RpcCustomError, response::RpcSimulateTransactionResult};
use solana_runtime::{
    bank::{Bank, TransactionSimulationResult},
    bank_forks::BankForks,
    genesis_utils::create_genesis_config_with_leader_ex,
    runtime_config::RuntimeConfig,
};
#[allow(deprecated)] // solana-system-interface's builder needs a feature the workspace lacks
use solana_sdk::system_instruction;
use solana_sdk::{
    account::{AccountSharedData, ReadableAccount},
    clock::{Clock, Slot, MAX_PROCESSING_AGE},
    commitment_config::CommitmentLevel,
    compute_budget::ComputeBudgetInstruction,
    fee_calculator::{FeeRateGovernor, DEFAULT_TARGET_LAMPORTS_PER_SIGNATURE},
    genesis_config::ClusterType,
    hash::Hash,
    message::Message,
    native_token::LAMPORTS_PER_SOL,
    pubkey::Pubkey,
    rent::Rent,
    signature::{Keypair, Signature, Signer},
    transaction::{
        Transaction, TransactionError, TransactionVerificationMode, VersionedTransaction,
    },
};
use solana_sdk_ids::system_program;
use solana_svm::transaction_processor::ExecutionRecordingConfig;
use solana_timings::ExecuteTimings;
use solana_transaction_status::{
    InnerInstruction, InnerInstructions, TransactionStatusMeta, TransactionTokenBalance,
    UiTransactionReturnData,
};
use spl_token_2022::{
    extension::StateWithExtensions,
    state::{Account as TokenAccount, Mint},
};
use tokio::sync::{broadcast, oneshot};

use crate::{
    config::Config,
    programs::{self, Target},
    rpc::RpcError,
};

/// A commitment level, as the RPC names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Commitment {
    /// The working bank.
    Processed,
    /// One slot built on top.
    Confirmed,
    /// `finalization_depth` slots built on top; rooted.
    Finalized,
}

impl From<CommitmentLevel> for Commitment {
    fn from(c: CommitmentLevel) -> Self {
        match c {
            CommitmentLevel::Processed => Commitment::Processed,
            CommitmentLevel::Confirmed => Commitment::Confirmed,
            CommitmentLevel::Finalized => Commitment::Finalized,
        }
    }
}

impl Commitment {
    /// The RPC's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Commitment::Processed => "processed",
            Commitment::Confirmed => "confirmed",
            Commitment::Finalized => "finalized",
        }
    }
}

/// A block the node produced on the current fork.
#[derive(Clone, Debug)]
pub struct Block {
    /// Its slot.
    pub slot: Slot,
    /// Its parent's slot.
    pub parent_slot: Slot,
    /// Its hash, once frozen.
    pub blockhash: Option<Hash>,
    /// The parent's hash.
    pub previous_blockhash: Hash,
    /// The Clock's unix_timestamp in this slot.
    pub block_time: i64,
    /// Its block height.
    pub block_height: u64,
    /// Its transactions, in execution order.
    pub signatures: Vec<Signature>,
    /// Accounts its transactions wrote.
    pub written: Vec<Pubkey>,
}

/// A committed transaction.
#[derive(Clone, Debug)]
pub struct TxRecord {
    /// Slot it was executed in.
    pub slot: Slot,
    /// The transaction as sent.
    pub tx: VersionedTransaction,
    /// Its status and meta.
    pub meta: TransactionStatusMeta,
    /// Every account key of the transaction (static, then loaded writable, then readonly).
    pub keys: Vec<Pubkey>,
    /// The block's time.
    pub block_time: i64,
}

/// Everything the RPC reads besides the banks.
#[derive(Default)]
pub struct State {
    /// Slot of the working bank.
    pub processed: Slot,
    /// Highest confirmed slot.
    pub confirmed: Slot,
    /// Highest finalized (rooted) slot.
    pub finalized: Slot,
    /// Slots of the current fork, oldest first.
    pub fork: Vec<Slot>,
    /// Blocks of the current fork.
    pub blocks: HashMap<Slot, Block>,
    /// Committed transactions of the current fork.
    pub txs: HashMap<Signature, TxRecord>,
    /// Signatures per account key, oldest first.
    pub by_address: HashMap<Pubkey, Vec<Signature>>,
    /// Slots abandoned by `dev_rollback`.
    pub abandoned: HashSet<Slot>,
    /// Seconds added to wall time for the Clock.
    pub clock_offset: i64,
}

impl State {
    /// The slot that a commitment level stands at.
    pub fn slot(&self, c: Commitment) -> Slot {
        match c {
            Commitment::Processed => self.processed,
            Commitment::Confirmed => self.confirmed,
            Commitment::Finalized => self.finalized,
        }
    }

    /// The highest commitment a slot of the current fork has reached.
    pub fn commitment_of(&self, slot: Slot) -> Commitment {
        if slot <= self.finalized {
            Commitment::Finalized
        } else if slot <= self.confirmed {
            Commitment::Confirmed
        } else {
            Commitment::Processed
        }
    }

    /// Whether `slot` is on the current fork and has reached `c`.
    pub fn reached(&self, slot: Slot, c: Commitment) -> bool {
        self.blocks.contains_key(&slot) && slot <= self.slot(c)
    }

    /// Slots built on top of `slot` on the current fork.
    pub fn confirmations(&self, slot: Slot) -> usize {
        let pos = self.fork.partition_point(|s| *s <= slot);
        self.fork.len() - pos
    }
}

/// What subscribers hear about.
#[derive(Clone, Debug)]
pub enum Event {
    /// A new working bank.
    Slot {
        /// Its slot.
        slot: Slot,
        /// Its parent.
        parent: Slot,
        /// The root.
        root: Slot,
    },
    /// A transaction reached a commitment level.
    Tx {
        /// The level.
        commitment: Commitment,
        /// Its slot.
        slot: Slot,
        /// Its signature.
        signature: Signature,
        /// Its error.
        err: Option<TransactionError>,
        /// Its log lines.
        logs: Arc<Vec<String>>,
        /// Its account keys.
        keys: Arc<Vec<Pubkey>>,
    },
    /// Accounts written in `slot` reached a commitment level.
    Accounts {
        /// The level.
        commitment: Commitment,
        /// The slot.
        slot: Slot,
        /// The accounts.
        keys: Arc<Vec<Pubkey>>,
    },
    /// Sever every WebSocket connection.
    Sever,
}

/// Work for the bank thread.
pub enum Command {
    /// sendTransaction; `preflight` is `None` with skipPreflight.
    Send {
        /// The transaction.
        tx: VersionedTransaction,
        /// The preflight bank's commitment.
        preflight: Option<Commitment>,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Signature, RpcError>>,
    },
    /// simulateTransaction.
    Simulate {
        /// The transaction.
        tx: VersionedTransaction,
        /// The bank's commitment.
        commitment: Commitment,
        /// Check signatures.
        sig_verify: bool,
        /// Replace the blockhash with the bank's latest.
        replace_blockhash: bool,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Simulation, RpcError>>,
    },
    /// requestAirdrop.
    Airdrop {
        /// Recipient.
        to: Pubkey,
        /// Amount.
        lamports: u64,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Signature, RpcError>>,
    },
    /// dev_advanceClock.
    AdvanceClock {
        /// Seconds to add.
        seconds: i64,
        /// Where the answer goes.
        reply: oneshot::Sender<Value>,
    },
    /// dev_setAccount.
    SetAccount {
        /// The account's address.
        key: Pubkey,
        /// What it holds from now on.
        account: AccountSharedData,
        /// Where the answer goes.
        reply: oneshot::Sender<Value>,
    },
    /// dev_rollback.
    Rollback {
        /// How many of the newest slots to abandon.
        slots: u64,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Value, RpcError>>,
    },
}

/// A simulation's outcome, with the slot of the bank it ran on.
pub struct Simulation {
    /// The bank's slot.
    pub slot: Slot,
    /// What the runtime reported.
    pub result: TransactionSimulationResult,
    /// The transaction's account keys.
    pub keys: Vec<Pubkey>,
    /// The blockhash it ran with, when replaced.
    pub replaced: Option<(Hash, u64)>,
}

/// What the RPC servers share with the bank thread.
pub struct Shared {
    /// The banks.
    pub forks: Arc<RwLock<BankForks>>,
    /// Slots and history.
    pub state: RwLock<State>,
    /// Subscription events.
    pub events: broadcast::Sender<Event>,
    /// Work for the bank thread.
    pub commands: mpsc::Sender<Command>,
    /// The genesis hash.
    pub genesis_hash: Hash,
    /// The node's identity.
    pub identity: Pubkey,
    /// The faucet behind requestAirdrop.
    pub faucet: Pubkey,
    /// Accounts funded at genesis.
    pub funded: Vec<(Pubkey, u64)>,
    /// The upgradeable target.
    pub target: Pubkey,
    /// The target's initial upgrade authority.
    pub deployer: Pubkey,
    /// Set to end the bank thread.
    pub stopping: std::sync::atomic::AtomicBool,
}

impl Shared {
    /// The bank at a commitment level.
    pub fn bank(&self, c: Commitment) -> Arc<Bank> {
        // The bank thread inserts a bank before publishing its slot, but a rollback removes
        // banks first: retry on the rare miss.
        for _ in 0..100 {
            let slot = self.state.read().unwrap().slot(c);
            if let Some(b) = self.forks.read().unwrap().get(slot) {
                return b;
            }
            std::thread::yield_now();
        }
        self.forks.read().unwrap().working_bank()
    }

    /// A bank by slot, if it is still held.
    pub fn bank_at(&self, slot: Slot) -> Option<Arc<Bank>> {
        self.forks.read().unwrap().get(slot)
    }

    /// Sends a command to the bank thread.
    pub fn command(&self, c: Command) -> Result<(), RpcError> {
        self.commands
            .send(c)
            .map_err(|_| RpcError::internal("the node is shutting down"))
    }
}

/// Seconds since the epoch, now.
fn wall_time() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The bank thread's own state.
pub struct Chain {
    shared: Arc<Shared>,
    config: Config,
    faucet: Keypair,
    next_slot: Slot,
    airdrops: u32,
    roots_since_clean: u64,
}

/// How many new roots between two accounts-db cleanups.
const CLEAN_EVERY_ROOTS: u64 = 64;

/// Builds genesis and the first banks. Returns the shared state and the bank thread's half.
pub fn genesis(config: &Config) -> (Arc<Shared>, Chain, mpsc::Receiver<Command>) {
    let rent = Rent::default();
    let faucet = Keypair::new();
    // Random keys: `Pubkey::new_unique` is a per-process counter that clients reproduce.
    let identity = Keypair::new().pubkey();
    let target = Target::new();
    let mut accounts: Vec<(Pubkey, AccountSharedData)> = target.accounts(&rent);
    let mut funded = vec![(target.deployer.pubkey(), 100 * LAMPORTS_PER_SOL)];
    funded.extend(config.fund.iter().copied());
    if let Some(path) = &config.fund_keypair {
        match solana_sdk::signature::read_keypair_file(path) {
            Ok(k) => funded.push((k.pubkey(), config.fund_lamports)),
            Err(e) => log::warn!("fund keypair {}: {e}", path.display()),
        }
    }
    for (k, l) in &funded {
        accounts.push((*k, AccountSharedData::new(*l, 0, &system_program::ID)));
    }
    let fee_rate_governor = FeeRateGovernor {
        lamports_per_signature: DEFAULT_TARGET_LAMPORTS_PER_SIGNATURE / 2,
        ..FeeRateGovernor::default()
    };
    let mut genesis = create_genesis_config_with_leader_ex(
        1_000_000_000 * LAMPORTS_PER_SOL,
        &faucet.pubkey(),
        &identity,
        &Keypair::new().pubkey(),
        &Keypair::new().pubkey(),
        rent.minimum_balance(3762) + LAMPORTS_PER_SOL * 1_000_000,
        42,
        fee_rate_governor,
        rent.clone(),
        ClusterType::Development,
        accounts,
    );
    genesis.creation_time = wall_time();
    let bank = Bank::new_with_paths(
        &genesis,
        Arc::new(RuntimeConfig::default()),
        Vec::default(),
        None,
        None,
        false,
        None,
        None,
        None,
        Arc::default(),
        None,
        None,
    );
    for (id, account) in solana_program_test::programs::spl_programs(&rent).iter() {
        bank.store_account(id, account);
    }
    for (id, account) in solana_program_test::programs::core_bpf_programs(&rent, |f| {
        genesis.accounts.contains_key(f)
    })
    .iter()
    {
        bank.store_account(id, account);
    }
    for (id, name, builtin) in programs::builtins() {
        bank.add_builtin(id, name, builtin);
    }
    // Genesis accounts that the bundled programs would otherwise override.
    for (k, a) in target.accounts(&rent) {
        bank.store_account(&k, &a);
    }
    bank.set_capitalization();
    let root = Arc::new(bank);
    root.fill_bank_with_ticks_for_tests();
    root.freeze();
    let first = Bank::new_from_parent(root.clone(), &identity, root.slot() + 1);
    let mut clock = first.clock();
    clock.unix_timestamp = wall_time();
    first.set_sysvar_for_tests(&clock);
    let first_slot = first.slot();
    let first_block = Block {
        slot: first_slot,
        parent_slot: root.slot(),
        blockhash: None,
        previous_blockhash: root.last_blockhash(),
        block_time: clock.unix_timestamp,
        block_height: first.block_height(),
        signatures: Vec::new(),
        written: Vec::new(),
    };
    let forks = BankForks::new_rw_arc(first);
    let state = State {
        processed: first_slot,
        confirmed: first_slot,
        finalized: first_slot,
        fork: vec![first_slot],
        blocks: HashMap::from([(first_slot, first_block)]),
        ..State::default()
    };
    let (events, _) = broadcast::channel(4096);
    let (commands, receiver) = mpsc::channel();
    let shared = Arc::new(Shared {
        forks,
        state: RwLock::new(state),
        events,
        commands,
        genesis_hash: genesis.hash(),
        identity,
        faucet: faucet.pubkey(),
        funded,
        target: target.program,
        deployer: target.deployer.pubkey(),
        stopping: Default::default(),
    });
    let mut chain = Chain {
        shared: shared.clone(),
        config: config.clone(),
        faucet,
        next_slot: first_slot + 1,
        airdrops: 0,
        roots_since_clean: 0,
    };
    // Start with a frozen, rooted slot below the working bank, so that no commitment level
    // ever reads the working bank by accident.
    chain.advance();
    (shared, chain, receiver)
}

impl Chain {
    /// Runs the bank thread until every command sender is gone.
    pub fn run(mut self, commands: mpsc::Receiver<Command>) {
        let mut next_tick = Instant::now() + self.config.slot_time;
        while !self
            .shared
            .stopping
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            let now = Instant::now();
            if now >= next_tick {
                self.advance();
                next_tick += self.config.slot_time;
                if next_tick < now {
                    // Fell behind (a long transaction, a suspended process): do not burst.
                    next_tick = now + self.config.slot_time;
                }
                continue;
            }
            match commands.recv_timeout(next_tick - now) {
                Ok(c) => {
                    // A bug in one command must not take the chain down: its reply is dropped
                    // (the caller sees an internal error) and the next slot comes as usual.
                    let handled =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.handle(c)));
                    if handled.is_err() {
                        log::error!("a command panicked; the node carries on");
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn handle(&mut self, c: Command) {
        match c {
            Command::Send {
                tx,
                preflight,
                reply,
            } => {
                let _ = reply.send(self.send(tx, preflight));
            }
            Command::Simulate {
                tx,
                commitment,
                sig_verify,
                replace_blockhash,
                reply,
            } => {
                let _ = reply.send(self.simulate(tx, commitment, sig_verify, replace_blockhash));
            }
            Command::Airdrop {
                to,
                lamports,
                reply,
            } => {
                let _ = reply.send(self.airdrop(to, lamports));
            }
            Command::AdvanceClock { seconds, reply } => {
                let offset = {
                    let mut s = self.shared.state.write().unwrap();
                    s.clock_offset = s.clock_offset.saturating_add(seconds);
                    s.clock_offset
                };
                let bank = self.working();
                let now = self.apply_clock(&bank);
                let _ = reply.send(json!({
                    "slot": bank.slot(),
                    "unixTimestamp": now,
                    "offsetSeconds": offset,
                }));
            }
            Command::SetAccount {
                key,
                account,
                reply,
            } => {
                // Like solana-test-validator's --account, but at run time: the working bank
                // holds it now; it is confirmed and finalized as that bank is.
                let bank = self.working();
                bank.store_account(&key, &account);
                let _ = reply.send(json!({ "slot": bank.slot() }));
            }
            Command::Rollback { slots, reply } => {
                let _ = reply.send(self.rollback(slots));
            }
        }
    }

    fn working(&self) -> Arc<Bank> {
        self.shared.forks.read().unwrap().working_bank()
    }

    /// Sets the bank's Clock to wall time plus the dev offset; returns the timestamp.
    fn apply_clock(&self, bank: &Bank) -> i64 {
        let offset = self.shared.state.read().unwrap().clock_offset;
        let mut clock: Clock = bank.clock();
        clock.unix_timestamp = wall_time().saturating_add(offset);
        bank.set_sysvar_for_tests(&clock);
        if let Some(b) = self
            .shared
            .state
            .write()
            .unwrap()
            .blocks
            .get_mut(&bank.slot())
        {
            b.block_time = clock.unix_timestamp;
        }
        clock.unix_timestamp
    }

    /// Freezes the working bank and starts the next slot on top of it.
    pub fn advance(&mut self) {
        let tip = self.working();
        tip.fill_bank_with_ticks_for_tests();
        tip.freeze();
        self.start_slot(tip, true);
    }

    /// Makes a child of the frozen `parent` the working bank, and moves the commitment levels.
    fn start_slot(&mut self, parent: Arc<Bank>, announce_parent: bool) {
        let slot = self.next_slot;
        self.next_slot += 1;
        let child = Bank::new_from_parent(parent.clone(), &self.shared.identity, slot);
        let block_height = child.block_height();
        self.shared.forks.write().unwrap().insert(child);
        let parent_hash = parent.last_blockhash();

        let (newly_final, root) = {
            let mut s = self.shared.state.write().unwrap();
            if let Some(b) = s.blocks.get_mut(&parent.slot()) {
                b.blockhash = Some(parent_hash);
            }
            s.blocks.insert(
                slot,
                Block {
                    slot,
                    parent_slot: parent.slot(),
                    blockhash: None,
                    previous_blockhash: parent_hash,
                    block_time: 0,
                    block_height,
                    signatures: Vec::new(),
                    written: Vec::new(),
                },
            );
            s.fork.push(slot);
            s.processed = slot;
            s.confirmed = parent.slot();
            let depth = self.config.finalization_depth as usize;
            let finalized = s.fork[s.fork.len().saturating_sub(1 + depth)];
            let newly_final: Vec<Slot> = s
                .fork
                .iter()
                .copied()
                .filter(|x| *x > s.finalized && *x <= finalized)
                .collect();
            s.finalized = s.finalized.max(finalized);
            (newly_final, s.finalized)
        };
        let child = self.working();
        self.apply_clock(&child);
        if !newly_final.is_empty() {
            if let Err(e) = self
                .shared
                .forks
                .write()
                .unwrap()
                .set_root(root, None, None)
            {
                log::error!("set root {root}: {e:?}");
            }
            self.roots_since_clean += newly_final.len() as u64;
            if self.roots_since_clean >= CLEAN_EVERY_ROOTS {
                self.roots_since_clean = 0;
                self.clean();
            }
        }
        let _ = self.shared.events.send(Event::Slot {
            slot,
            parent: parent.slot(),
            root,
        });
        // A slot reached: its parent is now confirmed, and maybe older slots are finalized.
        if announce_parent {
            self.announce(parent.slot(), Commitment::Confirmed);
        }
        for s in newly_final {
            self.announce(s, Commitment::Finalized);
        }
    }

    /// What a validator's accounts background service does: without it every rooted slot's
    /// sysvar writes stay in the accounts write cache, about 150 kB a slot.
    fn clean(&self) {
        let root = self.shared.forks.read().unwrap().root_bank();
        let db = &root.rc.accounts.accounts_db;
        db.flush_accounts_cache(true, Some(root.slot()));
        db.clean_accounts(
            Some(root.slot()),
            false,
            root.epoch_schedule(),
            root.clean_accounts_old_storages_policy(),
        );
        root.shrink_candidate_slots();
    }

    /// Tells subscribers that `slot`'s transactions and accounts reached `c`.
    fn announce(&self, slot: Slot, c: Commitment) {
        let (txs, written) = {
            let s = self.shared.state.read().unwrap();
            let Some(b) = s.blocks.get(&slot) else {
                return;
            };
            let txs: Vec<Event> = b
                .signatures
                .iter()
                .filter_map(|sig| s.txs.get(sig).map(|r| (sig, r)))
                .map(|(sig, r)| tx_event(c, *sig, r))
                .collect();
            (txs, b.written.clone())
        };
        for e in txs {
            let _ = self.shared.events.send(e);
        }
        if !written.is_empty() {
            let _ = self.shared.events.send(Event::Accounts {
                commitment: c,
                slot,
                keys: Arc::new(written),
            });
        }
    }

    fn verify(
        bank: &Bank,
        tx: VersionedTransaction,
        mode: TransactionVerificationMode,
    ) -> Result<
        solana_runtime_transaction::runtime_transaction::RuntimeTransaction<
            solana_sdk::transaction::SanitizedTransaction,
        >,
        RpcError,
    > {
        bank.verify_transaction(tx, mode).map_err(|e| match e {
            TransactionError::SignatureFailure => {
                RpcCustomError::TransactionSignatureVerificationFailure.into()
            }
            e => RpcError::invalid_params(format!("invalid transaction: {e}")),
        })
    }

    fn send(
        &mut self,
        tx: VersionedTransaction,
        preflight: Option<Commitment>,
    ) -> Result<Signature, RpcError> {
        let signature = *tx
            .signatures
            .first()
            .ok_or_else(|| RpcError::invalid_params("invalid transaction: no signatures"))?;
        if let Some(c) = preflight {
            let bank = self.shared.bank(c);
            let sanitized = Self::verify(
                &bank,
                tx.clone(),
                TransactionVerificationMode::FullVerification,
            )?;
            let sim = bank.simulate_transaction_unchecked(&sanitized, false);
            if let Err(e) = sim.result.clone() {
                return Err(preflight_failure(&e, sim));
            }
        }
        let bank = self.working();
        let sanitized = Self::verify(
            &bank,
            tx.clone(),
            TransactionVerificationMode::FullVerification,
        )?;
        let keys: Vec<Pubkey> = sanitized.message().account_keys().iter().copied().collect();
        let written: Vec<Pubkey> = keys
            .iter()
            .enumerate()
            .filter(|(i, _)| sanitized.message().is_writable(*i))
            .map(|(_, k)| *k)
            .collect();
        let loaded_addresses = sanitized.get_loaded_addresses();
        let pre_token_balances = token_balances(&bank, sanitized.message());
        let batch = bank.prepare_sanitized_batch(std::slice::from_ref(&sanitized));
        let mut timings = ExecuteTimings::default();
        let (mut results, balances) = bank.load_execute_and_commit_transactions(
            &batch,
            MAX_PROCESSING_AGE,
            ExecutionRecordingConfig {
                enable_cpi_recording: true,
                enable_log_recording: true,
                enable_return_data_recording: true,
                enable_transaction_balance_recording: true,
            },
            &mut timings,
            Some(10_000),
        );
        drop(batch);
        let committed = match results.pop() {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                // Not committed (stale blockhash, duplicate, no fee): a validator drops it.
                return match preflight {
                    None => Ok(signature),
                    Some(_) => Err(RpcCustomError::SendTransactionPreflightFailure {
                        message: format!("Transaction simulation failed: {e}"),
                        result: RpcSimulateTransactionResult {
                            err: Some(e),
                            logs: Some(Vec::new()),
                            accounts: None,
                            units_consumed: Some(0),
                            loaded_accounts_data_size: None,
                            return_data: None,
                            inner_instructions: None,
                            replacement_blockhash: None,
                        },
                    }
                    .into()),
                };
            }
            None => return Err(RpcError::internal("the runtime returned no result")),
        };
        let (pre, post) = match balances.map(|b| b.into_vecs()) {
            Some((mut pre, mut post, _, _)) => (
                pre.pop().unwrap_or_default(),
                post.pop().unwrap_or_default(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        // What a validator's replay records (agave's blockstore_processor): the cost model's
        // charge for the executed transaction.
        let cost_units = CostModel::calculate_cost_for_executed_transaction(
            &sanitized,
            committed.executed_units,
            committed.loaded_account_stats.loaded_accounts_data_size,
            &bank.feature_set,
        )
        .sum();
        let meta = TransactionStatusMeta {
            status: committed.status.clone(),
            fee: committed.fee_details.total_fee(),
            pre_balances: pre,
            post_balances: post,
            inner_instructions: committed.inner_instructions.map(inner_instructions),
            log_messages: committed.log_messages,
            pre_token_balances: Some(pre_token_balances),
            post_token_balances: Some(token_balances(&bank, sanitized.message())),
            rewards: Some(Vec::new()),
            loaded_addresses,
            return_data: committed.return_data,
            compute_units_consumed: Some(committed.executed_units),
            cost_units: Some(cost_units),
        };
        let slot = bank.slot();
        let event = {
            let mut s = self.shared.state.write().unwrap();
            let block_time = s.blocks.get(&slot).map_or(0, |b| b.block_time);
            let record = TxRecord {
                slot,
                tx,
                meta,
                keys: keys.clone(),
                block_time,
            };
            let event = tx_event(Commitment::Processed, signature, &record);
            for k in &keys {
                s.by_address.entry(*k).or_default().push(signature);
            }
            s.txs.insert(signature, record);
            if let Some(b) = s.blocks.get_mut(&slot) {
                b.signatures.push(signature);
                for k in &written {
                    if !b.written.contains(k) {
                        b.written.push(*k);
                    }
                }
            }
            event
        };
        let _ = self.shared.events.send(event);
        if !written.is_empty() {
            let _ = self.shared.events.send(Event::Accounts {
                commitment: Commitment::Processed,
                slot,
                keys: Arc::new(written),
            });
        }
        Ok(signature)
    }

    fn simulate(
        &mut self,
        mut tx: VersionedTransaction,
        commitment: Commitment,
        sig_verify: bool,
        replace_blockhash: bool,
    ) -> Result<Simulation, RpcError> {
        let bank = self.shared.bank(commitment);
        let mut replaced = None;
        if replace_blockhash {
            if sig_verify {
                return Err(RpcError::invalid_params(
                    "sigVerify may not be used with replaceRecentBlockhash",
                ));
            }
            let hash = bank.last_blockhash();
            tx.message.set_recent_blockhash(hash);
            let last_valid = bank
                .get_blockhash_last_valid_block_height(&hash)
                .unwrap_or_default();
            replaced = Some((hash, last_valid));
        }
        let mode = if sig_verify {
            TransactionVerificationMode::FullVerification
        } else {
            TransactionVerificationMode::HashOnly
        };
        let sanitized = Self::verify(&bank, tx, mode)?;
        let keys = sanitized.message().account_keys().iter().copied().collect();
        let result = bank.simulate_transaction_unchecked(&sanitized, true);
        Ok(Simulation {
            slot: bank.slot(),
            result,
            keys,
            replaced,
        })
    }

    fn airdrop(&mut self, to: Pubkey, lamports: u64) -> Result<Signature, RpcError> {
        if lamports == 0 {
            return Err(RpcError::invalid_params("lamports must be positive"));
        }
        let bank = self.working();
        self.airdrops = self.airdrops.wrapping_add(1);
        // A distinct compute-unit limit per airdrop keeps two equal airdrops in one slot from
        // being one duplicate transaction.
        let message = Message::new(
            &[
                ComputeBudgetInstruction::set_compute_unit_limit(200_000 + self.airdrops % 100_000),
                system_instruction::transfer(&self.faucet.pubkey(), &to, lamports),
            ],
            Some(&self.faucet.pubkey()),
        );
        let tx = Transaction::new(&[&self.faucet], message, bank.last_blockhash());
        self.send(VersionedTransaction::from(tx), Some(Commitment::Processed))
    }

    fn rollback(&mut self, n: u64) -> Result<Value, RpcError> {
        let (abandoned, parent_slot, removed) = {
            let mut s = self.shared.state.write().unwrap();
            let final_pos = s.fork.iter().position(|x| *x == s.finalized).unwrap_or(0);
            let unfinalized = (s.fork.len() - 1 - final_pos) as u64;
            if n == 0 || n > unfinalized {
                return Err(RpcError::invalid_params(format!(
                    "slots must be between 1 and {unfinalized} (the unfinalized slots)"
                )));
            }
            let keep = s.fork.len() - n as usize;
            let abandoned: Vec<Slot> = s.fork.split_off(keep);
            let parent_slot = *s.fork.last().unwrap();
            let mut removed = Vec::new();
            for slot in &abandoned {
                let Some(b) = s.blocks.remove(slot) else {
                    continue;
                };
                for sig in b.signatures {
                    if let Some(r) = s.txs.remove(&sig) {
                        for k in &r.keys {
                            if let Some(v) = s.by_address.get_mut(k) {
                                v.retain(|x| *x != sig);
                            }
                        }
                    }
                    removed.push(sig.to_string());
                }
                s.abandoned.insert(*slot);
            }
            s.processed = parent_slot;
            s.confirmed = s.confirmed.min(parent_slot);
            (abandoned, parent_slot, removed)
        };
        let parent = {
            let mut f = self.shared.forks.write().unwrap();
            for slot in abandoned.iter().rev() {
                f.remove(*slot);
            }
            f.get(parent_slot).expect("the fork point is held")
        };
        // The fork point was confirmed already (it is below the old working bank's parent).
        self.start_slot(parent, false);
        Ok(json!({
            "abandonedSlots": abandoned,
            "forkSlot": parent_slot,
            "slot": self.shared.state.read().unwrap().processed,
            "removedTransactions": removed,
        }))
    }
}

fn tx_event(c: Commitment, signature: Signature, r: &TxRecord) -> Event {
    Event::Tx {
        commitment: c,
        slot: r.slot,
        signature,
        err: r.meta.status.clone().err(),
        logs: Arc::new(r.meta.log_messages.clone().unwrap_or_default()),
        keys: Arc::new(r.keys.clone()),
    }
}

/// The runtime's inner instructions as the RPC lists them (empty lists left out).
pub fn inner_instructions(list: InnerInstructionsList) -> Vec<InnerInstructions> {
    list.into_iter()
        .enumerate()
        .filter(|(_, v)| !v.is_empty())
        .map(|(i, v)| InnerInstructions {
            index: i as u8,
            instructions: v
                .into_iter()
                .map(|ii| InnerInstruction {
                    instruction: ii.instruction,
                    stack_height: Some(u32::from(ii.stack_height)),
                })
                .collect(),
        })
        .collect()
}

/// A transaction's token balances in `bank`, as a validator records them before and after
/// execution (agave's `collect_token_balances`): only when the transaction names a token
/// program; for each of its accounts, other than the programs it invokes, that a token program
/// owns and that holds a token account whose mint is known; amounts with the mint's decimals
/// only (the ledger ignores interest and scaling).
pub fn token_balances(
    bank: &Bank,
    message: &solana_sdk::message::SanitizedMessage,
) -> Vec<TransactionTokenBalance> {
    let keys = message.account_keys();
    if !keys.iter().any(is_known_spl_token_id) {
        return Vec::new();
    }
    keys.iter()
        .enumerate()
        .filter(|(i, k)| !message.is_invoked(*i) && !is_known_spl_token_id(k))
        .filter_map(|(i, k)| {
            let account = bank.get_account(k)?;
            if !is_known_spl_token_id(account.owner()) {
                return None;
            }
            let token = StateWithExtensions::<TokenAccount>::unpack(account.data()).ok()?;
            let decimals = mint_decimals(bank, &token.base.mint)?;
            Some(TransactionTokenBalance {
                account_index: i as u8,
                mint: token.base.mint.to_string(),
                ui_token_amount: token_amount_to_ui_amount_v3(
                    token.base.amount,
                    &SplTokenAdditionalDataV2::with_decimals(decimals),
                ),
                owner: token.base.owner.to_string(),
                program_id: account.owner().to_string(),
            })
        })
        .collect()
}

fn mint_decimals(bank: &Bank, mint: &Pubkey) -> Option<u8> {
    if *mint == spl_token_2022::native_mint::ID {
        return Some(spl_token_2022::native_mint::DECIMALS);
    }
    let account = bank.get_account(mint)?;
    if !is_known_spl_token_id(account.owner()) {
        return None;
    }
    StateWithExtensions::<Mint>::unpack(account.data())
        .ok()
        .map(|m| m.base.decimals)
}

/// The -32002 error a validator answers when preflight fails.
fn preflight_failure(e: &TransactionError, sim: TransactionSimulationResult) -> RpcError {
    RpcCustomError::SendTransactionPreflightFailure {
        message: format!("Transaction simulation failed: {e}"),
        result: RpcSimulateTransactionResult {
            err: Some(e.clone()),
            logs: Some(sim.logs),
            accounts: None,
            units_consumed: Some(sim.units_consumed),
            loaded_accounts_data_size: Some(sim.loaded_accounts_data_size),
            return_data: sim.return_data.map(UiTransactionReturnData::from),
            inner_instructions: None,
            replacement_blockhash: None,
        },
    }
    .into()
}

/// How long the bank thread may take to answer a command before the RPC gives up.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

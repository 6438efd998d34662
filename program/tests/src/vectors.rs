//! Records successful transactions in the shape `getTransaction` returns (json encoding), each
//! with the events it emitted, decoded through the IDL. The Go decoder's tests read the file.

use std::path::PathBuf;

use anchor_lang::{AnchorDeserialize, AnchorSerialize, Discriminator};
use serde_json::{json, Value};
use solana_sdk::{message::inner_instruction::InnerInstructionsList, transaction::Transaction};

use crate::idl::Idl;
use crate::{pda, MANAGER_ID};

/// Anchor's tag for `emit_cpi!` instructions: `EVENT_IX_TAG` (0x1d9acb512ea545e4) little-endian.
pub const EVENT_IX_TAG_LE: [u8; 8] = [0xe4, 0x45, 0xa5, 0x2e, 0x51, 0xcb, 0x9a, 0x1d];

/// Path of the committed vectors.
pub fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vectors/scenario.json")
}

/// Collects transactions and their expected events.
pub struct Recorder {
    idl: Idl,
    pub transactions: Vec<Value>,
}

/// Balances and fee of a transaction, read from the bank around it.
pub struct Balances {
    pub pre: Vec<u64>,
    pub post: Vec<u64>,
    pub fee: u64,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    pub fn new() -> Self {
        Recorder {
            idl: Idl::load(),
            transactions: Vec::new(),
        }
    }

    /// Names of all events recorded, in order.
    pub fn event_names(&self) -> Vec<String> {
        self.transactions
            .iter()
            .flat_map(|t| t["expectedEvents"].as_array().unwrap().iter())
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// Records one successful transaction.
    pub fn record(
        &mut self,
        tx: &Transaction,
        slot: u64,
        block_time: i64,
        logs: &[String],
        inner: InnerInstructionsList,
        balances: Balances,
    ) {
        let msg = &tx.message;
        let keys: Vec<String> = msg.account_keys.iter().map(|k| k.to_string()).collect();
        let instructions: Vec<Value> = msg
            .instructions
            .iter()
            .map(|i| {
                json!({
                    "programIdIndex": i.program_id_index,
                    "accounts": i.accounts,
                    "data": bs58::encode(&i.data).into_string(),
                    "stackHeight": null,
                })
            })
            .collect();
        let event_authority = pda::event_authority();
        let mut events = Vec::new();
        let mut inner_json = Vec::new();
        for (ix_index, list) in inner.iter().enumerate() {
            if list.is_empty() {
                continue;
            }
            let mut items = Vec::new();
            for (inner_index, ii) in list.iter().enumerate() {
                let ci = &ii.instruction;
                items.push(json!({
                    "programIdIndex": ci.program_id_index,
                    "accounts": ci.accounts,
                    "data": bs58::encode(&ci.data).into_string(),
                    "stackHeight": ii.stack_height,
                }));
                let program = msg.account_keys[ci.program_id_index as usize];
                let first = ci.accounts.first().map(|a| msg.account_keys[*a as usize]);
                if program != MANAGER_ID
                    || first != Some(event_authority)
                    || !ci.data.starts_with(&EVENT_IX_TAG_LE)
                    || ci.data.len() < 16
                {
                    continue;
                }
                let body = &ci.data[8..];
                let name = self
                    .idl
                    .event_name(&body[..8])
                    .unwrap_or_else(|| panic!("emitted event {:?} is not in the IDL", &body[..8]));
                check_roundtrip(&name, body);
                let data = self
                    .idl
                    .decode_defined(&name, &body[8..])
                    .unwrap_or_else(|e| panic!("decode {name} through the IDL: {e}"));
                events.push(json!({
                    "name": name,
                    "instructionIndex": ix_index,
                    "innerIndex": inner_index,
                    "stackHeight": ii.stack_height,
                    "ordinal": events.len(),
                    "raw": hex::encode(body),
                    "data": data,
                }));
            }
            inner_json.push(json!({ "index": ix_index, "instructions": items }));
        }
        let h = &msg.header;
        self.transactions.push(json!({
            "slot": slot,
            "blockTime": block_time,
            "transaction": {
                "signatures": tx.signatures.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "message": {
                    "accountKeys": keys,
                    "header": {
                        "numRequiredSignatures": h.num_required_signatures,
                        "numReadonlySignedAccounts": h.num_readonly_signed_accounts,
                        "numReadonlyUnsignedAccounts": h.num_readonly_unsigned_accounts,
                    },
                    "recentBlockhash": msg.recent_blockhash.to_string(),
                    "instructions": instructions,
                },
            },
            "meta": {
                "err": null,
                "status": { "Ok": null },
                "fee": balances.fee,
                "preBalances": balances.pre,
                "postBalances": balances.post,
                "logMessages": logs,
                "innerInstructions": inner_json,
                "preTokenBalances": [],
                "postTokenBalances": [],
                "rewards": [],
                "loadedAddresses": { "writable": [], "readonly": [] },
            },
            "version": "legacy",
            "expectedEvents": events,
        }));
    }

    /// The vectors document.
    pub fn document(&self) -> Value {
        json!({
            "comment": "Written by `make vectors` (program/tests, scenario test). Transactions as getTransaction returns them (json encoding), each with the events upgrade_manager emitted, decoded through program/idl/upgrade_manager.json.",
            "programId": MANAGER_ID.to_string(),
            "eventAuthority": pda::event_authority().to_string(),
            "eventIxTag": hex::encode(EVENT_IX_TAG_LE),
            "transactions": self.transactions,
        })
    }
}

/// Checks that the program's own event type reads `body` (discriminator + borsh) and writes it
/// back byte for byte: the IDL-driven decoding above is then decoding the program's real layout.
fn check_roundtrip(name: &str, body: &[u8]) {
    use upgrade_manager::events::*;
    fn rt<T: AnchorDeserialize + AnchorSerialize + Discriminator>(body: &[u8]) {
        assert_eq!(&body[..8], T::DISCRIMINATOR, "discriminator");
        let mut rest = &body[8..];
        let v = T::deserialize(&mut rest).expect("event deserializes");
        assert!(rest.is_empty(), "event has trailing bytes");
        assert_eq!(v.try_to_vec().unwrap(), &body[8..], "event round-trips");
    }
    match name {
        "GovernanceInitialized" => rt::<GovernanceInitialized>(body),
        "ProgramRegistered" => rt::<ProgramRegistered>(body),
        "ProposalCreated" => rt::<ProposalCreated>(body),
        "ProposalApproved" => rt::<ProposalApproved>(body),
        "ApprovalRevoked" => rt::<ApprovalRevoked>(body),
        "CancelVoted" => rt::<CancelVoted>(body),
        "RejectVoted" => rt::<RejectVoted>(body),
        "ProposalCancelled" => rt::<ProposalCancelled>(body),
        "ProposalExpired" => rt::<ProposalExpired>(body),
        "ProgramExtended" => rt::<ProgramExtended>(body),
        "ProposalExecuted" => rt::<ProposalExecuted>(body),
        "ProgramUpgraded" => rt::<ProgramUpgraded>(body),
        "ConfigChanged" => rt::<ConfigChanged>(body),
        "MigrationStarted" => rt::<MigrationStarted>(body),
        "MigrationBatchProcessed" => rt::<MigrationBatchProcessed>(body),
        "MigrationCompleted" => rt::<MigrationCompleted>(body),
        "ProposalClosed" => rt::<ProposalClosed>(body),
        "MigrationJobClosed" => rt::<MigrationJobClosed>(body),
        other => panic!("event {other} has no round-trip check; add it here"),
    }
}

//! The HTTP JSON-RPC methods, in the wire format of an agave validator.

use std::{collections::HashMap, str::FromStr, sync::Arc};

use base64::{prelude::BASE64_STANDARD, Engine};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use solana_account_decoder::{
    encode_ui_account,
    parse_account_data::{AccountAdditionalDataV3, SplTokenAdditionalDataV2},
    parse_token::{get_token_account_mint, is_known_spl_token_id},
    MAX_BASE58_BYTES,
};
use solana_account_decoder_client_types::{UiAccount, UiAccountEncoding, UiDataSliceConfig};
use solana_accounts_db::accounts_index::ScanConfig;
use solana_rpc_client_api::{
    config::{
        RpcAccountInfoConfig, RpcBlockConfig, RpcContextConfig, RpcEncodingConfigWrapper,
        RpcProgramAccountsConfig, RpcRequestAirdropConfig, RpcSendTransactionConfig,
        RpcSignatureStatusConfig, RpcSignaturesForAddressConfig, RpcSimulateTransactionConfig,
        RpcTransactionConfig,
    },
    custom_error::RpcCustomError,
    response::{
        OptionalContext, Response, RpcBlockhash, RpcConfirmedTransactionStatusWithSignature,
        RpcKeyedAccount, RpcResponseContext, RpcSimulateTransactionResult, RpcVersionInfo,
    },
};
use solana_runtime::bank::Bank;
use solana_sdk::{
    account::{AccountSharedData, ReadableAccount, WritableAccount},
    clock::Slot,
    commitment_config::{CommitmentConfig, CommitmentLevel},
    epoch_info::EpochInfo,
    hash::Hash,
    message::{SanitizedVersionedMessage, VersionedMessage},
    pubkey::Pubkey,
    signature::Signature,
    transaction::VersionedTransaction,
};
use solana_transaction_status::{
    BlockEncodingOptions, ConfirmedBlock, EncodeError, EncodedConfirmedTransactionWithStatusMeta,
    EncodedTransactionWithStatusMeta, TransactionConfirmationStatus, TransactionDetails,
    TransactionStatus, TransactionWithStatusMeta, UiInnerInstructions, UiTransactionEncoding,
    UiTransactionReturnData, VersionedTransactionWithStatusMeta,
};
use spl_token_2022::{
    extension::{
        interest_bearing_mint::InterestBearingConfig, scaled_ui_amount::ScaledUiAmountConfig,
        BaseStateWithExtensions, StateWithExtensions,
    },
    state::Mint,
};
use tokio::sync::oneshot;

use crate::chain::{Command, Commitment, Shared, TxRecord, COMMAND_TIMEOUT};

/// A JSON-RPC error.
#[derive(Clone, Debug, PartialEq)]
pub struct RpcError {
    /// The code.
    pub code: i64,
    /// The message.
    pub message: String,
    /// Extra data (simulation results for -32002).
    pub data: Option<Value>,
}

impl RpcError {
    /// -32602.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        RpcError {
            code: -32602,
            message: message.into(),
            data: None,
        }
    }

    /// -32603.
    pub fn internal(message: impl Into<String>) -> Self {
        RpcError {
            code: -32603,
            message: message.into(),
            data: None,
        }
    }

    /// -32601.
    pub fn method_not_found() -> Self {
        RpcError {
            code: -32601,
            message: "Method not found".into(),
            data: None,
        }
    }

    /// The error object of a response.
    pub fn to_json(&self) -> Value {
        let mut e = json!({"code": self.code, "message": self.message});
        if let Some(d) = &self.data {
            e["data"] = d.clone();
        }
        e
    }
}

impl From<RpcCustomError> for RpcError {
    fn from(e: RpcCustomError) -> Self {
        let e: jsonrpc_core::Error = e.into();
        RpcError {
            code: e.code.code(),
            message: e.message,
            data: e.data,
        }
    }
}

type Result<T> = std::result::Result<T, RpcError>;

/// A JSON-RPC response to a request with `id`.
pub fn response(id: Value, result: Result<Value>) -> Value {
    match result {
        Ok(r) => json!({"jsonrpc": "2.0", "result": r, "id": id}),
        Err(e) => json!({"jsonrpc": "2.0", "error": e.to_json(), "id": id}),
    }
}

/// Handles the body of an HTTP request: one call or a batch.
pub async fn handle_body(shared: &Arc<Shared>, body: &[u8]) -> Value {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            return json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null})
        }
    };
    match v {
        Value::Array(calls) if !calls.is_empty() => {
            let mut out = Vec::with_capacity(calls.len());
            for c in calls {
                out.push(handle_call(shared, c).await);
            }
            Value::Array(out)
        }
        v => handle_call(shared, v).await,
    }
}

fn invalid_request() -> Value {
    json!({"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid request"}, "id": null})
}

async fn handle_call(shared: &Arc<Shared>, call: Value) -> Value {
    let Value::Object(mut call) = call else {
        return invalid_request();
    };
    let id = call.remove("id").unwrap_or(Value::Null);
    let Some(Value::String(method)) = call.remove("method") else {
        return invalid_request();
    };
    let params = match call.remove("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return response(
                id,
                Err(RpcError::invalid_params(
                    "Invalid params: expected an array.",
                )),
            )
        }
    };
    response(id, call_method(shared, &method, params).await)
}

/// Runs one method.
pub async fn call_method(shared: &Arc<Shared>, method: &str, params: Vec<Value>) -> Result<Value> {
    let p = Params(params);
    match method {
        "getHealth" => Ok(json!("ok")),
        "getVersion" => {
            // What a validator of this runtime reports: its version, and the first four bytes
            // of the hash of the feature ids it knows (genesis activates them all here).
            let version = solana_version::Version::default();
            Ok(json!(RpcVersionInfo {
                solana_core: version.to_string(),
                feature_set: Some(version.feature_set),
            }))
        }
        "getGenesisHash" => Ok(json!(shared.genesis_hash.to_string())),
        "getIdentity" => Ok(json!({"identity": shared.identity.to_string()})),
        "getSlot" => {
            let c = p.context(0)?;
            Ok(json!(context_slot(shared, &c)?))
        }
        "getBlockHeight" => {
            let c = p.context(0)?;
            context_slot(shared, &c)?;
            Ok(json!(shared.bank(commitment(c.commitment)).block_height()))
        }
        "getTransactionCount" => {
            let c = p.context(0)?;
            context_slot(shared, &c)?;
            Ok(json!(shared
                .bank(commitment(c.commitment))
                .transaction_count()))
        }
        "getEpochInfo" => {
            let c = p.context(0)?;
            context_slot(shared, &c)?;
            let bank = shared.bank(commitment(c.commitment));
            let (epoch, slot_index) = bank.get_epoch_and_slot_index(bank.slot());
            Ok(json!(EpochInfo {
                epoch,
                slot_index,
                slots_in_epoch: bank.get_slots_in_epoch(epoch),
                absolute_slot: bank.slot(),
                block_height: bank.block_height(),
                transaction_count: Some(bank.transaction_count()),
            }))
        }
        "getLatestBlockhash" => {
            let c = p.context(0)?;
            context_slot(shared, &c)?;
            let bank = shared.bank(commitment(c.commitment));
            let blockhash = bank.last_blockhash();
            let last_valid_block_height = bank
                .get_blockhash_last_valid_block_height(&blockhash)
                .unwrap_or_default();
            Ok(with_context(
                bank.slot(),
                json!(RpcBlockhash {
                    blockhash: blockhash.to_string(),
                    last_valid_block_height,
                }),
            ))
        }
        "isBlockhashValid" => {
            let hash: Hash = parse_str(&p.required::<String>(0, "blockhash")?, "blockhash")?;
            let c = p.context(1)?;
            context_slot(shared, &c)?;
            let bank = shared.bank(commitment(c.commitment));
            Ok(with_context(
                bank.slot(),
                json!(bank.is_blockhash_valid(&hash)),
            ))
        }
        "getBalance" => {
            let key = p.pubkey(0)?;
            let c = p.context(1)?;
            context_slot(shared, &c)?;
            let bank = shared.bank(commitment(c.commitment));
            Ok(with_context(bank.slot(), json!(bank.get_balance(&key))))
        }
        "getMinimumBalanceForRentExemption" => {
            let len: usize = p.required(0, "data length")?;
            let c = p.context(1)?;
            let bank = shared.bank(commitment(c.commitment));
            Ok(json!(bank.get_minimum_balance_for_rent_exemption(len)))
        }
        "getFeeForMessage" => {
            let encoded: String = p.required(0, "message")?;
            let c = p.context(1)?;
            let bank = shared.bank(commitment(c.commitment));
            let bytes = BASE64_STANDARD
                .decode(encoded)
                .map_err(|e| RpcError::invalid_params(format!("invalid base64 encoding: {e}")))?;
            let message: VersionedMessage = bincode::deserialize(&bytes)
                .map_err(|e| RpcError::invalid_params(format!("invalid message: {e}")))?;
            let sanitized = SanitizedVersionedMessage::try_new(message)
                .ok()
                .and_then(|m| {
                    solana_sdk::message::SanitizedMessage::try_new(
                        m,
                        &*bank,
                        bank.get_reserved_account_keys(),
                    )
                    .ok()
                })
                .ok_or_else(|| RpcError::invalid_params("invalid message"))?;
            Ok(with_context(
                bank.slot(),
                json!(bank.get_fee_for_message(&sanitized)),
            ))
        }
        "getAccountInfo" => {
            let key = p.pubkey(0)?;
            let cfg: RpcAccountInfoConfig = p.optional(1)?.unwrap_or_default();
            check_min_slot(shared, cfg.commitment, cfg.min_context_slot)?;
            let bank = shared.bank(commitment(cfg.commitment));
            let value = match bank.get_account(&key) {
                Some(a) if a.lamports() > 0 => Some(encode_account(
                    &bank,
                    &key,
                    &a,
                    cfg.encoding,
                    cfg.data_slice,
                    None,
                )?),
                _ => None,
            };
            Ok(with_context(bank.slot(), json!(value)))
        }
        "getMultipleAccounts" => {
            let keys: Vec<String> = p.required(0, "pubkeys")?;
            if keys.len() > 100 {
                return Err(RpcError::invalid_params(
                    "Too many inputs provided; max 100",
                ));
            }
            let cfg: RpcAccountInfoConfig = p.optional(1)?.unwrap_or_default();
            check_min_slot(shared, cfg.commitment, cfg.min_context_slot)?;
            let bank = shared.bank(commitment(cfg.commitment));
            let mut out = Vec::with_capacity(keys.len());
            for k in keys {
                let key: Pubkey = parse_str(&k, "pubkey")?;
                out.push(match bank.get_account(&key) {
                    Some(a) if a.lamports() > 0 => Some(encode_account(
                        &bank,
                        &key,
                        &a,
                        cfg.encoding,
                        cfg.data_slice,
                        None,
                    )?),
                    _ => None,
                });
            }
            Ok(with_context(bank.slot(), json!(out)))
        }
        "getProgramAccounts" => {
            let program = p.pubkey(0)?;
            let cfg: RpcProgramAccountsConfig = p.optional(1)?.unwrap_or_default();
            let filters = cfg.filters.unwrap_or_default();
            for f in &filters {
                f.verify()
                    .map_err(|e| RpcError::invalid_params(format!("Invalid param: {e:?}")))?;
            }
            let acfg = cfg.account_config;
            check_min_slot(shared, acfg.commitment, acfg.min_context_slot)?;
            let bank = shared.bank(commitment(acfg.commitment));
            let accounts = bank
                .get_program_accounts(&program, &ScanConfig::default())
                .map_err(|e| {
                    RpcError::from(RpcCustomError::ScanError {
                        message: e.to_string(),
                    })
                })?;
            let mut out = Vec::new();
            for (k, a) in accounts {
                if a.lamports() > 0 && filters.iter().all(|f| filter_allows(f, &a)) {
                    out.push(RpcKeyedAccount {
                        pubkey: k.to_string(),
                        account: encode_account(
                            &bank,
                            &k,
                            &a,
                            acfg.encoding,
                            acfg.data_slice,
                            None,
                        )?,
                    });
                }
            }
            if cfg.sort_results.unwrap_or(true) {
                out.sort_by(|a, b| a.pubkey.cmp(&b.pubkey));
            }
            Ok(if cfg.with_context.unwrap_or(false) {
                json!(OptionalContext::Context(Response {
                    context: RpcResponseContext::new(bank.slot()),
                    value: out,
                }))
            } else {
                json!(out)
            })
        }
        "requestAirdrop" => {
            let to = p.pubkey(0)?;
            let lamports: u64 = p.required(1, "lamports")?;
            let _cfg: Option<RpcRequestAirdropConfig> = p.optional(2)?;
            let (reply, rx) = oneshot::channel();
            shared.command(Command::Airdrop {
                to,
                lamports,
                reply,
            })?;
            Ok(json!(wait(rx).await??.to_string()))
        }
        "sendTransaction" => {
            let encoded: String = p.required(0, "transaction")?;
            let cfg: RpcSendTransactionConfig = p.optional(1)?.unwrap_or_default();
            let tx = decode_tx(&encoded, cfg.encoding)?;
            let preflight = (!cfg.skip_preflight).then(|| {
                cfg.preflight_commitment
                    .map(Commitment::from)
                    .unwrap_or(Commitment::Finalized)
            });
            let (reply, rx) = oneshot::channel();
            shared.command(Command::Send {
                tx,
                preflight,
                reply,
            })?;
            Ok(json!(wait(rx).await??.to_string()))
        }
        "simulateTransaction" => simulate(shared, p).await,
        "getSignatureStatuses" => {
            let sigs: Vec<String> = p.required(0, "signatures")?;
            if sigs.len() > 256 {
                return Err(RpcError::invalid_params(
                    "Too many inputs provided; max 256",
                ));
            }
            let _cfg: Option<RpcSignatureStatusConfig> = p.optional(1)?;
            let sigs: Vec<Signature> = sigs
                .iter()
                .map(|s| parse_str(s, "signature"))
                .collect::<Result<_>>()?;
            let s = shared.state.read().unwrap();
            let statuses: Vec<Option<TransactionStatus>> = sigs
                .iter()
                .map(|sig| {
                    s.txs.get(sig).map(|r| {
                        let c = s.commitment_of(r.slot);
                        TransactionStatus {
                            slot: r.slot,
                            confirmations: (c != Commitment::Finalized)
                                .then(|| s.confirmations(r.slot)),
                            status: r.meta.status.clone(),
                            err: r.meta.status.clone().err(),
                            confirmation_status: Some(confirmation_status(c)),
                        }
                    })
                })
                .collect();
            Ok(with_context(s.processed, json!(statuses)))
        }
        "getSignaturesForAddress" => {
            let address = p.pubkey(0)?;
            let cfg: RpcSignaturesForAddressConfig = p.optional(1)?.unwrap_or_default();
            let c = at_least_confirmed(cfg.commitment)?;
            let limit = cfg.limit.unwrap_or(1000);
            if limit == 0 || limit > 1000 {
                return Err(RpcError::invalid_params("Invalid limit; max 1000"));
            }
            let before: Option<Signature> = cfg
                .before
                .as_deref()
                .map(|s| parse_str(s, "before"))
                .transpose()?;
            let until: Option<Signature> = cfg
                .until
                .as_deref()
                .map(|s| parse_str(s, "until"))
                .transpose()?;
            let s = shared.state.read().unwrap();
            let mut out = Vec::new();
            let mut started = before.is_none();
            for sig in s.by_address.get(&address).into_iter().flatten().rev() {
                if !started {
                    started = Some(*sig) == before;
                    continue;
                }
                if Some(*sig) == until {
                    break;
                }
                let Some(r) = s.txs.get(sig) else { continue };
                if !s.reached(r.slot, c) {
                    continue;
                }
                out.push(RpcConfirmedTransactionStatusWithSignature {
                    signature: sig.to_string(),
                    slot: r.slot,
                    err: r.meta.status.clone().err(),
                    memo: None,
                    block_time: Some(r.block_time),
                    confirmation_status: Some(confirmation_status(s.commitment_of(r.slot))),
                });
                if out.len() == limit {
                    break;
                }
            }
            Ok(json!(out))
        }
        "getTransaction" => {
            let sig: Signature = parse_str(&p.required::<String>(0, "signature")?, "signature")?;
            let cfg = p
                .optional::<RpcEncodingConfigWrapper<RpcTransactionConfig>>(1)?
                .map(|w| w.convert_to_current())
                .unwrap_or_default();
            let c = at_least_confirmed(cfg.commitment)?;
            let encoding = cfg.encoding.unwrap_or(UiTransactionEncoding::Json);
            let s = shared.state.read().unwrap();
            let Some(r) = s.txs.get(&sig).filter(|r| s.reached(r.slot, c)) else {
                return Ok(Value::Null);
            };
            let tx = encode_with_meta(r, encoding, cfg.max_supported_transaction_version, true)?;
            Ok(json!(EncodedConfirmedTransactionWithStatusMeta {
                slot: r.slot,
                transaction: tx,
                block_time: Some(r.block_time),
            }))
        }
        "getBlock" => {
            let slot: Slot = p.required(0, "slot")?;
            let cfg = p
                .optional::<RpcEncodingConfigWrapper<RpcBlockConfig>>(1)?
                .map(|w| w.convert_to_current())
                .unwrap_or_default();
            get_block(shared, slot, cfg)
        }
        "getBlockTime" => {
            let slot: Slot = p.required(0, "slot")?;
            let s = shared.state.read().unwrap();
            match s
                .blocks
                .get(&slot)
                .filter(|_| s.reached(slot, Commitment::Confirmed))
            {
                Some(b) => Ok(json!(b.block_time)),
                None => Err(missing_block(&s, slot)),
            }
        }
        "getBlocks" => {
            let start: Slot = p.required(0, "start slot")?;
            let (end, cfg): (Option<Slot>, Option<RpcContextConfig>) = match p.0.get(1) {
                Some(Value::Object(_)) => (None, p.optional(1)?),
                _ => (p.optional(1)?, p.optional(2)?),
            };
            let c = at_least_confirmed(cfg.and_then(|c| c.commitment))?;
            let s = shared.state.read().unwrap();
            let top = s.slot(c).min(end.unwrap_or(Slot::MAX));
            let slots: Vec<Slot> = s
                .fork
                .iter()
                .copied()
                .filter(|x| *x >= start && *x <= top)
                .collect();
            Ok(json!(slots))
        }
        "getFirstAvailableBlock" | "minimumLedgerSlot" => Ok(json!(shared
            .state
            .read()
            .unwrap()
            .fork
            .first()
            .copied()
            .unwrap_or_default())),
        "getRecentPrioritizationFees" => Ok(json!([])),
        "dev_advanceClock" => {
            let seconds: i64 = p.required(0, "seconds")?;
            let (reply, rx) = oneshot::channel();
            shared.command(Command::AdvanceClock { seconds, reply })?;
            wait(rx).await
        }
        "dev_disconnectWebsockets" => {
            let n = shared.events.receiver_count();
            let _ = shared.events.send(crate::chain::Event::Sever);
            Ok(json!({"connections": n}))
        }
        "dev_setAccount" => {
            let key: String = p.required(0, "account address")?;
            let key = Pubkey::from_str(&key)
                .map_err(|e| RpcError::invalid_params(format!("account address: {e}")))?;
            let spec: Value = p.required(1, "account")?;
            let account = account_from_json(&spec)?;
            let (reply, rx) = oneshot::channel();
            shared.command(Command::SetAccount {
                key,
                account,
                reply,
            })?;
            wait(rx).await
        }
        "dev_rollback" => {
            let slots: u64 = p.required(0, "slots")?;
            let (reply, rx) = oneshot::channel();
            shared.command(Command::Rollback { slots, reply })?;
            wait(rx).await?
        }
        "dev_status" => {
            let s = shared.state.read().unwrap();
            let now = shared
                .bank_at(s.processed)
                .map(|b| b.clock().unix_timestamp);
            Ok(json!({
                "processed": s.processed,
                "confirmed": s.confirmed,
                "finalized": s.finalized,
                "clockOffsetSeconds": s.clock_offset,
                "unixTimestamp": now,
                "faucet": shared.faucet.to_string(),
                "target": shared.target.to_string(),
                "deployer": shared.deployer.to_string(),
            }))
        }
        _ => Err(RpcError::method_not_found()),
    }
}

/// An account in getAccountInfo's shape: `{lamports, owner, data: [base64, "base64"], executable}`.
fn account_from_json(v: &Value) -> Result<AccountSharedData> {
    let bad = |what: &str| RpcError::invalid_params(format!("account: {what}"));
    let lamports = v["lamports"]
        .as_u64()
        .ok_or_else(|| bad("lamports must be a number"))?;
    let owner = v["owner"]
        .as_str()
        .and_then(|s| Pubkey::from_str(s).ok())
        .ok_or_else(|| bad("owner must be a base58 address"))?;
    let data = match &v["data"] {
        Value::Array(a) if a.len() == 2 && a[1] == "base64" => BASE64_STANDARD
            .decode(a[0].as_str().unwrap_or_default())
            .map_err(|e| bad(&format!("data is not base64: {e}")))?,
        Value::Null => Vec::new(),
        _ => return Err(bad("data must be [\"<base64>\", \"base64\"]")),
    };
    let mut account = AccountSharedData::new(lamports, data.len(), &owner);
    account.set_data_from_slice(&data);
    account.set_executable(v["executable"].as_bool().unwrap_or(false));
    Ok(account)
}

async fn wait<T>(rx: oneshot::Receiver<T>) -> Result<T> {
    match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err(RpcError::internal("the node is shutting down")),
        Err(_) => Err(RpcError::internal("the node did not answer in time")),
    }
}

/// Positional parameters.
pub struct Params(pub Vec<Value>);

impl Params {
    /// A required parameter.
    pub fn required<T: DeserializeOwned>(&self, i: usize, what: &str) -> Result<T> {
        match self.0.get(i) {
            None | Some(Value::Null) => Err(RpcError::invalid_params(format!(
                "Invalid params: missing {what} (parameter {i})."
            ))),
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|e| RpcError::invalid_params(format!("Invalid params: {e}."))),
        }
    }

    /// An optional parameter.
    pub fn optional<T: DeserializeOwned>(&self, i: usize) -> Result<Option<T>> {
        match self.0.get(i) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                // Config objects flatten an optional commitment, which serde would quietly drop
                // when it does not parse.
                if let Some(c) = v.get("commitment") {
                    serde_json::from_value::<CommitmentLevel>(c.clone()).map_err(|e| {
                        RpcError::invalid_params(format!("Invalid params: commitment: {e}."))
                    })?;
                }
                serde_json::from_value(v.clone())
                    .map(Some)
                    .map_err(|e| RpcError::invalid_params(format!("Invalid params: {e}.")))
            }
        }
    }

    /// A pubkey parameter.
    pub fn pubkey(&self, i: usize) -> Result<Pubkey> {
        parse_str(&self.required::<String>(i, "pubkey")?, "pubkey")
    }

    /// A `{commitment, minContextSlot}` parameter.
    pub fn context(&self, i: usize) -> Result<RpcContextConfig> {
        Ok(self.optional(i)?.unwrap_or_default())
    }
}

/// Parses a base58 value.
pub fn parse_str<T: FromStr>(s: &str, what: &str) -> Result<T>
where
    T::Err: std::fmt::Debug,
{
    s.parse()
        .map_err(|e| RpcError::invalid_params(format!("Invalid param: invalid {what} ({e:?})")))
}

/// The commitment asked for (finalized when none).
pub fn commitment(c: Option<CommitmentConfig>) -> Commitment {
    c.map(|c| Commitment::from(c.commitment))
        .unwrap_or(Commitment::Finalized)
}

fn at_least_confirmed(c: Option<CommitmentConfig>) -> Result<Commitment> {
    match commitment(c) {
        Commitment::Processed => Err(RpcError::invalid_params(
            "Method does not support commitment below `confirmed`",
        )),
        c => Ok(c),
    }
}

fn check_min_slot(
    shared: &Shared,
    c: Option<CommitmentConfig>,
    min_context_slot: Option<Slot>,
) -> Result<Slot> {
    let slot = shared.state.read().unwrap().slot(commitment(c));
    match min_context_slot {
        Some(min) if min > slot => {
            Err(RpcCustomError::MinContextSlotNotReached { context_slot: slot }.into())
        }
        _ => Ok(slot),
    }
}

fn context_slot(shared: &Shared, c: &RpcContextConfig) -> Result<Slot> {
    check_min_slot(shared, c.commitment, c.min_context_slot)
}

/// `{context: {slot, apiVersion}, value}`.
pub fn with_context(slot: Slot, value: Value) -> Value {
    json!(Response {
        context: RpcResponseContext::new(slot),
        value,
    })
}

/// The status name of a commitment level.
pub fn confirmation_status(c: Commitment) -> TransactionConfirmationStatus {
    match c {
        Commitment::Processed => TransactionConfirmationStatus::Processed,
        Commitment::Confirmed => TransactionConfirmationStatus::Confirmed,
        Commitment::Finalized => TransactionConfirmationStatus::Finalized,
    }
}

/// Whether an account passes a getProgramAccounts filter, as a validator decides it.
pub fn filter_allows(
    f: &solana_rpc_client_api::filter::RpcFilterType,
    a: &AccountSharedData,
) -> bool {
    use solana_rpc_client_api::filter::RpcFilterType;
    match f {
        RpcFilterType::DataSize(n) => a.data().len() as u64 == *n,
        RpcFilterType::Memcmp(m) => m.bytes_match(a.data()),
        RpcFilterType::TokenAccountState => {
            use spl_token_2022::generic_token_account::GenericTokenAccount;
            spl_token_2022::state::Account::valid_account_data(a.data())
        }
    }
}

/// Accounts that stand in for the bank's (simulateTransaction's post-simulation accounts).
pub type Overwrites = HashMap<Pubkey, AccountSharedData>;

/// An account as a validator's RPC shows it (agave's `get_encoded_account`): solana-account-decoder
/// encodes it; `jsonParsed` gives `{program, parsed, space}` for what the decoder knows (token
/// mints and accounts, lookup tables, nonce, stake, vote, sysvar, config, loader accounts) and
/// base64 otherwise. A token account's amount needs its mint's decimals: the mint is read from
/// `overwrites` or `bank`, and without it the account falls back to base64 too.
pub fn encode_account(
    bank: &Bank,
    key: &Pubkey,
    account: &AccountSharedData,
    encoding: Option<UiAccountEncoding>,
    slice: Option<UiDataSliceConfig>,
    overwrites: Option<&Overwrites>,
) -> Result<UiAccount> {
    let encoding = encoding.unwrap_or(UiAccountEncoding::Binary);
    if encoding == UiAccountEncoding::JsonParsed && is_known_spl_token_id(account.owner()) {
        let additional = get_token_account_mint(account.data())
            .and_then(|mint| {
                overwrites
                    .and_then(|o| o.get(&mint).cloned())
                    .or_else(|| bank.get_account(&mint))
            })
            .and_then(|mint| token_mint_data(bank, mint.data()))
            .map(|d| AccountAdditionalDataV3 {
                spl_token_additional_data: Some(d),
            });
        return Ok(encode_ui_account(key, account, encoding, additional, None));
    }
    if matches!(
        encoding,
        UiAccountEncoding::Binary | UiAccountEncoding::Base58
    ) {
        let len = account.data().len();
        let sliced = slice.map_or(len, |s| s.length.min(len.saturating_sub(s.offset)));
        if sliced > MAX_BASE58_BYTES {
            return Err(RpcError::invalid_params(format!(
                "Encoded binary (base 58) data should be less than {MAX_BASE58_BYTES} bytes, please use Base64 encoding."
            )));
        }
    }
    Ok(encode_ui_account(key, account, encoding, None, slice))
}

/// What the decoder needs of a token mint to show an amount (agave's `get_additional_mint_data`):
/// its decimals, and the interest-bearing and scaled-amount configs at the bank's time.
pub fn token_mint_data(bank: &Bank, data: &[u8]) -> Option<SplTokenAdditionalDataV2> {
    let mint = StateWithExtensions::<Mint>::unpack(data).ok()?;
    let now = bank.clock().unix_timestamp;
    Some(SplTokenAdditionalDataV2 {
        decimals: mint.base.decimals,
        interest_bearing_config: mint
            .get_extension::<InterestBearingConfig>()
            .ok()
            .map(|c| (*c, now)),
        scaled_ui_amount_config: mint
            .get_extension::<ScaledUiAmountConfig>()
            .ok()
            .map(|c| (*c, now)),
    })
}

/// Decodes a wire transaction (base58 by default, as a validator does).
pub fn decode_tx(
    encoded: &str,
    encoding: Option<UiTransactionEncoding>,
) -> Result<VersionedTransaction> {
    let bytes = match encoding.unwrap_or(UiTransactionEncoding::Base58) {
        UiTransactionEncoding::Base58 | UiTransactionEncoding::Binary => bs58::decode(encoded)
            .into_vec()
            .map_err(|e| RpcError::invalid_params(format!("invalid base58 encoding: {e:?}")))?,
        UiTransactionEncoding::Base64 => BASE64_STANDARD
            .decode(encoded)
            .map_err(|e| RpcError::invalid_params(format!("invalid base64 encoding: {e:?}")))?,
        e => {
            return Err(RpcError::invalid_params(format!(
                "unsupported encoding: {e}. Supported encodings: base58, base64"
            )))
        }
    };
    if bytes.len() > solana_sdk::packet::PACKET_DATA_SIZE {
        return Err(RpcError::invalid_params(format!(
            "base64 encoded solana_transaction::versioned::VersionedTransaction too large: {} bytes (max: encoded/raw {}/{})",
            encoded.len(),
            solana_sdk::packet::PACKET_DATA_SIZE * 4 / 3,
            solana_sdk::packet::PACKET_DATA_SIZE,
        )));
    }
    let tx: VersionedTransaction = bincode::deserialize(&bytes).map_err(|e| {
        RpcError::invalid_params(format!(
            "failed to deserialize solana_transaction::versioned::VersionedTransaction: {e}"
        ))
    })?;
    tx.sanitize()
        .map_err(|e| RpcError::invalid_params(format!("invalid transaction: {e}")))?;
    Ok(tx)
}

async fn simulate(shared: &Arc<Shared>, p: Params) -> Result<Value> {
    let encoded: String = p.required(0, "transaction")?;
    let cfg: RpcSimulateTransactionConfig = p.optional(1)?.unwrap_or_default();
    let tx = decode_tx(&encoded, cfg.encoding)?;
    check_min_slot(shared, cfg.commitment, cfg.min_context_slot)?;
    let (reply, rx) = oneshot::channel();
    shared.command(Command::Simulate {
        tx,
        commitment: commitment(cfg.commitment),
        sig_verify: cfg.sig_verify,
        replace_blockhash: cfg.replace_recent_blockhash,
        reply,
    })?;
    let sim = wait(rx).await??;
    let accounts = match &cfg.accounts {
        None => None,
        Some(a) => {
            // The accounts as the simulation left them; others (and the mints of token
            // accounts) as the bank it ran on holds them.
            let bank = shared
                .bank_at(sim.slot)
                .unwrap_or_else(|| shared.bank(commitment(cfg.commitment)));
            let overwrites: Overwrites = sim
                .result
                .post_simulation_accounts
                .iter()
                .cloned()
                .collect();
            let encoding = Some(a.encoding.unwrap_or(UiAccountEncoding::Base64));
            let mut out = Vec::with_capacity(a.addresses.len());
            for addr in &a.addresses {
                let key: Pubkey = parse_str(addr, "address")?;
                let account = overwrites
                    .get(&key)
                    .cloned()
                    .or_else(|| bank.get_account(&key));
                out.push(match account {
                    Some(account) if account.lamports() > 0 => Some(encode_account(
                        &bank,
                        &key,
                        &account,
                        encoding,
                        None,
                        Some(&overwrites),
                    )?),
                    _ => None,
                });
            }
            Some(out)
        }
    };
    let r = sim.result;
    let inner_instructions = cfg.inner_instructions.then(|| {
        r.inner_instructions
            .clone()
            .map(|list| {
                crate::chain::inner_instructions(list)
                    .into_iter()
                    .map(UiInnerInstructions::from)
                    .collect()
            })
            .unwrap_or_default()
    });
    let value = RpcSimulateTransactionResult {
        err: r.result.clone().err(),
        logs: Some(r.logs),
        accounts,
        units_consumed: Some(r.units_consumed),
        loaded_accounts_data_size: Some(r.loaded_accounts_data_size),
        return_data: r.return_data.map(UiTransactionReturnData::from),
        inner_instructions,
        replacement_blockhash: sim
            .replaced
            .map(|(h, last_valid_block_height)| RpcBlockhash {
                blockhash: h.to_string(),
                last_valid_block_height,
            }),
    };
    Ok(with_context(sim.slot, json!(value)))
}

fn missing_block(s: &crate::chain::State, slot: Slot) -> RpcError {
    let first = s.fork.first().copied().unwrap_or_default();
    if s.abandoned.contains(&slot) || (slot < s.processed && !s.blocks.contains_key(&slot)) {
        if slot < first {
            RpcCustomError::LongTermStorageSlotSkipped { slot }.into()
        } else {
            RpcCustomError::SlotSkipped { slot }.into()
        }
    } else {
        RpcCustomError::BlockNotAvailable { slot }.into()
    }
}

fn get_block(shared: &Shared, slot: Slot, cfg: RpcBlockConfig) -> Result<Value> {
    let c = at_least_confirmed(cfg.commitment)?;
    let encoding = cfg.encoding.unwrap_or(UiTransactionEncoding::Json);
    let s = shared.state.read().unwrap();
    let Some(b) = s.blocks.get(&slot).filter(|_| s.reached(slot, c)) else {
        return Err(missing_block(&s, slot));
    };
    let block = ConfirmedBlock {
        previous_blockhash: b.previous_blockhash.to_string(),
        blockhash: b.blockhash.unwrap_or_default().to_string(),
        parent_slot: b.parent_slot,
        transactions: b
            .signatures
            .iter()
            .filter_map(|sig| s.txs.get(sig))
            .map(|r| TransactionWithStatusMeta::Complete(with_status_meta(r)))
            .collect(),
        rewards: Vec::new(),
        num_partitions: None,
        block_time: Some(b.block_time),
        block_height: Some(b.block_height),
    };
    drop(s);
    let block = block
        .encode_with_options(
            encoding,
            BlockEncodingOptions {
                transaction_details: cfg.transaction_details.unwrap_or(TransactionDetails::Full),
                show_rewards: cfg.rewards.unwrap_or(true),
                max_supported_transaction_version: cfg.max_supported_transaction_version,
            },
        )
        .map_err(encode_error)?;
    Ok(json!(block))
}

fn with_status_meta(r: &TxRecord) -> VersionedTransactionWithStatusMeta {
    VersionedTransactionWithStatusMeta {
        transaction: r.tx.clone(),
        meta: r.meta.clone(),
    }
}

fn encode_error(e: EncodeError) -> RpcError {
    match e {
        EncodeError::UnsupportedTransactionVersion(v) => {
            RpcCustomError::UnsupportedTransactionVersion(v).into()
        }
    }
}

/// A committed transaction as getTransaction and getBlock show it, in any encoding, by
/// solana-transaction-status as a validator encodes it (`jsonParsed` parses the instructions
/// of the programs it knows and lists account keys with `signer`, `writable` and `source`).
pub fn encode_with_meta(
    r: &TxRecord,
    encoding: UiTransactionEncoding,
    max_version: Option<u8>,
    show_rewards: bool,
) -> Result<EncodedTransactionWithStatusMeta> {
    with_status_meta(r)
        .encode(encoding, max_version, show_rewards)
        .map_err(encode_error)
}

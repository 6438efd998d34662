//! The WebSocket subscriptions, in the wire format of an agave validator's PubSub service.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use solana_account_decoder_client_types::{UiAccount, UiAccountEncoding};
use solana_rpc_client_api::{
    config::{
        RpcAccountInfoConfig, RpcProgramAccountsConfig, RpcSignatureSubscribeConfig,
        RpcTransactionLogsConfig, RpcTransactionLogsFilter,
    },
    filter::RpcFilterType,
    response::{
        ProcessedSignatureResult, ReceivedSignatureResult, RpcLogsResponse, RpcSignatureResult,
    },
};
use solana_sdk::{
    account::{AccountSharedData, ReadableAccount},
    clock::Slot,
    pubkey::Pubkey,
    signature::Signature,
};
use solana_sdk_ids::system_program;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{broadcast, watch},
};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    chain::{Commitment, Event, Shared},
    rpc::{self, Params, RpcError},
};

enum Sub {
    Account {
        key: Pubkey,
        commitment: Commitment,
        encoding: Option<UiAccountEncoding>,
    },
    Program {
        program: Pubkey,
        commitment: Commitment,
        encoding: Option<UiAccountEncoding>,
        filters: Vec<RpcFilterType>,
    },
    Logs {
        mentions: Option<Pubkey>,
        commitment: Commitment,
    },
    Signature {
        signature: Signature,
        commitment: Commitment,
    },
    Slot,
}

impl Sub {
    fn unsubscribe_method(&self) -> &'static str {
        match self {
            Sub::Account { .. } => "accountUnsubscribe",
            Sub::Program { .. } => "programUnsubscribe",
            Sub::Logs { .. } => "logsUnsubscribe",
            Sub::Signature { .. } => "signatureUnsubscribe",
            Sub::Slot => "slotUnsubscribe",
        }
    }
}

/// Serves WebSocket subscriptions until `stop` turns true.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let ids = Arc::new(AtomicU64::new(0));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = shared.clone();
                let ids = ids.clone();
                let mut stop = stop.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = connection(stream, shared, ids) => {}
                        _ = stop.changed() => {}
                    }
                });
            }
            _ = stop.changed() => return,
        }
    }
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn connection(stream: TcpStream, shared: Arc<Shared>, ids: Arc<AtomicU64>) {
    let _ = stream.set_nodelay(true);
    // Subscribe before the handshake completes so that nothing after it is missed.
    let mut events = shared.events.subscribe();
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let mut subs: HashMap<u64, Sub> = HashMap::new();
    loop {
        tokio::select! {
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue, // pings are answered by tungstenite
                };
                let out = request(&shared, &ids, &mut subs, &text);
                for m in out {
                    if ws.send(Message::Text(m.to_string())).await.is_err() {
                        return;
                    }
                }
            }
            ev = events.recv() => {
                let ev = match ev {
                    Ok(ev) => ev,
                    // A subscriber that cannot keep up is cut off, as a validator does.
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if matches!(ev, Event::Sever) {
                    // Drop the TCP connection without a close frame, like a network failure.
                    return;
                }
                if notify(&shared, &mut subs, &ev, &mut ws).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Answers one request; may add notifications due right away (a signature already confirmed).
fn request(
    shared: &Shared,
    ids: &AtomicU64,
    subs: &mut HashMap<u64, Sub>,
    text: &str,
) -> Vec<Value> {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => {
            return vec![
                json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}),
            ]
        }
    };
    let id = v.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = v.get("method").and_then(Value::as_str) else {
        return vec![
            json!({"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid request"}, "id": id}),
        ];
    };
    let params = match v.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return vec![rpc::response(
                id,
                Err(RpcError::invalid_params(
                    "Invalid params: expected an array.",
                )),
            )]
        }
    };
    let p = Params(params);
    if let Some(kind) = method.strip_suffix("Unsubscribe") {
        let r = p
            .required::<u64>(0, "subscription id")
            .and_then(|sub| match subs.get(&sub) {
                Some(s) if s.unsubscribe_method() == method => {
                    subs.remove(&sub);
                    Ok(json!(true))
                }
                _ => Err(RpcError::invalid_params(format!(
                    "Invalid subscription id for {kind}"
                ))),
            });
        return vec![rpc::response(id, r)];
    }
    let sub = match parse_subscription(method, &p) {
        Ok(s) => s,
        Err(e) => return vec![rpc::response(id, Err(e))],
    };
    let sub_id = ids.fetch_add(1, Ordering::Relaxed);
    let mut out = vec![rpc::response(id, Ok(json!(sub_id)))];
    let mut keep = true;
    if let Sub::Signature {
        signature,
        commitment,
    } = &sub
    {
        let s = shared.state.read().unwrap();
        if let Some(r) = s
            .txs
            .get(signature)
            .filter(|r| s.reached(r.slot, *commitment))
        {
            out.push(notification(
                "signatureNotification",
                sub_id,
                rpc::with_context(
                    r.slot,
                    json!(RpcSignatureResult::ProcessedSignature(
                        ProcessedSignatureResult {
                            err: r.meta.status.clone().err(),
                        }
                    )),
                ),
            ));
            keep = false;
        } else if p
            .optional::<RpcSignatureSubscribeConfig>(1)
            .ok()
            .flatten()
            .and_then(|c| c.enable_received_notification)
            .unwrap_or(false)
        {
            out.push(notification(
                "signatureNotification",
                sub_id,
                rpc::with_context(
                    s.processed,
                    json!(RpcSignatureResult::ReceivedSignature(
                        ReceivedSignatureResult::ReceivedSignature
                    )),
                ),
            ));
        }
    }
    if keep {
        subs.insert(sub_id, sub);
    }
    out
}

fn parse_subscription(method: &str, p: &Params) -> Result<Sub, RpcError> {
    Ok(match method {
        "accountSubscribe" => {
            let key = p.pubkey(0)?;
            let cfg: RpcAccountInfoConfig = p.optional(1)?.unwrap_or_default();
            Sub::Account {
                key,
                commitment: rpc::commitment(cfg.commitment),
                encoding: cfg.encoding,
            }
        }
        "programSubscribe" => {
            let program = p.pubkey(0)?;
            let cfg: RpcProgramAccountsConfig = p.optional(1)?.unwrap_or_default();
            let filters = cfg.filters.unwrap_or_default();
            for f in &filters {
                f.verify()
                    .map_err(|e| RpcError::invalid_params(format!("Invalid param: {e:?}")))?;
            }
            Sub::Program {
                program,
                commitment: rpc::commitment(cfg.account_config.commitment),
                encoding: cfg.account_config.encoding,
                filters,
            }
        }
        "logsSubscribe" => {
            let filter: RpcTransactionLogsFilter = p.required(0, "filter")?;
            let cfg: RpcTransactionLogsConfig = p
                .optional(1)?
                .unwrap_or(RpcTransactionLogsConfig { commitment: None });
            let mentions = match filter {
                RpcTransactionLogsFilter::All | RpcTransactionLogsFilter::AllWithVotes => None,
                RpcTransactionLogsFilter::Mentions(keys) => {
                    if keys.len() != 1 {
                        return Err(RpcError::invalid_params(
                            "Invalid Request: Only 1 address supported",
                        ));
                    }
                    Some(rpc::parse_str(&keys[0], "mention")?)
                }
            };
            Sub::Logs {
                mentions,
                commitment: rpc::commitment(cfg.commitment),
            }
        }
        "signatureSubscribe" => {
            let signature: Signature =
                rpc::parse_str(&p.required::<String>(0, "signature")?, "signature")?;
            let cfg: RpcSignatureSubscribeConfig = p.optional(1)?.unwrap_or_default();
            Sub::Signature {
                signature,
                commitment: rpc::commitment(cfg.commitment),
            }
        }
        "slotSubscribe" => Sub::Slot,
        _ => return Err(RpcError::method_not_found()),
    })
}

fn notification(method: &str, subscription: u64, result: Value) -> Value {
    json!({
        "jsonrpc": "2.0",
        "method": method,
        "params": {"result": result, "subscription": subscription},
    })
}

/// An account at `slot` (a zero-lamport system account once it is gone, as a validator
/// notifies a closed account), encoded with that slot's bank.
fn encoded_account_at(
    shared: &Shared,
    slot: Slot,
    c: Commitment,
    key: &Pubkey,
    encoding: Option<UiAccountEncoding>,
) -> Result<UiAccount, RpcError> {
    let bank = shared.bank_at(slot).unwrap_or_else(|| shared.bank(c));
    let account = bank
        .get_account(key)
        .filter(|a| a.lamports() > 0)
        .unwrap_or_else(|| AccountSharedData::new(0, 0, &system_program::ID));
    rpc::encode_account(
        &bank,
        key,
        &account,
        encoding.or(Some(UiAccountEncoding::Base64)),
        None,
        None,
    )
}

async fn notify(
    shared: &Shared,
    subs: &mut HashMap<u64, Sub>,
    ev: &Event,
    ws: &mut Ws,
) -> Result<(), ()> {
    let mut out: Vec<Value> = Vec::new();
    let mut done: Vec<u64> = Vec::new();
    for (id, sub) in subs.iter() {
        match (sub, ev) {
            (Sub::Slot, Event::Slot { slot, parent, root }) => out.push(notification(
                "slotNotification",
                *id,
                json!({"parent": parent, "root": root, "slot": slot}),
            )),
            (
                Sub::Logs {
                    mentions,
                    commitment,
                },
                Event::Tx {
                    commitment: c,
                    slot,
                    signature,
                    err,
                    logs,
                    keys,
                },
            ) if c == commitment && mentions.is_none_or(|m| keys.contains(&m)) => {
                out.push(notification(
                    "logsNotification",
                    *id,
                    rpc::with_context(
                        *slot,
                        json!(RpcLogsResponse {
                            signature: signature.to_string(),
                            err: err.clone(),
                            logs: logs.to_vec(),
                        }),
                    ),
                ))
            }
            (
                Sub::Signature {
                    signature,
                    commitment,
                },
                Event::Tx {
                    commitment: c,
                    slot,
                    signature: s,
                    err,
                    ..
                },
            ) if c == commitment && s == signature => {
                out.push(notification(
                    "signatureNotification",
                    *id,
                    rpc::with_context(
                        *slot,
                        json!(RpcSignatureResult::ProcessedSignature(
                            ProcessedSignatureResult { err: err.clone() }
                        )),
                    ),
                ));
                done.push(*id);
            }
            (
                Sub::Account {
                    key,
                    commitment,
                    encoding,
                },
                Event::Accounts {
                    commitment: c,
                    slot,
                    keys,
                },
            ) if c == commitment && keys.contains(key) => {
                if let Ok(ui) = encoded_account_at(shared, *slot, *c, key, *encoding) {
                    out.push(notification(
                        "accountNotification",
                        *id,
                        rpc::with_context(*slot, json!(ui)),
                    ));
                }
            }
            (
                Sub::Program {
                    program,
                    commitment,
                    encoding,
                    filters,
                },
                Event::Accounts {
                    commitment: c,
                    slot,
                    keys,
                },
            ) if c == commitment => {
                for key in keys.iter() {
                    let bank = shared.bank_at(*slot).unwrap_or_else(|| shared.bank(*c));
                    let Some(a) = bank.get_account(key).filter(|a| a.lamports() > 0) else {
                        continue;
                    };
                    if a.owner() != program || !filters.iter().all(|f| rpc::filter_allows(f, &a)) {
                        continue;
                    }
                    let encoding = encoding.or(Some(UiAccountEncoding::Base64));
                    if let Ok(ui) = rpc::encode_account(&bank, key, &a, encoding, None, None) {
                        out.push(notification(
                            "programNotification",
                            *id,
                            rpc::with_context(
                                *slot,
                                json!({"pubkey": key.to_string(), "account": ui}),
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    for id in done {
        subs.remove(&id);
    }
    for m in out {
        ws.send(Message::Text(m.to_string()))
            .await
            .map_err(|_| ())?;
    }
    Ok(())
}

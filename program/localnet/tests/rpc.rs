//! The node over its real wire: the `localnet` binary on free ports, driven over HTTP and
//! WebSocket with real upgrade_manager transactions.

#![allow(deprecated)] // solana_sdk::system_instruction: the workspace has no solana-system-interface builders

mod common;

use common::{Node, Ws};
use serde_json::{json, Value};
use solana_sdk::{
    signature::{Keypair, Signer},
    transaction::Transaction,
};
use upgrade_manager::InitializeGovernanceArgs;
use upgrade_manager_tests::{build, pda, MANAGER_ID};

fn governance_ix(
    payer: &Keypair,
    create_key: &Keypair,
    threshold: u8,
) -> solana_sdk::instruction::Instruction {
    build::initialize_governance(
        &payer.pubkey(),
        &create_key.pubkey(),
        InitializeGovernanceArgs {
            members: vec![payer.pubkey(), Keypair::new().pubkey()],
            threshold,
            rollback_threshold: 2,
            timelock_seconds: Some(172_800),
            rollback_timelock_seconds: None,
            grace_period_seconds: None,
            voting_period_seconds: None,
            rent_collector: None,
            spill: payer.pubkey(),
        },
    )
}

fn logs_of(tx: &Value) -> Vec<String> {
    tx["meta"]["logMessages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn json_rpc_envelope_and_errors() {
    let node = Node::start(&[], &[]);
    assert_eq!(node.ok("getHealth", json!([])), json!("ok"));
    assert!(node.ok("getVersion", json!([]))["solana-core"].is_string());
    assert_eq!(node.err("noSuchMethod", json!([]))["code"], json!(-32601));
    let e = node.err("getBalance", json!(["not-a-key"]));
    assert_eq!(e["code"], json!(-32602));
    assert!(e["message"].as_str().unwrap().contains("pubkey"), "{e}");
    assert_eq!(node.err("getBalance", json!([]))["code"], json!(-32602));
    assert_eq!(
        node.err("getSlot", json!([{"commitment": "sideways"}]))["code"],
        json!(-32602)
    );
    assert_eq!(
        node.err(
            "getTransaction",
            json!([Keypair::new().sign_message(b"x").to_string(), {"commitment": "processed"}])
        )["code"],
        json!(-32602)
    );

    let (status, body) = node.http("POST", "/", "{not json");
    assert!(status.contains("200"));
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
        json!(-32700)
    );
    let (_, body) = node.http(
        "POST",
        "/",
        r#"[{"jsonrpc":"2.0","id":1,"method":"getHealth"},{"jsonrpc":"2.0","id":2,"method":"getSlot"}]"#,
    );
    let batch: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(batch[0]["result"], json!("ok"));
    assert!(batch[1]["result"].is_u64());
    let (status, body) = node.http("GET", "/health", "");
    assert!(status.contains("200") && body == "ok", "{status} {body}");

    // Garbage transactions answer errors, and the node keeps serving.
    for (tx, enc) in [
        ("!!!", "base58"),
        ("AAAA", "base64"),
        ("AQID", "base64"),
        ("x", "zstd"),
    ] {
        let e = node.err("sendTransaction", json!([tx, {"encoding": enc}]));
        assert_eq!(e["code"], json!(-32602), "{tx}: {e}");
    }
    assert_eq!(node.ok("getHealth", json!([])), json!("ok"));
}

#[test]
fn upgrade_manager_round_trip_with_logs_and_event() {
    let payer = Keypair::new();
    let node = Node::start(&[payer.pubkey()], &[]);
    assert!(node.banner.contains(&MANAGER_ID.to_string()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut ws = rt.block_on(Ws::connect(&node.ws));
    let logs_sub = rt.block_on(ws.subscribe(
        "logsSubscribe",
        json!([{"mentions": [MANAGER_ID.to_string()]}, {"commitment": "confirmed"}]),
    ));

    let create_key = Keypair::new();
    let sig = node
        .send(
            &[governance_ix(&payer, &create_key, 2)],
            &[&payer, &create_key],
        )
        .expect("initialize_governance");

    let n = rt.block_on(ws.notification(logs_sub, 10, |r| r["value"]["signature"] == json!(sig)));
    let value = &n["params"]["result"]["value"];
    assert_eq!(value["err"], Value::Null);
    let logs: Vec<&str> = value["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let id = MANAGER_ID.to_string();
    // What a validator logs, less the `consumed N of M compute units` lines native programs lack:
    // the program's own `msg!` lines, and each runtime line once.
    let system = "11111111111111111111111111111111";
    let want = [
        format!("Program {id} invoke [1]"),
        "Program log: Instruction: InitializeGovernance".to_string(),
        format!("Program {system} invoke [2]"),
        format!("Program {system} success"),
        format!("Program {id} invoke [2]"),
        format!("Program {id} success"),
        format!("Program {id} success"),
    ];
    assert_eq!(logs, want, "{logs:#?}");

    let tx = node.transaction(&sig, "confirmed");
    assert_eq!(tx["meta"]["err"], Value::Null);
    assert_eq!(tx["version"], json!("legacy"));
    assert_eq!(
        logs_of(&tx),
        logs.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    );
    let keys: Vec<String> = tx["transaction"]["message"]["accountKeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let inner = tx["meta"]["innerInstructions"].as_array().unwrap();
    assert_eq!(inner.len(), 1, "{tx}");
    let event = inner[0]["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| keys[i["programIdIndex"].as_u64().unwrap() as usize] == id)
        .expect("emit_cpi! inner instruction");
    let data = bs58::decode(event["data"].as_str().unwrap())
        .into_vec()
        .unwrap();
    assert_eq!(
        &data[..8],
        &[0xe4, 0x45, 0xa5, 0x2e, 0x51, 0xcb, 0x9a, 0x1d]
    );
    assert_eq!(
        keys[event["accounts"][0].as_u64().unwrap() as usize],
        pda::event_authority().to_string()
    );
    assert_eq!(event["stackHeight"], json!(2));
    let fee = tx["meta"]["fee"].as_u64().unwrap();
    assert!(fee > 0);
    let pre = tx["meta"]["preBalances"][0].as_u64().unwrap();
    let post = tx["meta"]["postBalances"][0].as_u64().unwrap();
    assert!(
        pre - post > fee,
        "the payer also paid the governance's rent"
    );

    // base64 round-trips the transaction bytes.
    let b64 = node.ok(
        "getTransaction",
        json!([sig, {"commitment": "confirmed", "encoding": "base64"}]),
    );
    assert_eq!(b64["transaction"][1], json!("base64"));
    assert!(
        b64.get("version").is_none(),
        "no version without maxSupportedTransactionVersion"
    );

    // The governance account, by program and by filters.
    let governance = pda::governance(&create_key.pubkey()).to_string();
    let all = node.ok(
        "getProgramAccounts",
        json!([id, {"encoding": "base64", "commitment": "confirmed"}]),
    );
    let found = all
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["pubkey"] == json!(governance))
        .expect("governance listed");
    let raw = {
        use base64::Engine;
        base64::prelude::BASE64_STANDARD
            .decode(found["account"]["data"][0].as_str().unwrap())
            .unwrap()
    };
    let by_size = node.ok(
        "getProgramAccounts",
        json!([id, {"encoding": "base64", "commitment": "confirmed", "filters": [{"dataSize": raw.len()}]}]),
    );
    assert_eq!(by_size.as_array().unwrap().len(), 1);
    let memcmp = |bytes: &[u8], n: usize| {
        let r = node.ok(
            "getProgramAccounts",
            json!([id, {"encoding": "base64", "commitment": "confirmed", "withContext": true,
                "filters": [{"memcmp": {"offset": 0, "bytes": bs58::encode(bytes).into_string()}}]}]),
        );
        assert_eq!(r["value"].as_array().unwrap().len(), n, "{r}");
    };
    memcmp(&raw[..8], 1);
    memcmp(&[0u8; 8], 0);

    let sigs = node.ok(
        "getSignaturesForAddress",
        json!([governance, {"commitment": "confirmed"}]),
    );
    assert_eq!(sigs[0]["signature"], json!(sig));
    let slot = tx["slot"].as_u64().unwrap();
    let block = node.ok(
        "getBlock",
        json!([slot, {"commitment": "confirmed", "maxSupportedTransactionVersion": 0}]),
    );
    assert_eq!(
        block["transactions"][0]["transaction"]["signatures"][0],
        json!(sig)
    );
    assert!(block["blockhash"].is_string() && block["previousBlockhash"].is_string());
}

#[test]
fn failing_transaction_answers_simulation_logs() {
    let payer = Keypair::new();
    let node = Node::start(&[payer.pubkey()], &[]);
    let create_key = Keypair::new();
    // A threshold of zero is an Anchor error of the program.
    let ixs = [governance_ix(&payer, &create_key, 0)];
    let e = node.send(&ixs, &[&payer, &create_key]).unwrap_err();
    assert_eq!(e["code"], json!(-32002), "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("Transaction simulation failed: "),
        "{e}"
    );
    let logs: Vec<&str> = e["data"]["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        logs.iter()
            .any(|l| l.starts_with("Program log: AnchorError")),
        "{logs:#?}"
    );
    assert!(
        logs.last()
            .unwrap()
            .contains(" failed: custom program error: 0x"),
        "{logs:#?}"
    );
    assert!(e["data"]["err"]["InstructionError"].is_array(), "{e}");

    // skipPreflight lands it as a failed transaction, with the same logs.
    let tx = Transaction::new_signed_with_payer(
        &ixs,
        Some(&payer.pubkey()),
        &[&payer, &create_key],
        node.blockhash("processed"),
    );
    let sig = node
        .send_tx(&tx, json!({"encoding": "base64", "skipPreflight": true}))
        .unwrap();
    let got = node.wait(10, "failed tx confirmed", || {
        Some(node.transaction(&sig, "confirmed")).filter(|t| !t.is_null())
    });
    assert!(got["meta"]["err"]["InstructionError"].is_array());
    assert!(logs_of(&got)
        .iter()
        .any(|l| l.starts_with("Program log: AnchorError")));

    // simulateTransaction answers the same logs without sending, and sigVerify catches a bad
    // signature.
    let wire = {
        use base64::Engine;
        base64::prelude::BASE64_STANDARD.encode(bincode::serialize(&tx).unwrap())
    };
    let sim = node.ok(
        "simulateTransaction",
        json!([wire, {"encoding": "base64", "commitment": "processed",
            "replaceRecentBlockhash": true, "innerInstructions": true}]),
    );
    assert!(sim["value"]["err"]["InstructionError"].is_array(), "{sim}");
    assert!(
        sim["value"]["replacementBlockhash"]["blockhash"].is_string(),
        "{sim}"
    );
    let mut forged = tx.clone();
    forged.signatures[0] = Keypair::new().sign_message(b"forged");
    let e = node
        .send_tx(&forged, json!({"encoding": "base64"}))
        .unwrap_err();
    assert_eq!(e["code"], json!(-32003), "{e}");
}

#[test]
fn commitment_levels_follow_slot_distance() {
    let payer = Keypair::new();
    let node = Node::start(&[payer.pubkey()], &[]);
    let to = Keypair::new().pubkey();
    node.wait(10, "a few finalized slots", || {
        (node.slot("processed") >= 10).then_some(())
    });
    let processed = node.slot("processed");
    let confirmed = node.slot("confirmed");
    let finalized = node.slot("finalized");
    assert!(
        processed > confirmed && confirmed > finalized,
        "{processed} {confirmed} {finalized}"
    );
    assert!(processed - finalized >= 5);

    let sig = node
        .send(
            &[solana_sdk::system_instruction::transfer(
                &payer.pubkey(),
                &to,
                1_000_000,
            )],
            &[&payer],
        )
        .unwrap();
    // Processed at once: visible to processed reads and signature statuses only.
    let status = node.ok("getSignatureStatuses", json!([[sig]]))["value"][0].clone();
    let slot = status["slot"].as_u64().unwrap();
    let balance = |c: &str| {
        node.ok("getBalance", json!([to.to_string(), {"commitment": c}]))["value"]
            .as_u64()
            .unwrap()
    };
    if node.slot("confirmed") < slot {
        assert_eq!(status["confirmationStatus"], json!("processed"));
        assert!(node.transaction(&sig, "confirmed").is_null());
    }
    node.wait(10, "processed balance", || {
        (balance("processed") == 1_000_000).then_some(())
    });
    if node.slot("finalized") < slot {
        assert_eq!(balance("finalized"), 0);
        assert!(node.transaction(&sig, "finalized").is_null());
    }
    // Confirmed one slot later, finalized five slots after that.
    node.wait(10, "confirmed", || {
        let s = node.ok("getSignatureStatuses", json!([[sig]]))["value"][0].clone();
        (s["confirmationStatus"] == json!("confirmed")).then_some(())
    });
    assert!(!node.transaction(&sig, "confirmed").is_null());
    node.wait(10, "finalized", || {
        let s = node.ok("getSignatureStatuses", json!([[sig]]))["value"][0].clone();
        (s["confirmationStatus"] == json!("finalized") && s["confirmations"].is_null())
            .then_some(())
    });
    assert!(node.slot("finalized") >= slot);
    assert_eq!(balance("finalized"), 1_000_000);
    assert!(!node.transaction(&sig, "finalized").is_null());
    let sigs = node.ok("getSignaturesForAddress", json!([to.to_string()]));
    assert_eq!(sigs[0]["confirmationStatus"], json!("finalized"));
    assert_eq!(
        node.err(
            "getSignaturesForAddress",
            json!([to.to_string(), {"commitment": "processed"}])
        )["code"],
        json!(-32602)
    );
}

#[test]
fn signatures_for_address_pages_newest_first() {
    let payer = Keypair::new();
    let node = Node::start(&[payer.pubkey()], &[]);
    let to = Keypair::new().pubkey();
    let mut sigs = Vec::new();
    for i in 0..5u64 {
        sigs.push(
            node.send(
                &[solana_sdk::system_instruction::transfer(
                    &payer.pubkey(),
                    &to,
                    1_000_000 + i,
                )],
                &[&payer],
            )
            .unwrap(),
        );
    }
    let list = |cfg: Value| -> Vec<String> {
        node.ok("getSignaturesForAddress", json!([to.to_string(), cfg]))
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["signature"].as_str().unwrap().to_string())
            .collect()
    };
    node.wait(10, "all confirmed", || {
        (list(json!({"commitment": "confirmed"})).len() == 5).then_some(())
    });
    let newest_first: Vec<String> = sigs.iter().rev().cloned().collect();
    assert_eq!(list(json!({"commitment": "confirmed"})), newest_first);
    assert_eq!(
        list(json!({"commitment": "confirmed", "limit": 2})),
        newest_first[..2]
    );
    assert_eq!(
        list(json!({"commitment": "confirmed", "before": newest_first[1]})),
        newest_first[2..]
    );
    assert_eq!(
        list(json!({"commitment": "confirmed", "until": newest_first[3]})),
        newest_first[..3]
    );
    assert_eq!(
        list(
            json!({"commitment": "confirmed", "before": newest_first[0], "until": newest_first[2]})
        ),
        newest_first[1..2]
    );
    assert_eq!(
        node.err(
            "getSignaturesForAddress",
            json!([to.to_string(), {"limit": 1001}])
        )["code"],
        json!(-32602)
    );
}

#[test]
fn websocket_subscriptions() {
    let payer = Keypair::new();
    let node = Node::start(&[payer.pubkey()], &[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut ws = Ws::connect(&node.ws).await;
        let to = Keypair::new().pubkey();
        let slot_sub = ws.subscribe("slotSubscribe", json!([])).await;
        let n = ws.notification(slot_sub, 5, |_| true).await;
        assert!(
            n["params"]["result"]["slot"].as_u64().unwrap()
                > n["params"]["result"]["parent"].as_u64().unwrap()
        );
        assert_eq!(n["method"], json!("slotNotification"));
        let acct = ws
            .subscribe(
                "accountSubscribe",
                json!([to.to_string(), {"commitment": "processed", "encoding": "base64"}]),
            )
            .await;
        let all_logs = ws
            .subscribe("logsSubscribe", json!(["all", {"commitment": "processed"}]))
            .await;
        let prog = ws
            .subscribe(
                "programSubscribe",
                json!(["11111111111111111111111111111111",
                {"commitment": "confirmed", "encoding": "base64", "filters": [{"dataSize": 0}]}]),
            )
            .await;
        let bad = ws
            .request("logsSubscribe", json!([{"mentions": ["a", "b"]}]))
            .await;
        assert_eq!(bad["error"]["code"], json!(-32602));

        let sig = node
            .send(
                &[solana_sdk::system_instruction::transfer(
                    &payer.pubkey(),
                    &to,
                    5_000_000,
                )],
                &[&payer],
            )
            .unwrap();
        let sig_sub = ws
            .subscribe(
                "signatureSubscribe",
                json!([sig, {"commitment": "finalized"}]),
            )
            .await;
        let n = ws.notification(acct, 5, |_| true).await;
        assert_eq!(n["method"], json!("accountNotification"));
        assert_eq!(n["params"]["result"]["value"]["lamports"], json!(5_000_000));
        let n = ws
            .notification(all_logs, 5, |r| r["value"]["signature"] == json!(sig))
            .await;
        assert_eq!(n["params"]["result"]["value"]["err"], Value::Null);
        let n = ws
            .notification(prog, 5, |r| r["value"]["pubkey"] == json!(to.to_string()))
            .await;
        assert_eq!(n["method"], json!("programNotification"));
        let n = ws.notification(sig_sub, 10, |_| true).await;
        assert_eq!(n["params"]["result"]["value"], json!({"err": null}));
        // A signature already finalized notifies right after the subscription.
        let again = ws
            .subscribe(
                "signatureSubscribe",
                json!([sig, {"commitment": "confirmed"}]),
            )
            .await;
        ws.notification(again, 1, |_| true).await;

        assert_eq!(
            ws.request("slotUnsubscribe", json!([slot_sub])).await["result"],
            json!(true)
        );
        assert_eq!(
            ws.request("slotUnsubscribe", json!([slot_sub])).await["error"]["code"],
            json!(-32602)
        );
        assert_eq!(
            ws.request("accountUnsubscribe", json!([all_logs])).await["error"]["code"],
            json!(-32602)
        );
        assert_eq!(
            ws.request("noSuchSubscribe", json!([])).await["error"]["code"],
            json!(-32601)
        );

        // dev_disconnectWebsockets severs the connection.
        node.ok("dev_disconnectWebsockets", json!([]));
        let end = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while ws.read().await.is_some() {}
        })
        .await;
        assert!(end.is_ok(), "connection still open");
        // A new connection works.
        let mut ws = Ws::connect(&node.ws).await;
        let s = ws.subscribe("slotSubscribe", json!([])).await;
        ws.notification(s, 5, |_| true).await;
    });
}

#[test]
fn dev_clock_and_rollback() {
    let payer = Keypair::new();
    let node = Node::start(&[payer.pubkey()], &["--finalization-depth", "40"]);
    let clock = |c: &str| -> i64 {
        use base64::Engine;
        let a = node.ok(
            "getAccountInfo",
            json!(["SysvarC1ock11111111111111111111111111111111", {"encoding": "base64", "commitment": c}]),
        );
        let data = base64::prelude::BASE64_STANDARD
            .decode(a["value"]["data"][0].as_str().unwrap())
            .unwrap();
        let clock: solana_sdk::clock::Clock = bincode::deserialize(&data).unwrap();
        clock.unix_timestamp
    };
    let before = clock("processed");
    let r = node.ok("dev_advanceClock", json!([172_800]));
    assert_eq!(r["offsetSeconds"], json!(172_800));
    assert!(clock("processed") >= before + 172_800);
    // The offset holds in later slots.
    let slot = node.slot("processed");
    node.wait(5, "a later slot", || {
        (node.slot("processed") > slot + 2).then_some(())
    });
    assert!(clock("processed") >= before + 172_800);
    assert!(clock("confirmed") >= before + 172_800);
    assert_eq!(
        node.err("dev_advanceClock", json!(["soon"]))["code"],
        json!(-32602)
    );

    // Roll back the slot of a confirmed transaction: it disappears, and the chain goes on.
    let to = Keypair::new().pubkey();
    let sig = node
        .send(
            &[solana_sdk::system_instruction::transfer(
                &payer.pubkey(),
                &to,
                7_000_000,
            )],
            &[&payer],
        )
        .unwrap();
    let tx = node.wait(5, "confirmed", || {
        Some(node.transaction(&sig, "confirmed")).filter(|t| !t.is_null())
    });
    let tx_slot = tx["slot"].as_u64().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut ws = rt.block_on(Ws::connect(&node.ws));
    let slots = rt.block_on(ws.subscribe("slotSubscribe", json!([])));
    let status = node.ok("dev_status", json!([]));
    let processed = status["processed"].as_u64().unwrap();
    let depth = processed - tx_slot + 1;
    let r = node.ok("dev_rollback", json!([depth + 1]));
    assert!(
        r["abandonedSlots"]
            .as_array()
            .unwrap()
            .contains(&json!(tx_slot)),
        "{r}"
    );
    assert!(
        r["removedTransactions"]
            .as_array()
            .unwrap()
            .contains(&json!(sig)),
        "{r}"
    );
    let fork = r["forkSlot"].as_u64().unwrap();
    assert!(fork < tx_slot);
    assert_eq!(
        node.ok("getSignatureStatuses", json!([[sig]]))["value"][0],
        Value::Null
    );
    assert!(node.transaction(&sig, "confirmed").is_null());
    assert_eq!(
        node.ok(
            "getBalance",
            json!([to.to_string(), {"commitment": "processed"}])
        )["value"],
        json!(0)
    );
    assert!(node
        .ok(
            "getSignaturesForAddress",
            json!([to.to_string(), {"commitment": "confirmed"}])
        )
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        node.err("getBlock", json!([tx_slot, {"commitment": "confirmed"}]))["code"],
        json!(-32007)
    );
    let n = rt.block_on(ws.notification(slots, 5, |r| r["parent"] == json!(fork)));
    assert!(n["params"]["result"]["slot"].as_u64().unwrap() > processed);
    // The sibling fork builds on: a new transaction lands and confirms.
    let sig2 = node
        .send(
            &[solana_sdk::system_instruction::transfer(
                &payer.pubkey(),
                &to,
                8_000_000,
            )],
            &[&payer],
        )
        .unwrap();
    node.wait(5, "confirmed on the new fork", || {
        Some(node.transaction(&sig2, "confirmed")).filter(|t| !t.is_null())
    });
    // Finalized slots cannot be abandoned.
    let e = node.err("dev_rollback", json!([100_000]));
    assert_eq!(e["code"], json!(-32602));
    assert_eq!(node.err("dev_rollback", json!([0]))["code"], json!(-32602));
}

#[test]
fn airdrop_and_accounts() {
    let node = Node::start(&[], &[]);
    let to = Keypair::new().pubkey();
    let sig1 = node
        .ok("requestAirdrop", json!([to.to_string(), 2_000_000_000u64]))
        .as_str()
        .unwrap()
        .to_string();
    let sig2 = node
        .ok("requestAirdrop", json!([to.to_string(), 2_000_000_000u64]))
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(sig1, sig2, "equal airdrops are distinct transactions");
    let bal = node.ok(
        "getBalance",
        json!([to.to_string(), {"commitment": "processed"}]),
    );
    assert_eq!(bal["value"], json!(4_000_000_000u64));
    assert!(bal["context"]["slot"].is_u64());
    let info = node.ok(
        "getAccountInfo",
        json!([to.to_string(), {"encoding": "base64", "commitment": "processed"}]),
    );
    assert_eq!(
        info["value"]["owner"],
        json!("11111111111111111111111111111111")
    );
    assert_eq!(info["value"]["data"], json!(["", "base64"]));
    let missing = node.ok(
        "getAccountInfo",
        json!([Keypair::new().pubkey().to_string()]),
    );
    assert_eq!(missing["value"], Value::Null);
    let multi = node.ok(
        "getMultipleAccounts",
        json!([[to.to_string(), Keypair::new().pubkey().to_string()], {"encoding": "base64", "commitment": "processed"}]),
    );
    assert_eq!(multi["value"][0]["lamports"], json!(4_000_000_000u64));
    assert_eq!(multi["value"][1], Value::Null);
    assert_eq!(
        node.ok("getMinimumBalanceForRentExemption", json!([0])),
        json!(890_880)
    );
    let bh = node.ok("getLatestBlockhash", json!([{"commitment": "processed"}]));
    let hash = bh["value"]["blockhash"].as_str().unwrap();
    assert!(bh["value"]["lastValidBlockHeight"].as_u64().unwrap() > 0);
    assert_eq!(
        node.ok(
            "isBlockhashValid",
            json!([hash, {"commitment": "processed"}])
        )["value"],
        json!(true)
    );
    assert_eq!(
        node.ok(
            "isBlockhashValid",
            json!([solana_sdk::hash::Hash::new_unique().to_string(), {"commitment": "processed"}])
        )["value"],
        json!(false)
    );
    let info = node.ok("getEpochInfo", json!([]));
    assert!(info["absoluteSlot"].is_u64() && info["slotsInEpoch"].is_u64());
    // The upgradeable target is a loader-v3 program with its programdata.
    let target = upgrade_manager_tests::keypair(200).pubkey();
    let prog = node.ok(
        "getAccountInfo",
        json!([target.to_string(), {"encoding": "base64"}]),
    );
    assert_eq!(prog["value"]["executable"], json!(true));
    assert_eq!(
        prog["value"]["owner"],
        json!("BPFLoaderUpgradeab1e11111111111111111111111")
    );
}

#[test]
fn upgradeable_target_runs_in_the_vm_and_upgrades() {
    use solana_loader_v3_interface::instruction as loader;
    let node = Node::start(&[], &[]);
    let deployer = upgrade_manager_tests::keypair(201);
    let target = upgrade_manager_tests::keypair(200).pubkey();
    let memo = |text: &[u8]| solana_sdk::instruction::Instruction {
        program_id: target,
        accounts: vec![],
        data: text.to_vec(),
    };
    let run_memo = |text: &str| -> Vec<String> {
        let sig = node
            .send(&[memo(text.as_bytes())], &[&deployer])
            .expect("memo");
        let tx = node.wait(10, "memo confirmed", || {
            Some(node.transaction(&sig, "confirmed")).filter(|t| !t.is_null())
        });
        logs_of(&tx)
    };
    let logs = run_memo("hello");
    assert!(
        logs.contains(&"Program log: Memo (len 5): \"hello\"".to_string()),
        "{logs:#?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.starts_with(&format!("Program {target} consumed "))),
        "{logs:#?}"
    );

    // Write a buffer and upgrade the target to it, with the loader's own instructions.
    let elf = upgrade_manager_tests::elf_v1();
    let buffer = Keypair::new();
    let rent = node
        .ok(
            "getMinimumBalanceForRentExemption",
            json!([upgrade_manager_tests::BUFFER_HEADER_LEN + elf.len()]),
        )
        .as_u64()
        .unwrap();
    let create = loader::create_buffer(
        &deployer.pubkey(),
        &buffer.pubkey(),
        &deployer.pubkey(),
        rent,
        elf.len(),
    )
    .unwrap();
    node.send(&create, &[&deployer, &buffer])
        .expect("create buffer");
    for (i, chunk) in elf.chunks(900).enumerate() {
        let ix = loader::write(
            &buffer.pubkey(),
            &deployer.pubkey(),
            (i * 900) as u32,
            chunk.to_vec(),
        );
        node.send(&[ix], &[&deployer]).expect("write buffer");
    }
    let upgrade = loader::upgrade(
        &target,
        &buffer.pubkey(),
        &deployer.pubkey(),
        &deployer.pubkey(),
    );
    let sig = node.send(&[upgrade], &[&deployer]).expect("upgrade");
    let tx = node.wait(10, "upgrade confirmed", || {
        Some(node.transaction(&sig, "confirmed")).filter(|t| !t.is_null())
    });
    assert_eq!(tx["meta"]["err"], Value::Null, "{tx}");
    // The upgraded program runs from the next slot on.
    let logs = run_memo("again");
    assert!(
        logs.contains(&"Program log: Memo (len 5): \"again\"".to_string()),
        "{logs:#?}"
    );
}

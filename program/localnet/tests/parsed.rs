//! `jsonParsed` and the other validator-only answers (getVersion's feature set, costUnits), over
//! the real wire, against the shapes a validator gives (`tests/testdata`, from the Solana RPC
//! docs' examples; see `common/shape.rs` for what "shape" means).

#![allow(deprecated)] // solana_sdk::system_instruction: the workspace has no solana-system-interface builders

mod common;

use std::io::Read;

use base64::{prelude::BASE64_STANDARD, Engine};
use common::{
    shape::{assert_shape, shape_diff},
    Node, Ws,
};
use serde_json::{json, Value};
use solana_sdk::{
    instruction::Instruction,
    pubkey::Pubkey,
    signature::{Keypair, Signer},
    system_instruction,
};
use upgrade_manager::InitializeGovernanceArgs;
use upgrade_manager_tests::{build, pda, MANAGER_ID};

const TOKEN: Pubkey = spl_token::ID;
const MEMO: &str = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr";
const DECIMALS: u8 = 6;

fn memo(text: &str) -> Instruction {
    Instruction {
        program_id: MEMO.parse().unwrap(),
        accounts: vec![],
        data: text.as_bytes().to_vec(),
    }
}

fn rent(node: &Node, len: usize) -> u64 {
    node.ok("getMinimumBalanceForRentExemption", json!([len]))
        .as_u64()
        .unwrap()
}

/// A real SPL Token mint: createAccount, InitializeMint2 and a memo in one transaction.
fn create_mint(node: &Node, payer: &Keypair, mint: &Keypair) -> String {
    let ixs = [
        system_instruction::create_account(
            &payer.pubkey(),
            &mint.pubkey(),
            rent(node, 82),
            82,
            &TOKEN,
        ),
        spl_token::instruction::initialize_mint2(
            &TOKEN,
            &mint.pubkey(),
            &payer.pubkey(),
            None,
            DECIMALS,
        )
        .unwrap(),
        memo("hello"),
    ];
    node.send(&ixs, &[payer, mint]).expect("create mint")
}

/// A token account of `payer` for `mint`, with `amount` minted into it.
fn create_token_account(
    node: &Node,
    payer: &Keypair,
    mint: &Pubkey,
    account: &Keypair,
    amount: u64,
) -> String {
    let ixs = [
        system_instruction::create_account(
            &payer.pubkey(),
            &account.pubkey(),
            rent(node, 165),
            165,
            &TOKEN,
        ),
        spl_token::instruction::initialize_account3(
            &TOKEN,
            &account.pubkey(),
            mint,
            &payer.pubkey(),
        )
        .unwrap(),
        spl_token::instruction::mint_to(
            &TOKEN,
            mint,
            &account.pubkey(),
            &payer.pubkey(),
            &[],
            amount,
        )
        .unwrap(),
    ];
    node.send(&ixs, &[payer, account])
        .expect("create token account")
}

fn confirmed(node: &Node, sig: &str, encoding: &str) -> Value {
    node.wait(10, "transaction confirmed", || {
        Some(node.ok(
            "getTransaction",
            json!([sig, {"commitment": "confirmed", "encoding": encoding,
                "maxSupportedTransactionVersion": 0}]),
        ))
        .filter(|t| !t.is_null())
    })
}

fn parsed_type(ix: &Value) -> &str {
    ix["parsed"]["type"].as_str().unwrap_or_default()
}

#[test]
fn transactions_in_json_parsed() {
    let payer = Keypair::new();
    let node = Node::start(&[payer.pubkey()], &[]);
    let mint = Keypair::new();
    let account = Keypair::new();
    let mint_sig = create_mint(&node, &payer, &mint);
    let account_sig = create_token_account(&node, &payer, &mint.pubkey(), &account, 1_500_000);

    let tx = confirmed(&node, &mint_sig, "jsonParsed");
    assert_shape("getTransaction.jsonParsed.json", &tx);
    let message = &tx["transaction"]["message"];
    assert_eq!(
        message["accountKeys"][0],
        json!({"pubkey": payer.pubkey().to_string(), "signer": true, "writable": true,
            "source": "transaction"})
    );
    assert_eq!(
        message["accountKeys"][1],
        json!({"pubkey": mint.pubkey().to_string(), "signer": true, "writable": true,
            "source": "transaction"})
    );
    let ixs = message["instructions"].as_array().unwrap();
    assert_eq!(ixs.len(), 3);
    assert_eq!(ixs[0]["program"], json!("system"));
    assert_eq!(parsed_type(&ixs[0]), "createAccount");
    assert_eq!(
        ixs[0]["parsed"]["info"]["newAccount"],
        json!(mint.pubkey().to_string())
    );
    assert_eq!(ixs[1]["program"], json!("spl-token"));
    assert_eq!(parsed_type(&ixs[1]), "initializeMint2");
    assert_eq!(ixs[1]["parsed"]["info"]["decimals"], json!(DECIMALS));
    assert_eq!(
        ixs[1]["parsed"]["info"]["mintAuthority"],
        json!(payer.pubkey().to_string())
    );
    assert_eq!(ixs[2]["program"], json!("spl-memo"));
    assert_eq!(ixs[2]["parsed"], json!("hello"));

    // costUnits: what the cost model charges the executed transaction, at least its signatures
    // (720 each), write locks (300 each) and executed compute units.
    let meta = &tx["meta"];
    let cu = meta["computeUnitsConsumed"].as_u64().unwrap();
    let cost = meta["costUnits"].as_u64().expect("costUnits");
    assert!(cost >= cu + 2 * 720 + 2 * 300, "costUnits {cost}, CU {cu}");

    // The token account's transaction: its three instructions parsed, and its token balances
    // as a validator records them (the mint's decimals, before and after).
    let tx = confirmed(&node, &account_sig, "jsonParsed");
    assert_shape("getTransaction.jsonParsed.json", &tx);
    let ixs = tx["transaction"]["message"]["instructions"]
        .as_array()
        .unwrap();
    let types: Vec<&str> = ixs.iter().map(parsed_type).collect();
    assert_eq!(types, ["createAccount", "initializeAccount3", "mintTo"]);
    assert_eq!(ixs[2]["parsed"]["info"]["amount"], json!("1500000"));
    assert_eq!(tx["meta"]["preTokenBalances"], json!([]));
    assert_eq!(
        tx["meta"]["postTokenBalances"],
        json!([{
            "accountIndex": 1,
            "mint": mint.pubkey().to_string(),
            "owner": payer.pubkey().to_string(),
            "programId": TOKEN.to_string(),
            "uiTokenAmount": {"amount": "1500000", "decimals": DECIMALS, "uiAmount": 1.5,
                "uiAmountString": "1.5"},
        }])
    );

    // json: the raw message, with costUnits and the outer stack height.
    let raw = confirmed(&node, &mint_sig, "json");
    assert_shape("getTransaction.json.json", &raw);
    assert_eq!(raw["meta"]["costUnits"], json!(cost));

    // A program no parser knows: {programId, accounts, data}; its CPIs parsed where known.
    let create_key = Keypair::new();
    let governance_sig = node
        .send(
            &[build::initialize_governance(
                &payer.pubkey(),
                &create_key.pubkey(),
                InitializeGovernanceArgs {
                    members: vec![payer.pubkey()],
                    threshold: 1,
                    rollback_threshold: 1,
                    timelock_seconds: Some(172_800),
                    rollback_timelock_seconds: None,
                    grace_period_seconds: None,
                    voting_period_seconds: None,
                    rent_collector: None,
                    spill: payer.pubkey(),
                },
            )],
            &[&payer, &create_key],
        )
        .expect("initialize_governance");
    let tx = confirmed(&node, &governance_sig, "jsonParsed");
    assert_shape("getTransaction.jsonParsed.unknownProgram.json", &tx);
    let outer = &tx["transaction"]["message"]["instructions"][0];
    assert_eq!(outer["programId"], json!(MANAGER_ID.to_string()));
    assert!(outer.get("parsed").is_none(), "{outer}");
    assert_eq!(
        outer["accounts"][2],
        json!(pda::governance(&create_key.pubkey()).to_string())
    );
    let inner = tx["meta"]["innerInstructions"][0]["instructions"]
        .as_array()
        .unwrap();
    assert_eq!(parsed_type(&inner[0]), "createAccount");
    assert_eq!(inner[0]["stackHeight"], json!(2));
    let event = inner
        .iter()
        .find(|i| i["programId"] == json!(MANAGER_ID.to_string()))
        .expect("emit_cpi! event");
    assert_eq!(
        event["accounts"][0],
        json!(pda::event_authority().to_string())
    );
    let data = bs58::decode(event["data"].as_str().unwrap())
        .into_vec()
        .unwrap();
    assert_eq!(
        &data[..8],
        &[0xe4, 0x45, 0xa5, 0x2e, 0x51, 0xcb, 0x9a, 0x1d]
    );

    // getBlock: the same encoder per transaction, and transactionDetails "accounts".
    for sig in [&mint_sig, &account_sig, &governance_sig] {
        let slot = confirmed(&node, sig, "json")["slot"].as_u64().unwrap();
        let block = node.ok(
            "getBlock",
            json!([slot, {"commitment": "confirmed", "encoding": "jsonParsed",
                "maxSupportedTransactionVersion": 0}]),
        );
        assert_shape("getBlock.jsonParsed.json", &block);
        let found = block["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["transaction"]["signatures"][0] == json!(sig));
        assert!(found, "{sig} in block {slot}");
        let accounts = node.ok(
            "getBlock",
            json!([slot, {"commitment": "confirmed", "transactionDetails": "accounts",
                "maxSupportedTransactionVersion": 0}]),
        );
        assert_shape("getBlock.accounts.json", &accounts);
    }
}

#[test]
fn accounts_in_json_parsed() {
    let payer = Keypair::new();
    let node = Node::start(&[payer.pubkey()], &[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut ws = rt.block_on(Ws::connect(&node.ws));
    let mint = Keypair::new();
    let account = Keypair::new();
    let account_sub = rt.block_on(ws.subscribe(
        "accountSubscribe",
        json!([account.pubkey().to_string(), {"commitment": "confirmed", "encoding": "jsonParsed"}]),
    ));
    let program_sub = rt.block_on(ws.subscribe(
        "programSubscribe",
        json!([TOKEN.to_string(), {"commitment": "confirmed", "encoding": "jsonParsed",
            "filters": [{"dataSize": 165}]}]),
    ));
    create_mint(&node, &payer, &mint);
    let sig = create_token_account(&node, &payer, &mint.pubkey(), &account, 2_000_000);
    confirmed(&node, &sig, "json");

    let info = |key: &Pubkey, cfg: Value| node.ok("getAccountInfo", json!([key.to_string(), cfg]));
    let parsed = json!({"commitment": "confirmed", "encoding": "jsonParsed"});

    let got = info(&mint.pubkey(), parsed.clone());
    assert_shape("getAccountInfo.mint.jsonParsed.json", &got);
    assert_eq!(
        got["value"]["data"]["parsed"]["info"],
        json!({"decimals": DECIMALS, "freezeAuthority": null, "isInitialized": true,
            "mintAuthority": payer.pubkey().to_string(), "supply": "2000000"})
    );

    // A token account's amount needs its mint's decimals: looked up in the bank.
    let got = info(&account.pubkey(), parsed.clone());
    assert_shape("getAccountInfo.tokenAccount.jsonParsed.json", &got);
    let token_info = json!({"isNative": false, "mint": mint.pubkey().to_string(),
        "owner": payer.pubkey().to_string(), "state": "initialized",
        "tokenAmount": {"amount": "2000000", "decimals": DECIMALS, "uiAmount": 2.0,
            "uiAmountString": "2"}});
    assert_eq!(got["value"]["data"]["parsed"]["info"], token_info);
    // ... and dataSlice does not apply to what is parsed, as on a validator.
    let sliced = info(
        &account.pubkey(),
        json!({"commitment": "confirmed", "encoding": "jsonParsed",
            "dataSlice": {"offset": 0, "length": 4}}),
    );
    assert_eq!(sliced["value"]["data"]["parsed"]["info"], token_info);

    // What no parser knows falls back to base64 (dataSlice applies there).
    let create_key = Keypair::new();
    let sig = node
        .send(
            &[build::initialize_governance(
                &payer.pubkey(),
                &create_key.pubkey(),
                InitializeGovernanceArgs {
                    members: vec![payer.pubkey()],
                    threshold: 1,
                    rollback_threshold: 1,
                    timelock_seconds: Some(172_800),
                    rollback_timelock_seconds: None,
                    grace_period_seconds: None,
                    voting_period_seconds: None,
                    rent_collector: None,
                    spill: payer.pubkey(),
                },
            )],
            &[&payer, &create_key],
        )
        .expect("initialize_governance");
    confirmed(&node, &sig, "json");
    let governance = pda::governance(&create_key.pubkey());
    let got = info(&governance, parsed.clone());
    assert_shape("getAccountInfo.unparsable.jsonParsed.json", &got);
    let raw = BASE64_STANDARD
        .decode(got["value"]["data"][0].as_str().unwrap())
        .unwrap();
    assert_eq!(got["value"]["space"], json!(raw.len()));
    let sliced = info(
        &governance,
        json!({"commitment": "confirmed", "encoding": "jsonParsed",
            "dataSlice": {"offset": 0, "length": 8}}),
    );
    assert_eq!(
        sliced["value"]["data"],
        json!([BASE64_STANDARD.encode(&raw[..8]), "base64"])
    );

    // Sysvars, the runtime's own accounts, parse too.
    let clock = info(&solana_sdk::sysvar::clock::ID, parsed.clone());
    assert_eq!(clock["value"]["data"]["program"], json!("sysvar"));
    assert_eq!(clock["value"]["data"]["parsed"]["type"], json!("clock"));
    assert!(clock["value"]["data"]["parsed"]["info"]["unixTimestamp"].is_i64());

    // base64+zstd: the same bytes, compressed.
    let zstd = info(
        &governance,
        json!({"commitment": "confirmed", "encoding": "base64+zstd"}),
    );
    assert_eq!(zstd["value"]["data"][1], json!("base64+zstd"));
    let mut unpacked = Vec::new();
    zstd::stream::read::Decoder::new(
        &BASE64_STANDARD
            .decode(zstd["value"]["data"][0].as_str().unwrap())
            .unwrap()[..],
    )
    .unwrap()
    .read_to_end(&mut unpacked)
    .unwrap();
    assert_eq!(unpacked, raw);

    let multi = node.ok(
        "getMultipleAccounts",
        json!([
            [
                mint.pubkey().to_string(),
                account.pubkey().to_string(),
                Keypair::new().pubkey().to_string()
            ],
            parsed.clone()
        ]),
    );
    assert_eq!(multi["value"][0]["data"]["parsed"]["type"], json!("mint"));
    assert_eq!(multi["value"][1]["data"]["parsed"]["info"], token_info);
    assert_eq!(multi["value"][2], Value::Null);

    let listed = node.ok(
        "getProgramAccounts",
        json!([TOKEN.to_string(), {"commitment": "confirmed", "encoding": "jsonParsed",
            "filters": [{"dataSize": 165}]}]),
    );
    assert_shape("getProgramAccounts.token.jsonParsed.json", &listed);
    let mine = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["pubkey"] == json!(account.pubkey().to_string()))
        .expect("token account listed");
    assert_eq!(mine["account"]["data"]["parsed"]["info"], token_info);
    // tokenAccountState keeps token accounts (not mints).
    let state = node.ok(
        "getProgramAccounts",
        json!([TOKEN.to_string(), {"commitment": "confirmed", "encoding": "jsonParsed",
            "filters": ["tokenAccountState"]}]),
    );
    let state = state.as_array().unwrap();
    assert!(state
        .iter()
        .any(|a| a["pubkey"] == json!(account.pubkey().to_string())));
    assert!(state
        .iter()
        .all(|a| a["account"]["data"]["parsed"]["type"] == json!("account")));

    // The subscriptions parse as the methods do.
    let n = rt.block_on(ws.notification(account_sub, 10, |_| true));
    let value = &n["params"]["result"]["value"];
    assert_eq!(value["data"]["parsed"]["info"], token_info, "{n}");
    let n = rt.block_on(ws.notification(program_sub, 10, |r| {
        r["value"]["pubkey"] == json!(account.pubkey().to_string())
    }));
    assert_eq!(
        n["params"]["result"]["value"]["account"]["data"]["parsed"]["info"], token_info,
        "{n}"
    );
}

#[test]
fn version_reports_the_feature_set_id() {
    let node = Node::start(&[], &[]);
    let v = node.ok("getVersion", json!([]));
    assert_eq!(v["solana-core"], json!("2.3.13"));
    // A validator's id: the first four bytes (little-endian) of the hash of the feature ids its
    // software knows, sorted. Genesis activates every one of them here, so that is also the hash
    // of the active feature set: read which are active from the node's own feature accounts.
    let mut known: Vec<Pubkey> = agave_feature_set::FEATURE_NAMES.keys().copied().collect();
    known.sort();
    let mut active = Vec::new();
    for chunk in known.chunks(100) {
        let keys: Vec<String> = chunk.iter().map(|k| k.to_string()).collect();
        let got = node.ok(
            "getMultipleAccounts",
            json!([keys, {"encoding": "base64", "commitment": "confirmed"}]),
        );
        for (key, account) in chunk.iter().zip(got["value"].as_array().unwrap()) {
            if account.is_null() {
                continue;
            }
            let data = BASE64_STANDARD
                .decode(account["data"][0].as_str().unwrap())
                .unwrap();
            // A feature account: bincode Option<u64> activated_at.
            if data.first() == Some(&1) {
                active.push(*key);
            }
        }
    }
    assert_eq!(active.len(), known.len(), "every known feature is active");
    let mut hasher = solana_sdk::hash::Hasher::default();
    for id in &active {
        hasher.hash(id.as_ref());
    }
    let hash = hasher.result();
    let want = u32::from_le_bytes(hash.as_ref()[..4].try_into().unwrap());
    assert_ne!(want, 0);
    assert_eq!(v["feature-set"], json!(want));
}

#[test]
fn golden_shapes_catch_differences() {
    let want = json!({"a": 1, "b": [{"x": "s"}, {"y": true}], "c": null});
    assert!(shape_diff(
        &want,
        &json!({"a": 2, "b": [{"y": false}, {"x": "t"}], "c": null}),
        "$"
    )
    .is_ok());
    assert!(shape_diff(&want, &json!({"a": 2, "b": [], "c": null}), "$").is_ok());
    for bad in [
        json!({"a": 2, "b": [], "c": null, "d": 0}),
        json!({"a": 2, "b": []}),
        json!({"a": "2", "b": [], "c": null}),
        json!({"a": 2, "b": [{"z": 1}], "c": null}),
        json!({"a": 2, "b": [{"x": 1}], "c": null}),
        json!({"a": 2, "b": {}, "c": null}),
        json!({"a": 2, "b": [], "c": 0}),
    ] {
        assert!(shape_diff(&want, &bad, "$").is_err(), "{bad}");
    }
    assert!(shape_diff(&json!([]), &json!([1]), "$").is_err());
}

#[test]
fn v0_transaction_through_a_lookup_table_in_json_parsed() {
    use solana_sdk::{
        address_lookup_table::{instruction as alt, AddressLookupTableAccount},
        message::{v0, VersionedMessage},
        transaction::VersionedTransaction,
    };
    let payer = Keypair::new();
    let node = Node::start(&[payer.pubkey()], &[]);
    let recipient = Keypair::new().pubkey();
    let recent_slot = node.slot("finalized");
    let (create, table) = alt::create_lookup_table(payer.pubkey(), payer.pubkey(), recent_slot);
    let extend =
        alt::extend_lookup_table(table, payer.pubkey(), Some(payer.pubkey()), vec![recipient]);
    let sig = node
        .send(&[create, extend], &[&payer])
        .expect("create lookup table");
    let slot = confirmed(&node, &sig, "json")["slot"].as_u64().unwrap();
    // Extended addresses are usable from the next slot on.
    node.wait(10, "a later slot", || {
        (node.slot("processed") > slot + 1).then_some(())
    });

    let message = v0::Message::try_compile(
        &payer.pubkey(),
        &[system_instruction::transfer(
            &payer.pubkey(),
            &recipient,
            1_000_000,
        )],
        &[AddressLookupTableAccount {
            key: table,
            addresses: vec![recipient],
        }],
        node.blockhash("processed"),
    )
    .unwrap();
    let tx = VersionedTransaction::try_new(VersionedMessage::V0(message), &[&payer]).unwrap();
    let wire = BASE64_STANDARD.encode(bincode::serialize(&tx).unwrap());
    let sig = node
        .ok(
            "sendTransaction",
            json!([wire, {"encoding": "base64", "preflightCommitment": "processed"}]),
        )
        .as_str()
        .unwrap()
        .to_string();

    let got = confirmed(&node, &sig, "jsonParsed");
    assert_shape("getTransaction.jsonParsed.v0.json", &got);
    assert_eq!(got["version"], json!(0));
    let message = &got["transaction"]["message"];
    // The static keys (payer, system program), then the loaded ones.
    assert_eq!(
        message["accountKeys"][2],
        json!({"pubkey": recipient.to_string(), "signer": false, "writable": true,
            "source": "lookupTable"})
    );
    assert_eq!(
        message["addressTableLookups"],
        json!([{"accountKey": table.to_string(), "writableIndexes": [0], "readonlyIndexes": []}])
    );
    let transfer = &message["instructions"][0];
    assert_eq!(parsed_type(transfer), "transfer");
    assert_eq!(
        transfer["parsed"]["info"]["destination"],
        json!(recipient.to_string())
    );
    // As on a validator: a v0 transaction needs maxSupportedTransactionVersion.
    let e = node.err(
        "getTransaction",
        json!([sig, {"commitment": "confirmed", "encoding": "jsonParsed"}]),
    );
    assert_eq!(e["code"], json!(-32015), "{e}");

    // The table itself parses as a lookup table.
    let info = node.ok(
        "getAccountInfo",
        json!([table.to_string(), {"commitment": "confirmed", "encoding": "jsonParsed"}]),
    );
    let data = &info["value"]["data"];
    assert_eq!(data["program"], json!("address-lookup-table"), "{info}");
    assert_eq!(data["parsed"]["type"], json!("lookupTable"));
    assert_eq!(
        data["parsed"]["info"]["addresses"],
        json!([recipient.to_string()])
    );
    assert_eq!(
        data["parsed"]["info"]["authority"],
        json!(payer.pubkey().to_string())
    );
}

//! Starts the real `localnet` binary on free ports and talks to it over HTTP and WebSocket.
#![allow(dead_code)]

pub mod shape;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use solana_sdk::{
    hash::Hash,
    instruction::Instruction,
    pubkey::Pubkey,
    signature::{Keypair, Signer},
    transaction::Transaction,
};
use tokio_tungstenite::tungstenite::Message;

/// A running node, killed on drop.
pub struct Node {
    child: Child,
    /// host:port of the JSON-RPC server.
    pub rpc: String,
    /// ws:// URL.
    pub ws: String,
    /// The banner it printed.
    pub banner: String,
}

impl Node {
    /// Starts a node with fast slots and a shallow finalization depth, funding `fund`.
    pub fn start(fund: &[Pubkey], extra: &[&str]) -> Node {
        let mut args: Vec<String> = [
            "--rpc-port",
            "0",
            "--slot-time-ms",
            "100",
            "--finalization-depth",
            "5",
            "--no-fund-keypair",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for k in fund {
            args.push("--fund".into());
            args.push(k.to_string());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_localnet"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start localnet");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap_or(0) == 0 || Instant::now() > deadline {
                panic!("localnet exited before it was ready:\n{banner}");
            }
            if line.trim() == "ready" {
                break;
            }
            banner.push_str(&line);
        }
        // Keep draining stdout so that the node never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        let field = |name: &str| {
            banner
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("{name} in banner:\n{banner}"))
                .trim()
                .to_string()
        };
        let rpc = field("JSON RPC URL:")
            .trim_start_matches("http://")
            .to_string();
        let ws = field("WebSocket URL:");
        Node {
            child,
            rpc,
            ws,
            banner,
        }
    }

    /// A raw HTTP exchange; returns (status line, body).
    pub fn http(&self, method: &str, path: &str, body: &str) -> (String, String) {
        let mut s = TcpStream::connect(&self.rpc).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.rpc,
            body.len()
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let (head, body) = resp.split_once("\r\n\r\n").unwrap();
        (head.lines().next().unwrap().to_string(), body.to_string())
    }

    /// A JSON-RPC call; returns the whole response object.
    pub fn call(&self, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (status, body) = self.http("POST", "/", &body.to_string());
        assert!(status.contains("200"), "{status}");
        serde_json::from_str(&body).unwrap()
    }

    /// A JSON-RPC call that must succeed; returns its result.
    pub fn ok(&self, method: &str, params: Value) -> Value {
        let r = self.call(method, params.clone());
        assert!(r.get("error").is_none(), "{method} {params}: {r}");
        r["result"].clone()
    }

    /// A JSON-RPC call that must fail; returns its error.
    pub fn err(&self, method: &str, params: Value) -> Value {
        let r = self.call(method, params.clone());
        assert!(r.get("error").is_some(), "{method} {params}: {r}");
        r["error"].clone()
    }

    /// The slot at a commitment level.
    pub fn slot(&self, commitment: &str) -> u64 {
        self.ok("getSlot", json!([{"commitment": commitment}]))
            .as_u64()
            .unwrap()
    }

    /// The latest blockhash at a commitment level.
    pub fn blockhash(&self, commitment: &str) -> Hash {
        self.ok("getLatestBlockhash", json!([{"commitment": commitment}]))["value"]["blockhash"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Signs `ixs` with `signers` (the first pays) and sends them with processed preflight.
    pub fn send(&self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<String, Value> {
        let tx = Transaction::new_signed_with_payer(
            ixs,
            Some(&signers[0].pubkey()),
            signers,
            self.blockhash("processed"),
        );
        self.send_tx(
            &tx,
            json!({"encoding": "base64", "preflightCommitment": "processed"}),
        )
    }

    /// Sends a signed transaction with the given config.
    pub fn send_tx(&self, tx: &Transaction, config: Value) -> Result<String, Value> {
        use base64::Engine;
        let wire = base64::prelude::BASE64_STANDARD.encode(bincode::serialize(tx).unwrap());
        let r = self.call("sendTransaction", json!([wire, config]));
        match r.get("error") {
            Some(e) => Err(e.clone()),
            None => Ok(r["result"].as_str().unwrap().to_string()),
        }
    }

    /// Polls until `f` returns Some, or panics after `secs`.
    pub fn wait<T>(&self, secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = f() {
                return v;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// getTransaction at a commitment level (null until it reaches it).
    pub fn transaction(&self, sig: &str, commitment: &str) -> Value {
        self.ok(
            "getTransaction",
            json!([sig, {"commitment": commitment, "encoding": "json", "maxSupportedTransactionVersion": 0}]),
        )
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebSocket client.
pub struct Ws {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
    /// Notifications read while waiting for a response.
    pub pending: Vec<Value>,
}

impl Ws {
    /// Connects.
    pub async fn connect(url: &str) -> Ws {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        Ws {
            ws,
            next_id: 1,
            pending: Vec::new(),
        }
    }

    /// Sends a request and returns its response (result or error object).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let req = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.ws.send(Message::Text(req.to_string())).await.unwrap();
        loop {
            let v = self.read().await.expect("ws response");
            if v.get("id") == Some(&json!(id)) {
                return v;
            }
            self.pending.push(v);
        }
    }

    /// Subscribes; returns the subscription id.
    pub async fn subscribe(&mut self, method: &str, params: Value) -> u64 {
        let r = self.request(method, params).await;
        r["result"]
            .as_u64()
            .unwrap_or_else(|| panic!("{method}: {r}"))
    }

    /// The next message, or None when the connection ends.
    pub async fn read(&mut self) -> Option<Value> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Text(t)) => return Some(serde_json::from_str(&t).unwrap()),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// The next notification for `subscription` that satisfies `f`, within `secs`.
    pub async fn notification(
        &mut self,
        subscription: u64,
        secs: u64,
        f: impl Fn(&Value) -> bool,
    ) -> Value {
        let matches = |v: &Value| {
            v["params"]["subscription"] == json!(subscription) && f(&v["params"]["result"])
        };
        if let Some(i) = self.pending.iter().position(matches) {
            return self.pending.remove(i);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let v = tokio::time::timeout_at(deadline, self.read())
                .await
                .unwrap_or_else(|_| panic!("no notification for subscription {subscription}"))
                .expect("connection open");
            if matches(&v) {
                return v;
            }
            self.pending.push(v);
        }
    }
}

//! A local Solana node for development and end-to-end tests: an agave runtime bank that runs
//! upgrade_manager and perp_market natively and an upgradeable SBF program, behind the standard
//! JSON-RPC (HTTP) and PubSub (WebSocket) interfaces.
//!
//! [`Node::start`] is all a caller needs; `main` is a thin wrapper around it. See
//! `docs/LOCALNET.md` for what it does and does not do compared to a validator.

pub mod chain;
pub mod config;
pub mod http;
pub mod logs;
pub mod programs;
pub mod pubsub;
pub mod rpc;

use std::{net::SocketAddr, sync::Arc, thread};

use solana_sdk::pubkey::Pubkey;
use tokio::{net::TcpListener, sync::watch};

pub use config::Config;

/// A running node.
pub struct Node {
    /// Where the JSON-RPC server listens.
    pub rpc_addr: SocketAddr,
    /// Where the WebSocket server listens.
    pub ws_addr: SocketAddr,
    /// State shared with the servers.
    pub shared: Arc<chain::Shared>,
    stop: watch::Sender<bool>,
    bank_thread: Option<thread::JoinHandle<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Node {
    /// Builds genesis, starts the bank thread and both servers on the current tokio runtime.
    /// With `config.capture_program_logs`, stdout is handed to the programs' `msg!` from here
    /// on (see [`logs::capture_stdout`], which also returns a handle on the real stdout).
    pub async fn start(config: Config) -> std::io::Result<Node> {
        if config.capture_program_logs {
            logs::capture_stdout()?;
        }
        logs::install_stubs();
        let rpc = TcpListener::bind(config.rpc_addr).await?;
        let ws = TcpListener::bind(config.ws_addr).await?;
        let (rpc_addr, ws_addr) = (rpc.local_addr()?, ws.local_addr()?);
        let (shared, chain, commands) = chain::genesis(&config);
        let bank_thread = thread::Builder::new()
            .name("localnet-bank".into())
            .spawn(move || chain.run(commands))?;
        let (stop, stopped) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(http::serve(rpc, shared.clone(), stopped.clone())),
            tokio::spawn(pubsub::serve(ws, shared.clone(), stopped)),
        ];
        Ok(Node {
            rpc_addr,
            ws_addr,
            shared,
            stop,
            bank_thread: Some(bank_thread),
            tasks,
        })
    }

    /// The JSON-RPC URL.
    pub fn rpc_url(&self) -> String {
        format!("http://{}", self.rpc_addr)
    }

    /// The WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.ws_addr)
    }

    /// What the node prints on start: URLs, program ids, funded keys.
    pub fn banner(&self) -> String {
        let s = &self.shared;
        let mut out = format!(
            "JSON RPC URL: {}\nWebSocket URL: {}\n\
             upgrade_manager: {} (native)\nperp_market: {} (native)\n\
             upgradeable target: {} (SPL Memo 3.0 ELF, loader v3)\n\
             target upgrade authority: {} (secret: 32 bytes of 0x{:02x})\n\
             faucet (requestAirdrop): {}\n",
            self.rpc_url(),
            self.ws_url(),
            programs::MANAGER_ID,
            programs::PERP_ID,
            s.target,
            s.deployer,
            programs::DEPLOYER_SEED,
            s.faucet,
        );
        for (k, l) in &s.funded {
            out.push_str(&format!(
                "funded: {k} ({} SOL)\n",
                *l as f64 / solana_sdk::native_token::LAMPORTS_PER_SOL as f64
            ));
        }
        out
    }

    /// Stops the servers and the bank thread. Stopping twice is harmless.
    pub async fn stop(&mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        self.shared
            .stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.bank_thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }

    /// Program ids the node runs natively.
    pub fn native_programs() -> [Pubkey; 2] {
        [programs::MANAGER_ID, programs::PERP_ID]
    }
}

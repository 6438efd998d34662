//! `localnet`: see `localnet --help` and docs/LOCALNET.md.

use std::{io::Write, process::ExitCode};

use localnet::{
    config::{parse_args, Parsed, USAGE},
    logs, Node,
};

fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(c)) => c,
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("localnet: {e}");
            return ExitCode::from(2);
        }
    };
    let mut config = config;
    config.capture_program_logs = true;
    // From here on stdout belongs to the programs' `msg!`; the node writes to `out`.
    let mut out = match logs::capture_stdout() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("localnet: capture stdout: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("localnet: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let mut node = match Node::start(config).await {
            Ok(n) => n,
            Err(e) => {
                eprintln!("localnet: start: {e}");
                return ExitCode::FAILURE;
            }
        };
        let _ = out.write_all(node.banner().as_bytes());
        let _ = out.write_all(b"ready\n");
        let _ = out.flush();
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("localnet: signals: {e}");
                    return ExitCode::FAILURE;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        node.stop().await;
        ExitCode::SUCCESS
    })
}

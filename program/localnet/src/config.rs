//! The node's configuration, from command-line flags.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    str::FromStr,
    time::Duration,
};

use solana_sdk::{native_token::LAMPORTS_PER_SOL, pubkey::Pubkey};

/// How the node runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address of the HTTP JSON-RPC server (port 0 picks a free port).
    pub rpc_addr: SocketAddr,
    /// Address of the WebSocket server (port 0 picks a free port).
    pub ws_addr: SocketAddr,
    /// How long a slot lasts.
    pub slot_time: Duration,
    /// How many slots must be built on a slot before it is finalized.
    pub finalization_depth: u64,
    /// Accounts funded at genesis, with their lamports.
    pub fund: Vec<(Pubkey, u64)>,
    /// A keypair file whose public key is funded at genesis, if present.
    pub fund_keypair: Option<PathBuf>,
    /// Lamports for each funded account that names no amount.
    pub fund_lamports: u64,
    /// Turn the programs' `msg!` output into `Program log:` lines by capturing stdout.
    pub capture_program_logs: bool,
}

impl Default for Config {
    fn default() -> Self {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        Config {
            rpc_addr: SocketAddr::new(ip, 8899),
            ws_addr: SocketAddr::new(ip, 8900),
            slot_time: Duration::from_millis(400),
            finalization_depth: 32,
            fund: Vec::new(),
            fund_keypair: default_keypair_path().filter(|p| p.exists()),
            fund_lamports: 1_000 * LAMPORTS_PER_SOL,
            capture_program_logs: false,
        }
    }
}

/// The Solana CLI's default keypair, `~/.config/solana/id.json`.
pub fn default_keypair_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/solana/id.json"))
}

/// The text `--help` prints.
pub const USAGE: &str = "\
localnet: a local Solana JSON-RPC and WebSocket node running upgrade_manager and perp_market
natively and an upgradeable SBF program (SPL Memo 3.0), for development and end-to-end tests.

Usage: localnet [FLAGS]

Flags:
  --bind-address IP          address both servers listen on (default 127.0.0.1)
  --rpc-port PORT            HTTP JSON-RPC port (default 8899; 0 picks a free port)
  --ws-port PORT             WebSocket port (default RPC port + 1, or a free port when the
                             RPC port is 0)
  --slot-time-ms MS          slot duration in milliseconds (default 400)
  --finalization-depth N     slots built on a slot before it is finalized (default 32);
                             a slot is confirmed once the next slot starts
  --fund PUBKEY[=SOL]        fund an account at genesis (repeatable; default amount
                             --fund-sol)
  --fund-sol SOL             SOL for each funded account (default 1000)
  --fund-keypair PATH        fund this keypair file's public key (default
                             ~/.config/solana/id.json when it exists)
  --no-fund-keypair          do not fund the default keypair
  -h, --help                 print this help

Development methods (JSON-RPC, same port):
  dev_advanceClock [seconds]     move the Clock's unix_timestamp forward, for good
  dev_disconnectWebsockets []    sever every WebSocket connection
  dev_rollback [slots]           abandon the newest unfinalized slots; continue on a sibling fork
  dev_status []                  commitment slots and the clock offset
  dev_setAccount [address, {lamports, owner, data: [b64, base64], executable}]
                                 write an account (like solana-test-validator --account)
";

/// What the command line asked for.
#[derive(Debug)]
pub enum Parsed {
    /// Run the node.
    Run(Config),
    /// Print the usage and exit.
    Help,
}

/// Parses the flags (without the program name).
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut c = Config::default();
    let mut ip = c.rpc_addr.ip();
    let mut rpc_port = c.rpc_addr.port();
    let mut ws_port: Option<u16> = None;
    let mut fund: Vec<(Pubkey, Option<u64>)> = Vec::new();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (flag.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name}: missing {what}"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--bind-address" => ip = parse(&name, &value("IP")?)?,
            "--rpc-port" => rpc_port = parse(&name, &value("PORT")?)?,
            "--ws-port" => ws_port = Some(parse(&name, &value("PORT")?)?),
            "--slot-time-ms" => {
                let ms: u64 = parse(&name, &value("MS")?)?;
                if ms == 0 {
                    return Err(format!("{name}: must be at least 1"));
                }
                c.slot_time = Duration::from_millis(ms);
            }
            "--finalization-depth" => {
                c.finalization_depth = parse(&name, &value("N")?)?;
                if c.finalization_depth == 0 {
                    return Err(format!("{name}: must be at least 1"));
                }
            }
            "--fund" => {
                let v = value("PUBKEY[=SOL]")?;
                let (key, sol) = match v.split_once('=') {
                    Some((k, s)) => (k.to_string(), Some(sol_to_lamports(&name, s)?)),
                    None => (v, None),
                };
                fund.push((parse(&name, &key)?, sol));
            }
            "--fund-sol" => c.fund_lamports = sol_to_lamports(&name, &value("SOL")?)?,
            "--fund-keypair" => c.fund_keypair = Some(PathBuf::from(value("PATH")?)),
            "--no-fund-keypair" => c.fund_keypair = None,
            _ => return Err(format!("unknown flag {flag} (see --help)")),
        }
    }
    c.rpc_addr = SocketAddr::new(ip, rpc_port);
    let ws_port = ws_port.unwrap_or(if rpc_port == 0 {
        0
    } else {
        rpc_port.wrapping_add(1)
    });
    c.ws_addr = SocketAddr::new(ip, ws_port);
    c.fund = fund
        .into_iter()
        .map(|(k, l)| (k, l.unwrap_or(c.fund_lamports)))
        .collect();
    Ok(Parsed::Run(c))
}

fn parse<T: FromStr>(flag: &str, v: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    v.parse().map_err(|e| format!("{flag}: {v:?}: {e}"))
}

fn sol_to_lamports(flag: &str, v: &str) -> Result<u64, String> {
    let sol: f64 = parse(flag, v)?;
    if !(sol.is_finite() && sol >= 0.0) {
        return Err(format!("{flag}: {v:?}: not an amount of SOL"));
    }
    Ok((sol * LAMPORTS_PER_SOL as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, String> {
        match parse_args(args.iter().map(|s| s.to_string()))? {
            Parsed::Run(c) => Ok(c),
            Parsed::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults_match_the_test_validator() {
        let c = run(&["--no-fund-keypair"]).unwrap();
        assert_eq!(c.rpc_addr.to_string(), "127.0.0.1:8899");
        assert_eq!(c.ws_addr.to_string(), "127.0.0.1:8900");
        assert_eq!(c.slot_time, Duration::from_millis(400));
        assert_eq!(c.finalization_depth, 32);
        assert!(c.fund_keypair.is_none());
    }

    #[test]
    fn flags() {
        let k = Pubkey::new_unique();
        let c = run(&[
            "--rpc-port=0",
            "--slot-time-ms",
            "50",
            "--finalization-depth",
            "4",
            "--fund",
            &format!("{k}=2.5"),
            "--fund",
            &k.to_string(),
            "--fund-sol",
            "3",
        ])
        .unwrap();
        assert_eq!(c.rpc_addr.port(), 0);
        assert_eq!(c.ws_addr.port(), 0);
        assert_eq!(c.slot_time, Duration::from_millis(50));
        assert_eq!(c.finalization_depth, 4);
        assert_eq!(c.fund, vec![(k, 2_500_000_000), (k, 3 * LAMPORTS_PER_SOL)]);
    }

    #[test]
    fn bad_flags_name_the_flag() {
        for (args, want) in [
            (&["--rpc-port", "x"][..], "--rpc-port"),
            (&["--finalization-depth", "0"][..], "--finalization-depth"),
            (&["--fund", "nope"][..], "--fund"),
            (&["--slot-time-ms"][..], "missing"),
            (&["--what"][..], "unknown flag"),
        ] {
            let err = run(args).unwrap_err();
            assert!(err.contains(want), "{args:?}: {err}");
        }
        assert!(matches!(
            parse_args(["--help".to_string()]),
            Ok(Parsed::Help)
        ));
    }
}

// Package cli is what every binary of the repository shares at its edge: flags with an
// environment fallback that behave the same everywhere, the logger, the metrics registry, and
// the redaction of secrets (an RPC URL's API key) from what a binary prints.
//
// Flags: the command line wins over the environment, the environment over the default. A
// variable set to the empty string counts as unset (VAR= cmd runs with the default, as when VAR
// is absent), so an empty variable in a compose file or a systemd unit never turns a default off.
// A variable whose value the flag rejects is an error naming the flag and the variable, never a
// silent fall-back to the default. -h and -help print the usage and exit 0 (ExitCode).
//
// Why not github.com/peterbourgon/ff: ff derives every variable's name from the flag's name and
// one prefix, while the binaries' variables are a documented interface with names shared across
// binaries (DATABASE_URL, SOLANA_RPC_URL) next to per-binary ones (CRANK_KEYPAIR); ff cannot bind
// -rpc-url to SOLANA_RPC_URL and -keypair to CRANK_KEYPAIR in one flag set. What is needed is a
// few lines over the standard flag package.
package cli

// Command umctl is the governance member's CLI for upgrade_manager: create a governance, hand it
// a program, upload a buffer locked to the manager, propose, approve, revoke, cancel, execute,
// and read proposals from the chain or the GraphQL read model; `verify` checks a local build
// against a proposal's on-chain hash before a member approves it.
//
// It follows the Solana CLI's conventions (--url with cluster shortcuts, --keypair, --fee-payer,
// --commitment, --compute-unit-price); every command takes --json for scripts, --dry-run to
// simulate and print the logs, and --sign-only to print the unsigned message for a multisig
// (a Squads vault) to carry. Every instruction comes from indexer/txbuild, and every intent is
// checked against the chain before anything is sent.
//
//	umctl [global flags] COMMAND [ARGS] [flags]
//
// Run `umctl help` for the commands.
package main

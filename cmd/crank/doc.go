// Command crank runs upgrade_manager's permissionless executors next to any Solana RPC.
//
//	crank execute   executes proposals that are approved, past their eta by the chain's clock,
//	                not expired and not stale, extending the programdata first when needed
//	crank migrate   drives active migration jobs: migrate_batch over the accounts still at the
//	                old version, in batches sized to the transaction limit
//	crank close     closes ended proposals and migration jobs -close-after they ended, so their
//	                rent goes back to the governance's rent collector (or whoever paid for them)
//
// The work is done by cmd/internal/crank (which cmd/dev runs in-process); this command reads
// the configuration (flags, with the environment as fallback, see cmd/internal/cli), the fee
// payer's keypair, serves /metrics and runs it. See docs/OPERATIONS.md.
package main

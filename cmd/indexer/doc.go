// Command indexer follows the upgrade_manager program on any Solana RPC
// (the localnet, devnet, mainnet) and keeps PostgreSQL true to the chain:
// an append-only event log and the projections GraphQL reads, each
// transaction applied exactly once, in chain order.
//
// Usage:
//
//	indexer [run] [flags]            follow the chain (default)
//	indexer replay [flags]           rebuild every projection from the event log
//	indexer migrate up|down|status   apply, roll back or list the migrations
//
// Every flag has an environment fallback (SOLANA_RPC_URL, SOLANA_WS_URL,
// DATABASE_URL, UPGRADE_MANAGER_PROGRAM_ID, INDEXER_*); see -help and
// docs/INDEXER.md. run serves /metrics, /healthz and /readyz on
// -metrics-addr. On SIGINT or SIGTERM the batch being written commits or
// rolls back whole, and the indexer exits.
package main

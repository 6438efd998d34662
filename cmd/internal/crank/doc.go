// Package crank holds upgrade_manager's permissionless executors, run by cmd/crank and in-process
// by cmd/dev:
//
//	execute   executes proposals that are approved, past their eta by the chain's clock, not
//	          expired and not stale, extending the programdata first when needed
//	migrate   drives active migration jobs: migrate_batch over the accounts still at the old
//	          version, in batches sized to the transaction limit
//	close     closes ended proposals and completed or cancelled migration jobs once they have
//	          been ended for Config.CloseAfter, by the chain's clock; the program sends the rent
//	          to the governance's rent collector or whoever paid, never to the crank
//
// All read candidates from the indexer's read model through graph/store, check them on chain,
// simulate, send, and confirm at the configured commitment. Any number of replicas may run: a
// PostgreSQL advisory lock makes one of them active per kind while the others wait. A
// transaction another crank already landed is a race lost, not an error.
package crank

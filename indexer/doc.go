// Package indexer is the upgrade_manager indexer as a service: it wires the
// RPC client and log subscription (package chain), the decoder (package
// decode), ingestion (package ingest) and PostgreSQL (package store), and
// serves /metrics, /healthz and /readyz. cmd/indexer and cmd/dev run it.
//
// Subpackages:
//
//   - chain: solana-go JSON-RPC with retries and backoff, a reconnecting
//     logsSubscribe subscriber;
//   - decode, upgrademanager, idlcodec: events decoded from transactions,
//     code generated from the IDL;
//   - ingest: gap-free, exactly-once ingestion in chain order, finality and
//     reconciliation;
//   - store: all SQL: the event log, projections, checkpoint, NOTIFY;
//   - rpctest: a replaying RPC and websocket server for tests and benchmarks;
//   - scenario: the program's recorded lifecycle and its expected projections;
//   - localnettest: the local node for end-to-end tests.
package indexer

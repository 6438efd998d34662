// Package rpctest is a Solana JSON-RPC and websocket server that replays
// recorded transactions of one program, for tests and benchmarks of the
// indexer against a real HTTP and websocket peer. It serves what the
// indexer reads (getSignaturesForAddress, getTransaction, getBlock,
// getSignatureStatuses, getSlot, getAccountInfo of the Clock sysvar,
// logsSubscribe) and lets a test publish transactions, finalize slots,
// abandon a fork, sever websockets, rate-limit requests and duplicate,
// reorder or drop notifications.
package rpctest

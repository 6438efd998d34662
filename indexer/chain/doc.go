// Package chain reads a Solana cluster for the indexer through solana-go's
// JSON-RPC and websocket clients: a Client whose calls retry rate limits and
// transient failures with backoff (never a busy loop, never an answer
// skipped), and a Subscriber that keeps a logsSubscribe subscription alive
// across disconnects, which solana-go's websocket client does not.
package chain

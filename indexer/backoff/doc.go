// Package backoff computes retry delays: exponential, capped, with jitter so
// that many clients retrying after one failure do not retry in step. It is
// the one backoff of the project: the indexer's RPC client, subscriber and
// ingester, GraphQL's LISTEN connection (graph/fanout) and the cranks retry
// with it.
package backoff

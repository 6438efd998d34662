// Package store holds all of the indexer's SQL: the append-only event log
// (chain_event), the transactions applied (ingested_transaction), dead
// letters, the checkpoint, the chain tip, and the projections of migration
// 00002 derived from the log.
//
// Every function takes a DBTX, so it runs on a pool, a connection or inside a
// transaction. ApplyBatch is the write path: one PostgreSQL transaction holds
// a batch's transactions, events, dead letters, projection updates and
// checkpoint, and sends exactly one NOTIFY on channel NotifyChannel with a
// Notification payload. Re-applying a transaction is a no-op, because the
// transaction's signature and each event's position are natural keys.
//
// Projections are a fold over the event log in canonical order (slot, block
// index, instruction index, inner index, ordinal): incrementally per batch,
// or from scratch by Rebuild (indexer replay, reverts, and a batch that
// brings a transaction older than events already applied). Each projection
// row's last_seq is the highest seq of the events folded into it.
//
// Events have one typed form: the generated types of package upgrademanager.
// A batch brings them decoded (Event.Event) with the bytes the program
// emitted (Event.Raw); the log stores the name, the JSON rendering
// (AppendJSON, escaped for jsonb: the GraphQL payload) and the bytes; the
// fold reads the typed fields; a rebuild decodes the bytes again with the
// same decoder, so the JSON is written, never parsed. An event whose
// values the tables cannot hold (an unsigned 64-bit value beyond bigint)
// is a dead letter.
//
// A single writer per database is assumed for seq order to equal commit
// order (readers page chain_event by seq); ApplyBatch, Rebuild and Revert
// take a transaction-scoped advisory lock so that a second indexer waits
// instead of interleaving.
package store

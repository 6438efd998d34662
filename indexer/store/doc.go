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
// One deployment per database, one writer at a time. The log and the
// projections are one program's: the first indexer that writes claims the
// database for its program id (Claim, migration 00015), every writer checks
// the claim, and a second program id is refused with ErrOtherDeployment
// (foreign keys refuse its rows whatever code writes them). Reset empties
// everything, the claim included. Readers page chain_event by seq and rely
// on seq order being commit order: every transaction that appends to the
// log (ApplyBatch, RefuseTransaction, RetryRefused, Rebuild, Revert, Reset)
// first takes the database's transaction-scoped writer lock
// (migrations.WriterLock), draws its seqs after it and holds it until it
// commits, so a transaction can only draw seqs above every committed one
// and no reader past a seq ever misses a lower one committed later.
package store

// Package ingest keeps PostgreSQL true to the chain for one program: it
// follows the program over any Solana RPC and applies each of its
// transactions exactly once, in chain order, through package store.
//
// Truth is getTransaction; the log subscription is only a trigger. Every
// sync lists the signatures newer than the checkpoint
// (getSignaturesForAddress), fetches the missing transactions with bounded
// concurrency, orders them by slot and block position, and applies them
// oldest first in batches, each batch one database transaction with its
// checkpoint. The checkpoint never moves past a transaction that is not
// applied: a sync that cannot fetch a transaction applies those before it
// and stops. Syncs run on every notification, after every (re)subscription,
// and on a poll timer, so a lost notification or websocket delays a
// transaction but never loses it.
//
// Rows written at confirmed commitment carry it; Finalize promotes them
// once their slot is finalized, and reverts those that never finalized
// (deleting their events and rebuilding the projections). Reconcile
// compares finalized history with what was applied and applies anything a
// listing skipped.
package ingest

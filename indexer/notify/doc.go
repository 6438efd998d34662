// Package notify is the contract between the database's one writer (the
// indexer's store) and its readers (GraphQL's fan-out): the PostgreSQL
// NOTIFY channel every committed batch, rebuild, revert and reset signals
// on, and its JSON payload.
//
// It is a leaf: it imports nothing of this module, so a reader that only
// listens links neither the writer nor its SQL.
package notify

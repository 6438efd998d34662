// Package migrations holds the PostgreSQL schema of upgrade-manager as goose
// SQL migrations embedded in the binary, and the functions that apply them.
//
// Every migration runs under a PostgreSQL session-level advisory lock, so two
// processes that start against the same database at once (the indexer and a
// crank, or two test binaries) apply each migration exactly once: the second
// waits for the first and then finds nothing left to do.
//
// Schema changes are new files named NNNNN_what.sql with "-- +goose Up" and
// "-- +goose Down" sections; an applied file is never edited, because [Hash]
// names the template databases that tests clone from and deployed databases
// would silently diverge from the files.
package migrations

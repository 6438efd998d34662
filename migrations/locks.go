package migrations

import "hash/fnv"

// The advisory locks every part of the project takes on a database, by
// name. They are part of the database contract like the schema: two
// binaries that disagree on a key do not exclude each other.
const (
	// WriterLock is the indexer's writer lock: every transaction that
	// writes the event log takes it (transaction-scoped), so one writer at
	// a time appends to chain_event and seq order is commit order.
	WriterLock = "upgrade_manager_indexer_writer"
	// TemplateLock serializes pgtest's template builds across test
	// binaries sharing a server (taken on its maintenance database).
	TemplateLock = "upgrade_manager_pgtest_template"
)

// CrankLock is the leader lock of one crank kind, shared by its replicas.
func CrankLock(kind string) string { return "upgrade_manager_crank:" + kind }

// LockKey returns the PostgreSQL advisory-lock key of the lock named name
// (FNV-1a, 64 bits): the one derivation of every advisory-lock key.
func LockKey(name string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name)) // a hash.Hash never fails to write
	return int64(h.Sum64())
}

// Package commitment names the Solana commitment levels the indexer reads
// at and records: one type for the RPC client (indexer/chain), the event
// log (indexer/store, the commitment column of chain_event and
// ingested_transaction) and the indexer's configuration. It is a leaf, so
// each of them can import it without importing another.
package commitment

// Level is a commitment level. Its values are the RPC's and the database's
// spelling.
type Level string

// The levels the indexer reads at and records (processed is never used:
// its transactions can vanish without a trace).
const (
	Confirmed Level = "confirmed"
	Finalized Level = "finalized"
)

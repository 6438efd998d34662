package notify

import (
	"encoding/json"
	"fmt"
)

// Channel is the channel the writer notifies once per committed
// transaction of the event log.
const Channel = "upgrade_manager_events"

// MaxPayload keeps a payload under PostgreSQL's 8,000-byte NOTIFY limit,
// with room to spare.
const MaxPayload = 7900

// Payload is the JSON payload of every NOTIFY on Channel.
type Payload struct {
	// LastSeq is the highest chain_event seq at commit: a listener reads
	// chain_event (and projection rows) with seq above its cursor.
	LastSeq int64 `json:"last_seq"`
	// Slot is the highest slot of the committed batch.
	Slot uint64 `json:"slot"`
	// Rebuilt is set when the projections were rebuilt from the log (a
	// revert, replay, or a transaction found older than applied ones): rows
	// may have changed or disappeared without a newer seq, so a listener
	// should refetch what it shows instead of paging by seq alone.
	Rebuilt bool `json:"rebuilt,omitempty"`
	// Reason says why the projections were rebuilt: RebuildRevert,
	// RebuildLate, RebuildReplay or RebuildReset; empty when they were not.
	Reason string `json:"reason,omitempty"`
	// Signatures are the transactions a revert removed (their events are
	// gone from chain_event) or a late batch placed before applied ones.
	Signatures []string `json:"signatures,omitempty"`
	// RemovedSeqs are the chain_event seqs a revert deleted: a listener
	// that showed those events drops them.
	RemovedSeqs []int64 `json:"removed_seqs,omitempty"`
	// Proposals and Governances are the addresses whose projection rows may
	// have changed without a newer seq (what the reverted or late events
	// were about); refetch them. Empty for replay and reset: everything may
	// have changed.
	Proposals   []string `json:"proposals,omitempty"`
	Governances []string `json:"governances,omitempty"`
	// Truncated says the lists were cut to fit MaxPayload: refetch
	// everything.
	Truncated bool `json:"truncated,omitempty"`
}

// Why projections were rebuilt (Payload.Reason).
const (
	// RebuildRevert: confirmed transactions whose slot was abandoned were
	// removed.
	RebuildRevert = "revert"
	// RebuildLate: a transaction older than applied ones was applied in its
	// place (a listing that had skipped it, a re-landed or replayed one).
	RebuildLate = "late"
	// RebuildReplay: indexer replay rebuilt everything from the log.
	RebuildReplay = "replay"
	// RebuildReset: the indexer emptied its tables for a new cluster.
	RebuildReset = "reset"
)

// Encode returns p's JSON as sent on Channel, and p as encoded: when the
// lists do not fit MaxPayload they are dropped and Truncated is set.
func Encode(p Payload) (string, Payload, error) {
	b, err := json.Marshal(p)
	if err == nil && len(b) > MaxPayload {
		p.Signatures, p.RemovedSeqs, p.Proposals, p.Governances, p.Truncated = nil, nil, nil, nil, true
		b, err = json.Marshal(p)
	}
	if err != nil {
		return "", p, fmt.Errorf("encode notification: %w", err)
	}
	return string(b), p, nil
}

// Decode parses a payload received on Channel. It is lenient: fields it
// does not know are ignored, so a newer writer can add some.
func Decode(s string) (Payload, error) {
	var p Payload
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return Payload{}, fmt.Errorf("decode notification: %w", err)
	}
	return p, nil
}

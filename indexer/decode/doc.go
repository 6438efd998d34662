// Package decode turns a transaction, in the shape getTransaction returns,
// into the ordered, typed events of the upgrade_manager program. It does no
// I/O: the indexer fetches transactions and hands them over, through
// ParseTransaction (raw JSON) or FromRPC (solana-go).
//
// # What counts as an event
//
// emit_cpi! events travel as a self-CPI. An inner instruction is an event
// when its program is ours, its first account is our event authority (the
// PDA ["__event_authority"] of the program ID) and its data starts with
// Anchor's event tag (e4 45 a5 2e 51 cb 9a 1d); the event is the rest of
// the data. Nothing else is, however its bytes look: a self-CPI without the
// authority, another program's instruction carrying our tag, a top-level
// instruction. The authority must sign the CPI (Anchor's event handler
// checks it) and only the program can sign for its PDA, so in a successful
// transaction such an instruction was written by the program.
//
// emit! events travel as "Program data: <base64>" log lines. The log is
// walked with an invoke stack built from the runtime's own lines (invoke,
// success, failed), which programs cannot write, and a data line counts
// only while our program is on top of the stack. A "Program log:" line is
// program text, whatever it contains. See ParseLogs.
//
// Failed transactions (meta.err set) have no events: their effects were
// rolled back.
//
// # One channel per transaction
//
// When a transaction carries emit_cpi! instructions of the program (even
// ones that fail to decode), its events are those instructions, and the
// program's data lines are not read. Otherwise its events are the
// program's data lines. So an event is never
// counted twice, and a transaction's order is never a guess between two
// channels. The cost: a program that mixes emit! and emit_cpi! in one
// transaction loses the emit! events; upgrade_manager uses emit_cpi! only,
// and logs can be truncated where inner instructions cannot.
//
// # Positions and errors
//
// Each event has a Position: signature, top-level instruction, index among
// that instruction's inner instructions (-1 for a log event), stack height,
// and ordinal within the transaction. An event that does not decode (an
// unknown discriminator, short or trailing bytes, an invalid value, bad
// base58 or base64) becomes an *Error with a Reason to count by; the
// transaction's other events still decode. Decode never panics.
//
// # Speed
//
// The hot path reads only what can hold our events: it compares (as base58
// text, once each) only the keys inner instructions name as program or
// first account, base58-decodes only the inner instructions that pass both
// checks (into one buffer per transaction, reused by DecodeInto), skips
// the log's text when the events came as instructions, and decodes events
// with generated straight-line code (package upgrademanager) instead of
// reflection.
package decode

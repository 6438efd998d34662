package ingest

import (
	"bytes"
	"encoding/json"

	"github.com/upgrade-manager/upgrade-manager/indexer/decode"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
)

// EventDecoder is the Decoder of package decode: the program's events in a
// getTransaction result, rendered in the IDL JSON convention.
type EventDecoder struct {
	d *decode.Decoder
}

var _ Decoder = EventDecoder{}

// NewEventDecoder returns a Decoder backed by d.
func NewEventDecoder(d *decode.Decoder) EventDecoder { return EventDecoder{d: d} }

// malformedTransaction is the dead-letter reason of a getTransaction result
// the decoder cannot read at all.
const malformedTransaction = "malformed_transaction"

type malformedError struct{ err error }

func (e malformedError) Error() string  { return e.err.Error() }
func (e malformedError) Unwrap() error  { return e.err }
func (e malformedError) Reason() string { return malformedTransaction }

// Decode implements Decoder.
func (e EventDecoder) Decode(result json.RawMessage) (Decoded, error) {
	tx, err := decode.ParseTransaction(result)
	if err != nil {
		if tx == nil {
			return Decoded{}, err
		}
		return Decoded{Header: &tx.Header}, malformedError{err}
	}
	r := e.d.Decode(tx)
	out := Decoded{Header: &tx.Header, Truncated: r.Truncated}
	if len(r.Events) > 0 {
		out.Events = make([]store.Event, len(r.Events))
	}
	for i := range r.Events {
		ev := &r.Events[i]
		out.Events[i] = store.Event{
			InstructionIndex: ev.Position.InstructionIndex,
			InnerIndex:       ev.Position.InnerIndex,
			Ordinal:          ev.Position.Ordinal,
			Event:            ev.Data,
			// Raw may share memory with the parsed transaction.
			Raw: bytes.Clone(ev.Raw),
		}
	}
	for _, de := range r.Errors {
		ii, in := de.Position.InstructionIndex, de.Position.InnerIndex
		reason := de.Reason.String()
		if de.Err != nil {
			reason += ": " + de.Err.Error()
		}
		out.DeadLetters = append(out.DeadLetters, store.DeadLetter{
			InstructionIndex: &ii, InnerIndex: &in, Reason: reason, Raw: bytes.Clone(de.Raw),
		})
	}
	return out, nil
}

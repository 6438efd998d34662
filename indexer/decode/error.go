package decode

import (
	"errors"
	"strconv"

	"github.com/upgrade-manager/upgrade-manager/indexer/idlcodec"
)

// Reason classifies why an event did not decode, for counting.
type Reason uint8

// Reasons an event does not decode.
const (
	// ReasonUnknownDiscriminator: the event's 8-byte discriminator is not in the IDL.
	ReasonUnknownDiscriminator Reason = iota + 1
	// ReasonShort: the bytes end before the event does.
	ReasonShort
	// ReasonTrailing: bytes are left after the event.
	ReasonTrailing
	// ReasonInvalid: a bool, option or enum tag or a string is not what borsh-rs writes.
	ReasonInvalid
	// ReasonEncoding: the instruction data is not base58, or the log payload not base64.
	ReasonEncoding
	// ReasonMalformed: the carrier is not shaped like an event: a data line
	// with several fields.
	ReasonMalformed
)

var reasonNames = [...]string{"", "unknown_discriminator", "short", "trailing", "invalid", "encoding", "malformed"}

// String returns the reason in snake_case, fit for a metric label.
func (r Reason) String() string {
	if int(r) > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason_" + strconv.Itoa(int(r))
}

// Error is an event that did not decode. The transaction's other events
// still do.
type Error struct {
	Reason Reason
	// Position is where the event was.
	Position Position
	// Raw is what failed: the event bytes (discriminator and borsh), or for
	// ReasonEncoding the text that did not decode.
	Raw []byte
	// Err is the cause: an *idlcodec.Error, *idlcodec.Base58Error or
	// base64.CorruptInputError.
	Err error
}

// Error describes the failure and where it happened.
func (e *Error) Error() string {
	b := make([]byte, 0, 128)
	b = append(b, "decode event in "...)
	b = append(b, e.Position.Signature...)
	b = append(b, " instruction "...)
	b = strconv.AppendInt(b, int64(e.Position.InstructionIndex), 10)
	if e.Position.InnerIndex >= 0 {
		b = append(b, " inner "...)
		b = strconv.AppendInt(b, int64(e.Position.InnerIndex), 10)
	} else {
		b = append(b, " (log)"...)
	}
	b = append(b, ": "...)
	b = append(b, e.Reason.String()...)
	if e.Err != nil {
		b = append(b, ": "...)
		b = append(b, e.Err.Error()...)
	}
	return string(b)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// reasonOf maps a generated decoder's error to a Reason.
func reasonOf(err error) Reason {
	var ce *idlcodec.Error
	if !errors.As(err, &ce) {
		return ReasonInvalid
	}
	switch ce.Reason {
	case idlcodec.ReasonShort:
		return ReasonShort
	case idlcodec.ReasonTrailing:
		return ReasonTrailing
	case idlcodec.ReasonUnknownDiscriminator:
		return ReasonUnknownDiscriminator
	}
	return ReasonInvalid
}

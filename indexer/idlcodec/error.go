package idlcodec

import (
	"encoding/hex"
	"errors"
	"strconv"
)

// Reason classifies why bytes did not decode.
type Reason uint8

// Reasons a decode fails.
const (
	// ReasonShort: the input ended before the value did.
	ReasonShort Reason = iota + 1
	// ReasonTrailing: bytes were left after a value that must fill its input.
	ReasonTrailing
	// ReasonInvalid: a bool, option tag, enum tag, string or length is not a
	// value borsh-rs would write.
	ReasonInvalid
	// ReasonUnknownDiscriminator: the 8-byte discriminator names no type.
	ReasonUnknownDiscriminator
)

// String returns the reason's name.
func (r Reason) String() string {
	switch r {
	case ReasonShort:
		return "short"
	case ReasonTrailing:
		return "trailing"
	case ReasonInvalid:
		return "invalid"
	case ReasonUnknownDiscriminator:
		return "unknown discriminator"
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Error is a decode failure. Offset counts bytes from the start of the
// input handed to the outermost decoder: a nested decoder's error is
// shifted by where its value began (see Shift).
type Error struct {
	Reason Reason
	// Type is the type and field being decoded, e.g. "ProposalCreated.metadata_uri".
	Type string
	// Offset is where the offending value starts.
	Offset int
	// Need and Have are the bytes a ReasonShort value needs and the bytes
	// left; Have is the count of extra bytes for ReasonTrailing.
	Need, Have int
	// Detail says what was invalid, for ReasonInvalid and
	// ReasonUnknownDiscriminator.
	Detail string
}

// Error describes the failure.
func (e *Error) Error() string {
	b := make([]byte, 0, 64)
	b = append(b, "decode "...)
	b = append(b, e.Type...)
	b = append(b, " at byte "...)
	b = strconv.AppendInt(b, int64(e.Offset), 10)
	b = append(b, ": "...)
	b = append(b, e.Reason.String()...)
	switch e.Reason {
	case ReasonShort:
		b = append(b, ": need "...)
		b = strconv.AppendInt(b, int64(e.Need), 10)
		b = append(b, " bytes, have "...)
		b = strconv.AppendInt(b, int64(e.Have), 10)
	case ReasonTrailing:
		b = append(b, ": "...)
		b = strconv.AppendInt(b, int64(e.Have), 10)
		b = append(b, " bytes left over"...)
	}
	if e.Detail != "" {
		b = append(b, ": "...)
		b = append(b, e.Detail...)
	}
	return string(b)
}

// The constructors below keep the error paths out of the generated
// decoders' straight-line code.

// ShortError reports that typ at offset needs need bytes and have are left.
//
//go:noinline
func ShortError(typ string, offset, need, have int) error {
	return &Error{Reason: ReasonShort, Type: typ, Offset: offset, Need: need, Have: max(have, 0)}
}

// TrailingError reports extra bytes left after typ, which ended at offset.
//
//go:noinline
func TrailingError(typ string, offset, extra int) error {
	return &Error{Reason: ReasonTrailing, Type: typ, Offset: offset, Have: extra}
}

// InvalidError reports an invalid value of typ at offset.
//
//go:noinline
func InvalidError(typ string, offset int, detail string) error {
	return &Error{Reason: ReasonInvalid, Type: typ, Offset: offset, Detail: detail}
}

// InvalidTagError reports an enum or option tag that names nothing.
//
//go:noinline
func InvalidTagError(typ string, offset int, tag byte) error {
	return &Error{Reason: ReasonInvalid, Type: typ, Offset: offset, Detail: "tag " + strconv.Itoa(int(tag))}
}

// UnknownDiscriminatorError reports a discriminator that names no type of
// the kind expected (what: "event", "account").
//
//go:noinline
func UnknownDiscriminatorError(what string, disc []byte) error {
	return &Error{Reason: ReasonUnknownDiscriminator, Type: what, Detail: hex.EncodeToString(disc)}
}

// Shift moves err's offset by n when it is an *Error: a nested decoder
// reports offsets from its own start, and its caller adds where it began.
func Shift(err error, n int) error {
	var e *Error
	if n != 0 && errors.As(err, &e) {
		e.Offset += n
	}
	return err
}

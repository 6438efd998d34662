package idlcodec

import (
	"encoding/binary"
	"math/bits"
)

// Uint128 is a borsh u128.
type Uint128 struct {
	Lo, Hi uint64
}

// Int128 is a borsh i128 in two's complement.
type Int128 struct {
	Lo uint64
	Hi int64
}

// Uint128At reads a little-endian u128 from the first 16 bytes of b.
func Uint128At(b []byte) Uint128 {
	return Uint128{Lo: binary.LittleEndian.Uint64(b), Hi: binary.LittleEndian.Uint64(b[8:])}
}

// Int128At reads a little-endian i128 from the first 16 bytes of b.
func Int128At(b []byte) Int128 {
	return Int128{Lo: binary.LittleEndian.Uint64(b), Hi: int64(binary.LittleEndian.Uint64(b[8:]))}
}

// AppendBorsh appends v little-endian.
func (v Uint128) AppendBorsh(dst []byte) []byte {
	return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(dst, v.Lo), v.Hi)
}

// AppendBorsh appends v little-endian.
func (v Int128) AppendBorsh(dst []byte) []byte {
	return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(dst, v.Lo), uint64(v.Hi))
}

// String returns v in decimal.
func (v Uint128) String() string { return string(v.AppendDecimal(nil)) }

// String returns v in decimal.
func (v Int128) String() string { return string(v.AppendDecimal(nil)) }

// AppendDecimal appends v in decimal.
func (v Uint128) AppendDecimal(dst []byte) []byte {
	const e19 = 10_000_000_000_000_000_000
	if v.Hi == 0 {
		return appendUint(dst, v.Lo, 0)
	}
	// v = q*1e19 + r, at most three 19-digit groups.
	var groups [3]uint64
	k := 0
	hi, lo := v.Hi, v.Lo
	for hi != 0 {
		qh := hi / e19
		var r uint64
		var ql uint64
		ql, r = bits.Div64(hi%e19, lo, e19)
		groups[k] = r
		k++
		hi, lo = qh, ql
	}
	dst = appendUint(dst, lo, 0)
	for k > 0 {
		k--
		dst = appendUint(dst, groups[k], 19)
	}
	return dst
}

// AppendDecimal appends v in decimal.
func (v Int128) AppendDecimal(dst []byte) []byte {
	if v.Hi >= 0 {
		return Uint128{Lo: v.Lo, Hi: uint64(v.Hi)}.AppendDecimal(dst)
	}
	// Two's complement negation; the minimum value negates to itself and
	// still prints right as an unsigned magnitude.
	lo, borrow := bits.Sub64(0, v.Lo, 0)
	hi, _ := bits.Sub64(0, uint64(v.Hi), borrow)
	return Uint128{Lo: lo, Hi: hi}.AppendDecimal(append(dst, '-'))
}

// appendUint appends x in decimal, zero-padded to width digits.
func appendUint(dst []byte, x uint64, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for x >= 10 {
		i--
		buf[i] = byte('0' + x%10)
		x /= 10
	}
	i--
	buf[i] = byte('0' + x)
	for len(buf)-i < width {
		i--
		buf[i] = '0'
	}
	return append(dst, buf[i:]...)
}

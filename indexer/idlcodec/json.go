package idlcodec

import (
	"encoding/hex"
	"strconv"
	"unicode/utf8"
)

// The appends below render the JSON convention of decoded values; the
// generated AppendJSON methods are sequences of them.

// AppendJSONBase58 appends src as a quoted base58 string (pubkeys).
func AppendJSONBase58(dst, src []byte) []byte {
	return append(AppendBase58(append(dst, '"'), src), '"')
}

// AppendJSONHex appends src as a quoted lowercase hex string (u8 arrays, byte vectors).
func AppendJSONHex(dst, src []byte) []byte {
	return append(hex.AppendEncode(append(dst, '"'), src), '"')
}

// AppendJSONBool appends true or false.
func AppendJSONBool(dst []byte, v bool) []byte {
	return strconv.AppendBool(dst, v)
}

// AppendJSONUint appends v as a JSON number.
func AppendJSONUint(dst []byte, v uint64) []byte {
	return strconv.AppendUint(dst, v, 10)
}

// AppendJSONInt appends v as a JSON number.
func AppendJSONInt(dst []byte, v int64) []byte {
	return strconv.AppendInt(dst, v, 10)
}

// AppendJSONUint128 appends v as a quoted decimal string: JSON numbers lose
// precision past 2^53 in most readers, and 128-bit ones in all of them.
func AppendJSONUint128(dst []byte, v Uint128) []byte {
	return append(v.AppendDecimal(append(dst, '"')), '"')
}

// AppendJSONInt128 appends v as a quoted decimal string.
func AppendJSONInt128(dst []byte, v Int128) []byte {
	return append(v.AppendDecimal(append(dst, '"')), '"')
}

// AppendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does; decoded strings are valid already.
func AppendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript string literals.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

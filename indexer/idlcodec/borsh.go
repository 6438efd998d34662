package idlcodec

import (
	"encoding/binary"
	"unicode/utf8"
)

// Reads take the whole input b and the offset n where the value starts and
// return the offset after it. Offsets in errors are n-relative to b.

// ReadBool reads a borsh bool at n.
func ReadBool(b []byte, n int, typ string) (bool, int, error) {
	if n >= len(b) {
		return false, n, ShortError(typ, n, 1, len(b)-n)
	}
	return Bool(b[n], n, typ)
}

// Bool checks a borsh bool byte v read at n.
func Bool(v byte, n int, typ string) (bool, int, error) {
	if v > 1 {
		return false, n, InvalidError(typ, n, "bool byte is not 0 or 1")
	}
	return v == 1, n + 1, nil
}

// ReadOption reads a borsh option tag at n and reports whether a value follows.
func ReadOption(b []byte, n int, typ string) (bool, int, error) {
	if n >= len(b) {
		return false, n, ShortError(typ, n, 1, len(b)-n)
	}
	switch b[n] {
	case 0:
		return false, n + 1, nil
	case 1:
		return true, n + 1, nil
	}
	return false, n, InvalidTagError(typ, n, b[n])
}

// ReadLen reads a borsh u32 length at n for a sequence whose elements take
// at least elemMin bytes each (elemMin > 0), and checks that the input can
// hold that many, so a forged length cannot make the caller allocate more
// than the input justifies.
func ReadLen(b []byte, n, elemMin int, typ string) (int, int, error) {
	if len(b)-n < 4 {
		return 0, n, ShortError(typ, n, 4, len(b)-n)
	}
	l := int(binary.LittleEndian.Uint32(b[n:]))
	rest := len(b) - n - 4
	if l > rest/elemMin {
		return 0, n, ShortError(typ, n, 4+l*elemMin, len(b)-n)
	}
	return l, n + 4, nil
}

// ReadBytes reads a borsh Vec<u8> at n into a fresh slice.
func ReadBytes(b []byte, n int, typ string) ([]byte, int, error) {
	l, m, err := ReadLen(b, n, 1, typ)
	if err != nil {
		return nil, n, err
	}
	out := make([]byte, l)
	copy(out, b[m:m+l])
	return out, m + l, nil
}

// ReadString reads a borsh String at n, which must be valid UTF-8.
func ReadString(b []byte, n int, typ string) (string, int, error) {
	l, m, err := ReadLen(b, n, 1, typ)
	if err != nil {
		return "", n, err
	}
	s := b[m : m+l]
	if !utf8.Valid(s) {
		return "", n, InvalidError(typ, n, "string is not UTF-8")
	}
	return string(s), m + l, nil
}

// AppendBool appends a borsh bool.
func AppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// AppendLen appends a borsh u32 sequence length. Lengths above 2^32-1
// cannot be encoded; callers never hold such values in a transaction.
func AppendLen(dst []byte, l int) []byte {
	return binary.LittleEndian.AppendUint32(dst, uint32(l))
}

// AppendBytes appends a borsh Vec<u8>.
func AppendBytes(dst, v []byte) []byte {
	return append(AppendLen(dst, len(v)), v...)
}

// AppendString appends a borsh String.
func AppendString(dst []byte, v string) []byte {
	return append(AppendLen(dst, len(v)), v...)
}

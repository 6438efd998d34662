package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// PostgreSQL's text cannot hold a NUL byte (SQLSTATE 22021) and jsonb refuses
// \u0000 and anything that is not UTF-8 (22P05, 22021). Chain strings may hold
// both: the program checks a metadata_uri's length, not its bytes. So every
// string on its way into jsonb or text goes through the escape below, which
// is the identity for ordinary strings and reversible for all of them.
//
// An escaped string starts with escapeMark (U+FFFF, a noncharacter no text
// uses) and then holds the original bytes with `\` written `\\` and every
// NUL, every byte that is not part of valid UTF-8, and a leading U+FFFF
// written `\xNN`. A string is escaped when it holds a NUL or invalid UTF-8,
// or starts with the mark itself, and only then.

// escapeMark starts an escaped string.
const escapeMark = "\uffff"

// needsEscape reports whether s cannot be stored as it is.
func needsEscape(s []byte) bool {
	return bytes.IndexByte(s, 0) >= 0 || !utf8.Valid(s) || bytes.HasPrefix(s, []byte(escapeMark))
}

// EscapeText returns s in a form that PostgreSQL's text and jsonb accept
// and UnescapeText reverses: s itself unless it holds a NUL, invalid UTF-8,
// or starts with the escape mark.
func EscapeText(s []byte) string {
	if !needsEscape(s) {
		return string(s)
	}
	const hexDigits = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(escapeMark) + len(s) + 8)
	b.WriteString(escapeMark)
	for i := 0; i < len(s); {
		c := s[i]
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case c == 0 || r == utf8.RuneError && size == 1 || i == 0 && r == '\uffff':
			for _, x := range s[i : i+size] {
				b.WriteString(`\x`)
				b.WriteByte(hexDigits[x>>4])
				b.WriteByte(hexDigits[x&0xf])
			}
		case c == '\\':
			b.WriteString(`\\`)
		default:
			b.Write(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// UnescapeText reverses EscapeText.
func UnescapeText(s string) []byte {
	if !strings.HasPrefix(s, escapeMark) {
		return []byte(s)
	}
	s = s[len(escapeMark):]
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			out = append(out, s[i])
			continue
		}
		switch {
		case s[i+1] == '\\':
			out = append(out, '\\')
			i++
		case s[i+1] == 'x' && i+3 < len(s) && isHex(s[i+2]) && isHex(s[i+3]):
			out = append(out, unhex(s[i+2])<<4|unhex(s[i+3]))
			i += 3
		default:
			out = append(out, s[i])
		}
	}
	return out
}

// DisplayText renders a stored (possibly escaped) string for people: the
// string itself, or for an escaped one the escapes without the mark, so that
// `ipfs://x` padded with NULs reads `ipfs://x\x00\x00`.
func DisplayText(s string) string {
	return strings.TrimPrefix(s, escapeMark)
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// errNotJSON is returned by storableJSON for input that is not JSON.
var errNotJSON = errors.New("not valid JSON")

// storableJSON returns data with every string (keys included) that jsonb
// would refuse or that is not exactly representable (a NUL, invalid UTF-8,
// a lone surrogate escape) replaced by its EscapeText form. Everything else
// is copied byte for byte, so the decoder's rendering of ordinary events is
// stored unchanged. Input that is not JSON is an error.
func storableJSON(data []byte) ([]byte, error) {
	var out []byte // nil until the first string that needs rewriting
	last := 0
	for i := 0; i < len(data); i++ {
		if data[i] != '"' {
			continue
		}
		start := i
		raw, end, ok := scanString(data, i)
		if !ok {
			return nil, errNotJSON
		}
		i = end - 1
		if !needsEscape(raw) {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(data)+16)
		}
		out = append(out, data[last:start]...)
		enc, err := json.Marshal(EscapeText(raw))
		if err != nil {
			return nil, err
		}
		out = append(out, enc...)
		last = end
	}
	if out == nil {
		if !json.Valid(data) {
			return nil, errNotJSON
		}
		return data, nil
	}
	out = append(out, data[last:]...)
	if !json.Valid(out) {
		return nil, errNotJSON
	}
	return out, nil
}

// scanString reads the JSON string literal starting at data[i] == '"' and
// returns its exact bytes (escapes resolved, raw bytes kept even when they
// are not UTF-8, a lone surrogate as its 3-byte WTF-8 form, which is not
// UTF-8 either) and the offset after the closing quote.
func scanString(data []byte, i int) (raw []byte, end int, ok bool) {
	i++ // opening quote
	start := i
	// Fast path: no escapes.
	for i < len(data) && data[i] != '"' && data[i] != '\\' {
		i++
	}
	if i < len(data) && data[i] == '"' {
		return data[start:i], i + 1, true
	}
	raw = append([]byte(nil), data[start:i]...)
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			return raw, i + 1, true
		case c != '\\':
			raw = append(raw, c)
			i++
			continue
		}
		if i+1 >= len(data) {
			return nil, 0, false
		}
		switch e := data[i+1]; e {
		case '"', '\\', '/':
			raw = append(raw, e)
			i += 2
		case 'b':
			raw, i = append(raw, '\b'), i+2
		case 'f':
			raw, i = append(raw, '\f'), i+2
		case 'n':
			raw, i = append(raw, '\n'), i+2
		case 'r':
			raw, i = append(raw, '\r'), i+2
		case 't':
			raw, i = append(raw, '\t'), i+2
		case 'u':
			r, ok := hex4(data, i+2)
			if !ok {
				return nil, 0, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2, ok2 := hex4(data, i+2); ok2 && i+1 < len(data) && data[i] == '\\' && data[i+1] == 'u' {
					if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
						raw = utf8.AppendRune(raw, pair)
						i += 6
						continue
					}
				}
				// A lone surrogate: keep its WTF-8 bytes.
				raw = append(raw, 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
				continue
			}
			raw = utf8.AppendRune(raw, r)
		default:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		if !isHex(c) {
			return 0, false
		}
		r = r<<4 | rune(unhex(c))
	}
	return r, true
}

// storableText makes s safe for a text column: EscapeText of its bytes.
func storableText(s string) string { return EscapeText([]byte(s)) }

// exactBytes returns the original bytes of a stored string when it was
// escaped, nil when the string is exact as it is.
func exactBytes(s string) []byte {
	if !strings.HasPrefix(s, escapeMark) {
		return nil
	}
	return UnescapeText(s)
}

package graph

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/mr-tron/base58"
)

// The scalars of schema/scalars.graphqls. gqlgen finds these Marshal and
// Unmarshal functions by the names in gqlgen.yml; each Unmarshal turns bad
// input into a BAD_USER_INPUT error that names what was wrong.

// MarshalPublicKey writes a base58 public key.
func MarshalPublicKey(s string) graphql.Marshaler { return graphql.MarshalString(s) }

// UnmarshalPublicKey accepts base58 text of exactly 32 bytes.
func UnmarshalPublicKey(v any) (string, error) { return unmarshalBase58(v, "PublicKey", 32) }

// MarshalSignature writes a base58 transaction signature.
func MarshalSignature(s string) graphql.Marshaler { return graphql.MarshalString(s) }

// UnmarshalSignature accepts base58 text of exactly 64 bytes.
func UnmarshalSignature(v any) (string, error) { return unmarshalBase58(v, "Signature", 64) }

func unmarshalBase58(v any, scalar string, size int) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", badInput("%s must be a base58 string, got %s", scalar, jsonKind(v))
	}
	if s == "" {
		return "", badInput("%s must not be empty", scalar)
	}
	b, err := base58.Decode(s)
	if err != nil {
		return "", badInput("%s %q is not valid base58", scalar, truncate(s))
	}
	if len(b) != size {
		return "", badInput("%s %q decodes to %d bytes, want %d", scalar, truncate(s), len(b), size)
	}
	return s, nil
}

// MarshalInt writes an Int.
func MarshalInt(n int) graphql.Marshaler { return graphql.MarshalInt(n) }

// UnmarshalInt accepts a JSON or GraphQL integer and nothing else: the
// spec's Int input coercion refuses strings such as "5".
func UnmarshalInt(v any) (int, error) {
	switch v.(type) {
	case int, int64, int32, json.Number:
		n, err := graphql.UnmarshalInt(v)
		if err != nil {
			return 0, badInput("Int %v: %v", v, err)
		}
		return n, nil
	}
	return 0, badInput("Int must be an integer, got %s", jsonKind(v))
}

// MarshalU64 writes a non-negative integer as a decimal string.
func MarshalU64(n int64) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, `"`+strconv.FormatInt(n, 10)+`"`)
	})
}

// UnmarshalU64 accepts a decimal string or a non-negative integer. Values
// above 2^63-1 are rejected: nothing the read model stores is that large.
func UnmarshalU64(v any) (int64, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	case int:
		s = strconv.Itoa(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	default:
		return 0, badInput("U64 must be a decimal string, got %s", jsonKind(v))
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return 0, badInput("U64 %q is not a decimal integer from 0 to 9223372036854775807", truncate(s))
	}
	return int64(n), nil
}

// MarshalTimestamp writes RFC 3339 with nanoseconds in UTC.
func MarshalTimestamp(t time.Time) graphql.Marshaler {
	return graphql.MarshalString(t.UTC().Format(time.RFC3339Nano))
}

// UnmarshalTimestamp accepts RFC 3339 text.
func UnmarshalTimestamp(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, badInput("Timestamp must be an RFC 3339 string, got %s", jsonKind(v))
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badInput("Timestamp %q is not RFC 3339, e.g. 2026-01-01T00:00:00Z", truncate(s))
	}
	return t, nil
}

// MarshalJSON writes a JSON value as it is; an empty value is null.
func MarshalJSON(raw json.RawMessage) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		if len(raw) == 0 {
			_, _ = io.WriteString(w, "null")
			return
		}
		_, _ = w.Write(raw)
	})
}

// UnmarshalJSON accepts any JSON value.
func UnmarshalJSON(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, badInput("JSON value cannot be encoded: %v", err)
	}
	return b, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, float64, json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// truncate keeps echoed input short.
func truncate(s string) string { return truncateTo(s, 100) }

// truncateTo shortens s to at most n bytes, marking the cut.
func truncateTo(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// MarshalHash writes a sha256 digest as the read model keeps it: lowercase
// hex.
func MarshalHash(s string) graphql.Marshaler { return graphql.MarshalString(s) }

// UnmarshalHash accepts 64 hex characters and returns them in lower case,
// as the read model stores digests.
func UnmarshalHash(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", badInput("Hash must be a hex string, got %s", jsonKind(v))
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return "", badInput("Hash %q must be 64 hex characters (a sha256 digest)", truncate(s))
	}
	return hex.EncodeToString(b), nil
}

package graph

import (
	"errors"
	"strings"
	"testing"

	"github.com/upgrade-manager/upgrade-manager/graph/store"
)

func TestScalarInput(t *testing.T) {
	t.Parallel()
	key := "EFXqM9qrdFCLoWKEZAaSCPrdqqgpMoqiYCYxHZBbhnM7"
	sig := "3V1reg5QWw5JDgHLaBQ98j5gv11oMNGoN24yoxohiaYWkbo4Jia14DPcns7EvuKTXL7yT8SAGMb6yyBEaQbGetCZ"
	tests := []struct {
		name string
		fn   func(any) error
		in   any
		ok   bool
	}{
		{"public key", func(v any) error { _, err := UnmarshalPublicKey(v); return err }, key, true},
		{"public key is a signature", func(v any) error { _, err := UnmarshalPublicKey(v); return err }, sig, false},
		{"public key not a string", func(v any) error { _, err := UnmarshalPublicKey(v); return err }, 42, false},
		{"signature", func(v any) error { _, err := UnmarshalSignature(v); return err }, sig, true},
		{"signature is a key", func(v any) error { _, err := UnmarshalSignature(v); return err }, key, false},
		{"u64 string", func(v any) error { _, err := UnmarshalU64(v); return err }, "18", true},
		{"u64 int", func(v any) error { _, err := UnmarshalU64(v); return err }, int64(18), true},
		{"u64 overflow", func(v any) error { _, err := UnmarshalU64(v); return err }, "18446744073709551615", false},
		{"u64 float", func(v any) error { _, err := UnmarshalU64(v); return err }, 1.5, false},
		{"timestamp", func(v any) error { _, err := UnmarshalTimestamp(v); return err }, "2026-01-01T00:00:00Z", true},
		{"timestamp date only", func(v any) error { _, err := UnmarshalTimestamp(v); return err }, "2026-01-01", false},
		{"hash", func(v any) error { _, err := UnmarshalHash(v); return err }, "10C2625F35594BC23489EB59F5D0DF7A0382926D3CBD47E237A7C6917A8B6143", true},
		{"hash too short", func(v any) error { _, err := UnmarshalHash(v); return err }, "10c2625f", false},
		{"hash not hex", func(v any) error { _, err := UnmarshalHash(v); return err }, "zz" + strings.Repeat("0", 62), false},
		{"hash base58", func(v any) error { _, err := UnmarshalHash(v); return err }, key, false},
	}
	for _, tt := range tests {
		err := tt.fn(tt.in)
		if tt.ok != (err == nil) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
		var appErr *Error
		if err != nil && (!errors.As(err, &appErr) || appErr.Code != CodeBadUserInput) {
			t.Errorf("%s: %v is not a BAD_USER_INPUT error", tt.name, err)
		}
	}
}

// Cursors come from clients: any text either decodes to what was encoded
// or is a BAD_USER_INPUT error, never a panic.
func FuzzCursors(f *testing.F) {
	f.Add(EventCursor(42))
	f.Add(proposalCursor(store.OrderCreated, store.ProposalKey{Address: "x"}))
	f.Add(globalID(nodeEvent, "7"))
	f.Add("ZXY6")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func() error{
			func() error { _, err := ParseEventCursor("after", s); return err },
			func() error { _, err := parseProposalCursor(store.OrderCreated, "after", s); return err },
			func() error { _, err := parseProposalCursor(store.OrderEta, "after", s); return err },
			func() error { _, _, err := parseGlobalID(s); return err },
			func() error { _, err := parseMigrationCursor("after", s); return err },
			func() error { _, err := parseKeyCursor("after", cursorGovernance, s); return err },
		} {
			var appErr *Error
			if err := parse(); err != nil && !errors.As(err, &appErr) {
				t.Fatalf("%q: %v is not a user error", s, err)
			}
		}
		if seq, err := ParseEventCursor("after", s); err == nil {
			if again, err := ParseEventCursor("after", EventCursor(seq)); err != nil || again != seq {
				t.Fatalf("%q decodes to seq %d, which does not round-trip: %d, %v", s, seq, again, err)
			}
		}
	})
}

// Hashes come back as the read model stores them: lower case.
func TestHashInputIsLowerCased(t *testing.T) {
	t.Parallel()
	got, err := UnmarshalHash("ABCDEF" + strings.Repeat("0", 58))
	if err != nil || got != "abcdef"+strings.Repeat("0", 58) {
		t.Errorf("UnmarshalHash = %q, %v", got, err)
	}
}

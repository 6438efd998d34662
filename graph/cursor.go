package graph

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/upgrade-manager/upgrade-manager/graph/store"
)

// Cursors are opaque to clients: base64url of "<kind>:<key>". The kind
// keeps a cursor of one list from being used on another.
const (
	cursorEvent      = "ev"
	cursorProposal   = "pr"
	cursorProposalEt = "pe" // proposals ordered by eta
	cursorGovernance = "gv"
	cursorProgram    = "pg"
	cursorMigration  = "mj"
)

func encodeCursor(kind string, parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strings.Join(parts, ":")))
}

// decodeCursor returns the parts of a cursor of kind; n is how many parts
// it must have.
func decodeCursor(arg, kind, s string, n int) ([]string, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(s) > 200 {
		return nil, badInput("%s: malformed cursor", arg)
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != n+1 || parts[0] != kind {
		return nil, badInput("%s: malformed cursor, or a cursor of another list", arg)
	}
	return parts[1:], nil
}

// EventCursor returns the cursor of the event with seq.
func EventCursor(seq int64) string { return encodeCursor(cursorEvent, strconv.FormatInt(seq, 10)) }

// ParseEventCursor returns the seq of an event cursor.
func ParseEventCursor(arg, s string) (int64, error) {
	parts, err := decodeCursor(arg, cursorEvent, s, 1)
	if err != nil {
		return 0, err
	}
	seq, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || seq < 0 {
		return 0, badInput("%s: malformed cursor", arg)
	}
	return seq, nil
}

// proposalCursorKinds keeps a cursor of one order from being used with
// another.
var proposalCursorKinds = map[store.ProposalOrder]string{store.OrderCreated: cursorProposal, store.OrderEta: cursorProposalEt}

func proposalCursor(o store.ProposalOrder, k store.ProposalKey) string {
	return encodeCursor(proposalCursorKinds[o], strconv.FormatInt(k.At.UnixMicro(), 10), k.Address)
}

func parseProposalCursor(o store.ProposalOrder, arg, s string) (*store.ProposalKey, error) {
	parts, err := decodeCursor(arg, proposalCursorKinds[o], s, 2)
	if err != nil {
		return nil, err
	}
	us, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || parts[1] == "" {
		return nil, badInput("%s: malformed cursor", arg)
	}
	return &store.ProposalKey{At: time.UnixMicro(us).UTC(), Address: parts[1]}, nil
}

func migrationCursor(m *store.Migration) string {
	return encodeCursor(cursorMigration, strconv.FormatInt(m.StartedAt.UnixMicro(), 10), m.Address)
}

func parseMigrationCursor(arg, s string) (*store.MigrationKey, error) {
	parts, err := decodeCursor(arg, cursorMigration, s, 2)
	if err != nil {
		return nil, err
	}
	us, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || parts[1] == "" {
		return nil, badInput("%s: malformed cursor", arg)
	}
	return &store.MigrationKey{StartedAt: time.UnixMicro(us).UTC(), Address: parts[1]}, nil
}

func keyCursor(kind, key string) string { return encodeCursor(kind, key) }

func parseKeyCursor(arg, kind, s string) (*string, error) {
	parts, err := decodeCursor(arg, kind, s, 1)
	if err != nil {
		return nil, err
	}
	if parts[0] == "" {
		return nil, badInput("%s: malformed cursor", arg)
	}
	return &parts[0], nil
}

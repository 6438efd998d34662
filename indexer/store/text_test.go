package store_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/upgrade-manager/upgrade-manager/indexer/scenario"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
)

var metadataURIField = regexp.MustCompile(`"metadata_uri":\s*"[^"]*"`)

// withMetadataURI returns b's transactions with the first ProposalCreated's
// metadata_uri replaced by uri, rendered as the JSON literal lit.
func (b *bundle) withMetadataURI(t *testing.T, lit string) ([]store.Transaction, string) {
	t.Helper()
	txs := make([]store.Transaction, len(b.txs))
	copy(txs, b.txs)
	for i, tx := range txs {
		for j, e := range tx.Events {
			if e.Name != "ProposalCreated" {
				continue
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(e.Data, &m); err != nil {
				t.Fatal(err)
			}
			var proposal string
			if err := json.Unmarshal(m["proposal"], &proposal); err != nil {
				t.Fatal(err)
			}
			// Splice the literal in by hand: encoding/json would replace
			// invalid UTF-8.
			loc := metadataURIField.FindIndex(e.Data)
			if loc == nil {
				t.Fatalf("metadata_uri not found in %s", e.Data)
			}
			events := make([]store.Event, len(tx.Events))
			copy(events, tx.Events)
			data := append(append(append([]byte(nil), e.Data[:loc[0]]...), `"metadata_uri": `+lit...), e.Data[loc[1]:]...)
			events[j].Data = json.RawMessage(data)
			txs[i].Events = events
			return txs, proposal
		}
	}
	t.Fatal("no ProposalCreated in the scenario")
	return nil, ""
}

// A metadata_uri padded with NULs (which the program accepts), holding
// invalid UTF-8, or 10 KB long: the batch commits, the log keeps the event,
// the proposal shows the URI escaped and keeps its exact bytes, and a
// rebuild from the log gives the same rows. Before, PostgreSQL refused the
// batch (22P05) and the indexer retried it forever.
func TestApplyBatchKeepsAnyMetadataURI(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ipfs://x", 1280)
	for _, c := range []struct {
		name, lit   string
		exact       []byte
		shown       string
		storedExact bool // metadata_uri is the exact string, no bytes column
	}{
		{"nul padded", `"ipfs://v2\u0000\u0000\u0000"`, []byte("ipfs://v2\x00\x00\x00"), `ipfs://v2\x00\x00\x00`, false},
		{"invalid utf8", "\"ipfs://\xff\xfe\\\\v2\"", []byte("ipfs://\xff\xfe\\v2"), `ipfs://\xff\xfe\\v2`, false},
		{"lone surrogate", `"ipfs://\ud800"`, []byte("ipfs://\xed\xa0\x80"), `ipfs://\xed\xa0\x80`, false},
		{"escape mark", "\"\uffffipfs\"", []byte("\uffffipfs"), `\xef\xbf\xbfipfs`, false},
		{"10 KB", `"` + long + `"`, []byte(long), long, true},
		{"backslash alone", `"ipfs:\\x00"`, []byte(`ipfs:\x00`), `ipfs:\x00`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			txs, proposal := b.withMetadataURI(t, c.lit)
			b.applyInBatches(t, txs, 16)
			var shown string
			var exact []byte
			if err := b.pool.QueryRow(t.Context(), `SELECT metadata_uri, metadata_uri_bytes FROM proposal WHERE address = $1`,
				proposal).Scan(&shown, &exact); err != nil {
				t.Fatal(err)
			}
			if shown != c.shown {
				t.Errorf("metadata_uri = %q, want %q", shown, c.shown)
			}
			if c.storedExact {
				if exact != nil {
					t.Errorf("metadata_uri_bytes = %q, want NULL for an exact metadata_uri", exact)
				}
			} else if !bytes.Equal(exact, c.exact) {
				t.Errorf("metadata_uri_bytes = %q, want %q", exact, c.exact)
			}
			// The log holds the event (none dead-lettered), the rest of the
			// scenario is unaffected, and replay agrees with live.
			assertCount(t, b.pool, "SELECT count(*) FROM chain_event", expectedEventCount(txs))
			assertCount(t, b.pool, "SELECT count(*) FROM dead_letter", 0)
			live := scenario.DumpProjections(t, b.pool, false)
			if _, err := store.Rebuild(t.Context(), b.pool, b.programID()); err != nil {
				t.Fatal(err)
			}
			if replayed := scenario.DumpProjections(t, b.pool, false); !scenario.EqualDumps(live, replayed) {
				t.Errorf("replay differs from live:\n%s", scenario.DiffDumps(replayed, live))
			}
		})
	}
}

func TestEscapeTextRoundTrips(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", "ipfs://v2\x00\x00", "\xff", `back\slash`, "\uffff", "a\uffff", `\x00`, "\uffff\\x41"} {
		e := store.EscapeText([]byte(s))
		if strings.IndexByte(e, 0) >= 0 || !utf8.ValidString(e) {
			t.Errorf("EscapeText(%q) = %q holds a NUL or invalid UTF-8", s, e)
		}
		if got := store.UnescapeText(e); string(got) != s {
			t.Errorf("UnescapeText(EscapeText(%q)) = %q", s, got)
		}
	}
	if got := store.EscapeText([]byte("plain")); got != "plain" {
		t.Errorf("EscapeText(plain) = %q, want it unchanged", got)
	}
}

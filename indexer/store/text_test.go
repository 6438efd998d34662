package store_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/upgrade-manager/upgrade-manager/indexer/scenario"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// withMetadataURI returns b's transactions with the first ProposalCreated's
// metadata_uri replaced by uri, in the event and in its bytes.
func (b *bundle) withMetadataURI(t *testing.T, uri string) ([]store.Transaction, string) {
	t.Helper()
	txs := make([]store.Transaction, len(b.txs))
	copy(txs, b.txs)
	for i, tx := range txs {
		for j, e := range tx.Events {
			created, ok := e.Event.(*um.ProposalCreated)
			if !ok {
				continue
			}
			ev := *created
			ev.MetadataURI = uri
			events := make([]store.Event, len(tx.Events))
			copy(events, tx.Events)
			events[j].Event, events[j].Raw = &ev, scenario.Encode(&ev)
			txs[i].Events = events
			return txs, ev.Proposal.String()
		}
	}
	t.Fatal("no ProposalCreated in the scenario")
	return nil, ""
}

// A metadata_uri padded with NULs (which the program accepts), starting with
// the escape mark, or 10 KB long: the batch commits, the log keeps the event,
// the proposal shows the URI escaped and keeps its exact bytes, and a
// rebuild from the log gives the same rows. Before, PostgreSQL refused the
// batch (22P05) and the indexer retried it forever.
func TestApplyBatchKeepsAnyMetadataURI(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ipfs://x", 1280)
	// Invalid UTF-8 no longer reaches the store: the decoder refuses it, as
	// borsh-rs does, and the store folds decoded events (FuzzApplyEventStrings
	// still sends it through the write path).
	for _, c := range []struct {
		name, uri   string
		exact       []byte
		shown       string
		storedExact bool // metadata_uri is the exact string, no bytes column
	}{
		{"nul padded", "ipfs://v2\x00\x00\x00", []byte("ipfs://v2\x00\x00\x00"), `ipfs://v2\x00\x00\x00`, false},
		{"nul and backslash", "ipfs://\x00\\v2", []byte("ipfs://\x00\\v2"), `ipfs://\x00\\v2`, false},
		{"escape mark", "\uffffipfs", []byte("\uffffipfs"), `\xef\xbf\xbfipfs`, false},
		{"10 KB", long, []byte(long), long, true},
		{"backslash alone", `ipfs:\x00`, []byte(`ipfs:\x00`), `ipfs:\x00`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			txs, proposal := b.withMetadataURI(t, c.uri)
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

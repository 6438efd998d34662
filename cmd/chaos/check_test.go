package main

import (
	"context"
	"strings"
	"testing"

	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// logRows writes chain_event rows: (signature, slot, name, raw) in seq order.
func logRows(t *testing.T, c *Checker, rows ...ChainEvent) {
	t.Helper()
	for i, r := range rows {
		if _, err := c.db.Exec(context.Background(), `INSERT INTO chain_event
			(signature, instruction_index, inner_index, ordinal, slot, block_index, name, data, raw, commitment)
			VALUES ($1, 0, $2, 0, $3, 0, $4, '{}', $5, 'finalized')`, r.Sig, i, r.Slot, r.Name, r.Raw); err != nil {
			t.Fatal(err)
		}
	}
}

func seen(sig string, inner int, seq string) SeenEvent {
	e := SeenEvent{Sig: sig, Seq: seq}
	e.Position.InnerIndex = inner
	return e
}

func TestCheckSubscribers(t *testing.T) {
	t.Parallel()
	c := &Checker{db: pgtest.NewPool(t)}
	logRows(t, c, ChainEvent{Sig: "a", Slot: 1, Name: "X", Raw: []byte{1}}, ChainEvent{Sig: "b", Slot: 2, Name: "X", Raw: []byte{2}})
	var seqs []string
	rows, err := c.db.Query(context.Background(), `SELECT seq::text FROM chain_event ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		seqs = append(seqs, s)
	}
	rows.Close()
	a, b := seen("a", 0, seqs[0]), seen("b", 1, seqs[1])
	cases := []struct {
		name     string
		events   []SeenEvent
		want     string // a substring of the one mismatch; empty for none
		reverted int
	}{
		{"all in order", []SeenEvent{a, b}, "", 0},
		{"a reverted event besides", []SeenEvent{a, seen("gone", 0, "999"), b}, "", 1},
		{"twice", []SeenEvent{a, a, b}, "delivered twice", 0},
		{"missing", []SeenEvent{b}, "saw 1 of the log's 2", 0},
		{"out of order", []SeenEvent{b, a}, "event 0 is b/0/1/0", 0},
	}
	for _, tc := range cases {
		s := &Subscriber{Name: tc.name, events: tc.events}
		bad, reverted, err := c.CheckSubscribers(context.Background(), []*Subscriber{s})
		if err != nil {
			t.Fatal(err)
		}
		if tc.want == "" && len(bad) != 0 || tc.want != "" && (len(bad) == 0 || !strings.Contains(strings.Join(bad, "\n"), tc.want)) {
			t.Errorf("%s: mismatches %q, want %q", tc.name, bad, tc.want)
		}
		if reverted != tc.reverted {
			t.Errorf("%s: reverted %d, want %d", tc.name, reverted, tc.reverted)
		}
	}
}

func TestCheckEvents(t *testing.T) {
	t.Parallel()
	chain := []ChainEvent{{Sig: "a", Slot: 1, Name: "X", Raw: []byte{1}}, {Sig: "b", Slot: 2, Name: "Y", Raw: []byte{2}}, {Sig: "c", Slot: 3, Name: "Z", Raw: []byte{3}}}
	cases := []struct {
		name string
		log  []ChainEvent
		want string
	}{
		{"equal", chain, ""},
		{"one missing", []ChainEvent{chain[0], chain[2]}, "holds 2 events, the chain 3"},
		{"one twice", []ChainEvent{chain[0], chain[1], chain[1], chain[2]}, "in the log 2 times"},
		{"wrong bytes", []ChainEvent{chain[0], {Sig: "b", Slot: 2, Name: "Y", Raw: []byte{9}}, chain[2]}, "event 1 by position"},
		// Inserted in another order than the chain's: position order is right, seq order is not.
		{"seq out of chain order", []ChainEvent{chain[1], chain[0], chain[2]}, "event 0 by seq"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &Checker{db: pgtest.NewPool(t)}
			logRows(t, c, tc.log...)
			bad, err := c.checkEvents(context.Background(), &Snapshot{Events: chain})
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" && len(bad) != 0 || tc.want != "" && !strings.Contains(strings.Join(bad, "\n"), tc.want) {
				t.Fatalf("mismatches %q, want %q", bad, tc.want)
			}
		})
	}
}

package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
)

// Equal subscriptions share one execution and one encoding of each
// event; a shared payload never reaches a subscriber whose filter,
// variables or protocol differ, and each message carries its own
// subscriber's id and its protocol's type. Six clients: three with the
// same approvals subscription and variables (one execution), on both
// protocols, with different operation ids (one needs escaping in JSON);
// one with another proposal's; and two with events filtered on different
// names written inline. Each must receive exactly the events its own
// filter selects, in order, each message byte for byte what gqlgen's
// transport writes: {"payload":…,"id":its id,"type":next or data}.
func TestSharedPayloadsNeverLeak(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var proposals []string
	for i := range b.scenario.Txs {
		for _, e := range graphtest.Events(b.scenario.Txs[i : i+1]) {
			if e.Name == "ProposalCreated" {
				proposals = append(proposals, e.Data["proposal"].(string))
			}
		}
	}
	want := func(keep func(graphtest.Event) bool) []string {
		var out []string
		for _, e := range graphtest.Events(b.scenario.Txs) {
			if keep(e) {
				out = append(out, e.Tx.Signature)
			}
		}
		return out
	}
	isApproval := func(e graphtest.Event) bool { return e.Name == "ProposalApproved" || e.Name == "ApprovalRevoked" }
	// Two proposals with approvals.
	var p1, p2 string
	for _, p := range proposals {
		if len(want(func(e graphtest.Event) bool { return isApproval(e) && e.Data["proposal"] == p })) == 0 {
			continue
		}
		if p1 == "" {
			p1 = p
		} else if p2 == "" {
			p2 = p
		}
	}
	if p2 == "" {
		t.Fatal("the scenario has fewer than two proposals with approvals")
	}

	type client struct {
		name, proto, query, id string
		vars                   map[string]any
		want                   []string
		got                    []string
	}
	const byProposal = `subscription($p: PublicKey) { approvals(proposal: $p) { signature proposal { address } } }`
	const byName = `subscription { events(names: [%s]) { signature name } }`
	clients := []*client{
		{name: "p1 transport-ws", proto: graphtest.TransportWS, query: byProposal, id: "a", vars: map[string]any{"p": p1}},
		{name: "p1 graphql-ws", proto: graphtest.LegacyWS, query: byProposal, id: "b", vars: map[string]any{"p": p1}},
		{name: "p1 escaped id", proto: graphtest.TransportWS, query: byProposal, id: `c "<&>" \ é ☃`, vars: map[string]any{"p": p1}},
		{name: "p2", proto: graphtest.TransportWS, query: byProposal, id: "d", vars: map[string]any{"p": p2}},
		{name: "approved", proto: graphtest.TransportWS, query: fmt.Sprintf(byName, "ProposalApproved"), id: "e"},
		{name: "revoked", proto: graphtest.LegacyWS, query: fmt.Sprintf(byName, "ApprovalRevoked"), id: "f"},
	}
	clients[0].want = want(func(e graphtest.Event) bool { return isApproval(e) && e.Data["proposal"] == p1 })
	clients[1].want = clients[0].want
	clients[2].want = clients[0].want
	clients[3].want = want(func(e graphtest.Event) bool { return isApproval(e) && e.Data["proposal"] == p2 })
	clients[4].want = want(func(e graphtest.Event) bool { return e.Name == "ProposalApproved" })
	clients[5].want = want(func(e graphtest.Event) bool { return e.Name == "ApprovalRevoked" })
	sockets := map[*client]*graphtest.WS{}
	for _, c := range clients {
		ws := dial(t, b.base, c.proto)
		if err := ws.Subscribe(t.Context(), c.id, c.query, c.vars); err != nil {
			t.Fatal(err)
		}
		sockets[c] = ws
	}
	waitMetric(t, b.base, "upgrade_manager_graphql_subscriptions", float64(len(clients)))
	// The three p1 clients share one execution: four behind six.
	if n := metric(t, b.base, "upgrade_manager_graphql_subscribers"); n != float64(len(clients)-2) {
		t.Errorf("%v executions for %d subscriptions, want %d", n, len(clients), len(clients)-2)
	}
	b.applyAll(t)

	for _, c := range clients {
		typ := "next"
		if c.proto == graphtest.LegacyWS {
			typ = "data"
		}
		for range c.want {
			raw := nextFrame(t, sockets[c])
			var m struct {
				Payload json.RawMessage `json:"payload"`
				ID      string          `json:"id"`
				Type    string          `json:"type"`
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("%s: message %s: %v", c.name, raw, err)
			}
			if want, _ := json.Marshal(m); m.ID != c.id || m.Type != typ || !bytes.Equal(raw, want) {
				t.Fatalf("%s (id %q, %s): received %s, want the transport's encoding %s with its own id and type", c.name, c.id, typ, raw, want)
			}
			var resp struct {
				Errors []json.RawMessage
				Data   map[string]struct {
					Signature string
					Name      string
					Proposal  *struct{ Address string }
				}
			}
			if err := json.Unmarshal(m.Payload, &resp); err != nil || len(resp.Errors) > 0 || len(resp.Data) != 1 {
				t.Fatalf("%s: payload %s: %v", c.name, m.Payload, err)
			}
			for _, p := range resp.Data {
				if p.Proposal != nil && p.Proposal.Address != c.vars["p"] {
					t.Errorf("%s: received an approval of %s", c.name, p.Proposal.Address)
				}
				c.got = append(c.got, p.Signature)
			}
		}
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: got %v\nwant %v", c.name, c.got, c.want)
		}
	}
}

// nextFrame returns the next message that is not a keepalive, as it came.
func nextFrame(t *testing.T, ws *graphtest.WS) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		raw, err := ws.NextRaw(ctx)
		if err != nil {
			t.Fatalf("next message: %v", err)
		}
		if !bytes.Equal(raw, []byte(`{"type":"ka"}`)) {
			return raw
		}
	}
}

// Two clients resuming from the same cursor, one after the other, each
// get the whole backlog: a resumed subscription is not shared, so the
// second does not join the first's execution past its replay.
func TestResumesAreNotShared(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.applyAll(t)
	var want int
	for _, e := range graphtest.Events(b.scenario.Txs) {
		if e.Name == "ProposalApproved" || e.Name == "ApprovalRevoked" {
			want++
		}
	}
	const q = `subscription($a: String) { approvals(after: $a) { signature } }`
	vars := map[string]any{"a": graph.EventCursor(0)} // the whole log
	for _, proto := range []string{graphtest.TransportWS, graphtest.LegacyWS} {
		ws := dial(t, b.base, proto)
		if err := ws.Subscribe(t.Context(), "r", q, vars); err != nil {
			t.Fatal(err)
		}
		for range want {
			var a struct{ Signature string }
			next(t, ws, "r", &a)
		}
	}
}

// A data message never carries another operation's id: on graphql-ws, a
// start whose payload the transport cannot decode (it answers an error
// and completes) followed by a start without an id must not hand the
// first start's id to the second operation's messages. The transport
// leaves an empty id out of its messages.
func TestDataMessagesCarryOnlyTheirOwnID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	conn, _, err := websocket.Dial(ctx, graphtest.WSURL(b.base), &websocket.DialOptions{Subprotocols: []string{graphtest.LegacyWS}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	send := func(msg string) {
		t.Helper()
		if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	read := func() []byte {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		for {
			_, msg, err := conn.Read(rctx)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(msg, []byte(`{"type":"ka"}`)) {
				return msg
			}
		}
	}
	send(`{"type":"connection_init","payload":{}}`)
	if msg := read(); !bytes.Contains(msg, []byte(`"connection_ack"`)) {
		t.Fatalf("handshake: %s", msg)
	}
	send(`{"id":"bad","type":"start","payload":{"query":5}}`)
	for _, want := range []string{`"error"`, `"complete"`} {
		if msg := read(); !bytes.Contains(msg, []byte(want)) || !bytes.Contains(msg, []byte(`"id":"bad"`)) {
			t.Fatalf("undecodable start: got %s, want a %s message for id bad", msg, want)
		}
	}
	send(`{"type":"start","payload":{"query":"subscription { events(names: [ProposalCreated]) { name } }"}}`)
	waitMetric(t, b.base, "upgrade_manager_graphql_subscriptions", 1)
	b.applyAll(t)
	msg := read()
	if want := `{"payload":{"data":{"events":{"name":"ProposalCreated"}}},"type":"data"}`; string(msg) != want {
		t.Fatalf("got %s, want %s", msg, want)
	}
}

package graph_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
)

// Equal subscriptions share one execution; a shared payload never reaches
// a subscriber whose filter, variables or protocol differ. Five clients:
// two with the same approvals subscription and variables on different
// protocols (one execution), one with another proposal's, and two with
// events filtered on different names written inline. Each must receive
// exactly the events its own filter selects, in order.
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
		name, proto, query string
		vars               map[string]any
		want               []string
		got                []string
	}
	const byProposal = `subscription($p: PublicKey) { approvals(proposal: $p) { signature proposal { address } } }`
	const byName = `subscription { events(names: [%s]) { signature name } }`
	clients := []*client{
		{name: "p1 transport-ws", proto: graphtest.TransportWS, query: byProposal, vars: map[string]any{"p": p1}},
		{name: "p1 graphql-ws", proto: graphtest.LegacyWS, query: byProposal, vars: map[string]any{"p": p1}},
		{name: "p2", proto: graphtest.TransportWS, query: byProposal, vars: map[string]any{"p": p2}},
		{name: "approved", proto: graphtest.TransportWS, query: fmt.Sprintf(byName, "ProposalApproved")},
		{name: "revoked", proto: graphtest.LegacyWS, query: fmt.Sprintf(byName, "ApprovalRevoked")},
	}
	clients[0].want = want(func(e graphtest.Event) bool { return isApproval(e) && e.Data["proposal"] == p1 })
	clients[1].want = clients[0].want
	clients[2].want = want(func(e graphtest.Event) bool { return isApproval(e) && e.Data["proposal"] == p2 })
	clients[3].want = want(func(e graphtest.Event) bool { return e.Name == "ProposalApproved" })
	clients[4].want = want(func(e graphtest.Event) bool { return e.Name == "ApprovalRevoked" })
	sockets := map[*client]*graphtest.WS{}
	for _, c := range clients {
		ws := dial(t, b.base, c.proto)
		if err := ws.Subscribe(t.Context(), "s", c.query, c.vars); err != nil {
			t.Fatal(err)
		}
		sockets[c] = ws
	}
	waitMetric(t, b.base, "upgrade_manager_graphql_subscriptions", float64(len(clients)))
	// The two p1 clients share one execution: four behind five.
	if n := metric(t, b.base, "upgrade_manager_graphql_subscribers"); n != float64(len(clients)-1) {
		t.Errorf("%v executions for %d subscriptions, want %d", n, len(clients), len(clients)-1)
	}
	b.applyAll(t)

	for _, c := range clients {
		for range c.want {
			var p struct {
				Signature string
				Name      string
				Proposal  *struct{ Address string }
			}
			next(t, sockets[c], "s", &p)
			if p.Proposal != nil && p.Proposal.Address != c.vars["p"] {
				t.Errorf("%s: received an approval of %s", c.name, p.Proposal.Address)
			}
			c.got = append(c.got, p.Signature)
		}
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: got %v\nwant %v", c.name, c.got, c.want)
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

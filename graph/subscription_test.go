package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
)

// dial opens a websocket to base with protocol, closed when the test ends.
func dial(t *testing.T, base, protocol string) *graphtest.WS {
	t.Helper()
	ws, err := graphtest.DialWS(t.Context(), graphtest.WSURL(base), protocol)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

// next reads operation id's next payload into out, within 10 s.
func next(t *testing.T, ws *graphtest.WS, id string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	gotID, resp, err := ws.Next(ctx)
	if err != nil {
		t.Fatalf("next: %v", err)
	}
	if gotID != id || len(resp.Errors) > 0 {
		t.Fatalf("operation %s: errors %+v", gotID, resp.Errors)
	}
	var wrapper map[string]json.RawMessage
	if err := json.Unmarshal(resp.Data, &wrapper); err != nil || len(wrapper) != 1 {
		t.Fatalf("data %s: %v", resp.Data, err)
	}
	for _, v := range wrapper {
		if err := json.Unmarshal(v, out); err != nil {
			t.Fatalf("decode %s: %v", v, err)
		}
	}
}

type approval struct {
	Cursor, Action, Member, Signature, Status string
	Approvals                                 int
	Proposal                                  struct{ Address, Status string }
}

const approvalsSub = `subscription($p: PublicKey, $after: String) {
	approvals(proposal: $p, after: $after) {
		cursor action member signature status approvals proposal { address status }
	}
}`

// A client on each websocket protocol receives the approvals of a
// proposal, given and revoked, in the order the chain executed them.
func TestApprovalsSubscriptionOnBothProtocols(t *testing.T) {
	t.Parallel()
	for _, protocol := range []string{graphtest.TransportWS, graphtest.LegacyWS} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			upgrade := createdAt(t, b.scenario, 3)
			var want []string
			for _, e := range graphtest.Events(b.scenario.Txs[:9]) {
				if e.Name == "ProposalApproved" || e.Name == "ApprovalRevoked" {
					want = append(want, fmt.Sprintf("%s %s %s", e.Name, e.Data["member"], e.Tx.Signature))
				}
			}

			ws := dial(t, b.base, protocol)
			if err := ws.Subscribe(t.Context(), "1", approvalsSub, map[string]any{"p": upgrade}); err != nil {
				t.Fatal(err)
			}
			// Live subscriptions start at the next commit: wait until the
			// server has registered this one before committing.
			waitSubscribed(t, b)
			b.apply(t, 0, 9)

			var got []string
			for range want {
				var a approval
				next(t, ws, "1", &a)
				name := map[string]string{"APPROVED": "ProposalApproved", "REVOKED": "ApprovalRevoked"}[a.Action]
				got = append(got, fmt.Sprintf("%s %s %s", name, a.Member, a.Signature))
				if a.Proposal.Address != upgrade {
					t.Errorf("approval of %s, want %s", a.Proposal.Address, upgrade)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("approvals:\n got %v\nwant %v", got, want)
			}
		})
	}
}

// waitSubscribed waits until the server's broker has a subscriber, read
// from its metrics.
func waitSubscribed(t *testing.T, b *bundle) {
	t.Helper()
	waitMetric(t, b.base, "upgrade_manager_graphql_subscriptions", 1)
}

// Resuming from a cursor first replays what the client missed from the
// log, then continues live, with every event exactly once and in order.
func TestResumeFromCursor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.apply(t, 0, 20)

	var page struct {
		Events struct {
			Nodes []struct {
				Cursor, Seq string
			}
		}
	}
	b.query(t, `{ events(first: 5) { nodes { cursor seq } } }`, nil, &page)
	resumeAt := page.Events.Nodes[4]

	ws := dial(t, b.base, graphtest.TransportWS)
	if err := ws.Subscribe(t.Context(), "e", `subscription($after: String) { events(after: $after) { seq name } }`,
		map[string]any{"after": resumeAt.Cursor}); err != nil {
		t.Fatal(err)
	}
	// More batches commit while the backlog is being sent.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, tx := range b.scenario.Txs[20:] {
			if err := b.scenario.Apply(context.WithoutCancel(t.Context()), b.pool, tx); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	<-done
	var total int
	if err := b.pool.QueryRow(t.Context(), `SELECT count(*) FROM chain_event`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	prev := mustAtoi(t, resumeAt.Seq)
	for i := 0; i < total-5; i++ {
		var e struct{ Seq, Name string }
		next(t, ws, "e", &e)
		seq := mustAtoi(t, e.Seq)
		if seq <= prev {
			t.Fatalf("event seq %d after %d: repeated or out of order", seq, prev)
		}
		prev = seq
	}
	var last int
	if err := b.pool.QueryRow(t.Context(), `SELECT max(seq) FROM chain_event`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if prev != last {
		t.Errorf("last event received %d, want %d", prev, last)
	}
	// Nothing more: the next read times out instead of repeating.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, resp, err := ws.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("after the last event: %+v, %v; want nothing", resp, err)
	}
}

// Two server replicas on one database each deliver a committed batch to
// their own subscribers: each has its own LISTEN connection.
func TestTwoReplicasBothDeliver(t *testing.T) {
	t.Parallel()
	b := setup(t)
	second := graphtest.StartServer(t, b.url, nil)
	var clients []*graphtest.WS
	for _, base := range []string{b.base, second} {
		ws := dial(t, base, graphtest.TransportWS)
		if err := ws.Subscribe(t.Context(), "a", approvalsSub, nil); err != nil {
			t.Fatal(err)
		}
		waitMetric(t, base, "upgrade_manager_graphql_subscriptions", 1)
		clients = append(clients, ws)
	}
	b.apply(t, 0, 5) // up to the first approval
	for i, ws := range clients {
		var a approval
		next(t, ws, "a", &a)
		if a.Action != "APPROVED" || a.Approvals != 1 {
			t.Errorf("replica %d delivered %+v", i, a)
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

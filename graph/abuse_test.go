package graph_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// These tests play an abusive client against a server with its default
// configuration: each asks for something the server must refuse.

// aliased repeats field under n aliases.
func aliased(n int, field string) string {
	var b strings.Builder
	b.WriteString("{ ")
	for i := range n {
		fmt.Fprintf(&b, "a%d: %s ", i, field)
	}
	b.WriteString("}")
	return b.String()
}

func TestCostOfOneRequestIsBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	deep := "query { " + strings.Repeat("proposals(first: 1) { nodes { governance { ", 5) + "address" +
		strings.Repeat(" } } }", 5) + " }"
	tests := []struct {
		name, query string
		vars        map[string]any
		code, msg   string
	}{
		// The 2 KB request: counts under aliases, each a full COUNT.
		{"40 aliased counts", aliased(40, `proposals(first: 0, filter: {kind: [UPGRADE]}) { totalCount }`), nil, "QUERY_TOO_COMPLEX", "aliased fields"},
		{"one count is fine", `{ proposals(first: 0) { totalCount } }`, nil, "", ""},
		{"count on every nested page", `{ governances(first: 100) { nodes { proposals(first: 0) { totalCount } } } }`, nil, "QUERY_TOO_COMPLEX", "complexity"},
		{"an unindexed filter on every nested page", `{ programs(first: 100) { nodes { proposals(first: 0, filter: {kind: [UPGRADE]}) { pageInfo { hasNextPage } } } } }`, nil, "QUERY_TOO_COMPLEX", "complexity"},
		{"depth is reported as it is", deep, nil, "QUERY_TOO_COMPLEX", "nests 16 levels deep"},
		{"awaiting approval on every nested page", `{ programs(first: 100) { nodes { proposals(first: 0, filter: {awaitingApprovalBy: "So11111111111111111111111111111111111111112"}) { pageInfo { hasNextPage } } } } }`, nil, "QUERY_TOO_COMPLEX", "complexity"},
		{"the eta order on every nested page", `{ governances(first: 100) { nodes { proposals(first: 0, orderBy: {field: ETA}) { pageInfo { hasNextPage } } } } }`, nil, "QUERY_TOO_COMPLEX", "complexity"},
		{"pending approvers of a full page", `{ proposals(first: 100) { nodes { pendingApprovers { address } } } }`, nil, "", ""},
		{"NUL in a filter", `{ proposals(filter: {governance: "So11111111111111111111111111111111111111112\u0000"}) { totalCount } }`, nil, "BAD_USER_INPUT", "NUL"},
		{"NUL in a variable", `query($n: String) { proposals(after: $n) { totalCount } }`, map[string]any{"n": "a\x00"}, "BAD_USER_INPUT", "NUL"},
		{"Int as a string", `query($n: Int) { proposals(first: $n) { totalCount } }`, map[string]any{"n": "5"}, "BAD_USER_INPUT", "Int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, _, err := graphtest.Query(t.Context(), b.base+"/graphql", tt.query, tt.vars)
			if err != nil {
				t.Fatal(err)
			}
			if tt.code == "" {
				if len(resp.Errors) != 0 {
					t.Fatalf("errors = %+v, want none", resp.Errors)
				}
				return
			}
			if len(resp.Errors) == 0 {
				t.Fatalf("accepted; want %s", tt.code)
			}
			e := resp.Errors[0]
			if e.Code() != tt.code || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("error = %q (%s), want code %s and a message with %q", e.Message, e.Code(), tt.code, tt.msg)
			}
		})
	}
	// 25 counts fit under the alias cap but not under the complexity limit.
	resp, _, err := graphtest.Query(t.Context(), b.base+"/graphql", aliased(25, `proposals(first: 0) { totalCount }`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Errors) == 0 || resp.Errors[0].Code() != "QUERY_TOO_COMPLEX" {
		t.Errorf("25 aliased counts: errors = %+v, want QUERY_TOO_COMPLEX", resp.Errors)
	}
}

// A subscription posted over plain HTTP is answered at once with an
// error; before, the request hung until the next event.
func TestSubscriptionOverPOSTIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	resp, _, err := graphtest.Query(ctx, b.base+"/graphql", `subscription { events { seq } }`, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if len(resp.Errors) != 1 || resp.Errors[0].Code() != "BAD_REQUEST" {
		t.Fatalf("errors = %+v, want one BAD_REQUEST", resp.Errors)
	}
}

func TestVaryOriginAndHostAllowList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	get := func(host string) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, b.base+"/graphql?query={indexerStatus{lastSeq}}", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(b.base, "http://"))
	if r := get("localhost:" + port); r.StatusCode != 200 || r.Header.Get("Vary") != "Origin" {
		t.Errorf("localhost: %d, Vary %q; want 200 and Vary: Origin", r.StatusCode, r.Header.Get("Vary"))
	}
	// A page on rebound.example whose name now resolves to 127.0.0.1.
	if r := get("rebound.example:" + port); r.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("rebound host: %d, want 421", r.StatusCode)
	}
}

// rawWS opens a graphql-transport-ws websocket without the handshake.
func rawWS(t *testing.T, base, protocol string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(t.Context(), graphtest.WSURL(base), &websocket.DialOptions{Subprotocols: []string{protocol}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// closeCode reads until the server closes c and returns its close code.
func closeCode(t *testing.T, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Reason
		}
		t.Fatalf("connection ended without a close frame: %v", err)
	}
}

func TestTransportWSCloseCodes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	send := func(c *websocket.Conn, msgs ...string) {
		for _, m := range msgs {
			if err := c.Write(t.Context(), websocket.MessageText, []byte(m)); err != nil {
				t.Fatal(err)
			}
		}
	}
	const init = `{"type":"connection_init"}`
	sub := func(id string) string {
		return `{"id":"` + id + `","type":"subscribe","payload":{"query":"subscription { events { seq } }"}}`
	}
	tests := []struct {
		name string
		msgs []string
		want websocket.StatusCode
	}{
		{"invalid message", []string{init, `{"type":"nonsense"}`}, 4400},
		{"not JSON", []string{init, `{{{`}, 4400},
		{"ping whose payload is not an object", []string{init, `{"type":"ping","payload":5}`}, 4400},
		{"subscribe without a payload", []string{init, `{"id":"1","type":"subscribe"}`}, 4400},
		{"a server's message", []string{init, `{"id":"1","type":"next","payload":{}}`}, 4400},
		{"an id over 128 bytes", []string{init, sub(strings.Repeat("x", 129))}, 4400},
		{"subscribe before connection_init", []string{sub("1")}, 4401},
		{"duplicate id", []string{init, sub("1"), sub("1")}, 4409},
		{"second connection_init", []string{init, init}, 4429},
		{"no connection_init", nil, 4408},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := rawWS(t, b.base, graphtest.TransportWS)
			send(c, tt.msgs...)
			if code, reason := closeCode(t, c); code != tt.want {
				t.Errorf("close %d %q, want %d", code, reason, tt.want)
			}
		})
	}
}

// One client address opens more websockets than the server allows it
// (100 by default): the extra one is closed with 1013 and a reason.
func TestConnectionsPerAddressAreCapped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for range 100 {
		dial(t, b.base, graphtest.TransportWS)
	}
	c := rawWS(t, b.base, graphtest.TransportWS)
	code, reason := closeCode(t, c)
	if code != 1013 || !strings.Contains(reason, "your address") {
		t.Fatalf("close %d %q, want 1013 naming the address limit", code, reason)
	}
}

// One connection starts more subscriptions than a connection may run (100
// by default): the extra one gets TOO_MANY_SUBSCRIPTIONS, the others and
// the connection carry on.
func TestSubscriptionsPerConnectionAreCapped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, proto := range []string{graphtest.TransportWS, graphtest.LegacyWS} {
		ws := dial(t, b.base, proto)
		for i := range 101 {
			if err := ws.Subscribe(t.Context(), fmt.Sprint(i), `subscription { events { seq } }`, nil); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		id, resp, err := ws.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		if id != "100" || len(resp.Errors) != 1 || resp.Errors[0].Code() != "TOO_MANY_SUBSCRIPTIONS" {
			t.Fatalf("%s: id %s %+v, want TOO_MANY_SUBSCRIPTIONS for id 100", proto, id, resp)
		}
	}
	waitMetric(t, b.base, "upgrade_manager_graphql_subscriptions", 200)
}

// GraphiQL at / loads nothing from another host (it used to load React and
// GraphiQL from a CDN and stay at "Loading…" offline).
func TestGraphiQLIsServedFromTheBinary(t *testing.T) {
	t.Parallel()
	base := graphtest.StartServer(t, pgtest.NewDB(t), nil)
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllSubmatch(page, -1)
	if len(refs) == 0 {
		t.Fatalf("page loads no assets:\n%s", page)
	}
	for _, m := range refs {
		ref := string(m[1])
		if strings.Contains(ref, "//") {
			t.Errorf("page loads %s from another host", ref)
			continue
		}
		r, err := http.Get(base + ref)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Errorf("%s: %d", ref, r.StatusCode)
		}
	}
}

// A subscription's selection runs on every event, so it is held to a
// per-event limit far below a query's.
func TestHeavySubscriptionSelectionIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ws := dial(t, b.base, graphtest.TransportWS)
	heavy := `subscription { proposalUpdated { proposal { approvals { proposal { approvals { proposal { approvals { member } } } } } } } }`
	if err := ws.Subscribe(t.Context(), "1", heavy, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, resp, err := ws.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Errors) != 1 || resp.Errors[0].Code() != "QUERY_TOO_COMPLEX" {
		t.Fatalf("errors = %+v, want QUERY_TOO_COMPLEX", resp.Errors)
	}
}

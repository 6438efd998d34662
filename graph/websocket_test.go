package graph_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/graph/fanout"
	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// waitMetricIs waits until metric name on base is exactly want.
func waitMetricIs(t *testing.T, base, name string, want float64) {
	t.Helper()
	testkit.Eventually(t, 0, fmt.Sprintf("%s to be %v", name, want), func() bool { return metric(t, base, name) == want })
}

// A client that stops an operation frees its slot and its share of the
// execution at once, and gets nothing more for it; closing the connection
// frees the rest. On both subprotocols, for a shared subscription and one
// running alone.
func TestStoppedOperationsFreeTheirSlots(t *testing.T) {
	t.Parallel()
	for _, proto := range []string{graphtest.TransportWS, graphtest.LegacyWS} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ws := dial(t, b.base, proto)
			ops := map[string]string{
				"a": `subscription { events { seq name } }`,
				"b": `subscription { events { seq name } }`,
				"c": `subscription { events(names: [ProposalCreated]) { seq name } }`,
			}
			for _, id := range []string{"a", "b", "c"} {
				if err := ws.Subscribe(t.Context(), id, ops[id], nil); err != nil {
					t.Fatal(err)
				}
			}
			waitMetricIs(t, b.base, "upgrade_manager_graphql_websocket_operations", 3)
			waitMetricIs(t, b.base, "upgrade_manager_graphql_subscriptions", 3)
			for _, id := range []string{"a", "c"} {
				if err := ws.Stop(t.Context(), id); err != nil {
					t.Fatal(err)
				}
			}
			waitMetricIs(t, b.base, "upgrade_manager_graphql_websocket_operations", 1)
			waitMetricIs(t, b.base, "upgrade_manager_graphql_subscriptions", 1)

			b.applyAll(t)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			for range 10 {
				id, resp, err := ws.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if id != "b" || len(resp.Errors) > 0 {
					t.Fatalf("message for %q (%+v) after a and c were stopped", id, resp)
				}
			}
			if err := ws.Close(); err != nil {
				t.Fatal(err)
			}
			waitMetricIs(t, b.base, "upgrade_manager_graphql_websocket_operations", 0)
			waitMetricIs(t, b.base, "upgrade_manager_graphql_subscriptions", 0)
			waitMetricIs(t, b.base, "upgrade_manager_graphql_websocket_connections", 0)
		})
	}
}

// A client may send its first message in the same packet as its upgrade
// request: the server keeps those bytes (net/http has read them into its
// buffer, which the connection leaves behind) and answers the
// connection_init they carry.
func TestClientBytesBehindTheUpgradeAreKept(t *testing.T) {
	t.Parallel()
	b := setup(t)
	host := strings.TrimPrefix(b.base, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	req := "GET /graphql HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + fmt.Sprintf("%x", key)[:22] + "==\r\n" +
		"Sec-WebSocket-Protocol: " + graphtest.TransportWS + "\r\n\r\n"
	frame := clientTextFrame([]byte(`{"type":"connection_init"}`))
	if _, err := conn.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	msg, err := readServerTextFrame(r)
	if err != nil {
		t.Fatalf("no message after the pipelined connection_init: %v", err)
	}
	if msg != `{"type":"connection_ack"}` {
		t.Fatalf("got %s, want connection_ack", msg)
	}
}

// clientTextFrame frames payload as a client's masked text message.
func clientTextFrame(payload []byte) []byte {
	if len(payload) > 125 {
		panic("clientTextFrame: payload over 125 bytes")
	}
	mask := make([]byte, 4)
	_, _ = rand.Read(mask)
	f := append([]byte{0x81, 0x80 | byte(len(payload))}, mask...)
	for i, c := range payload {
		f = append(f, c^mask[i%4])
	}
	return f
}

// readServerTextFrame reads one unmasked, unfragmented text frame.
func readServerTextFrame(r io.Reader) (string, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return "", err
	}
	if h[0] != 0x81 {
		return "", fmt.Errorf("frame header %#x, want a final text frame", h[0])
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return "", err
		}
		n = int(binary.BigEndian.Uint16(l[:]))
	case 127:
		return "", errors.New("frame too long")
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return string(b), err
}

// An idle subscription that shares its execution has no goroutine of its
// own: its connection is read by one goroutine, net/http's goroutine has
// left, and nothing else waits for it. (Not parallel: it counts the
// process's goroutines, which would include other tests'.)
func TestIdleSubscriptionsHoldOneGoroutine(t *testing.T) {
	b := setup(t)
	const n = 40
	before := runtime.NumGoroutine()
	for i := range n {
		ws := dial(t, b.base, []string{graphtest.TransportWS, graphtest.LegacyWS}[i%2])
		if err := ws.Subscribe(t.Context(), "s", `subscription { events { seq } }`, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitMetricIs(t, b.base, "upgrade_manager_graphql_subscriptions", n)
	// What is left once the connections are idle: their readers, the
	// group's leader and its stream.
	deadline := time.Now().Add(testkit.DefaultWithin)
	for {
		got := runtime.NumGoroutine() - before
		if got <= n+5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines for %d idle subscriptions, want at most %d", got, n, n+5)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An idle connection gets a keepalive every -keepalive: ping on
// graphql-transport-ws (which the client may answer with pong), ka on
// graphql-ws.
func TestKeepAliveOnBothProtocols(t *testing.T) {
	t.Parallel()
	base := graphtest.StartServer(t, pgtest.NewDB(t), func(c *graph.ServerConfig) { c.KeepAlive = 50 * time.Millisecond })
	for proto, want := range map[string]string{graphtest.TransportWS: `{"type":"ping"}`, graphtest.LegacyWS: `{"type":"ka"}`} {
		c := rawWS(t, base, proto)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init"}`)); err != nil {
			t.Fatal(err)
		}
		var got []string
		for seen := 0; seen < 3; {
			_, msg, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("%s: after %q: %v", proto, got, err)
			}
			got = append(got, string(msg))
			if string(msg) == want {
				seen++
			}
		}
		if got[0] != `{"type":"connection_ack"}` {
			t.Errorf("%s: first message %s, want connection_ack", proto, got[0])
		}
		if proto == graphtest.TransportWS {
			// The client's pong is accepted (and nothing answers it).
			if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"pong"}`)); err != nil {
				t.Fatal(err)
			}
			if _, msg, err := c.Read(ctx); err != nil || string(msg) != want {
				t.Errorf("%s: after a pong: %s %v, want another %s", proto, msg, err, want)
			}
		}
	}
}

// A client that sends without reading what comes back (pings, whose
// pongs pile up) stops being read once the server has a few answers
// queued, so its sends block, instead of the server queueing answers
// without bound (each ping with a 1 KB payload, echoed in its pong).
func TestClientThatDoesNotReadStopsBeingRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := dialSmallBuffers(t, b.base)
	ping := []byte(`{"type":"ping","payload":{"pad":"` + strings.Repeat("x", 990) + `"}}`)
	const most = 100_000 // 100 MB of pings
	for i := range most {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		err := c.Write(ctx, websocket.MessageText, ping)
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("ping %d: %v, want it to block", i, err)
			}
			t.Logf("the server stopped reading after %d pings", i)
			return
		}
	}
	t.Fatalf("the server read all %d pings while the client read none of its pongs", most)
}

// A subscription stopped, or whose connection closes, while it replays
// a long backlog (it runs on a goroutine of its own, writing as it goes)
// is no longer counted, however its goroutine ends.
func TestReplayStoppedMidwayIsNotCounted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := b.pool.Exec(t.Context(), `INSERT INTO chain_event
			(signature, instruction_index, inner_index, ordinal, slot, name, data, raw, commitment)
		SELECT 'sig' || i, 0, -1, 0, i, 'ConfigChanged', '{}', '', 'confirmed' FROM generate_series(1, 3000) i`); err != nil {
		t.Fatal(err)
	}
	q := `subscription($after: String) { events(after: $after) { seq } }`
	for round, proto := range []string{graphtest.TransportWS, graphtest.LegacyWS} {
		ws := dial(t, b.base, proto)
		for _, id := range []string{"stopped", "closed"} {
			if err := ws.Subscribe(t.Context(), id, q, map[string]any{"after": graph.EventCursor(0)}); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		for seen := map[string]bool{}; len(seen) < 2; {
			id, _, err := ws.Next(ctx)
			if err != nil {
				t.Fatalf("%s round %d: %v", proto, round, err)
			}
			seen[id] = true
		}
		cancel()
		if err := ws.Stop(t.Context(), "stopped"); err != nil {
			t.Fatal(err)
		}
		waitMetricIs(t, b.base, "upgrade_manager_graphql_subscriptions", 1)
		if err := ws.Close(); err != nil {
			t.Fatal(err)
		}
		waitMetricIs(t, b.base, "upgrade_manager_graphql_subscriptions", 0)
		waitMetricIs(t, b.base, "upgrade_manager_graphql_websocket_operations", 0)
	}
}

// dialSmallBuffers opens a graphql-transport-ws websocket (without the
// handshake) whose socket buffers are 4 KB, so that a client that does not
// read soon makes the server's writes wait.
func dialSmallBuffers(t *testing.T, base string) *websocket.Conn {
	t.Helper()
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
			_ = tc.SetWriteBuffer(4096)
		}
		return c, err
	}}}
	c, _, err := websocket.Dial(t.Context(), graphtest.WSURL(base), &websocket.DialOptions{
		Subprotocols: []string{graphtest.TransportWS},
		HTTPClient:   client,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// A subscription dropped for falling behind, the only one of its
// execution, stops that execution: nothing keeps running (and reading
// the database) for no one.
func TestSlowSubscriberAloneStopsItsExecution(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDB(t)
	base := graphtest.StartServer(t, url, func(c *graph.ServerConfig) { c.SubscriberBuffer = 8 })
	c := dialSmallBuffers(t, base)
	for _, m := range []string{`{"type":"connection_init"}`,
		`{"id":"s","type":"subscribe","payload":{"query":"subscription { events { seq data } }"}}`} {
		if err := c.Write(t.Context(), websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	waitMetricIs(t, base, "upgrade_manager_graphql_subscribers", 1)
	// 64 KB events, a few per commit (the execution keeps up with them),
	// which the client never reads: its connection backs up.
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for i := 0; metric(t, base, "upgrade_manager_graphql_subscriptions") > 0; i += 4 {
		if i > 4000 {
			t.Fatal("the subscriber was never dropped")
		}
		if _, err := pool.Exec(t.Context(), `INSERT INTO chain_event
				(signature, instruction_index, inner_index, ordinal, slot, name, data, raw, commitment)
			SELECT 'sig' || i, 0, -1, 0, i, 'ConfigChanged', jsonb_build_object('pad', repeat('x', 65536)), '', 'confirmed'
			FROM generate_series($1::int, $1::int + 3) i`, i); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(t.Context(), `SELECT pg_notify($1, '{}')`, fanout.Channel); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // one commit fanned out at a time
	}
	waitMetricIs(t, base, "upgrade_manager_graphql_subscribers", 0)
}

package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// FuzzWebsocketSession plays arbitrary client messages to the real server
// over a real websocket, in either subprotocol, around a connection_init:
// every message the server sends is JSON of its protocol's types, it
// closes only with its protocols' codes, and once the client has gone
// every operation and the connection are freed (nothing leaks into the
// limits).
func FuzzWebsocketSession(f *testing.F) {
	for _, s := range []string{
		`{"type":"connection_init"}`,
		`{"id":"1","type":"subscribe","payload":{"query":"subscription { events { seq } }"}}`,
		`{"id":"1","type":"start","payload":{"query":"subscription { events { seq } }"}}`,
		`{"id":"1","type":"subscribe","payload":{"query":"{ governances(first: 1) { totalCount } }"}}`,
		`{"id":"1","type":"start","payload":{"query":"subscription { events(after: \"x\") { seq } }"}}`,
		`{"id":"1","type":"complete"}`, `{"id":"1","type":"stop"}`,
		`{"id":"2","type":"subscribe","payload":{"query":"subscription {"}}`,
		`{"type":"ping"}`, `{"type":"connection_terminate"}`, `{{`, `[]`,
	} {
		f.Add([]byte(s), []byte(`{"id":"1","type":"subscribe","payload":{"query":"subscription { approvals { cursor } }"}}`), true)
		f.Add([]byte(s), []byte(`{"id":"1","type":"start","payload":{"query":"subscription { approvals { cursor } }"}}`), false)
	}
	base := graphtest.StartServer(f, pgtest.NewDB(f), nil)
	url := graphtest.WSURL(base)
	serverTypes := map[bool][]string{
		true:  {"connection_ack", "next", "error", "complete", "ping", "pong"},
		false: {"connection_ack", "connection_error", "ka", "data", "error", "complete"},
	}
	closeCodes := map[bool][]websocket.StatusCode{
		true:  {websocket.StatusNormalClosure, websocket.StatusMessageTooBig, 4400, 4401, 4409, 4429},
		false: {websocket.StatusNormalClosure, websocket.StatusMessageTooBig, websocket.StatusProtocolError},
	}
	f.Fuzz(func(t *testing.T, first, second []byte, strict bool) {
		proto := graphtest.LegacyWS
		if strict {
			proto = graphtest.TransportWS
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{proto}})
		if err != nil {
			t.Fatal(err)
		}
		conn.SetReadLimit(1 << 20)
		type ending struct {
			msgs [][]byte
			err  error
		}
		read := make(chan ending, 1)
		go func() {
			var e ending
			for {
				_, b, err := conn.Read(ctx)
				if err != nil {
					e.err = err
					read <- e
					return
				}
				e.msgs = append(e.msgs, b)
			}
		}()
		for _, m := range [][]byte{first, second, []byte(`{"type":"connection_init"}`), first, second} {
			if conn.Write(ctx, websocket.MessageText, m) != nil {
				break // the server closed the connection
			}
		}
		_ = conn.Close(websocket.StatusNormalClosure, "")
		e := <-read
		for _, b := range e.msgs {
			var m struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(b, &m); err != nil || !slices.Contains(serverTypes[strict], m.Type) {
				t.Fatalf("%s: server sent %q", proto, b)
			}
		}
		var ce websocket.CloseError
		if errors.As(e.err, &ce) && !slices.Contains(closeCodes[strict], ce.Code) {
			t.Fatalf("%s: closed with %d %q", proto, ce.Code, ce.Reason)
		}
		testkit.Eventually(t, 10*time.Second, "the connection and its operations to be freed", func() bool {
			return metric(t, base, "upgrade_manager_graphql_websocket_operations") == 0 &&
				metric(t, base, "upgrade_manager_graphql_websocket_connections") == 0
		})
	})
}

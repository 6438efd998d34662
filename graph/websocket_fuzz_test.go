package graph

import (
	"encoding/json"
	"testing"
)

// FuzzWebsocketClientMessage feeds arbitrary client messages to the
// websocket checks, on both subprotocols and in any order: they never
// panic, never count an operation twice or below zero, and whatever they
// write back is valid JSON.
func FuzzWebsocketClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"connection_init"}`,
		`{"id":"1","type":"subscribe","payload":{"query":"subscription { events { seq } }"}}`,
		`{"id":"1","type":"start","payload":{}}`,
		`{"id":"1","type":"complete"}`,
		`{"id":null,"type":"subscribe"}`,
		`{"type":"ping"}`, `{{`, `[]`, `""`, `{"id":1,"type":"subscribe"}`,
	} {
		f.Add([]byte(s), []byte(`{"id":"1","type":"subscribe"}`), true)
		f.Add([]byte(s), []byte(`{"id":"1","type":"start"}`), false)
	}
	f.Fuzz(func(t *testing.T, first, second []byte, strict bool) {
		l := newWSLimiter(WSLimits{ConnsPerAddr: 1, Conns: 1, OpsPerConn: 1, Ops: 1}, nil)
		c := &wsConn{limiter: l, active: map[string]struct{}{}, strict: strict}
		c.write = func(b []byte) {
			if !json.Valid(b) {
				t.Fatalf("wrote invalid JSON %q", b)
			}
		}
		for _, msg := range [][]byte{first, second, first} {
			if _, code, _ := c.check(msg); code != 0 {
				if code < 4400 || code > 4499 {
					t.Fatalf("close code %d", code)
				}
				break
			}
			if n := l.ops.Load(); n < 0 || n > 1 || int(n) != len(c.active) {
				t.Fatalf("ops %d with %d active", n, len(c.active))
			}
		}
	})
}

package graph

import (
	"encoding/json"
	"testing"
)

// clientMessageSeeds are client messages of both subprotocols, valid and
// not.
var clientMessageSeeds = []string{
	`{"type":"connection_init"}`,
	`{"type":"connection_init","payload":{"token":"x"}}`,
	`{"type":"connection_init","payload":5}`,
	`{"id":"1","type":"subscribe","payload":{"query":"subscription { events { seq } }"}}`,
	`{"id":"1","type":"start","payload":{"query":"subscription { events { seq } }"}}`,
	`{"id":"1","type":"start","payload":{}}`,
	`{"id":"1","type":"complete"}`,
	`{"id":"1","type":"stop"}`,
	`{"id":null,"type":"subscribe"}`,
	`{"id":"","type":"subscribe","payload":{}}`,
	`{"type":"ping","payload":{"a":1}}`, `{"type":"pong"}`, `{"type":"connection_terminate"}`,
	`{{`, `[]`, `""`, `{"id":1,"type":"subscribe"}`, `{"type":"next","id":"1"}`,
}

// FuzzParseClientMessage feeds arbitrary bytes to the decoder of client
// messages, in both subprotocols, before and after connection_init: it
// never panics, closes only with its protocol's codes and a reason a close
// frame can carry, and starts an operation only as its protocol allows.
func FuzzParseClientMessage(f *testing.F) {
	for _, s := range clientMessageSeeds {
		for _, strict := range []bool{true, false} {
			f.Add([]byte(s), strict, true)
			f.Add([]byte(s), strict, false)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, strict, inited bool) {
		m, act, refusal := parseClientMessage(data, strict, inited)
		switch act {
		case actClose:
			ok := refusal.code == CloseProtocolError
			if strict {
				ok = refusal.code == CloseInvalidMessage || refusal.code == CloseUnauthorized || refusal.code == CloseTooManyInits
			}
			if !ok || refusal.reason == "" || len(refusal.reason) > 123 {
				t.Fatalf("close %d %q", refusal.code, refusal.reason)
			}
			if strict != (refusal.detail == "") {
				t.Fatalf("connection_error %q on strict=%v", refusal.detail, strict)
			}
		case actInit:
			if inited {
				t.Fatal("a second connection_init accepted")
			}
		case actStart:
			if !inited {
				t.Fatal("an operation started before connection_init")
			}
			if strict && (m.ID == nil || *m.ID == "" || !isObject(m.Payload)) {
				t.Fatalf("subscribe without an id or payload accepted: %s", data)
			}
		case actPong:
			if !strict {
				t.Fatal("a graphql-ws ping answered")
			}
			if !objectOrAbsent(m.Payload) {
				t.Fatalf("ping with payload %s answered", m.Payload)
			}
			if b := message("", "pong", m.Payload); !json.Valid(b) {
				t.Fatalf("pong %q is not JSON", b)
			}
		}
		if !json.Valid(data) && act != actClose {
			t.Fatalf("invalid JSON %q: action %d", data, act)
		}
	})
}

// The tail of a data message makes, with its head, the bytes of the
// message encoded whole: for any id, on both subprotocols.
func FuzzDataMessage(f *testing.F) {
	for _, id := range []string{"", "1", `"quoted"`, "<&>", "\u2028", "\xff", "a\x00b"} {
		f.Add(id, true)
		f.Add(id, false)
	}
	payload := []byte(`{"data":{"events":{"seq":"1"}}}`)
	f.Fuzz(func(t *testing.T, id string, strict bool) {
		typ := "data"
		if strict {
			typ = "next"
		}
		got := append(dataHead(payload), dataTail(id, strict)...)
		if want := message(id, typ, payload); string(got) != string(want) {
			t.Fatalf("id %q: spliced %s, encoded %s", id, got, want)
		}
	})
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
)

// The two GraphQL websocket protocols.
const (
	protoTransportWS = "graphql-transport-ws" // graphql-ws, the current one
	protoLegacyWS    = "graphql-ws"           // subscriptions-transport-ws
)

const eventsSubscription = `subscription($after: String) { events(after: $after) { cursor seq signature slot name position { instructionIndex innerIndex ordinal } } }`

// SeenEvent is one event a subscriber received.
type SeenEvent struct {
	Cursor   string `json:"cursor"`
	Seq      string `json:"seq"`
	Sig      string `json:"signature"`
	Slot     string `json:"slot"`
	Name     string `json:"name"`
	Position struct {
		InstructionIndex int `json:"instructionIndex"`
		InnerIndex       int `json:"innerIndex"`
		Ordinal          int `json:"ordinal"`
	} `json:"position"`
	At time.Time `json:"-"`
}

// Key is the event's identity on chain.
func (e SeenEvent) Key() string {
	return fmt.Sprintf("%s/%d/%d/%d", e.Sig, e.Position.InstructionIndex, e.Position.InnerIndex, e.Position.Ordinal)
}

// Subscriber follows the events subscription of one GraphQL replica over one protocol,
// from the start of the log, and resumes by cursor whenever its connection ends.
type Subscriber struct {
	Name     string
	url      string
	protocol string

	mu      sync.Mutex
	events  []SeenEvent
	cursor  string
	conn    *websocket.Conn
	resumes int
	// reverted counts the REVERTED endings whose events were dropped from events.
	reverted int
	errors   []string
}

// NewSubscriber returns a subscriber of url (http://host/graphql) over protocol.
func NewSubscriber(name, url, protocol string) *Subscriber {
	ws, err := chain.WebsocketEndpoint(url, "")
	if err != nil {
		ws = url // Run reports the dial error
	}
	return &Subscriber{Name: name, url: ws, protocol: protocol, cursor: graph.EventCursor(0)}
}

// Run subscribes, and resubscribes after every cut, until ctx ends.
func (s *Subscriber) Run(ctx context.Context) {
	for ctx.Err() == nil {
		err := s.session(ctx)
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		s.resumes++
		if err != nil && len(s.errors) < 20 {
			s.errors = append(s.errors, err.Error())
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// Cut closes the current connection without a close frame, as a network failure
// would; Run resumes from the last cursor.
func (s *Subscriber) Cut() {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		_ = c.CloseNow()
	}
}

// Seen returns the events received so far, resumes included.
func (s *Subscriber) Seen() []SeenEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SeenEvent(nil), s.events...)
}

// Resumes is how many times the subscriber reconnected.
func (s *Subscriber) Resumes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resumes
}

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func (s *Subscriber) session(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	c, _, err := websocket.Dial(dctx, s.url, &websocket.DialOptions{Subprotocols: []string{s.protocol}})
	cancel()
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 22)
	if c.Subprotocol() != s.protocol {
		return fmt.Errorf("server chose protocol %q, not %q", c.Subprotocol(), s.protocol)
	}
	s.mu.Lock()
	s.conn = c
	after := s.cursor
	s.mu.Unlock()
	if err := wsjson.Write(ctx, c, wsMessage{Type: "connection_init", Payload: json.RawMessage(`{}`)}); err != nil {
		return err
	}
	start := "subscribe"
	if s.protocol == protoLegacyWS {
		start = "start"
	}
	payload, _ := json.Marshal(map[string]any{"query": eventsSubscription, "variables": map[string]any{"after": after}})
	acked := false
	for {
		var m wsMessage
		if err := wsjson.Read(ctx, c, &m); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		switch m.Type {
		case "connection_ack":
			if !acked {
				acked = true
				if err := wsjson.Write(ctx, c, wsMessage{ID: "1", Type: start, Payload: payload}); err != nil {
					return err
				}
			}
		case "ping":
			if err := wsjson.Write(ctx, c, wsMessage{Type: "pong"}); err != nil {
				return err
			}
		case "ka", "pong":
		case "next", "data":
			var p struct {
				Data struct {
					Events SeenEvent `json:"events"`
				} `json:"data"`
				Errors json.RawMessage `json:"errors"`
			}
			if err := json.Unmarshal(m.Payload, &p); err != nil {
				return fmt.Errorf("decode payload: %w", err)
			}
			if len(p.Errors) > 0 && string(p.Errors) != "null" {
				if s.resync(p.Errors) {
					return errResync
				}
				return fmt.Errorf("subscription error: %s", p.Errors)
			}
			ev := p.Data.Events
			ev.At = time.Now()
			s.mu.Lock()
			s.events = append(s.events, ev)
			s.cursor = ev.Cursor
			s.mu.Unlock()
		case "error", "connection_error":
			if s.resync(m.Payload) {
				return errResync
			}
			return fmt.Errorf("server error: %s", m.Payload)
		case "complete":
			return errors.New("server completed the subscription")
		}
	}
}

// errResync ends a session that the server ended with REVERTED or RESYNC; Run resumes it.
var errResync = errors.New("the server ended the subscription with REVERTED or RESYNC")

// resync follows docs/API.md for a subscription the server ended with REVERTED or RESYNC: the
// events after extensions.revertedAfter are gone from the log, so they are dropped from what
// this subscriber saw (the checker compares with the final log), and the next session resumes
// after extensions.cursor. It reports false for any other error.
func (s *Subscriber) resync(payload json.RawMessage) bool {
	type gqlError struct {
		Extensions struct {
			Code          string `json:"code"`
			RevertedAfter string `json:"revertedAfter"`
			Cursor        string `json:"cursor"`
		} `json:"extensions"`
	}
	var errs []gqlError
	if json.Unmarshal(payload, &errs) != nil {
		var one gqlError
		if json.Unmarshal(payload, &one) != nil {
			return false
		}
		errs = []gqlError{one}
	}
	for _, e := range errs {
		x := e.Extensions
		if x.Code != graph.CodeReverted && x.Code != graph.CodeResync {
			continue
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if x.RevertedAfter != "" {
			if last, err := graph.ParseEventCursor("revertedAfter", x.RevertedAfter); err == nil {
				kept := s.events[:0]
				for _, ev := range s.events {
					if seq, err := graph.ParseEventCursor("cursor", ev.Cursor); err == nil && seq <= last {
						kept = append(kept, ev)
					}
				}
				s.events = kept
				s.reverted++
			}
		}
		if x.Cursor != "" {
			s.cursor = x.Cursor
			// Resuming after the cursor sends again whatever came after it: what a UI would
			// refetch, this subscriber forgets.
			if resume, err := graph.ParseEventCursor("cursor", x.Cursor); err == nil {
				kept := s.events[:0]
				for _, ev := range s.events {
					if seq, err := graph.ParseEventCursor("cursor", ev.Cursor); err == nil && seq <= resume {
						kept = append(kept, ev)
					}
				}
				s.events = kept
			}
		}
		return true
	}
	return false
}

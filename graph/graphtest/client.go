package graphtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/coder/websocket"

	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
)

// Response is a GraphQL response.
type Response struct {
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
}

// Error is a GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code returns extensions.code.
func (e Error) Code() string { s, _ := e.Extensions["code"].(string); return s }

// Query posts a query to url (…/graphql) and returns the response and the
// HTTP status.
func Query(ctx context.Context, url, query string, vars map[string]any) (*Response, int, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return nil, 0, err
	}
	return Post(ctx, url, body)
}

// Post posts a raw body to url.
func Post(ctx context.Context, url string, body []byte) (*Response, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, resp.StatusCode, err
	}
	var r Response
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, resp.StatusCode, fmt.Errorf("decode response %q: %w", b, err)
	}
	return &r, resp.StatusCode, nil
}

// The websocket subprotocols gqlgen serves.
const (
	// TransportWS is graphql-transport-ws (graphql-ws the library).
	TransportWS = "graphql-transport-ws"
	// LegacyWS is graphql-ws (subscriptions-transport-ws, Apollo's legacy).
	LegacyWS = "graphql-ws"
)

// WS is a GraphQL websocket client speaking one subprotocol.
type WS struct {
	conn     *websocket.Conn
	protocol string
}

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// DialWS opens a websocket to url (ws://…/graphql) with protocol and
// completes the connection handshake.
func DialWS(ctx context.Context, url, protocol string) (*WS, error) {
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{protocol}})
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(1 << 20)
	if conn.Subprotocol() != protocol {
		_ = conn.CloseNow()
		return nil, fmt.Errorf("server chose subprotocol %q, want %q", conn.Subprotocol(), protocol)
	}
	c := &WS{conn: conn, protocol: protocol}
	if err := c.send(ctx, wsMessage{Type: "connection_init", Payload: json.RawMessage(`{}`)}); err != nil {
		return nil, err
	}
	for {
		m, err := c.read(ctx)
		if err != nil {
			return nil, err
		}
		switch m.Type {
		case "connection_ack":
			return c, nil
		case "ka", "ping", "pong":
		default:
			return nil, fmt.Errorf("handshake: unexpected %s message", m.Type)
		}
	}
}

// Subscribe starts operation id.
func (c *WS) Subscribe(ctx context.Context, id, query string, vars map[string]any) error {
	payload, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	typ := "subscribe"
	if c.protocol == LegacyWS {
		typ = "start"
	}
	return c.send(ctx, wsMessage{ID: id, Type: typ, Payload: payload})
}

// Stop stops operation id: complete on graphql-transport-ws, stop on
// graphql-ws.
func (c *WS) Stop(ctx context.Context, id string) error {
	typ := "complete"
	if c.protocol == LegacyWS {
		typ = "stop"
	}
	return c.send(ctx, wsMessage{ID: id, Type: typ})
}

// ErrComplete is returned by Next when the server completed the operation.
var ErrComplete = errors.New("subscription complete")

// Next returns the next payload of any operation: its id and response.
// A server-sent error message comes back as a Response with Errors.
func (c *WS) Next(ctx context.Context) (string, *Response, error) {
	for {
		m, err := c.read(ctx)
		if err != nil {
			return "", nil, err
		}
		switch m.Type {
		case "next", "data":
			var r Response
			if err := json.Unmarshal(m.Payload, &r); err != nil {
				return m.ID, nil, err
			}
			return m.ID, &r, nil
		case "error":
			var r Response
			if err := json.Unmarshal(m.Payload, &r.Errors); err != nil {
				// graphql-ws sends one error object, not a list.
				var e Error
				if err := json.Unmarshal(m.Payload, &e); err != nil {
					return m.ID, nil, err
				}
				r.Errors = []Error{e}
			}
			return m.ID, &r, nil
		case "complete":
			return m.ID, nil, ErrComplete
		case "ping":
			if err := c.send(ctx, wsMessage{Type: "pong"}); err != nil {
				return "", nil, err
			}
		case "ka", "pong":
		default:
			return m.ID, nil, fmt.Errorf("unexpected %s message", m.Type)
		}
	}
}

// NextRaw returns the next message as it came, undecoded: for benchmarks
// that time arrivals without paying for decoding on the client.
func (c *WS) NextRaw(ctx context.Context) ([]byte, error) {
	_, b, err := c.conn.Read(ctx)
	return b, err
}

// Close closes the connection.
func (c *WS) Close() error { return c.conn.Close(websocket.StatusNormalClosure, "") }

func (c *WS) send(ctx context.Context, m wsMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return c.conn.Write(ctx, websocket.MessageText, b)
}

func (c *WS) read(ctx context.Context) (wsMessage, error) {
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		return wsMessage{}, err
	}
	var m wsMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("decode message %q: %w", b, err)
	}
	return m, nil
}

// WSURL turns an http:// base URL into the ws:// URL of its /graphql.
func WSURL(base string) string {
	u, err := chain.WebsocketEndpoint(base+"/graphql", "")
	if err != nil {
		panic(err) // a test server's base URL is always http://host:port
	}
	return u
}

// Metric reads a gauge or counter without labels from base's /metrics.
func Metric(base, name string) (float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("metric %s missing from %s/metrics", name, base)
}

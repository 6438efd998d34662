package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Close codes the server sends on a websocket. 4400 to 4429 are
// graphql-transport-ws's own (github.com/enisdenjo/graphql-ws, PROTOCOL.md);
// 1013 is RFC 6455's "try again later".
const (
	CloseInvalidMessage    = 4400
	CloseUnauthorized      = 4401
	CloseInitTimeout       = 4408
	CloseSubscriberExists  = 4409
	CloseTooManyInits      = 4429
	CloseTryAgainLater     = 1013
	closeGQLGenProtocolErr = transport.WebsocketCloseProtocolError
)

// WSLimits bound websocket connections and the operations they run.
type WSLimits struct {
	// ConnsPerAddr bounds the open websockets of one client address (the
	// TCP peer's IP).
	ConnsPerAddr int
	// Conns bounds all open websockets.
	Conns int
	// OpsPerConn bounds the operations (subscriptions, and queries sent
	// over the socket while they run) of one connection.
	OpsPerConn int
	// Ops bounds the operations of all connections.
	Ops int
}

// DefaultWSLimits are the websocket limits unless told otherwise.
var DefaultWSLimits = WSLimits{ConnsPerAddr: 100, Conns: 20000, OpsPerConn: 100, Ops: 50000}

// wsLimiter counts open websockets and operations against WSLimits.
type wsLimiter struct {
	limits WSLimits
	logger *slog.Logger

	mu     sync.Mutex
	byAddr map[string]int
	conns  int
	ops    atomic.Int64
}

func newWSLimiter(l WSLimits, logger *slog.Logger) *wsLimiter {
	return &wsLimiter{limits: l, logger: logger, byAddr: map[string]int{}}
}

// acquire takes a connection slot for addr, or says why not.
func (l *wsLimiter) acquire(addr string) (release func(), refusal string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.conns >= l.limits.Conns:
		return nil, fmt.Sprintf("server at its limit of %d websocket connections; retry later", l.limits.Conns)
	case l.byAddr[addr] >= l.limits.ConnsPerAddr:
		return nil, fmt.Sprintf("your address has %d websocket connections open, the limit; close one or share one connection", l.limits.ConnsPerAddr)
	}
	l.conns++
	l.byAddr[addr]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.conns--
			if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
				delete(l.byAddr, addr)
			}
		})
	}, ""
}

// connState marks an operation's context as coming over a websocket; conn
// is the connection once accepted.
type connState struct {
	conn *wsConn
	// upgraded is closed once the connection is a websocket (hijacked):
	// from then on net/http's handler may return (see limitWebsockets).
	upgraded chan struct{}
}

type connStateKey struct{}

func connStateFrom(ctx context.Context) *connState {
	s, _ := ctx.Value(connStateKey{}).(*connState)
	return s
}

// limitWebsockets admits a websocket upgrade only within the connection
// limits; over them it completes the handshake and closes with 1013 and a
// reason, so a browser client sees why. It clears the HTTP server's
// read and write deadlines, which are for plain requests, before the
// connection becomes a websocket.
func limitWebsockets(l *wsLimiter, accept websocket.AcceptOptions, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			next.ServeHTTP(w, r)
			return
		}
		addr, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			addr = r.RemoteAddr
		}
		release, refusal := l.acquire(addr)
		if release == nil {
			l.logger.Debug("websocket refused", slog.String("client", addr), slog.String("reason", refusal))
			opts := accept
			opts.Subprotocols = []string{graphqlTransportWS, graphqlWS}
			if c, err := websocket.Accept(w, r, &opts); err == nil {
				_ = c.Close(CloseTryAgainLater, refusal)
			}
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
		base, ok := r.Context().Value(connBaseKey{}).(context.Context)
		if !ok {
			defer release()
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), connStateKey{}, &connState{})))
			return
		}
		// Detached: the transport runs on a goroutine of its own, and this
		// handler returns once the connection is hijacked, so net/http's
		// connection goroutine and what it holds (its buffers, the
		// response) are freed. The connection's context keeps the
		// request's values and ends with the server's base context
		// (net/http cancels the request's when the handler returns).
		cs := &connState{upgraded: make(chan struct{})}
		ctx := context.WithValue(detachedContext{Context: context.WithoutCancel(r.Context()), base: base}, connStateKey{}, cs)
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer release()
			next.ServeHTTP(w, r.WithContext(ctx))
		}()
		select {
		case <-cs.upgraded:
		case <-done:
		}
	})
}

// connBaseKey is the context key of the server's base context, which ends
// detached websocket connections (Server.Run sets it).
type connBaseKey struct{}

// detachedContext has the values of its Context and the cancellation of
// base.
type detachedContext struct {
	context.Context
	base context.Context
}

func (c detachedContext) Deadline() (time.Time, bool) { return c.base.Deadline() }
func (c detachedContext) Done() <-chan struct{}       { return c.base.Done() }
func (c detachedContext) Err() error                  { return c.base.Err() }

// Value answers from the request's context, then from base: base's values
// are the request's too, and what only base answers (context's own key for
// its cancelCtx) lets contexts derived from this one register with base
// rather than watch it from a goroutine each.
func (c detachedContext) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.base.Value(key)
}

const (
	graphqlTransportWS = "graphql-transport-ws"
	graphqlWS          = "graphql-ws"
)

// wsImplementation is gqlgen's websocket adapter for coder/websocket
// (transport.CoderWebsocketImplementation, MIT) with what the transport
// leaves out: graphql-transport-ws's close codes (4400 invalid message,
// 4401 subscribe before connection_init, 4408 init timeout, 4409 duplicate
// id, 4429 second connection_init) and the per-connection and total
// operation limits. It sees every message in both directions, so it keeps
// the ids of running operations itself.
type wsImplementation struct {
	accept  websocket.AcceptOptions
	limiter *wsLimiter
}

var _ transport.WebsocketImplementation = wsImplementation{}

func (u wsImplementation) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	for k, vs := range o.ResponseHeader {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	opts := u.accept
	for _, p := range o.Subprotocols {
		if !slices.Contains(opts.Subprotocols, p) {
			opts.Subprotocols = append(opts.Subprotocols, p)
		}
	}
	conn, err := websocket.Accept(w, r, &opts)
	if err != nil {
		return nil, err
	}
	c := &wsConn{conn: conn, limiter: u.limiter, active: map[string]struct{}{}, strict: conn.Subprotocol() == graphqlTransportWS}
	c.write = func(b []byte) { _ = conn.Write(context.Background(), websocket.MessageText, b) }
	if cs := connStateFrom(r.Context()); cs != nil {
		cs.conn = c
		if cs.upgraded != nil {
			close(cs.upgraded)
		}
	}
	return c, nil
}

// wsConn is one connection. Reads happen on the transport's one reader
// goroutine; writes come from every operation's goroutine, under the
// transport's lock.
type wsConn struct {
	conn    *websocket.Conn
	limiter *wsLimiter
	// strict: the connection speaks graphql-transport-ws, whose messages
	// are checked in full.
	strict bool
	// write sends a message the transport does not know of.
	write func([]byte)

	mu     sync.Mutex
	active map[string]struct{}
	// started is the id of the last start message passed to the
	// transport, until operationIDs takes it; ids maps the subscriptions
	// it took it for to their ids, until the share groups take them.
	started  string
	ids      map[*graphql.OperationContext]string
	inited   bool
	closing  chan struct{} // set once a close handshake started
	deadline *time.Timer
}

var (
	_ transport.WebsocketConn          = (*wsConn)(nil)
	_ transport.WebsocketReadLimiter   = (*wsConn)(nil)
	_ transport.WebsocketReadDeadliner = (*wsConn)(nil)
)

// clientMessage is what the checks read of a client's message.
type clientMessage struct {
	ID   *string `json:"id"`
	Type string  `json:"type"`
}

var transportWSClientTypes = map[string]bool{
	"connection_init": true, "subscribe": true, "complete": true, "ping": true, "pong": true,
}

func (c *wsConn) NextReader() (int, io.Reader, error) {
	for {
		typ, data, err := c.conn.Read(context.Background())
		if err != nil {
			switch websocket.CloseStatus(err) {
			case websocket.StatusNormalClosure, websocket.StatusNoStatusRcvd:
				return int(typ), nil, transport.ErrWebsocketClosed
			}
			return int(typ), nil, err
		}
		pass, closeCode, reason := c.check(data)
		if closeCode != 0 {
			_ = c.WriteClose(closeCode, reason)
			return 0, nil, transport.ErrWebsocketClosed
		}
		if pass {
			return int(typ), bytes.NewReader(data), nil
		}
	}
}

// check looks at a client message before the transport does: it returns
// whether to pass it on, or a close code and reason. A subscription over
// the limits is answered here with an error for its id and not passed on.
func (c *wsConn) check(data []byte) (pass bool, closeCode int, reason string) {
	// Only the message passed on now can be the next operation: a start
	// the transport dropped (a payload it could not decode) leaves no id
	// for another.
	c.mu.Lock()
	c.started = ""
	c.mu.Unlock()
	var m clientMessage
	strict := c.strict
	if err := json.Unmarshal(data, &m); err != nil {
		if strict {
			return false, CloseInvalidMessage, "Invalid message received"
		}
		return true, 0, "" // the transport answers graphql-ws's malformed messages itself
	}
	start := "start"
	if strict {
		start = "subscribe"
		if !transportWSClientTypes[m.Type] || ((m.Type == "subscribe" || m.Type == "complete") && (m.ID == nil || *m.ID == "")) {
			return false, CloseInvalidMessage, "Invalid message received"
		}
		c.mu.Lock()
		inited := c.inited
		if m.Type == "connection_init" {
			c.inited = true
		}
		c.mu.Unlock()
		switch {
		case m.Type == "connection_init" && inited:
			return false, CloseTooManyInits, "Too many initialisation requests"
		case m.Type == "subscribe" && !inited:
			return false, CloseUnauthorized, "Unauthorized"
		}
	}
	if m.Type != start || m.ID == nil {
		return true, 0, ""
	}
	id := *m.ID
	c.mu.Lock()
	_, dup := c.active[id]
	n := len(c.active)
	c.mu.Unlock()
	if dup {
		if strict {
			return false, CloseSubscriberExists, "Subscriber for " + truncate(id) + " already exists"
		}
		c.refuse(id, "an operation with id "+truncate(id)+" is already running on this connection")
		return false, 0, ""
	}
	l := c.limiter
	if n >= l.limits.OpsPerConn {
		c.refuse(id, fmt.Sprintf("this connection already runs %d operations, the limit; stop one first", l.limits.OpsPerConn))
		return false, 0, ""
	}
	if l.ops.Add(1) > int64(l.limits.Ops) {
		l.ops.Add(-1)
		c.refuse(id, fmt.Sprintf("the server already runs %d subscriptions, its limit; retry later", l.limits.Ops))
		return false, 0, ""
	}
	c.mu.Lock()
	c.active[id] = struct{}{}
	c.started = id
	c.mu.Unlock()
	return true, 0, ""
}

// refuse answers operation id with a TOO_MANY_SUBSCRIPTIONS error, the
// message that ends an operation in both subprotocols.
func (c *wsConn) refuse(id, msg string) {
	payload, _ := json.Marshal([]map[string]any{{"message": msg, "extensions": map[string]any{"code": CodeTooManySubscriptions}}})
	b, _ := json.Marshal(map[string]any{"id": id, "type": "error", "payload": json.RawMessage(payload)})
	c.write(b)
}

// ended matches the server messages that end an operation: gqlgen writes
// its fields payload, id, type, in that order.
var (
	endComplete = []byte(`"type":"complete"}`)
	endError    = []byte(`"type":"error"}`)
)

func (c *wsConn) WriteJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if bytes.HasSuffix(data, endComplete) || bytes.HasSuffix(data, endError) {
		var m clientMessage
		if json.Unmarshal(data, &m) == nil && m.ID != nil {
			c.mu.Lock()
			if _, ok := c.active[*m.ID]; ok {
				delete(c.active, *m.ID)
				c.limiter.ops.Add(-1)
			}
			c.mu.Unlock()
		}
	}
	return c.conn.Write(context.Background(), websocket.MessageText, data)
}

func (c *wsConn) WriteClose(code int, reason string) error {
	if c.strict && code == closeGQLGenProtocolErr && reason == "connection initialisation timeout" {
		code, reason = CloseInitTimeout, "Connection initialisation timeout"
	}
	c.mu.Lock()
	c.stopDeadline()
	if c.closing != nil {
		c.mu.Unlock()
		return nil
	}
	done := make(chan struct{})
	c.closing = done
	c.mu.Unlock()
	// Close waits for the peer's close frame (up to 5 s): not on the
	// transport's goroutine.
	go func() {
		defer close(done)
		_ = c.conn.Close(websocket.StatusCode(code), reason)
	}()
	return nil
}

func (c *wsConn) Close() error {
	c.mu.Lock()
	c.stopDeadline()
	closing := c.closing != nil
	c.ids = nil
	for id := range c.active {
		delete(c.active, id)
		c.limiter.ops.Add(-1)
	}
	c.mu.Unlock()
	if closing {
		return nil
	}
	return c.conn.CloseNow()
}

func (c *wsConn) Subprotocol() string { return c.conn.Subprotocol() }

func (c *wsConn) SetReadLimit(limit int64) { c.conn.SetReadLimit(limit) }

func (c *wsConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopDeadline()
	if t.IsZero() {
		return nil
	}
	c.deadline = time.AfterFunc(time.Until(t), func() { _ = c.conn.CloseNow() })
	return nil
}

func (c *wsConn) stopDeadline() {
	if c.deadline != nil {
		c.deadline.Stop()
		c.deadline = nil
	}
}

// operationIDs tells the share groups which operation id of which
// connection a subscription is, so they can write its data messages
// themselves (see dataFrame). The transport reads a start message and
// creates its operation context on the connection's one reader
// goroutine, before it reads the next message: the id check saw last is
// the operation's.
type operationIDs struct{}

var (
	_ graphql.HandlerExtension        = operationIDs{}
	_ graphql.OperationContextMutator = operationIDs{}
)

func (operationIDs) ExtensionName() string                   { return "OperationIDs" }
func (operationIDs) Validate(graphql.ExecutableSchema) error { return nil }

func (operationIDs) MutateOperationContext(ctx context.Context, op *graphql.OperationContext) *gqlerror.Error {
	cs := connStateFrom(ctx)
	if cs == nil || cs.conn == nil {
		return nil
	}
	c := cs.conn
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.started
	c.started = ""
	if id != "" && op.Operation != nil && op.Operation.Operation == ast.Subscription {
		if c.ids == nil {
			c.ids = map[*graphql.OperationContext]string{}
		}
		c.ids[op] = id
	}
	return nil
}

// takeID returns the id of subscription op on c and forgets it.
func (c *wsConn) takeID(op *graphql.OperationContext) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.ids[op]
	delete(c.ids, op)
	return id, ok
}

// dataFrame writes the data messages of one subscription on one
// connection, from a payload encoded once for every subscriber: gqlgen's
// transport writes {"payload":P,"id":I,"type":T} (fields in that order,
// encoding/json's escaping), so the message is the shared
// {"payload":P,"id": , then this subscriber's id and type.
type dataFrame struct {
	c *wsConn
	// tail is the JSON-quoted id and the rest of the message.
	tail []byte
}

// dataHead starts every subscriber's data message of payload, the
// response as the transport would encode it.
func dataHead(payload []byte) []byte {
	const pre, post = `{"payload":`, `,"id":`
	b := make([]byte, 0, len(pre)+len(payload)+len(post))
	return append(append(append(b, pre...), payload...), post...)
}

// newDataFrame returns the writer of subscription id's data messages on
// c, or nil when the transport must write them (an empty id, which its
// message leaves out).
func newDataFrame(c *wsConn, id string) *dataFrame {
	if id == "" {
		return nil
	}
	quoted, err := json.Marshal(id)
	if err != nil {
		return nil
	}
	typ := `,"type":"data"}` // graphql-ws
	if c.strict {
		typ = `,"type":"next"}`
	}
	return &dataFrame{c: c, tail: append(quoted, typ...)}
}

// write sends head followed by the subscriber's tail as one message,
// put together in a buffer of pool (of *[]byte), which an idle
// subscriber does not hold.
func (f *dataFrame) write(pool *sync.Pool, head []byte) error {
	bp, _ := pool.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	b := append(append((*bp)[:0], head...), f.tail...)
	err := f.c.conn.Write(context.Background(), websocket.MessageText, b)
	if cap(b) <= 64<<10 {
		*bp = b
		pool.Put(bp)
	}
	return err
}

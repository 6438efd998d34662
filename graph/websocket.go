package graph

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"
)

// Close codes the server sends on a websocket. 4400 to 4429 are
// graphql-transport-ws's own (github.com/enisdenjo/graphql-ws, PROTOCOL.md);
// the others are RFC 6455's.
const (
	CloseInvalidMessage   = 4400
	CloseUnauthorized     = 4401
	CloseInitTimeout      = 4408
	CloseSubscriberExists = 4409
	CloseTooManyInits     = 4429
	CloseTryAgainLater    = 1013
	CloseGoingAway        = 1001
	// CloseProtocolError ends a graphql-ws (legacy) connection that broke
	// its protocol, as gqlgen's transport did.
	CloseProtocolError = 1002
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

	mu     sync.Mutex
	byAddr map[string]int
	conns  int
	ops    atomic.Int64
}

func newWSLimiter(l WSLimits) *wsLimiter {
	return &wsLimiter{limits: l, byAddr: map[string]int{}}
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

// takeOp takes an operation slot for a connection running n operations,
// or says why not.
func (l *wsLimiter) takeOp(n int) (refusal string) {
	if n >= l.limits.OpsPerConn {
		return fmt.Sprintf("this connection already runs %d operations, the limit; stop one first", l.limits.OpsPerConn)
	}
	if l.ops.Add(1) > int64(l.limits.Ops) {
		l.ops.Add(-1)
		return fmt.Sprintf("the server already runs %d subscriptions, its limit; retry later", l.limits.Ops)
	}
	return ""
}

const (
	graphqlTransportWS = "graphql-transport-ws"
	graphqlWS          = "graphql-ws"
)

// Buffers of a websocket connection. net/http hands a hijacked
// connection a 4 KB reader and a 4 KB writer; an idle subscriber needs
// neither at that size: clients send little (connection_init, subscribe,
// pings), and coder/websocket reads message payloads past the buffer into
// its own. The writer keeps net/http's size, so a data message (frame
// header and payload) goes out in one write.
const (
	wsReadBuffer  = 128
	wsWriteBuffer = 4096
	// wsWriteTimeout bounds each write of a connection's messages; a
	// client that does not read for that long is disconnected.
	wsWriteTimeout = 30 * time.Second
)

// wsTransport serves GraphQL over websockets in both subprotocols,
// graphql-transport-ws and graphql-ws (legacy), in place of gqlgen's
// websocket transport, with gqlgen's executor running the operations.
//
// What an idle subscription holds is the point of it: a connection is
// read by one goroutine, net/http's handler returns once the connection
// is upgraded (its goroutine and buffers are freed), a subscription that
// shares an execution (shareGroups) has no goroutine of its own (the
// group pushes each event's message onto its connection's queue), and a
// connection's queue is written by a goroutine that runs only while
// something is queued. Keepalives and the init timeout are timers.
type wsTransport struct {
	accept  websocket.AcceptOptions
	limiter *wsLimiter
	logger  *slog.Logger
	// keepAlive is the interval of graphql-transport-ws's ping and
	// graphql-ws's ka messages.
	keepAlive   time.Duration
	initTimeout time.Duration
	readLimit   int64
	// frames holds the buffers (*[]byte) writers put data messages
	// together in: an idle connection holds none.
	frames sync.Pool
}

// wait waits until every connection has ended (its slot in the limiter
// released, the last thing it does), or ctx has; it returns how many are
// still open. It polls, as http.Server.Shutdown does: connections may
// still be accepted while it waits.
func (t *wsTransport) wait(ctx context.Context) int {
	open := func() int {
		t.limiter.mu.Lock()
		defer t.limiter.mu.Unlock()
		return t.limiter.conns
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		n := open()
		if n == 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return n
		case <-tick.C:
		}
	}
}

var _ graphql.Transport = (*wsTransport)(nil)

func (t *wsTransport) Supports(r *http.Request) bool { return r.Header.Get("Upgrade") != "" }

// Do accepts the websocket within the connection limits and serves it;
// over them it completes the handshake and closes with 1013 and a reason,
// so a browser client sees why.
func (t *wsTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	opts := t.accept
	opts.Subprotocols = []string{graphqlTransportWS, graphqlWS}
	release, refusal := t.limiter.acquire(addr)
	if release == nil {
		t.logger.Debug("websocket refused", slog.String("client", addr), slog.String("reason", refusal))
		if c, err := websocket.Accept(w, r, &opts); err == nil {
			_ = c.Close(CloseTryAgainLater, refusal)
		}
		return
	}
	// The HTTP server's read and write deadlines are for plain requests.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	hw := &smallBuffers{ResponseWriter: w}
	ws, err := websocket.Accept(hw, r, &opts)
	if err != nil {
		release()
		t.logger.Debug("websocket upgrade failed", slog.String("client", addr), slog.Any("error", err))
		return
	}
	if t.readLimit > 0 {
		ws.SetReadLimit(t.readLimit)
	}
	c := &wsConn{
		t:       t,
		exec:    exec,
		ws:      ws,
		nc:      hw.conn,
		release: release,
		strict:  ws.Subprotocol() == graphqlTransportWS,
		ops:     map[string]*wsOp{},
	}
	// A connection outlives its request: net/http cancels the request's
	// context when this handler returns, which it does at once when the
	// server gave it a base context that ends the connections (Server.Run:
	// Shutdown does not track hijacked connections). Without one, the
	// handler serves the connection until it ends.
	base, detached := r.Context().Value(connBaseKey{}).(context.Context)
	if !detached {
		c.run(context.WithoutCancel(r.Context()))
		return
	}
	c.stopping = base.Done()
	go c.run(base)
}

// connBaseKey is the context key of the server's base context, which ends
// detached websocket connections (Server.Run sets it).
type connBaseKey struct{}

// smallBuffers gives coder/websocket the hijacked connection with buffers
// of wsReadBuffer and wsWriteBuffer bytes in place of net/http's.
type smallBuffers struct {
	http.ResponseWriter
	conn net.Conn
}

func (s *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	s.conn = conn
	br := bufio.NewReaderSize(conn, wsReadBuffer)
	if n := brw.Reader.Buffered(); n > 0 {
		// What the client sent right behind its upgrade request, which
		// must be in the buffer (coder/websocket takes it from there and
		// reads the connection after it).
		b, _ := brw.Reader.Peek(n)
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn), max(wsReadBuffer, n))
		if _, err := br.Peek(n); err != nil {
			return nil, nil, fmt.Errorf("keep buffered client bytes: %w", err)
		}
	}
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, wsWriteBuffer)), nil
}

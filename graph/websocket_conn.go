package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// wsConn is one websocket connection. One goroutine reads it (run) and
// starts every operation; what the server sends goes through the queue
// (out), written by a goroutine that runs only while the queue is not
// empty, except the data messages of an operation run on a goroutine of
// its own (a query, a subscription that resumes from a cursor), which
// that goroutine writes itself so that it cannot run ahead of a slow
// client.
type wsConn struct {
	t       *wsTransport
	exec    graphql.GraphExecutor
	ws      *websocket.Conn
	nc      net.Conn
	release func()
	// strict: the connection speaks graphql-transport-ws, whose messages
	// are checked in full; else graphql-ws (legacy).
	strict bool
	// stopping is closed when the server starts shutting down (nil:
	// never): operations that end then get no complete, since they did not
	// (the client resubscribes after reconnecting).
	stopping <-chan struct{}

	mu     sync.Mutex
	ops    map[string]*wsOp // the running operations by id
	inited bool
	// timer is the init timeout, then the keepalive.
	timer *time.Timer
	// out is the queue; spare is the array the writer drained last, kept
	// for the next batch while small.
	out, spare []wsOut
	writing    bool // a writer goroutine runs
	closing    bool // a close is queued, or the connection ended: nothing more is queued
	gone       bool // the connection ended: the writer stops
	// unread counts the queued messages that are not an operation's data
	// (answers to pings, errors, completes, keepalives), which a client
	// makes the server write by sending: past wsMaxUnread the reader
	// waits (readable, closed when it may go on) until the writer has
	// caught up, so a client that sends without reading stops being read
	// instead of growing the queue.
	unread   int
	readable chan struct{}
	// queued is the bytes of the data messages in out and being written.
	queued int
}

// Bounds of what a connection holds for its client: queued messages other
// than data (wsMaxUnread), the bytes of queued data messages
// (wsMaxQueuedBytes; past it a subscription that gets one more ends with
// SLOW_CONSUMER, as past -subscriber-buffer messages), and an operation
// id's length.
const (
	wsMaxUnread      = 64
	wsMaxQueuedBytes = 8 << 20
	wsMaxIDBytes     = 128
)

// wsOut is one queued message: head followed by tail, or a close frame
// with code closeCode and reason head.
type wsOut struct {
	head, tail []byte
	// op, when not nil, counts the message in its pending.
	op        *wsOp
	closeCode websocket.StatusCode
}

// wsOp is one operation a client started on a connection.
type wsOp struct {
	c  *wsConn
	id string
	// tail ends the operation's data messages (dataTail).
	tail []byte

	// Under c.mu.
	pending int  // data messages queued or being written
	ended   bool // it has left c.ops (and the limiter's count)
	stopped bool // the client stopped it: what it has queued is not written
	shared  bool // a share group runs it (stop leaves the group)
	stop    func()
	errs    []*gqlerror.Error // what ends it, gathered while it runs
}

type wsOpKey struct{}

// wsOpFrom returns the websocket operation ctx runs, or nil.
func wsOpFrom(ctx context.Context) *wsOp {
	o, _ := ctx.Value(wsOpKey{}).(*wsOp)
	return o
}

// run reads the connection until it ends, then ends its operations.
// ctx ends the connection (with 1001) when the server stops.
func (c *wsConn) run(ctx context.Context) {
	stopClosing := context.AfterFunc(ctx, func() {
		c.close(CloseGoingAway, "server shutting down; reconnect, and resume with after:")
	})
	defer stopClosing()
	defer c.shutdown()
	c.mu.Lock()
	c.timer = time.AfterFunc(c.t.initTimeout, c.initTimedOut)
	c.mu.Unlock()
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			if websocket.CloseStatus(err) == -1 && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
				c.t.logger.Debug("websocket read failed", slog.Any("error", err))
			}
			return
		}
		received := graphql.Now()
		if typ != websocket.MessageText {
			data = nil // not JSON
		}
		c.handle(ctx, data, received)
	}
}

// clientMessage is a client's message in either subprotocol.
type clientMessage struct {
	ID      *string         `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// wsAction is what a client message asks of its connection.
type wsAction int

const (
	actNone wsAction = iota
	actInit
	actPong
	actStart
	actStop
	actTerminate
	actClose
)

// wsRefusal is why a message closes its connection: the close frame's
// code and reason, and on graphql-ws the connection_error message sent
// before it.
type wsRefusal struct {
	code   websocket.StatusCode
	reason string
	detail string
}

// parseClientMessage reads a client message (nil: not a text message) of
// a connection speaking graphql-transport-ws (strict) or graphql-ws, which
// has or has not been initialised, and says what to do with it. It
// answers graphql-transport-ws's violations with that protocol's close
// codes, and graphql-ws's with a connection_error and 1002, as gqlgen's
// transport did.
func parseClientMessage(data []byte, strict, inited bool) (clientMessage, wsAction, wsRefusal) {
	var m clientMessage
	if data == nil || json.Unmarshal(data, &m) != nil {
		if strict {
			return m, actClose, wsRefusal{code: CloseInvalidMessage, reason: "Invalid message received"}
		}
		return m, actClose, wsRefusal{code: CloseProtocolError, reason: "invalid message", detail: "invalid json"}
	}
	invalid := wsRefusal{code: CloseInvalidMessage, reason: "Invalid message received"}
	unexpected := wsRefusal{code: CloseProtocolError, reason: "unexpected message", detail: fmt.Sprintf("unexpected message %q", truncate(m.Type))}
	hasID := m.ID != nil && *m.ID != ""
	if m.ID != nil && len(*m.ID) > wsMaxIDBytes {
		// An id is kept, and written in every message of its operation.
		if strict {
			return m, actClose, invalid
		}
		return m, actClose, wsRefusal{code: CloseProtocolError, reason: "invalid message", detail: fmt.Sprintf("operation id longer than %d bytes", wsMaxIDBytes)}
	}
	if strict {
		switch m.Type {
		case "connection_init":
			if inited {
				return m, actClose, wsRefusal{code: CloseTooManyInits, reason: "Too many initialisation requests"}
			}
			if !objectOrAbsent(m.Payload) {
				return m, actClose, invalid
			}
			return m, actInit, wsRefusal{}
		case "ping", "pong":
			if !objectOrAbsent(m.Payload) {
				return m, actClose, invalid
			}
			if m.Type == "pong" {
				return m, actNone, wsRefusal{}
			}
			return m, actPong, wsRefusal{}
		case "subscribe":
			if !hasID || !isObject(m.Payload) {
				return m, actClose, invalid
			}
			if !inited {
				return m, actClose, wsRefusal{code: CloseUnauthorized, reason: "Unauthorized"}
			}
			return m, actStart, wsRefusal{}
		case "complete":
			if !hasID {
				return m, actClose, invalid
			}
			return m, actStop, wsRefusal{}
		}
		return m, actClose, invalid
	}
	switch {
	case m.Type == "connection_terminate":
		return m, actTerminate, wsRefusal{}
	case m.Type == "connection_init" && !inited:
		return m, actInit, wsRefusal{}
	case !inited:
		return m, actClose, unexpected
	case m.Type == "start":
		return m, actStart, wsRefusal{}
	case m.Type == "stop":
		return m, actStop, wsRefusal{}
	}
	return m, actClose, unexpected
}

func isObject(b json.RawMessage) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

func objectOrAbsent(b json.RawMessage) bool {
	return len(b) == 0 || bytes.Equal(b, []byte("null")) || isObject(b)
}

// handle acts on one client message.
func (c *wsConn) handle(ctx context.Context, data []byte, received time.Time) {
	c.mu.Lock()
	for c.unread >= wsMaxUnread && !c.closing {
		if c.readable == nil {
			c.readable = make(chan struct{})
		}
		wait := c.readable
		c.mu.Unlock()
		<-wait
		c.mu.Lock()
	}
	inited, closing := c.inited, c.closing
	c.mu.Unlock()
	if closing {
		return
	}
	m, act, refusal := parseClientMessage(data, c.strict, inited)
	switch act {
	case actClose:
		if refusal.detail != "" {
			c.queue(message("", "connection_error", marshalError(&gqlerror.Error{Message: refusal.detail})))
		}
		c.close(refusal.code, refusal.reason)
	case actTerminate:
		c.close(websocket.StatusNormalClosure, "terminated")
	case actInit:
		c.mu.Lock()
		c.inited = true
		c.timer.Stop()
		c.queueLocked(wsOut{head: message("", "connection_ack", nil)})
		if c.t.keepAlive > 0 {
			// A message every keepAlive keeps proxies from closing an idle
			// connection: graphql-transport-ws's ping (the client answers
			// pong; none is required) or graphql-ws's ka, which also
			// follows the ack.
			ka := message("", "ping", nil)
			if !c.strict {
				ka = message("", "ka", nil)
				c.queueLocked(wsOut{head: ka})
			}
			c.timer = time.AfterFunc(c.t.keepAlive, func() {
				c.mu.Lock()
				defer c.mu.Unlock()
				if !c.closing {
					c.queueLocked(wsOut{head: ka})
					c.timer.Reset(c.t.keepAlive)
				}
			})
		}
		c.mu.Unlock()
	case actPong:
		// The ping's payload comes back (graphql-ws's server does so),
		// unless it is large: a client's ping must not make the server
		// queue many times what it sent (see unread).
		var payload json.RawMessage
		if isObject(m.Payload) && len(m.Payload) <= 1024 {
			payload = m.Payload
		}
		c.queue(message("", "pong", payload))
	case actStart:
		id := ""
		if m.ID != nil {
			id = *m.ID
		}
		c.start(ctx, id, m.Payload, received)
	case actStop:
		if m.ID != nil {
			c.stopOp(*m.ID)
		}
	}
}

// initTimedOut closes a connection that has not sent connection_init in
// time.
func (c *wsConn) initTimedOut() {
	c.mu.Lock()
	inited := c.inited
	c.mu.Unlock()
	switch {
	case inited:
	case c.strict:
		c.close(CloseInitTimeout, "Connection initialisation timeout")
	default:
		c.close(CloseProtocolError, "connection initialisation timeout")
	}
}

// start starts operation id: within the limits, it creates the
// operation's context and dispatches it. A subscription that joins a share
// group is then run by the group; any other operation gets a goroutine
// that runs it to its end.
func (c *wsConn) start(ctx context.Context, id string, payload json.RawMessage, received time.Time) {
	c.mu.Lock()
	if _, dup := c.ops[id]; dup {
		c.mu.Unlock()
		if c.strict {
			// A close reason has at most 123 bytes, and a client fails a
			// connection whose reason is not UTF-8.
			c.close(CloseSubscriberExists, "Subscriber for "+strings.ToValidUTF8(truncateTo(id, 64), "")+" already exists")
			return
		}
		c.refuse(id, CodeBadRequest, "an operation with id "+truncate(id)+" is already running on this connection")
		return
	}
	if refusal := c.t.limiter.takeOp(len(c.ops)); refusal != "" {
		c.mu.Unlock()
		c.refuse(id, CodeTooManySubscriptions, refusal)
		return
	}
	o := &wsOp{c: c, id: id, tail: dataTail(id, c.strict)}
	c.ops[id] = o
	c.mu.Unlock()

	ctx = graphql.StartOperationTrace(context.WithValue(ctx, wsOpKey{}, o))
	var rc *graphql.OperationContext
	defer func() {
		if r := recover(); r != nil {
			c.endOp(o, []*gqlerror.Error{panicError(ctx, rc, r)})
		}
	}()
	var params graphql.RawParams
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&params); err != nil {
		c.endOp(o, []*gqlerror.Error{{Message: "invalid json"}})
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: received, End: graphql.Now()}
	rc, errs := c.exec.CreateOperationContext(ctx, &params)
	if errs != nil {
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			c.endOp(o, resp.Errors)
			return
		}
		if b, err := json.Marshal(resp); err == nil {
			_ = c.writeNow(o, append(dataHead(b), o.tail...))
		}
		c.endOp(o, nil)
		return
	}
	ctx, cancel := context.WithCancel(graphql.WithOperationContext(ctx, rc))
	served := false
	defer func() {
		if !served {
			// A group runs it (nothing is left here to run), or
			// dispatching it panicked.
			cancel()
		}
	}()
	c.mu.Lock()
	o.stop = cancel
	c.mu.Unlock()
	responses, ctx := c.exec.DispatchOperation(ctx, rc)
	c.mu.Lock()
	shared := o.shared
	c.mu.Unlock()
	if shared {
		return
	}
	served = true
	go c.serve(ctx, o, rc, responses, cancel)
}

// serve runs an operation that is not shared to its end.
func (c *wsConn) serve(ctx context.Context, o *wsOp, rc *graphql.OperationContext, responses graphql.ResponseHandler, cancel context.CancelFunc) {
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			o.addError(panicError(ctx, rc, r))
		}
		c.mu.Lock()
		errs := o.errs
		c.mu.Unlock()
		c.endOp(o, errs)
	}()
	for {
		resp := responses(ctx)
		if resp == nil {
			return
		}
		b, err := json.Marshal(resp)
		if err != nil {
			panic(err)
		}
		if c.writeNow(o, append(dataHead(b), o.tail...)) != nil {
			return
		}
	}
}

// panicError turns a panic while running an operation into its error,
// logged by the server's recover function.
func panicError(ctx context.Context, rc *graphql.OperationContext, r any) *gqlerror.Error {
	var err error
	if rc != nil && rc.RecoverFunc != nil {
		err = rc.RecoverFunc(ctx, r)
	} else {
		err = recoverFunc(ctx, r)
	}
	var gqlErr *gqlerror.Error
	if !errors.As(err, &gqlErr) {
		gqlErr = &gqlerror.Error{Message: "internal error", Extensions: map[string]any{"code": CodeInternal}}
	}
	return gqlErr
}

// addError records err as what ends o.
func (o *wsOp) addError(err *gqlerror.Error) {
	o.c.mu.Lock()
	o.errs = append(o.errs, err)
	o.c.mu.Unlock()
}

// deliver queues a data message of o, the shared head and o's tail, or
// reports false when o already has buffer of them queued, or the
// connection wsMaxQueuedBytes (shareMember).
func (o *wsOp) deliver(head []byte, buffer int) bool {
	c := o.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if o.ended || c.closing {
		return true
	}
	n := len(head) + len(o.tail)
	if o.pending >= buffer || c.queued+n > wsMaxQueuedBytes {
		return false
	}
	o.pending++
	c.queued += n
	c.queueLocked(wsOut{head: head, tail: o.tail, op: o})
	return true
}

// end ends o after what it has queued: with errs, an error message; else
// complete (shareMember).
func (o *wsOp) end(errs []*gqlerror.Error) { o.c.endOp(o, errs) }

// joined marks o as run by a share group, which leave takes it out of.
func (o *wsOp) joined(leave func()) {
	o.c.mu.Lock()
	o.shared, o.stop = true, leave
	o.c.mu.Unlock()
}

// endOp ends o, once: it leaves the connection's operations and the
// limiter's count, and its end is queued: complete, or an error message
// with errs (on graphql-ws followed by complete, which ends an operation
// there). An operation the client stopped, on a connection that ended,
// or ended by the server shutting down, gets nothing.
func (c *wsConn) endOp(o *wsOp, errs []*gqlerror.Error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.forgetLocked(o) {
		return
	}
	select {
	case <-c.stopping:
		return
	default:
	}
	if len(errs) > 0 {
		c.queueLocked(wsOut{head: message(o.id, "error", marshalErrors(errs))})
		if c.strict {
			return
		}
	}
	c.queueLocked(wsOut{head: message(o.id, "complete", nil)})
}

// forgetLocked takes o out of the connection's operations and the
// limiter's count, reporting false when it already was.
func (c *wsConn) forgetLocked(o *wsOp) bool {
	if o.ended {
		return false
	}
	o.ended = true
	if c.ops[o.id] == o {
		delete(c.ops, o.id)
	}
	c.t.limiter.ops.Add(-1)
	return true
}

// stopOp stops operation id at the client's request: nothing more is
// sent for it.
func (c *wsConn) stopOp(id string) {
	c.mu.Lock()
	o := c.ops[id]
	if o == nil || !c.forgetLocked(o) {
		c.mu.Unlock()
		return
	}
	o.stopped = true
	stop := o.stop
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// refuse answers operation id, which does not start, with an error.
func (c *wsConn) refuse(id, code, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queueLocked(wsOut{head: message(id, "error", marshalErrors([]*gqlerror.Error{{Message: msg, Extensions: map[string]any{"code": code}}}))})
	if !c.strict {
		c.queueLocked(wsOut{head: message(id, "complete", nil)})
	}
}

// close queues a close frame behind what is queued; nothing is queued
// after it.
func (c *wsConn) close(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queueLocked(wsOut{head: []byte(reason), closeCode: code})
}

// shutdown ends the connection once its reader has stopped: every
// operation stops, the queue is dropped and the connection's slot freed.
func (c *wsConn) shutdown() {
	c.mu.Lock()
	c.closing, c.gone = true, true
	c.out, c.spare = nil, nil
	if c.timer != nil {
		c.timer.Stop()
	}
	var stops []func()
	for _, o := range c.ops {
		if c.forgetLocked(o) && o.stop != nil {
			stops = append(stops, o.stop)
		}
	}
	c.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
	c.release()
	_ = c.ws.CloseNow()
}

func (c *wsConn) queue(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queueLocked(wsOut{head: b})
}

// queueLocked appends m to the queue and starts the writer if it is not
// running.
func (c *wsConn) queueLocked(m wsOut) {
	if c.closing || m.head == nil {
		return
	}
	if m.closeCode != 0 {
		c.closing = true
	}
	if m.op == nil {
		c.unread++
	}
	c.out = append(c.out, m)
	if !c.writing {
		c.writing = true
		go c.write()
	}
}

// write writes the queue until it is empty.
func (c *wsConn) write() {
	for {
		c.mu.Lock()
		batch := c.out
		if len(batch) == 0 || c.gone {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.out, c.spare = c.spare[:0], nil
		// What a client stopped is not written; it stays in the batch to
		// be counted out below.
		var skip []bool
		for i, m := range batch {
			if m.op != nil && m.op.stopped {
				if len(skip) == 0 {
					skip = make([]bool, len(batch))
				}
				skip[i] = true
			}
		}
		c.mu.Unlock()

		err := c.writeBatch(batch, skip)

		c.mu.Lock()
		for _, m := range batch {
			if m.op != nil {
				m.op.pending--
				c.queued -= len(m.head) + len(m.tail)
			} else {
				c.unread--
			}
		}
		if c.readable != nil && (c.unread < wsMaxUnread || err != nil) {
			close(c.readable)
			c.readable = nil
		}
		clear(batch)
		if cap(batch) <= 8 {
			c.spare = batch[:0]
		}
		if err != nil {
			c.closing, c.writing, c.out = true, false, nil
			c.mu.Unlock()
			c.t.logger.Debug("websocket write failed; closing the connection", slog.Any("error", err))
			_ = c.ws.CloseNow()
			return
		}
		c.mu.Unlock()
	}
}

// writeBatch writes batch but the messages skip marks (none when it is
// empty). Each message has wsWriteTimeout to go out (the deadline is
// renewed every few messages, not set for the batch: a long backlog on a
// slow link is not cut off while it moves).
func (c *wsConn) writeBatch(batch []wsOut, skip []bool) error {
	if c.nc != nil {
		defer func() { _ = c.nc.SetWriteDeadline(time.Time{}) }()
	}
	bp, _ := c.t.frames.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	defer func() {
		if cap(*bp) <= 64<<10 {
			c.t.frames.Put(bp)
		}
	}()
	for i, m := range batch {
		if len(skip) > 0 && skip[i] {
			continue
		}
		if c.nc != nil && i%16 == 0 {
			_ = c.nc.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
		}
		if m.closeCode != 0 {
			// Waits for the client's close frame (up to 5 s), which the
			// reader receives.
			_ = c.ws.Close(m.closeCode, string(m.head))
			return nil
		}
		b := m.head
		if m.tail != nil {
			*bp = append(append((*bp)[:0], m.head...), m.tail...)
			b = *bp
		}
		if err := c.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
			return err
		}
	}
	return nil
}

// writeNow writes a data message of o (not shared) at once, unless o or
// the connection ended: its goroutine goes on only once the client has
// taken it.
func (c *wsConn) writeNow(o *wsOp, b []byte) error {
	c.mu.Lock()
	stopped := o.ended || c.closing
	c.mu.Unlock()
	if stopped {
		return net.ErrClosed
	}
	ctx, cancel := context.WithTimeout(context.Background(), wsWriteTimeout)
	defer cancel()
	err := c.ws.Write(ctx, websocket.MessageText, b)
	if err != nil {
		_ = c.ws.CloseNow()
	}
	return err
}

// serverMessage is a message of the server in either subprotocol, its
// fields in gqlgen's order.
type serverMessage struct {
	Payload json.RawMessage `json:"payload,omitempty"`
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
}

// message encodes a server message (nil if payload is not JSON).
func message(id, typ string, payload json.RawMessage) []byte {
	b, err := json.Marshal(serverMessage{Payload: payload, ID: id, Type: typ})
	if err != nil {
		return nil
	}
	return b
}

func marshalErrors(errs []*gqlerror.Error) []byte {
	b, _ := json.Marshal(errs)
	return b
}

func marshalError(err *gqlerror.Error) []byte {
	b, _ := json.Marshal(err)
	return b
}

// A data message is its head, {"payload":P (P the response, encoded once
// for all subscribers of a shared execution), then the subscriber's tail:
// ,"id":I,"type":T}, where T is next (graphql-transport-ws) or data
// (graphql-ws) and an empty id is left out. The bytes are those of
// message(I, T, P).

func dataHead(payload []byte) []byte {
	const pre = `{"payload":`
	return append(append(make([]byte, 0, len(pre)+len(payload)), pre...), payload...)
}

func dataTail(id string, strict bool) []byte {
	typ := `"type":"data"}`
	if strict {
		typ = `"type":"next"}`
	}
	b := []byte(",")
	if id != "" {
		quoted, _ := json.Marshal(id)
		b = append(append(append(b, `"id":`...), quoted...), ',')
	}
	return append(b, typ...)
}

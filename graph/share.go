package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// shareGroups runs each distinct subscription once: subscribers whose
// operation has the same text, operation name and resolved variables
// share one execution of it by gqlgen (the group's leader), and every
// event's response is made once and handed to all of them. Nothing in a
// response depends on who asked (the API has no per-client data), so
// equal operations have equal responses; operations that differ in
// anything (a filter, a variable) run apart, and one that resumes from a
// cursor runs alone.
//
// The response of an event is also encoded once: a member on a websocket
// whose operation id is known (operationIDs) writes the shared encoding
// with its own id spliced in (dataFrame), so what it does per event is
// one copy and one write; others hand the response to the transport,
// which encodes it for each of them.
//
// Each member has its own buffer: a member that falls behind ends with
// SLOW_CONSUMER without slowing the others; when the leader's stream ends
// (its own SLOW_CONSUMER, a REVERTED, the server stopping) every member
// ends with the same errors. The leader stops when its last member leaves.
type shareGroups struct {
	buffer int
	// subscriptions counts the members of all groups: the clients'
	// subscriptions.
	subscriptions prometheus.Gauge
	// encodeEach leaves every member's messages to the transport, which
	// encodes the response once per member: the code before shared
	// frames, kept for benchmarks to compare with.
	encodeEach bool
	// frames holds the buffers (*[]byte) members put messages together in.
	frames sync.Pool

	mu     sync.Mutex
	groups map[string]*shareGroup
}

// sharedResponse is one event's response as every member gets it.
type sharedResponse struct {
	resp *graphql.Response
	// head starts its data message (dataHead); nil when members hand
	// resp to the transport instead.
	head []byte
}

type shareGroup struct {
	key    string
	cancel context.CancelFunc

	mu      sync.Mutex
	members map[*shareMember]struct{}
	ended   bool
}

// shareMember is one subscriber. Its queue is a slice that grows only
// while it is behind, not a channel of the buffer's size: an idle
// subscriber holds no buffer.
type shareMember struct {
	// frame writes the member's data messages; nil: the transport does.
	frame *dataFrame
	// wake has a value when the queue or ended changed.
	wake chan struct{}
	gone sync.Once

	mu    sync.Mutex
	queue []*sharedResponse
	head  int // queue[head:] are not yet taken
	ended bool
	errs  []*gqlerror.Error // the member's end, after its queue
}

// leaderErrors collects what the leader's stream reports as it ends, in
// place of the websocket transport's per-operation error list.
type leaderErrors struct {
	mu   sync.Mutex
	errs []*gqlerror.Error
}

type leaderErrorsKey struct{}

// addSubscriptionError records err for the subscription of ctx: with the
// group when ctx is a shared leader's, else with the websocket transport.
func addSubscriptionError(ctx context.Context, err *gqlerror.Error) {
	if le, ok := ctx.Value(leaderErrorsKey{}).(*leaderErrors); ok {
		le.mu.Lock()
		le.errs = append(le.errs, err)
		le.mu.Unlock()
		return
	}
	defer func() { _ = recover() }() // only the websocket transport serves subscriptions here
	transport.AddSubscriptionError(ctx, err)
}

// join adds the subscription of ctx to its group, starting the group's
// leader with next when it is the first.
func (s *shareGroups) join(ctx context.Context, op *graphql.OperationContext, next graphql.OperationHandler) graphql.ResponseHandler {
	var frame *dataFrame
	if cs := connStateFrom(ctx); cs != nil && cs.conn != nil {
		if id, ok := cs.conn.takeID(op); ok && !s.encodeEach {
			frame = newDataFrame(cs.conn, id)
		}
	}
	vars, err := json.Marshal(op.Variables) // map keys come out sorted
	if err != nil || resumes(op) {
		return s.alone(ctx, next)
	}
	key := op.OperationName + "\x00" + op.RawQuery + "\x00" + string(vars)
	m := &shareMember{wake: make(chan struct{}, 1), frame: frame}

	s.mu.Lock()
	g, ok := s.groups[key]
	var leaderCtx context.Context
	var le *leaderErrors
	if !ok {
		if s.groups == nil {
			s.groups = map[string]*shareGroup{}
		}
		le = &leaderErrors{}
		g = &shareGroup{key: key, members: map[*shareMember]struct{}{}}
		leaderCtx, g.cancel = context.WithCancel(context.WithValue(context.WithoutCancel(ctx), leaderErrorsKey{}, le))
		s.groups[key] = g
	}
	g.mu.Lock()
	g.members[m] = struct{}{}
	g.mu.Unlock()
	s.mu.Unlock()
	if !ok {
		s.lead(leaderCtx, le, g, next)
	}
	s.subscriptions.Inc()

	// The transport hands the handler the context DispatchOperation
	// returned, which for the first member is the leader's: the member's
	// own (cancelled when it stops, holding its error list) is this one.
	memberCtx := ctx
	return func(context.Context) *graphql.Response {
		ctx := memberCtx
		for {
			r, ended, errs := m.take()
			switch {
			case r != nil && (m.frame == nil || r.head == nil):
				return r.resp
			case r != nil:
				if m.frame.write(&s.frames, r.head) == nil {
					continue
				}
				// The connection failed; the transport ends the operation.
			case ended:
				for _, e := range errs {
					addSubscriptionError(ctx, e)
				}
				m.gone.Do(s.subscriptions.Dec)
				return nil
			default:
				select {
				case <-m.wake:
					continue
				case <-ctx.Done():
				}
			}
			s.leave(g, m)
			m.gone.Do(s.subscriptions.Dec)
			return nil
		}
	}
}

// lead runs the group's one execution on ctx, which keeps the first
// member's values (the operation, the connection) but not its
// cancellation: the first member may leave while others stay.
func (s *shareGroups) lead(ctx context.Context, le *leaderErrors, g *shareGroup, next graphql.OperationHandler) {
	responses := next(ctx)
	go func() {
		defer g.cancel()
		for {
			r := responses(ctx)
			if r == nil {
				break
			}
			g.publish(r, s.buffer, !s.encodeEach)
		}
		le.mu.Lock()
		errs := le.errs
		le.mu.Unlock()
		s.mu.Lock()
		if s.groups[g.key] == g {
			delete(s.groups, g.key)
		}
		s.mu.Unlock()
		g.end(errs)
	}()
}

// publish hands r to every member, ending those whose buffer is full;
// with encode, it encodes r once for the members that write their own
// messages. The members get a copy: gqlgen reuses the buffer of Data for
// the next response while they are still writing this one out.
func (g *shareGroup) publish(r *graphql.Response, buffer int, encode bool) {
	sr := &sharedResponse{resp: &graphql.Response{
		Errors:     slices.Clone(r.Errors),
		Data:       bytes.Clone(r.Data),
		Label:      r.Label,
		Path:       r.Path,
		HasNext:    r.HasNext,
		Extensions: r.Extensions,
	}}
	if encode {
		// What the transport's sendResponse encodes for each subscriber.
		if payload, err := json.Marshal(sr.resp); err == nil {
			sr.head = dataHead(payload)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for m := range g.members {
		if !m.put(sr, buffer) {
			delete(g.members, m)
			m.close([]*gqlerror.Error{{
				Message:    "subscription ended: the client fell too far behind; resubscribe with after: the last cursor received",
				Extensions: map[string]any{"code": CodeSlowConsumer, "buffer": buffer},
			}})
		}
	}
}

// end ends every member with errs once the leader's stream is over.
func (g *shareGroup) end(errs []*gqlerror.Error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ended = true
	for m := range g.members {
		delete(g.members, m)
		m.close(errs)
	}
}

// leave removes m; the last member to leave stops the leader.
func (s *shareGroups) leave(g *shareGroup, m *shareMember) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g.mu.Lock()
	delete(g.members, m)
	empty := len(g.members) == 0 && !g.ended
	g.mu.Unlock()
	if empty {
		if s.groups[g.key] == g {
			delete(s.groups, g.key)
		}
		g.cancel()
	}
}

// put queues r, or reports false when the member already holds buffer
// responses.
func (m *shareMember) put(r *sharedResponse, buffer int) bool {
	m.mu.Lock()
	if len(m.queue)-m.head >= buffer {
		m.mu.Unlock()
		return false
	}
	if !m.ended {
		if len(m.queue) == cap(m.queue) && m.head > 0 {
			// Reuse the taken front before growing.
			n := copy(m.queue, m.queue[m.head:])
			clear(m.queue[n:])
			m.queue, m.head = m.queue[:n], 0
		}
		m.queue = append(m.queue, r)
	}
	m.mu.Unlock()
	m.signal()
	return true
}

// take returns the next queued response; with none, whether the member
// ended and with which errors.
func (m *shareMember) take() (r *sharedResponse, ended bool, errs []*gqlerror.Error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.head < len(m.queue) {
		r = m.queue[m.head]
		m.queue[m.head] = nil
		m.head++
		if m.head == len(m.queue) {
			// Drained: keep a small array for the next event, not a
			// large one left from falling behind.
			m.head = 0
			m.queue = m.queue[:0]
			if cap(m.queue) > 4 {
				m.queue = nil
			}
		}
		return r, false, nil
	}
	return nil, m.ended, m.errs
}

// close ends the member with errs after what it has queued; only the
// first close counts.
func (m *shareMember) close(errs []*gqlerror.Error) {
	m.mu.Lock()
	if !m.ended {
		m.ended = true
		m.errs = errs
	}
	m.mu.Unlock()
	m.signal()
}

func (m *shareMember) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// resumes reports whether op resumes from a cursor (after:): its replay
// is its own, and a subscriber joining its execution later would miss
// the part already replayed.
func resumes(op *graphql.OperationContext) bool {
	for _, sel := range op.Operation.SelectionSet {
		if f, ok := sel.(*ast.Field); ok && f.ArgumentMap(op.Variables)["after"] != nil {
			return true
		}
	}
	return false
}

// alone runs a subscription on its own, counted like the shared ones.
func (s *shareGroups) alone(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	s.subscriptions.Inc()
	h := next(ctx)
	var once sync.Once
	return func(ctx context.Context) *graphql.Response {
		r := h(ctx)
		if r == nil {
			once.Do(s.subscriptions.Dec)
		}
		return r
	}
}

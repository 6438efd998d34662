package graph

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/99designs/gqlgen/graphql"
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
// The response of an event is also encoded once, as the head of a data
// message; each member's message is that head with its own id and type
// (its tail, dataTail) put behind it. A member is a websocket operation
// (wsOp) without a goroutine of its own: the leader queues each message
// on its member's connection, whose writer runs while it has something
// to write.
//
// A member that falls behind by buffer messages ends with SLOW_CONSUMER
// without slowing the others; when the leader's stream ends (its own
// SLOW_CONSUMER, a REVERTED, the server stopping) every member ends with
// the same errors. The leader stops when its last member leaves.
type shareGroups struct {
	buffer int
	// subscriptions counts the members of all groups: the clients'
	// subscriptions.
	subscriptions prometheus.Gauge

	mu     sync.Mutex
	groups map[string]*shareGroup
}

// shareMember is one subscriber of a group.
type shareMember interface {
	// deliver queues an event's data message, whose head (dataHead) all
	// members share, or reports false when the member already has buffer
	// of them queued.
	deliver(head []byte, buffer int) bool
	// end ends the member after what it has queued: with errs, as an
	// error; else complete.
	end(errs []*gqlerror.Error)
}

var _ shareMember = (*wsOp)(nil)

type shareGroup struct {
	key    string
	cancel context.CancelFunc

	mu      sync.Mutex
	members map[shareMember]struct{}
	ended   bool
}

// leaderErrors collects what the leader's stream reports as it ends.
type leaderErrors struct {
	mu   sync.Mutex
	errs []*gqlerror.Error
}

type leaderErrorsKey struct{}

// addSubscriptionError records err as what ends the subscription of ctx:
// with the group when ctx is a shared leader's, else with its websocket
// operation.
func addSubscriptionError(ctx context.Context, err *gqlerror.Error) {
	if le, ok := ctx.Value(leaderErrorsKey{}).(*leaderErrors); ok {
		le.mu.Lock()
		le.errs = append(le.errs, err)
		le.mu.Unlock()
		return
	}
	if o := wsOpFrom(ctx); o != nil {
		o.addError(err)
	}
}

// join adds the subscription of ctx to its group, starting the group's
// leader with next when it is the first. The group runs it from then on:
// the handler returned is never called.
func (s *shareGroups) join(ctx context.Context, op *graphql.OperationContext, next graphql.OperationHandler) graphql.ResponseHandler {
	o := wsOpFrom(ctx)
	vars, err := json.Marshal(op.Variables) // map keys come out sorted
	if o == nil || err != nil || resumes(op) {
		return s.alone(ctx, next)
	}
	key := op.OperationName + "\x00" + op.RawQuery + "\x00" + string(vars)

	s.mu.Lock()
	g, ok := s.groups[key]
	var leaderCtx context.Context
	var le *leaderErrors
	if !ok {
		if s.groups == nil {
			s.groups = map[string]*shareGroup{}
		}
		le = &leaderErrors{}
		g = &shareGroup{key: key, members: map[shareMember]struct{}{}}
		// The leader keeps the first member's values (the operation) but
		// neither its cancellation nor its websocket operation: the first
		// member may leave while others stay.
		leaderCtx = context.WithValue(context.WithValue(context.WithoutCancel(ctx), leaderErrorsKey{}, le), wsOpKey{}, (*wsOp)(nil))
		leaderCtx, g.cancel = context.WithCancel(leaderCtx)
		s.groups[key] = g
	}
	g.mu.Lock()
	g.members[o] = struct{}{}
	g.mu.Unlock()
	s.subscriptions.Inc()
	o.joined(func() { s.leave(g, o) })
	s.mu.Unlock()
	if !ok {
		s.lead(leaderCtx, le, g, next)
	}
	return func(context.Context) *graphql.Response { return nil }
}

// lead runs the group's one execution on ctx.
func (s *shareGroups) lead(ctx context.Context, le *leaderErrors, g *shareGroup, next graphql.OperationHandler) {
	responses := next(ctx)
	go func() {
		defer g.cancel()
		for {
			r := responses(ctx)
			if r == nil {
				break
			}
			s.publish(g, r)
		}
		le.mu.Lock()
		errs := le.errs
		le.mu.Unlock()
		s.mu.Lock()
		if s.groups[g.key] == g {
			delete(s.groups, g.key)
		}
		s.mu.Unlock()
		s.end(g, errs)
	}()
}

// publish encodes r once and hands it to every member, ending those
// whose buffer is full.
func (s *shareGroups) publish(g *shareGroup, r *graphql.Response) {
	payload, err := json.Marshal(r)
	if err != nil {
		// Not expected of gqlgen's response (its data is JSON it wrote).
		payload = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"` + CodeInternal + `"}}],"data":null}`)
	}
	head := dataHead(payload)
	g.mu.Lock()
	dropped := false
	for m := range g.members {
		if !m.deliver(head, s.buffer) {
			delete(g.members, m)
			dropped = true
			s.subscriptions.Dec()
			m.end([]*gqlerror.Error{{
				Message:    "subscription ended: the client fell too far behind; resubscribe with after: the last cursor received",
				Extensions: map[string]any{"code": CodeSlowConsumer, "buffer": s.buffer},
			}})
		}
	}
	g.mu.Unlock()
	if dropped {
		s.stopIfEmpty(g)
	}
}

// end ends every member with errs once the leader's stream is over.
func (s *shareGroups) end(g *shareGroup, errs []*gqlerror.Error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ended = true
	for m := range g.members {
		delete(g.members, m)
		s.subscriptions.Dec()
		m.end(errs)
	}
}

// leave removes m; the last member to leave stops the leader.
func (s *shareGroups) leave(g *shareGroup, m shareMember) {
	g.mu.Lock()
	_, member := g.members[m]
	delete(g.members, m)
	g.mu.Unlock()
	if member {
		s.subscriptions.Dec()
	}
	s.stopIfEmpty(g)
}

// stopIfEmpty stops the leader of g once it has no members left (they
// left, or were dropped for falling behind), so that nothing runs for no
// one.
func (s *shareGroups) stopIfEmpty(g *shareGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g.mu.Lock()
	empty := len(g.members) == 0 && !g.ended
	g.mu.Unlock()
	if empty {
		if s.groups[g.key] == g {
			delete(s.groups, g.key)
		}
		g.cancel()
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
	countWhileRunning(ctx, s.subscriptions)
	return next(ctx)
}

// countWhileRunning counts the operation of ctx in g until ctx ends,
// which the transport does however the operation ends (its stream over,
// the client gone or stopping it mid-write).
func countWhileRunning(ctx context.Context, g prometheus.Gauge) {
	g.Inc()
	context.AfterFunc(ctx, g.Dec)
}

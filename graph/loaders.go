package graph

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vikstrous/dataloadgen"

	"github.com/upgrade-manager/upgrade-manager/graph/store"
)

// loaderWait is how long a loader collects keys before it queries. gqlgen
// starts the resolvers of a list's elements together, so a short wait
// catches them all without adding latency.
const loaderWait = time.Millisecond

// releasesPerProgram bounds the releases read per program; the releases
// field's first argument cuts further.
const releasesPerProgram = 100

// loaders batch the nested fields of one response into one query per
// table. A new set serves every response (each query, each subscription
// event), so nothing is cached across them; each loader is made on first
// use, because most responses (a subscription event's above all) need none.
type loaders struct {
	store *store.Store
	// detached: the set is shared by the responses of many subscribers,
	// so a query must not end when the subscriber that started it leaves.
	detached bool

	governance          lazy[*dataloadgen.Loader[string, *store.Governance]]
	members             lazy[*dataloadgen.Loader[string, []*store.Member]]
	programsByGov       lazy[*dataloadgen.Loader[string, []*store.ManagedProgram]]
	program             lazy[*dataloadgen.Loader[string, *store.ManagedProgram]]
	releases            lazy[*dataloadgen.Loader[string, []*store.Release]]
	proposal            lazy[*dataloadgen.Loader[string, *store.Proposal]]
	approvals           lazy[*dataloadgen.Loader[string, []*store.Approval]]
	configChange        lazy[*dataloadgen.Loader[string, *store.ConfigChange]]
	rollback            lazy[*dataloadgen.Loader[string, *store.Rollback]]
	migrationByProposal lazy[*dataloadgen.Loader[string, *store.Migration]]
	migration           lazy[*dataloadgen.Loader[string, *store.Migration]]
	lifecycle           lifecycleLoaders // lifecycle_loaders.go
}

// lazy holds a value made on first use.
type lazy[T any] struct {
	once sync.Once
	v    T
}

func (l *lazy[T]) get(make func() T) T {
	l.once.Do(func() { l.v = make() })
	return l.v
}

func newLoaders(s *store.Store) *loaders { return &loaders{store: s} }

// mapped returns a loader over fetch with the package's wait.
func mapped[V any](l *loaders, fetch func(context.Context, []string) (map[string]V, error)) func() *dataloadgen.Loader[string, V] {
	if l.detached {
		attached := fetch
		fetch = func(ctx context.Context, keys []string) (map[string]V, error) {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedReadTimeout)
			defer cancel()
			return attached(ctx, keys)
		}
	}
	return func() *dataloadgen.Loader[string, V] {
		return dataloadgen.NewMappedLoader(fetch, dataloadgen.WithWait(loaderWait))
	}
}

func (l *loaders) Governance() *dataloadgen.Loader[string, *store.Governance] {
	return l.governance.get(mapped(l, l.store.GovernancesByAddress))
}

func (l *loaders) Members() *dataloadgen.Loader[string, []*store.Member] {
	return l.members.get(mapped(l, l.store.MembersByGovernance))
}

func (l *loaders) ProgramsByGov() *dataloadgen.Loader[string, []*store.ManagedProgram] {
	return l.programsByGov.get(mapped(l, l.store.ProgramsByGovernance))
}

func (l *loaders) Program() *dataloadgen.Loader[string, *store.ManagedProgram] {
	return l.program.get(mapped(l, l.store.ProgramsByID))
}

func (l *loaders) Releases() *dataloadgen.Loader[string, []*store.Release] {
	return l.releases.get(mapped(l, func(ctx context.Context, keys []string) (map[string][]*store.Release, error) {
		return l.store.ReleasesByProgram(ctx, keys, releasesPerProgram)
	}))
}

func (l *loaders) Proposal() *dataloadgen.Loader[string, *store.Proposal] {
	return l.proposal.get(mapped(l, l.store.ProposalsByAddress))
}

func (l *loaders) Approvals() *dataloadgen.Loader[string, []*store.Approval] {
	return l.approvals.get(mapped(l, l.store.ApprovalsByProposal))
}

func (l *loaders) ConfigChange() *dataloadgen.Loader[string, *store.ConfigChange] {
	return l.configChange.get(mapped(l, l.store.ConfigChangesByProposal))
}

func (l *loaders) Rollback() *dataloadgen.Loader[string, *store.Rollback] {
	return l.rollback.get(mapped(l, l.store.RollbacksByProposal))
}

func (l *loaders) MigrationByProposal() *dataloadgen.Loader[string, *store.Migration] {
	return l.migrationByProposal.get(mapped(l, l.store.MigrationsByProposal))
}

func (l *loaders) Migration() *dataloadgen.Loader[string, *store.Migration] {
	return l.migration.get(mapped(l, l.store.MigrationsByAddress))
}

type loadersKey struct{}

// loaderExtension gives every query response its own loaders, and every
// subscription response a slot that the payload's first nested field
// binds to the loaders shared by all subscribers of that event.
type loaderExtension struct{ store *store.Store }

var (
	_ graphql.HandlerExtension    = loaderExtension{}
	_ graphql.ResponseInterceptor = loaderExtension{}
)

func (loaderExtension) ExtensionName() string                   { return "Loaders" }
func (loaderExtension) Validate(graphql.ExecutableSchema) error { return nil }
func (e loaderExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if op := graphql.GetOperationContext(ctx); op.Operation != nil && op.Operation.Operation == ast.Subscription {
		return next(context.WithValue(ctx, loadersKey{}, &loaderSlot{store: e.store}))
	}
	return next(context.WithValue(ctx, loadersKey{}, newLoaders(e.store)))
}

// loaderSlot holds a subscription response's loaders: the set shared by
// every subscriber of the response's event once bound, else a set of its own.
type loaderSlot struct {
	store *store.Store
	once  sync.Once
	l     *loaders
}

func (s *loaderSlot) get(make func() *loaders) *loaders {
	s.once.Do(func() { s.l = make() })
	return s.l
}

// loadersFor returns the response's loaders, or a fresh set when the
// context has none (a resolver called outside a response).
func (r *Resolver) loadersFor(ctx context.Context) *loaders {
	switch v := ctx.Value(loadersKey{}).(type) {
	case *loaders:
		return v
	case *loaderSlot:
		return v.get(func() *loaders { return newLoaders(v.store) })
	}
	return newLoaders(r.Store)
}

// eventLoaders binds a subscription response to the loaders shared by
// every subscriber of event seq, and returns them: the nested fields of
// one event are read once, not once per subscriber. A query's response
// keeps its own.
func (r *Resolver) eventLoaders(ctx context.Context, seq int64) *loaders {
	slot, ok := ctx.Value(loadersKey{}).(*loaderSlot)
	if !ok {
		return r.loadersFor(ctx)
	}
	return slot.get(func() *loaders { return r.shared.forSeq(r.Store, seq) })
}

// sharedReadTimeout bounds a read shared by subscribers.
const sharedReadTimeout = 10 * time.Second

// sharedEvents keeps the loaders of the most recent events. Every
// subscriber of an event gets the same set, whenever it gets to the event
// (a slow one may be hundreds of events behind), so each row is read once
// per event. Reads are of the read model as it is now: the set of an
// event is never reused for a later one, which may have changed the rows.
type sharedEvents struct {
	mu   sync.Mutex
	sets map[int64]*loaders
	ring []int64
	next int
}

// sharedEventsKept is how many recent events keep their loaders.
const sharedEventsKept = 512

func (s *sharedEvents) forSeq(st *store.Store, seq int64) *loaders {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.sets[seq]; ok {
		return l
	}
	if s.sets == nil {
		s.sets = make(map[int64]*loaders, sharedEventsKept)
		s.ring = make([]int64, sharedEventsKept)
	}
	if old := s.ring[s.next]; s.sets[old] != nil {
		delete(s.sets, old)
	}
	l := &loaders{store: st, detached: true}
	s.sets[seq] = l
	s.ring[s.next] = seq
	s.next = (s.next + 1) % sharedEventsKept
	return l
}

// loadOne loads a row that may be missing: missing is nil, not an error.
func loadOne[V any](ctx context.Context, l *dataloadgen.Loader[string, *V], key string) (*V, error) {
	v, err := l.Load(ctx, key)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

// loadMany loads the rows grouped under key: none is an empty list.
func loadMany[V any](ctx context.Context, l *dataloadgen.Loader[string, []*V], key string) ([]*V, error) {
	v, err := l.Load(ctx, key)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return []*V{}, nil
	}
	return v, err
}

// mustLoad loads a row that must exist: the read model is inconsistent,
// an internal error, when it does not.
func mustLoad[V any](ctx context.Context, l *dataloadgen.Loader[string, *V], what, key string) (*V, error) {
	v, err := loadOne(ctx, l, key)
	if err == nil && v == nil {
		return nil, errors.New(what + " " + key + " is missing from the read model")
	}
	return v, err
}

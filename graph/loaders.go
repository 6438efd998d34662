package graph

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
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
func mapped[V any](fetch func(context.Context, []string) (map[string]V, error)) func() *dataloadgen.Loader[string, V] {
	return func() *dataloadgen.Loader[string, V] {
		return dataloadgen.NewMappedLoader(fetch, dataloadgen.WithWait(loaderWait))
	}
}

func (l *loaders) Governance() *dataloadgen.Loader[string, *store.Governance] {
	return l.governance.get(mapped(l.store.GovernancesByAddress))
}

func (l *loaders) Members() *dataloadgen.Loader[string, []*store.Member] {
	return l.members.get(mapped(l.store.MembersByGovernance))
}

func (l *loaders) ProgramsByGov() *dataloadgen.Loader[string, []*store.ManagedProgram] {
	return l.programsByGov.get(mapped(l.store.ProgramsByGovernance))
}

func (l *loaders) Program() *dataloadgen.Loader[string, *store.ManagedProgram] {
	return l.program.get(mapped(l.store.ProgramsByID))
}

func (l *loaders) Releases() *dataloadgen.Loader[string, []*store.Release] {
	return l.releases.get(mapped(func(ctx context.Context, keys []string) (map[string][]*store.Release, error) {
		return l.store.ReleasesByProgram(ctx, keys, releasesPerProgram)
	}))
}

func (l *loaders) Proposal() *dataloadgen.Loader[string, *store.Proposal] {
	return l.proposal.get(mapped(l.store.ProposalsByAddress))
}

func (l *loaders) Approvals() *dataloadgen.Loader[string, []*store.Approval] {
	return l.approvals.get(mapped(l.store.ApprovalsByProposal))
}

func (l *loaders) ConfigChange() *dataloadgen.Loader[string, *store.ConfigChange] {
	return l.configChange.get(mapped(l.store.ConfigChangesByProposal))
}

func (l *loaders) Rollback() *dataloadgen.Loader[string, *store.Rollback] {
	return l.rollback.get(mapped(l.store.RollbacksByProposal))
}

func (l *loaders) MigrationByProposal() *dataloadgen.Loader[string, *store.Migration] {
	return l.migrationByProposal.get(mapped(l.store.MigrationsByProposal))
}

func (l *loaders) Migration() *dataloadgen.Loader[string, *store.Migration] {
	return l.migration.get(mapped(l.store.MigrationsByAddress))
}

type loadersKey struct{}

// loaderExtension gives every response its own loaders.
type loaderExtension struct{ store *store.Store }

var (
	_ graphql.HandlerExtension    = loaderExtension{}
	_ graphql.ResponseInterceptor = loaderExtension{}
)

func (loaderExtension) ExtensionName() string                   { return "Loaders" }
func (loaderExtension) Validate(graphql.ExecutableSchema) error { return nil }
func (e loaderExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	return next(context.WithValue(ctx, loadersKey{}, newLoaders(e.store)))
}

// loadersFor returns the response's loaders, or a fresh set when the
// context has none (a resolver called outside a response).
func (r *Resolver) loadersFor(ctx context.Context) *loaders {
	if l, ok := ctx.Value(loadersKey{}).(*loaders); ok {
		return l
	}
	return newLoaders(r.Store)
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

package graph

import (
	"context"
	"errors"
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
// event), so nothing is cached across them.
type loaders struct {
	governance          *dataloadgen.Loader[string, *store.Governance]
	members             *dataloadgen.Loader[string, []*store.Member]
	programsByGov       *dataloadgen.Loader[string, []*store.ManagedProgram]
	program             *dataloadgen.Loader[string, *store.ManagedProgram]
	releases            *dataloadgen.Loader[string, []*store.Release]
	proposal            *dataloadgen.Loader[string, *store.Proposal]
	approvals           *dataloadgen.Loader[string, []*store.Approval]
	configChange        *dataloadgen.Loader[string, *store.ConfigChange]
	rollback            *dataloadgen.Loader[string, *store.Rollback]
	migrationByProposal *dataloadgen.Loader[string, *store.Migration]
	migration           *dataloadgen.Loader[string, *store.Migration]
}

func newLoaders(s *store.Store) *loaders {
	opt := dataloadgen.WithWait(loaderWait)
	return &loaders{
		governance:    dataloadgen.NewMappedLoader(s.GovernancesByAddress, opt),
		members:       dataloadgen.NewMappedLoader(s.MembersByGovernance, opt),
		programsByGov: dataloadgen.NewMappedLoader(s.ProgramsByGovernance, opt),
		program:       dataloadgen.NewMappedLoader(s.ProgramsByID, opt),
		releases: dataloadgen.NewMappedLoader(func(ctx context.Context, keys []string) (map[string][]*store.Release, error) {
			return s.ReleasesByProgram(ctx, keys, releasesPerProgram)
		}, opt),
		proposal:            dataloadgen.NewMappedLoader(s.ProposalsByAddress, opt),
		approvals:           dataloadgen.NewMappedLoader(s.ApprovalsByProposal, opt),
		configChange:        dataloadgen.NewMappedLoader(s.ConfigChangesByProposal, opt),
		rollback:            dataloadgen.NewMappedLoader(s.RollbacksByProposal, opt),
		migrationByProposal: dataloadgen.NewMappedLoader(s.MigrationsByProposal, opt),
		migration:           dataloadgen.NewMappedLoader(s.MigrationsByAddress, opt),
	}
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

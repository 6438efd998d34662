package graph

import (
	"github.com/vikstrous/dataloadgen"

	"github.com/upgrade-manager/upgrade-manager/graph/store"
)

// lifecycleLoaders batch the account-lifecycle fields (schema/lifecycle.graphqls).
type lifecycleLoaders struct {
	closures      lazy[*dataloadgen.Loader[string, *store.AccountClosure]]
	revocations   lazy[*dataloadgen.Loader[string, []*store.ReleaseRevocation]]
	handOvers     lazy[*dataloadgen.Loader[string, *store.HandOver]]
	votingPeriods lazy[*dataloadgen.Loader[string, *int64]]
	collectors    lazy[*dataloadgen.Loader[string, *string]]
}

func (l *loaders) AccountClosure() *dataloadgen.Loader[string, *store.AccountClosure] {
	return l.lifecycle.closures.get(mapped(l, l.store.AccountClosures))
}

func (l *loaders) Revocations() *dataloadgen.Loader[string, []*store.ReleaseRevocation] {
	return l.lifecycle.revocations.get(mapped(l, l.store.RevocationsByProgram))
}

func (l *loaders) HandOver() *dataloadgen.Loader[string, *store.HandOver] {
	return l.lifecycle.handOvers.get(mapped(l, l.store.HandOversByProgram))
}

func (l *loaders) VotingPeriod() *dataloadgen.Loader[string, *int64] {
	return l.lifecycle.votingPeriods.get(mapped(l, l.store.VotingPeriods))
}

func (l *loaders) RentCollector() *dataloadgen.Loader[string, *string] {
	return l.lifecycle.collectors.get(mapped(l, l.store.RentCollectors))
}

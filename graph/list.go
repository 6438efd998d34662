package graph

import (
	"context"
	"errors"

	"github.com/upgrade-manager/upgrade-manager/graph/store"
)

// proposals serves every proposals field: the query's, a governance's and
// a program's.
func (r *Resolver) proposals(ctx context.Context, first *int, after *string, last *int, before *string, f store.ProposalFilter, orderBy *ProposalOrder) (*ProposalConnection, error) {
	p, err := r.pageArgs(first, after, last, before)
	if err != nil {
		return nil, err
	}
	order := store.OrderCreated
	if orderBy != nil && orderBy.Field == ProposalOrderFieldEta {
		order = store.OrderEta
	}
	sp, err := parseKeys(p, func(arg, s string) (*store.ProposalKey, error) { return parseProposalCursor(order, arg, s) })
	if err != nil {
		return nil, err
	}
	if f.CreatedAfter != nil && f.CreatedBefore != nil && !f.CreatedAfter.Before(*f.CreatedBefore) {
		return nil, badInput("filter: createdAfter must be before createdBefore")
	}
	desc := orderBy == nil || orderBy.Direction == OrderDirectionDesc
	rows, more, err := r.Store.ListProposals(ctx, f, order, desc, sp)
	if err != nil {
		return nil, err
	}
	c := &ProposalConnection{Nodes: rows, count: func(ctx context.Context) (int, error) {
		return r.Store.CountProposals(ctx, f, order)
	}}
	cursors := make([]string, len(rows))
	for i, pr := range rows {
		k, _ := pr.Key(order) // the store left out what the order does not hold
		cursors[i] = proposalCursor(order, k)
		c.Edges = append(c.Edges, &ProposalEdge{Cursor: cursors[i], Node: pr})
	}
	c.PageInfo = pageInfo(p, cursors, more)
	return c, nil
}

var errNoCount = errors.New("connection has no count")

// count runs a connection's count query.
func count(ctx context.Context, f func(context.Context) (int, error)) (int, error) {
	if f == nil {
		return 0, errNoCount
	}
	return f(ctx)
}
